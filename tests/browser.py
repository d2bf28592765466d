"""Browser fixtures (a pytest plugin): Debian's headless Chromium driven by Playwright, and an
axe-core accessibility check.

`make test` installs what these need: Chromium at /usr/bin/chromium (apt) and axe-core in
node_modules (npm ci). When either is missing the tests fail and say so; they never skip.
Playwright's own browser download is not used (`executable_path` points at Chromium), so never run
`playwright install`. Set CHROMIUM to use another Chromium binary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from lms_plugin.config import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Needed as root, headless, on a machine without outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
INSTALL_HINT = "run `make test`, which installs it"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: {INSTALL_HINT} "
            "(apt-get install chromium), or set CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def check_accessibility(page: Page) -> None:
    """Run axe-core on the page as it is now; fail listing every serious or critical violation."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: {INSTALL_HINT} (npm ci)", pytrace=False)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    # Only violations are needed; leaving out passes and incomplete halves the run time.
    results: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
    )
    violations = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
    if violations:
        pytest.fail(
            f"axe-core found {len(violations)} serious or critical violation(s) on {page.url}:\n"
            + "\n".join(_describe(violation) for violation in violations),
            pytrace=False,
        )


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"]:
        target = " ".join(str(part) for part in node["target"])
        summary = node.get("failureSummary", "").replace("\n", " ")
        lines.append(f"    {target}: {summary}")
    return "\n".join(lines)
