"""Browser end-to-end tests against a live `lms-plugin demo` server (fixtures in
`tests/browser.py` and `tests/live_server.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh page in its own browser context; relative URLs go to the live demo server."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(5_000)
    page = context.new_page()
    yield page
    context.close()
