"""A framework version's attribution and sources as sentences for people (pages, credentials,
CASE licence text): "© EBSCOed. Built on O*NET v30.2 (CC BY 4.0); skills crosswalk from …"."""

from __future__ import annotations

from typing import Any

from lms_plugin.frameworks.models import FrameworkVersion

# How the LER.me export's known source keys read; any other key is written as words.
SOURCE_WORDS = {
    "onet": "built on O*NET {}",
    "crosswalk": "skills crosswalk from {}",
    "generator": "exported by {}",
}


def attribution_text(version: FrameworkVersion) -> str:
    """The attribution, then the sources, as sentences (no raw keys); "" when there is neither."""
    sources = "; ".join(
        SOURCE_WORDS.get(name, _key_words(name) + " {}").format(words)
        for name, value in version.sources.items()
        if (words := _value_words(value))
    )
    parts = (version.attribution.strip(), sources[:1].upper() + sources[1:])
    return " ".join(part.rstrip(".") + "." for part in parts if part)


def _key_words(key: str) -> str:
    return key.replace("_", " ").strip()


def _value_words(value: Any) -> str:
    """A source's value (any JSON the file carried) as words, without brackets or quotes."""
    if isinstance(value, dict):
        return ", ".join(
            f"{_key_words(str(key))} {words}".strip()
            for key, item in value.items()
            if (words := _value_words(item))
        )
    if isinstance(value, list):
        return ", ".join(words for item in value if (words := _value_words(item)))
    if value is None or isinstance(value, bool):
        return {True: "yes", False: "no", None: ""}[value]
    return str(value).strip()
