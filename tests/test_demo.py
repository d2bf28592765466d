"""`lms-plugin demo` from nothing: a new instance folder, the embedded SQLite default, real HTTP."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import requests

from tests.live_server import LMS_PLUGIN, demo_server, server_environment


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


def test_the_demo_sandbox_lrs_is_seen_by_the_cli_in_another_process(tmp_path: Path) -> None:
    """A newcomer's `xapi lrs list` / `xapi status` in a second terminal know where the demo
    sends its statements (stored like any platform's LRS, not only in the demo's memory)."""
    instance = tmp_path / "instance"
    with demo_server(instance) as demo:
        listed = subprocess.run(
            [LMS_PLUGIN, "xapi", "lrs", "list", "--json"],
            env=server_environment(instance, demo),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    [lrs] = json.loads(listed.stdout)
    assert lrs["endpoint"] == f"{demo}/sandbox/lrs/xAPI"
    assert lrs["username"] == "sandbox-lrs" and "password" not in json.dumps(lrs)
