"""Steps in the sandbox LMS that several browser tests take: who acts, and placing the tool."""

from __future__ import annotations

import re

from playwright.sync_api import FrameLocator, Page, expect

ADA = "sandbox-user-ada"  # the sandbox course's instructor
CHLOE = "sandbox-user-chloe"  # one of its learners
FRAMEWORK = "Legal Secretaries and Administrative Assistants"


def place_emerging(page: Page) -> FrameLocator:
    """As Ada, add the tool to the sandbox course by deep linking: `FRAMEWORK` with its Emerging
    level in scope. Returns the tool's frame, saying the content was added."""
    page.goto(f"/sandbox?as={ADA}")
    page.get_by_role("button", name="Add content from the tool").click()
    tool = page.frame_locator("iframe")
    tool.get_by_role("radio", name=re.compile(FRAMEWORK)).check()
    tool.get_by_role("checkbox", name=re.compile(r"^Emerging")).first.check()
    tool.get_by_role("button", name="Add to the course").click()
    expect(tool.get_by_role("heading", level=1)).to_contain_text("Content added")
    return tool
