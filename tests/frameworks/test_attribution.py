"""A framework's attribution and sources read as sentences, never as the export's raw keys."""

from __future__ import annotations

from typing import Any

import pytest

from lms_plugin.frameworks.attribution import attribution_text
from lms_plugin.frameworks.models import FrameworkVersion

SEED_SOURCES = {
    "onet": "v30.2 (CC BY 4.0)",
    "crosswalk": "https://skillscrosswalk.com",
    "generator": "LER.me",
}


@pytest.mark.parametrize(
    ("attribution", "sources", "expected"),
    [
        (
            "© EBSCOed",
            SEED_SOURCES,
            "© EBSCOed. Built on O*NET v30.2 (CC BY 4.0); skills crosswalk from "
            "https://skillscrosswalk.com; exported by LER.me.",
        ),
        ("© EBSCOed.", {}, "© EBSCOed."),
        ("", {"generator": "LER.me"}, "Exported by LER.me."),
        ("", {}, ""),
        (
            "",
            {"task_list": ["a", "b"], "onet": {"release": 30, "licence": "CC BY"}, "x": None},
            "Task list a, b; built on O*NET release 30, licence CC BY.",
        ),
    ],
)
def test_attribution_reads_as_prose(
    attribution: str, sources: dict[str, Any], expected: str
) -> None:
    version = FrameworkVersion(attribution=attribution, sources=sources)
    assert attribution_text(version) == expected
