"""The badge picture of a framework level (SVG), and the same picture with a credential baked in.

`render` draws the framework's title, the level and the issuer, with a `<title>` and `<desc>` for
screen readers; every text is escaped (and stripped of characters XML cannot hold). `bake` embeds a
signed credential as Open Badges 3.0 specifies for SVG (section 5.3.2.1): an
`<openbadges:credential>` element right after the `<svg>` start tag, in the
`https://purl.imsglobal.org/ob/v3p0` namespace, holding the credential's JSON in a CDATA section
(no `verify` attribute: the proof is embedded). `untrusted.read_baked_svg` reads it back.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from xml.sax.saxutils import escape, quoteattr

OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
MEDIA_TYPE = "image/svg+xml"
# Characters XML 1.0 cannot hold at all (a name or title might carry one).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Fill colours (white text on each passes WCAG AA, contrast above 4.5:1).
PALETTE = ("#1d4e89", "#7a1f5c", "#1f6b3a", "#8a3b12", "#4b3f8f", "#005f73")
TITLE_LINE = 22
TITLE_LINES = 3


def _text(value: str) -> str:
    return escape(NOT_XML.sub("", value))


def _lines(text: str, width: int, count: int) -> list[str]:
    lines = textwrap.wrap(NOT_XML.sub("", text), width) or [""]
    if len(lines) > count:
        lines = lines[:count]
        lines[-1] = textwrap.shorten(lines[-1] + " …", width, placeholder=" …")
    return lines


def _colour(key: str) -> str:
    return PALETTE[hashlib.sha256(key.encode("utf-8")).digest()[0] % len(PALETTE)]


def description(framework: str, level: str, issuer: str) -> str:
    """What the picture shows, in words (its `<desc>` and the image's caption)."""
    return f"Badge for the {level} level of the {framework} framework, issued by {issuer}."


def render(framework: str, level: str, issuer: str) -> str:
    """The level's badge: a round seal with the framework title, the level on a ribbon and the
    issuer beneath."""
    colour = _colour(f"{framework}\n{level}")
    title_lines = _lines(framework, TITLE_LINE, TITLE_LINES)
    first_y = 160 - 14 * (len(title_lines) - 1)
    title = "".join(
        f'<tspan x="200" y="{first_y + 28 * i}">{_text(line)}</tspan>'
        for i, line in enumerate(title_lines)
    )
    level_line = _text(_lines(level, 24, 1)[0])
    issuer_lines = "".join(
        f'<tspan x="200" y="{318 + 18 * i}">{_text(line)}</tspan>'
        for i, line in enumerate(_lines(issuer, 30, 2))
    )
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" viewBox="0 0 400 400" width="400" height="400" '
        'role="img" aria-labelledby="badge-title badge-desc">'
        f'<title id="badge-title">{_text(f"{framework}: {level}")}</title>'
        f'<desc id="badge-desc">{_text(description(framework, level, issuer))}</desc>'
        f'<circle cx="200" cy="200" r="190" fill="{colour}"/>'
        '<circle cx="200" cy="200" r="174" fill="none" stroke="#ffffff" stroke-width="4"/>'
        '<g fill="#ffffff" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
        'text-anchor="middle">'
        f'<text font-size="24" font-weight="700">{title}</text>'
        '<rect x="60" y="222" width="280" height="48" rx="8" fill="#ffffff"/>'
        f'<text x="200" y="254" font-size="24" font-weight="700" fill="{colour}">'
        f"{level_line}</text>"
        f'<text font-size="15">{issuer_lines}</text>'
        "</g></svg>"
    )


def bake(svg: str, credential_json: str) -> str:
    """`svg` (as `render` made it) with the credential's JSON text embedded. A `]]>` inside the
    JSON (only possible within a string) is written `]]\\u003e`: the same JSON value."""
    start = svg.index(f'<svg xmlns="{SVG_NAMESPACE}"')
    end = svg.index(">", start)
    cdata = credential_json.replace("]]>", "]]\\u003e")
    return (
        svg[: start + 4]
        + f" xmlns:openbadges={quoteattr(OB_NAMESPACE)}"
        + svg[start + 4 : end + 1]
        + f"<openbadges:credential><![CDATA[{cdata}]]></openbadges:credential>"
        + svg[end + 1 :]
    )
