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
from playwright.sync_api import Browser, Frame, Page, sync_playwright

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
    """Run axe-core on the page as it is now, in the top document and in every frame's own
    document (as an LMS frames the tool); fail listing every serious or critical violation."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: {INSTALL_HINT} (npm ci)", pytrace=False)
    found: list[str] = []
    for frame in page.frames:
        if frame is not page.main_frame and (frame.is_detached() or frame.url == "about:blank"):
            continue  # an empty frame: nothing loaded there (yet)
        violations = _violations(frame)
        if violations:
            where = frame.url if frame is page.main_frame else f"{frame.url} (framed in {page.url})"
            found.append(
                f"axe-core found {len(violations)} serious or critical violation(s) on {where}:\n"
                + "\n".join(_describe(violation) for violation in violations)
            )
    if found:
        pytest.fail("\n".join(found), pytrace=False)


def _violations(frame: Frame) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations in this frame's document alone (each frame is
    checked on its own: axe's own frame traversal needs axe loaded in every frame first)."""
    if not frame.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: a page whose scripts are blocked is checked too.
        frame.evaluate(AXE.read_text(encoding="utf-8"))
    # Only violations are needed; leaving out passes and incomplete halves the run time.
    results: dict[str, Any] = frame.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'], iframes: false})"
    )
    return [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"]:
        target = " ".join(str(part) for part in node["target"])
        summary = node.get("failureSummary", "").replace("\n", " ")
        lines.append(f"    {target}: {summary}")
    return "\n".join(lines)
