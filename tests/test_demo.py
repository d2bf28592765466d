"""`lms-plugin demo` from nothing: a new instance folder, the embedded SQLite default, real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.live_server import demo_server


def test_demo_serves_health_and_both_seed_frameworks(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    with demo_server(instance) as demo:
        health = requests.get(f"{demo}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["database"] == "ok"

        page = requests.get(f"{demo}/frameworks", timeout=5)
        assert page.status_code == 200
        assert len(re.findall(r'class="statement"', page.text)) == 80
        assert "Legal Secretaries and Administrative Assistants" in page.text
        assert "Legal Support Workers, All Other" in page.text
    assert (instance / "lms_plugin.sqlite3").exists()
    assert (instance / "secret_key").exists()
