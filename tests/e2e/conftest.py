"""Browser end-to-end tests against a live `lms-plugin demo` server (fixtures in
`tests/browser.py` and `tests/live_server.py`).

`page` browses the session's shared server. A module whose tests add content to the sandbox
course marks itself `pytestmark = pytest.mark.own_demo` (or `own_demo(viewport={...})`): its pages
then browse a demo server of the module's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from tests.live_server import demo_server

DEFAULT_VIEWPORT: ViewportSize = {"width": 1280, "height": 720}  # Playwright's own default


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "own_demo(viewport=None): `page` browses a demo server of the module's own, "
        "at this viewport (Playwright's default without one)",
    )


@pytest.fixture(scope="module")
def own_demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A demo server of the module's own: its tests add content to its sandbox course."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    with demo_server(folder / "instance") as base_url:
        yield base_url


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context; relative URLs go to the shared demo server, or
    under `own_demo` to the module's own (with a longer timeout)."""
    own = request.node.get_closest_marker("own_demo")
    if own is None:
        base_url, timeout_ms, viewport = request.getfixturevalue("live_server"), 5_000, None
    else:
        base_url, timeout_ms = request.getfixturevalue("own_demo"), 15_000
        viewport = own.kwargs.get("viewport")
    context = browser.new_context(base_url=base_url, viewport=viewport or DEFAULT_VIEWPORT)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    yield page
    context.close()
