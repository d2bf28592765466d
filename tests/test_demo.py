"""`lms-plugin demo` from nothing: a new instance folder, the embedded SQLite default, real HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

LMS_PLUGIN = str(Path(sys.executable).parent / "lms-plugin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    process = subprocess.Popen(
        [LMS_PLUGIN, "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(
                    f"demo exited early:\n{process.stdout.read() if process.stdout else ''}"
                )
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_demo_serves_health_and_both_seed_frameworks(demo: str, tmp_path: Path) -> None:
    health = requests.get(f"{demo}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["database"] == "ok"

    page = requests.get(f"{demo}/frameworks", timeout=5)
    assert page.status_code == 200
    assert len(re.findall(r'class="statement"', page.text)) == 80
    assert "Legal Secretaries and Administrative Assistants" in page.text
    assert "Legal Support Workers, All Other" in page.text
    assert (tmp_path / "instance" / "lms_plugin.sqlite3").exists()
    assert (tmp_path / "instance" / "secret_key").exists()
