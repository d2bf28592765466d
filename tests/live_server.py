"""A real `lms-plugin demo` server in a subprocess, for tests that speak HTTP to it (and browsers).

`demo_server(instance)` starts `lms-plugin demo --port <free port>` with `INSTANCE_PATH=instance`,
`BASE_URL=http://127.0.0.1:<port>` and none of the tool's other settings from the environment (so
it runs on its embedded defaults: SQLite in the instance folder, a generated secret, the seed
frameworks, the sandbox LMS), waits until /healthz answers 200, and yields the base URL. Afterwards
it stops the server; if the server died or never became healthy, the test fails with its output.

The `live_server` fixture is one such server shared by every test of the session that imports it
(`from tests.live_server import live_server  # noqa: F401` in a conftest).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from lms_plugin.config import ENVIRONMENT_KEYS

LMS_PLUGIN = str(Path(sys.executable).parent / "lms-plugin")
STARTUP_SECONDS = 30
STOP_SECONDS = 10
# Each running demo server's log file, by base URL: a failing test can show what the server said.
SERVER_LOGS: dict[str, Path] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(instance: Path, base_url: str) -> dict[str, str]:
    """The current environment without the tool's settings, plus the instance folder and URL."""
    dropped = {*ENVIRONMENT_KEYS, "INSTANCE_PATH"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env["INSTANCE_PATH"] = str(instance)
    env["BASE_URL"] = base_url
    return env


@contextmanager
def demo_server(instance: Path, settings: dict[str, str] | None = None) -> Iterator[str]:
    """Serve `lms-plugin demo` on a free port with `instance` as its instance folder (and the
    tool's `settings`, e.g. `{"TRUSTED_REGISTRIES": ...}`)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    instance.mkdir(parents=True, exist_ok=True)
    # A file, not a pipe: nothing reads the log while the server runs; a full pipe would block it.
    log_path = instance.parent / f"{instance.name}-server.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [LMS_PLUGIN, "demo", "--port", str(port)],
            env={**server_environment(instance, base_url), **(settings or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def output() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    SERVER_LOGS[base_url] = log_path
    try:
        _wait_until_healthy(process, base_url, output)
        yield base_url
        if process.poll() is not None:
            pytest.fail(
                f"lms-plugin demo died during the tests (exit {process.returncode}):\n{output()}",
                pytrace=False,
            )
    finally:
        SERVER_LOGS.pop(base_url, None)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(
    process: subprocess.Popen[bytes], base_url: str, output: Callable[[], str]
) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"lms-plugin demo exited early (exit {process.returncode}):\n{output()}",
                pytrace=False,
            )
        try:
            response = requests.get(f"{base_url}/healthz", timeout=1)
        except requests.ConnectionError:
            time.sleep(0.05)
            continue
        if response.status_code == 200:
            return
        last = f"{response.status_code} {response.text[:200]}"
        time.sleep(0.05)
    pytest.fail(
        f"lms-plugin demo did not become healthy in {STARTUP_SECONDS} s (last: {last}):\n"
        f"{output()}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of one `lms-plugin demo` server shared by the session's tests."""
    with demo_server(tmp_path_factory.mktemp("live-server") / "instance") as base_url:
        yield base_url
