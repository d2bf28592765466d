"""Canonicalizing untrusted documents in worker processes that are killed at the deadline.

The canonicalizer checks its deadline as it goes, but PyLD (the route for anything unusual) has
steps whose cost grows with the square of the input (its duplicate check on a property's values:
8,000 strings in one array take 18 s) and no way to stop them from inside. A thread cannot be
stopped from outside either, and signal alarms work only in a main thread. So every
canonicalization of a document nobody vouches for runs in a separate process
(`python -m lms_plugin.credentials.isolation`): when its time is up the process is killed and the
caller gets `LimitExceeded`, whatever the document looks like.

Workers are kept for the next document; a killed one is replaced at once, so the replacement
starts (imports PyLD, about 0.3 s) while nobody waits for it. At most `MAX_WORKERS` run at once per
web process, which also bounds the CPU that verification can take; waiting for one counts against
the caller's deadline. A worker caps its own memory (`MEMORY_LIMIT`) and exits when its parent
goes away.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from lms_plugin.credentials import canonical

MAX_WORKERS = 2
MEMORY_LIMIT = 2 * 1024**3  # bytes of address space per worker
# A worker is asked to stop this much before the deadline (cheaper than killing it).
MARGIN = 0.05


def _serve(requests: Connection, replies: Connection) -> None:
    """A worker's loop: (document, seconds) in, ("ok", text) or (error kind, message) out."""
    with contextlib.suppress(ValueError, OSError):  # a lower hard limit is already in place
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    while True:
        try:
            document, seconds = requests.recv()
        except EOFError:  # the web process is gone
            return
        reply: tuple[str, str]
        try:
            reply = ("ok", canonical.canonicalize(document, seconds=seconds))
        except canonical.LimitExceeded as error:
            reply = ("limit", str(error))
        except canonical.CanonicalizationError as error:
            reply = ("invalid", str(error))
        except MemoryError:
            reply = ("limit", "canonicalization needed too much memory")
        except Exception:  # PyLD's own ValueErrors, TypeErrors, RecursionErrors, ...
            reply = ("invalid", "it cannot be read as JSON-LD")
        replies.send(reply)


class _Worker:
    """One worker process and the two pipes to it (its standard input and output)."""

    def __init__(self) -> None:
        to_worker, requests = os.pipe()
        replies, from_worker = os.pipe()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this module, no outside input
                [sys.executable, "-m", __name__],
                stdin=to_worker,
                stdout=from_worker,
                close_fds=True,
            )
        except BaseException:
            for fd in (to_worker, requests, replies, from_worker):
                os.close(fd)
            raise
        os.close(to_worker)
        os.close(from_worker)
        self.requests = Connection(requests, readable=False)
        self.replies = Connection(replies, writable=False)
        self.sender: threading.Thread | None = None

    def send(self, request: tuple[Any, float]) -> None:
        """Hand the request over from a thread of its own: writing a large document blocks until
        the worker reads it (a fresh worker still importing PyLD, a starved CPU), and that wait
        must count against the caller's deadline too, which only the reply's `poll` enforces."""
        self.sender = threading.Thread(target=self._send, args=(request,), daemon=True)
        self.sender.start()

    def _send(self, request: tuple[Any, float]) -> None:
        with contextlib.suppress(OSError):  # the worker was killed at the deadline
            self.requests.send(request)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        if self.sender is not None:  # its write fails now that the reader is gone
            self.sender.join()
        self.requests.close()
        self.replies.close()


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: list[_Worker] = []
        self.busy = 0
        self.changed = threading.Condition()

    def acquire(self, deadline: float) -> _Worker:
        with self.changed:
            while self.busy >= self.size:
                if not self.changed.wait(max(0.0, deadline - time.monotonic())):
                    raise canonical.LimitExceeded("the verifier is busy: try again in a moment")
            self.busy += 1
            if self.idle:
                return self.idle.pop()
        try:
            return _Worker()
        except BaseException:
            self.release(None)
            raise

    def release(self, worker: _Worker | None) -> None:
        with self.changed:
            self.busy -= 1
            if worker is not None:
                self.idle.append(worker)
            self.changed.notify()

    def replace(self, worker: _Worker) -> None:
        """Kill a worker and start its successor, which warms up while it waits to be used. The
        successor starts on a thread of its own: its start (a fork of this process) is not the
        caller's to wait for, the caller's deadline having passed."""
        worker.kill()
        threading.Thread(target=self._start_successor, daemon=True).start()

    def _start_successor(self) -> None:
        try:
            successor: _Worker | None = _Worker()
        except OSError:
            successor = None
        self.release(successor)

    def warm_up(self) -> None:
        with self.changed:
            missing = self.size - len(self.idle) - self.busy
            self.idle.extend(_Worker() for _ in range(missing))

    def close(self) -> None:
        with self.changed:
            idle, self.idle = self.idle, []
        for worker in idle:
            worker.kill()


_POOL = _Pool(MAX_WORKERS)
atexit.register(_POOL.close)


def warm_up() -> None:
    """Start the workers now (each takes about 0.3 s to import PyLD), not at a first verification,
    whose deadline would pay for it (`lms-plugin serve` calls this as each web worker starts)."""
    _POOL.warm_up()


def canonicalize(document: Any, seconds: float) -> str:
    """`canonical.canonicalize(document)`, answered within `seconds` or `LimitExceeded`."""
    deadline = time.monotonic() + seconds
    worker = _POOL.acquire(deadline)
    try:
        worker.send((document, max(0.001, deadline - time.monotonic() - MARGIN)))
        if not worker.replies.poll(max(0.0, deadline - time.monotonic())):
            raise TimeoutError
        kind, value = worker.replies.recv()
    except BaseException as error:
        _POOL.replace(worker)
        if isinstance(error, TimeoutError | EOFError | OSError):
            raise canonical.LimitExceeded("canonicalization took too long") from None
        raise
    _POOL.release(worker)
    if kind == "ok":
        return str(value)
    if kind == "limit":
        raise canonical.LimitExceeded(value)
    raise canonical.CanonicalizationError(value)


if __name__ == "__main__":
    sys.stdout = sys.stderr  # standard output carries the replies: nothing else may write there
    _serve(Connection(0, writable=False), Connection(1, readable=False))
