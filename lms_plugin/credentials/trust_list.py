"""The issuer registries an operator trusts (`TRUSTED_REGISTRIES`), in the Digital Credentials
Consortium's formats as `@digitalcredentials/issuer-registry-client` reads them:

- a registry: `{"meta": {...}, "registry": {"<DID>": {"name", "url", "location", ...}}}`;
- a list of registries (the DCC's `known-did-registries.json`): `[{"type": "dcc-legacy", "name",
  "url"}, ...]`, most authoritative first. A list read from a file may name registry files by a
  path relative to it. `oidf` registries are looked up per DID, which this tool never does while
  answering a request: they are skipped (and logged).

Sources are read when the app starts and again every `TRUSTED_REGISTRIES_REFRESH` seconds by a
background thread, never while verifying; URLs through `outbound` (bounded in time and size). A
registry that cannot be read keeps what it last listed. When several registries list a DID, the
first (in the order of the setting, then of each list) names it, as in the DCC's client.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lms_plugin.credentials import outbound
from lms_plugin.credentials.facts import Listing
from lms_plugin.credentials.untrusted import InputError, Limits, parse_json

log = logging.getLogger(__name__)

# A registry document: at most this large, with at most this many values (the DCC's are small).
REGISTRY_LIMITS = Limits(max_bytes=8 * 1024 * 1024, max_depth=16, max_values=2_000_000)
MAX_REGISTRIES = 32
MAX_TEXT = 500  # characters of an issuer's name or URL, or a registry's name
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class _Registry:
    """One registry as configured: its name and where it is read (a URL or a file)."""

    name: str
    location: str


class TrustList:
    """`lookup(did)` answers from memory; `refresh()` reads every source again."""

    def __init__(self, sources: Sequence[str], policy: outbound.Policy) -> None:
        self.sources = list(sources)
        self.policy = policy
        self._issuers: dict[str, Listing] = {}
        # What each registry listed, and the registries of each source, when last read (kept
        # when a later read fails).
        self._listed: dict[_Registry, dict[str, Listing]] = {}
        self._named: dict[str, list[_Registry]] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @classmethod
    def from_setting(cls, value: str | None, policy: outbound.Policy) -> TrustList:
        """Sources separated by spaces or commas: https URLs and file paths."""
        return cls([part for part in _SEPARATORS.split(value or "") if part], policy)

    def lookup(self, did: Any) -> Listing | None:
        """The first trusted registry's entry for this issuer DID, or None."""
        if not isinstance(did, str):
            return None
        return self._issuers.get(did)

    def refresh(self) -> list[str]:
        """Read every source again; returns the problems met (also logged). A source or registry
        that cannot be read keeps what it gave last time."""
        problems: list[str] = []
        listed: dict[_Registry, dict[str, Listing]] = {}
        named: dict[str, list[_Registry]] = {}
        for source in self.sources:
            try:
                found = self._registries_of(source, problems)
            except InputError as error:
                problems.append(f"{source}: {error}")
                found = {r: self._listed.get(r, {}) for r in self._named.get(source, [])}
            named[source] = list(found)
            for registry, entries in found.items():
                if len(listed) < MAX_REGISTRIES:
                    listed.setdefault(registry, entries)
        issuers: dict[str, Listing] = {}
        for entries in listed.values():
            for did, entry in entries.items():
                issuers.setdefault(did, entry)
        with self._lock:
            self._issuers, self._listed, self._named = issuers, listed, named
        for problem in problems:
            log.warning("trusted issuer registries: %s", problem)
        return problems

    def start(self, interval: float) -> None:
        """Refresh every `interval` seconds in a daemon thread (until `stop`)."""
        if not self.sources or interval <= 0:
            return
        thread = threading.Thread(
            target=self._refresh_until_stopped, args=(interval,), daemon=True, name="trust-list"
        )
        thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _refresh_until_stopped(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            try:
                self.refresh()
            except Exception:  # the next round tries again; verification goes on meanwhile
                log.exception("trusted issuer registries could not be refreshed")

    def _registries_of(
        self, source: str, problems: list[str]
    ) -> dict[_Registry, dict[str, Listing]]:
        """The registries a source gives (itself, or those of a list) and what each lists."""
        document = self._read(source)
        if isinstance(document, Mapping):
            name = _registry_name(document, source)
            return {_Registry(name, source): _entries(name, document)}
        if not isinstance(document, list):
            raise InputError("it is neither a registry nor a list of registries")
        found = {}
        for entry in document[:MAX_REGISTRIES]:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                problems.append(f"{source}: an entry without a name is skipped")
                continue
            kind, url = entry.get("type", "dcc-legacy"), entry.get("url")
            if kind != "dcc-legacy" or not isinstance(url, str):
                problems.append(
                    f"{source}: {entry['name'][:MAX_TEXT]!r} is skipped (only dcc-legacy "
                    "registries, read whole, are used; oidf ones are asked per DID)"
                )
                continue
            registry = _Registry(entry["name"][:MAX_TEXT], _relative_to(source, url))
            try:
                found[registry] = _entries(registry.name, self._read(registry.location))
            except InputError as error:
                problems.append(f"{registry.location}: {error}")
                found[registry] = self._listed.get(registry, {})
        return found

    def _read(self, location: str) -> Any:
        if _is_url(location):
            try:
                body = outbound.get(location, self.policy, accept="application/json")
            except outbound.OutboundRefused as error:
                raise InputError(str(error)) from None
        else:
            try:
                with Path(location).open("rb") as handle:
                    body = handle.read(REGISTRY_LIMITS.max_bytes + 1)
            except OSError as error:
                raise InputError(f"it cannot be read ({error.strerror or error})") from None
        return parse_json(body, REGISTRY_LIMITS)


def _is_url(location: str) -> bool:
    return location.startswith(("https://", "http://"))


def _relative_to(source: str, location: str) -> str:
    """A list read from a file may name registry files relative to itself; URLs stay URLs."""
    if _is_url(location) or _is_url(source):
        return location
    return str(Path(source).parent / location)


def _registry_name(document: Mapping[str, Any], source: str) -> str:
    """A lone registry's name: its `meta.name` or `name` if it gives one, else where it is."""
    meta = document.get("meta")
    for name in (meta.get("name") if isinstance(meta, Mapping) else None, document.get("name")):
        if isinstance(name, str) and name.strip():
            return name.strip()[:MAX_TEXT]
    return source[:MAX_TEXT]


def _entries(registry: str, document: Any) -> dict[str, Listing]:
    """The DIDs a registry document lists, with the name and URL it gives each."""
    if not isinstance(document, Mapping) or not isinstance(document.get("registry"), Mapping):
        raise InputError('it is not a registry (an object with a "registry" of DIDs)')
    entries = {}
    for did, entry in document["registry"].items():
        if not did.startswith("did:") or not isinstance(entry, Mapping):
            continue
        name, url = entry.get("name"), entry.get("url")
        entries[did] = Listing(
            registry=registry,
            name=(name.strip()[:MAX_TEXT] or None) if isinstance(name, str) else None,
            url=url[:MAX_TEXT] if isinstance(url, str) and _is_url(url) else None,
        )
    return entries
