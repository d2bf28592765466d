"""Reading input nobody vouches for: JSON with bounded size, depth and node count and strict
syntax; badge images with a credential baked in (OB 3.0 SVG baking); and the deadline one
verification runs against."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException

from lms_plugin.credentials.badge_image import OB_NAMESPACE
from lms_plugin.credentials.canonical import LimitExceeded
from lms_plugin.strict_json import DuplicateKeyError, refuse_duplicate_keys


@dataclass(frozen=True)
class Limits:
    """Bounds for verifying untrusted input."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_values: int = 100_000
    # Wall-clock budget of one whole verification: every fetch and every canonicalization.
    max_seconds: float = 2.0
    # Documents fetched from other servers (DID documents, status lists) per verification.
    max_fetches: int = 8
    # Proofs and status entries looked at; a credential with more is refused before any fetch.
    max_proofs: int = 8
    max_status_entries: int = 8
    # Credentials embedded in a CLR (ClrCredential) that are verified, each on its own.
    max_embedded: int = 20
    # Entries of a top-level "@context" (credentials use two to four).
    max_contexts: int = 16


DEFAULT_LIMITS = Limits()
# Integers longer than this are refused (JSON-LD reads anything past 21 digits as a double anyway).
MAX_INTEGER_DIGITS = 100
_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """The input is not a JSON object we are willing to process."""


# Kept back from a verification's budget for stopping a canonicalization worker and answering, so
# that the answer comes within the budget itself.
STOP_SECONDS = 0.1


class Deadline:
    """The moment (`time.monotonic()`) by which a verification's work must stop: `seconds` from now,
    less `STOP_SECONDS`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + max(0.0, seconds - STOP_SECONDS)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    def exceeded(self) -> LimitExceeded:
        return LimitExceeded(f"it took longer than the {self.seconds:g} seconds allowed")


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InputError(f"the number {text[:40]} is too large")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise InputError(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def parse_json(
    data: str | bytes, limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None
) -> Any:
    """Parse JSON text within `limits`; raises `InputError` in plain words, and `LimitExceeded`
    as soon as `deadline` (if any) has passed."""
    if len(data) > limits.max_bytes:
        raise InputError(f"the input is larger than {limits.max_bytes:,} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the input is not UTF-8 text") from None
    hooks: dict[str, Callable[[Any], Any]] = {
        "object_pairs_hook": refuse_duplicate_keys,
        "parse_float": _finite,
        "parse_int": _integer,
    }
    if deadline is not None:  # the C scanner calls these for every object and number
        hooks = {name: _ticking(hook, deadline) for name, hook in hooks.items()}
    try:
        value = json.loads(data, parse_constant=_no_constant, **hooks)
    except DuplicateKeyError as error:
        raise InputError(str(error)) from None
    except RecursionError:
        raise InputError("the input is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise InputError(f"the input is not JSON ({error.msg}, line {error.lineno})") from None
    check_shape(value, limits, deadline)
    return value


def _ticking(hook: Callable[[Any], Any], deadline: Deadline) -> Callable[[Any], Any]:
    at, clock = deadline.at, time.monotonic

    def ticking(value: Any) -> Any:
        if clock() > at:
            raise deadline.exceeded()
        return hook(value)

    return ticking


_DONE = object()  # the end of a container's children


def check_shape(
    value: Any, limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None
) -> None:
    """Refuse documents nested deeper than `max_depth` or with more than `max_values` values,
    non-finite numbers, and text that is not valid Unicode (lone surrogates); raises
    `LimitExceeded` as soon as `deadline` (if any) has passed. Containers are walked one child
    at a time, so that the deadline is looked at however long one array is."""
    # (children still to visit, their depth); a dict's children are its (key, value) pairs.
    stack: list[tuple[Iterator[Any], int, bool]] = [(iter((value,)), 1, False)]
    count = 0
    while stack:
        children, depth, pairs = stack[-1]
        item = next(children, _DONE)
        if item is _DONE:
            stack.pop()
            continue
        if pairs:
            key, item = item
            _check_text(key)
        count += 1
        if count > limits.max_values:
            raise InputError(f"the input has more than {limits.max_values:,} values")
        if depth > limits.max_depth:
            raise InputError(f"the input is nested more than {limits.max_depth} levels deep")
        if deadline is not None and not count & 0x3FF and deadline.passed():
            raise deadline.exceeded()
        if isinstance(item, dict):
            stack.append((iter(item.items()), depth + 1, True))
        elif isinstance(item, list):
            stack.append((iter(item), depth + 1, False))
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InputError("NaN and infinite numbers are not JSON")


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise InputError("object keys must be text")
    if _SURROGATE.search(text):
        raise InputError("the input has text that is not valid Unicode (a lone surrogate)")


# OB 3.0 SVG baking: `<openbadges:credential>` in this namespace holds the credential JSON (as its
# text, usually CDATA) or, for a VC-JWT, the compact JWS in its `verify` attribute.
_CREDENTIAL_TAG = f"{{{OB_NAMESPACE}}}credential"
_MARKUP_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<")


def looks_like_xml(data: str | bytes) -> bool:
    """Whether the input starts as markup (an SVG) rather than JSON."""
    head = data[:64].encode("utf-8", "replace") if isinstance(data, str) else data[:64]
    return bool(_MARKUP_START.match(head))


def read_baked_svg(
    data: str | bytes, limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None
) -> str:
    """The credential baked into an SVG badge: the JSON text of its one `<openbadges:credential>`
    element, or the payload of the compact JWS in its `verify` attribute (its JWS signature is
    not a proof this verifier checks). No DTDs, entities or external references are read; raises
    `InputError` in plain words."""
    if len(data) > limits.max_bytes:
        raise InputError(f"the input is larger than {limits.max_bytes:,} bytes")
    try:
        root = SafeXml.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise InputError("the image declares a DTD or entities, which are not read") from None
    except (ParseError, ValueError):
        raise InputError("the input is neither JSON nor a well-formed SVG image") from None
    found = list(root.iter(_CREDENTIAL_TAG))
    if not found:
        raise InputError("the image has no credential baked in (no <openbadges:credential>)")
    if len(found) > 1:
        raise InputError("the image has more than one <openbadges:credential>")
    element = found[0]
    token = element.get("verify")
    if token is not None:
        return _jws_payload(token.strip(), deadline)
    text = (element.text or "").strip()
    if not text:
        raise InputError("the image's <openbadges:credential> is empty")
    return text


def _jws_payload(token: str, deadline: Deadline | None) -> str:
    """The credential in a compact JWS's payload (a VC-JWT's `vc` claim, or the payload)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        raise InputError("the image's credential is not a compact JWS (header.payload.signature)")
    try:
        payload = base64.b64decode(
            parts[1] + "=" * (-len(parts[1]) % 4), altchars=b"-_", validate=True
        )
        claims = parse_json(payload, deadline=deadline)
    except (binascii.Error, InputError):
        raise InputError("the image's compact JWS has no readable payload") from None
    if isinstance(claims, dict) and isinstance(claims.get("vc"), dict):
        claims = claims["vc"]
    return json.dumps(claims, ensure_ascii=False)


def parse_credential_input(
    data: str | bytes, limits: Limits = DEFAULT_LIMITS, deadline: Deadline | None = None
) -> Any:
    """JSON text, or an SVG badge with the credential baked in: the parsed JSON (`LimitExceeded`
    once `deadline`, if any, has passed)."""
    if looks_like_xml(data):
        return parse_json(read_baked_svg(data, limits, deadline), limits, deadline)
    return parse_json(data, limits, deadline)
