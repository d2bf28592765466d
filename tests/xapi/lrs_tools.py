"""A real LRS for the tests and the bench: Ralph (in its own virtual environment) on loopback;
a proxy in front of it that fails on demand; and the npm xAPI validator.

Missing tools are failures, never skips: `make test` builds `.ralph-venv` and installs the npm
packages (`npm ci`), so a missing one means the test environment is broken.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from lms_plugin.config import PROJECT_ROOT

RALPH_VENV = PROJECT_ROOT / os.environ.get("RALPH_VENV", ".ralph-venv")  # relative: to the project
RALPH_APP = Path(__file__).with_name("ralph_app.py")
VALIDATOR = Path(__file__).with_name("validate_statements.js")
NODE_MODULE = PROJECT_ROOT / "node_modules" / "@learninglocker" / "xapi-validation"
USERNAME = "tool"
PASSWORD = "ralph-test-password"
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ralph:
    """A running Ralph LRS: its xAPI endpoint, credentials and statements file."""

    endpoint: str
    username: str
    password: str
    data_file: Path

    def stored(self) -> list[dict[str, Any]]:
        """Every statement Ralph stored, in order (read from its filesystem backend)."""
        if not self.data_file.exists():
            return []
        with self.data_file.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def stored_ids(self) -> Counter[str]:
        return Counter(statement["id"] for statement in self.stored())

    def get(self, statement_id: str) -> requests.Response:
        """A statement read back through the LRS's xAPI API."""
        return requests.get(
            self.endpoint + "statements",
            params={"statementId": statement_id},
            auth=(self.username, self.password),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=10,
        )


def _ralph_python() -> Path:
    python = RALPH_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(
            f"Ralph is not installed: {python} is missing. `make test` builds it (`make "
            f".ralph-venv/.installed`), or set RALPH_VENV to a virtual environment with "
            f'`pip install "ralph-malph[cli,lrs]==5.1.0" requests`.',
            pytrace=False,
        )
    return python


@contextmanager
def ralph_server(folder: Path) -> Iterator[Ralph]:
    """Start Ralph on a free loopback port with its data under `folder`; stop it afterwards."""
    python = _ralph_python()
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RALPH_APP_DIR": str(folder / "app"),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data),
    }
    subprocess.run(
        [RALPH_VENV / "bin" / "ralph", "auth", "-u", USERNAME, "-p", PASSWORD, "-s", "all"]
        + ["-M", "mailto:lrs-admin@example.org", "-w"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log_path = folder / "ralph.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [python, RALPH_APP, str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"Ralph exited at start:\n{log_path.read_text()}", pytrace=False)
            try:
                if requests.get(base + "/__heartbeat__", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Ralph did not start:\n{log_path.read_text()}", pytrace=False)
            time.sleep(0.1)
        yield Ralph(base + "/xAPI/", USERNAME, PASSWORD, data / "fs_lrs.jsonl")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class FaultyLrs:
    """An HTTP proxy in front of an LRS that passes requests through or fails them.

    Modes: `pass`; `down` (the connection is closed without an answer); `500`; `429` (with
    `Retry-After: 1`); `hold` (after `pass_first` POSTs, requests are kept until `release` is
    set, then forwarded; the `holding` event tells a test one is held, `held` lists the statement
    ids they carried). `delivered` counts, per statement id, the POSTs the LRS answered with
    2xx; `answers` lists every status the LRS gave.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.delivered: Counter[str] = Counter()
        self.answers: list[int] = []
        self.failed = 0
        self.posts = 0
        self.pass_first = 0
        self.held: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                proxy.handle(self, "POST")

            def do_GET(self) -> None:  # noqa: N802
                proxy.handle(self, "GET")

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}/xAPI/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        mode = self.mode
        if mode == "down":
            with self.lock:
                self.failed += 1
            request.close_connection = True
            return
        if mode in ("500", "429"):
            with self.lock:
                self.failed += 1
            payload = b'{"detail": "injected fault"}'
            request.send_response(int(mode))
            if mode == "429":
                request.send_header("Retry-After", "1")
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        with self.lock:
            if method == "POST":
                self.posts += 1
            hold = mode == "hold" and method == "POST" and self.posts > self.pass_first
            if hold:
                self.held.extend(s["id"] for s in json.loads(body))
        if hold:
            self.holding.set()
            self.release.wait(timeout=60)
        path = request.path.split("/xAPI/", 1)[1]
        headers = {
            name: request.headers[name]
            for name in ("Authorization", "Content-Type", "X-Experience-API-Version")
            if request.headers.get(name)
        }
        answer = requests.request(
            method, self.upstream + path, data=body or None, headers=headers, timeout=30
        )
        with self.lock:
            self.answers.append(answer.status_code)
            if method == "POST" and 200 <= answer.status_code < 300:
                self.delivered.update(s["id"] for s in json.loads(body))
        try:
            request.send_response(answer.status_code)
            for name in ("Content-Type", "Retry-After"):
                if answer.headers.get(name):
                    request.send_header(name, answer.headers[name])
            request.send_header("Content-Length", str(len(answer.content)))
            request.end_headers()
            request.wfile.write(answer.content)
        except OSError:  # the client is gone (a killed worker): the LRS still got the request
            pass

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def validate_statements(payloads: list[str]) -> list[dict[str, Any]]:
    """Statements `@learninglocker/xapi-validation` finds fault with (empty: all valid)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: install it (make test needs node and npm).", pytrace=False)
    if not NODE_MODULE.exists():
        pytest.fail(f"{NODE_MODULE} is missing: run `make test` (it runs `npm ci`).", pytrace=False)
    result = subprocess.run(
        [node, VALIDATOR],
        input="\n".join(payloads),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"the xAPI validator failed:\n{result.stderr}", pytrace=False)
    problems: list[dict[str, Any]] = json.loads(result.stdout)
    return problems
