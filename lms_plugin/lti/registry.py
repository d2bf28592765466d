"""Registered platforms, their deployments and their key sets, cached per process for launches.

A launch used to read its platform, its deployment (twice) and the platform's key set from the
database. Here they are kept per process (one `Registry` per app, so per gunicorn worker):

- any change to a `Platform` or `Deployment` row made through the ORM (`lms-plugin platform ...`,
  dynamic registration, a deployment recorded from a launch) writes a new random value under
  `VERSION_KEY` in the `launch_state` table, in the same transaction, and empties this process's
  cache at once;
- other processes (the other web workers, after a CLI command) notice within `CHECK_SECONDS`:
  at most that often, a request reads the version (one primary-key read) and empties the cache
  when it changed. No schema change, no cross-process signalling, and the statement is paid by
  one request per worker per interval, not by every launch;
- what is not cached is read as before: an unknown platform or deployment is looked up on every
  request (so a new one works at once), and found rows are kept;
- a framework version's level keys (for placements carried by launches) are kept for good:
  versions are never modified;
- platform keys are kept parsed, for as long as the key set stays in the shared cache
  (`message_launch.JWKS_LIFETIME_SECONDS`); a `kid` not known here goes to the shared cache, then
  to the platform, as before.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_plugin.lti import registrations
from lms_plugin.lti.models import Deployment, LaunchState, Platform
from lms_plugin.lti.services import framework_level_keys
from lms_plugin.orm import utcnow

VERSION_KEY = "registrations:version"
CHECK_SECONDS = 2.0
VERSION_LIFETIME = dt.timedelta(days=365 * 100)  # never purged as expired

_local_changes = 0  # changes made in this process (any session): caches here empty at once


@dataclass
class RegisteredPlatform:
    """What a launch needs of a platform, read once; `deployments` fills as they are found."""

    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    any_deployment: bool
    deployments: dict[str, int] = field(default_factory=dict)  # deployment_id -> row id

    @classmethod
    def of(cls, row: Platform) -> RegisteredPlatform:
        return cls(
            id=row.id,
            issuer=row.issuer,
            client_id=row.client_id,
            auth_login_url=row.auth_login_url,
            auth_token_url=row.auth_token_url,
            jwks_url=row.jwks_url,
            any_deployment=row.any_deployment,
        )


class Registry:
    """The per-process cache (see the module docstring); safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._platforms: dict[tuple[str, str | None], RegisteredPlatform] = {}
        self._keys: dict[str, tuple[dict[str, Any], float]] = {}
        self._levels: dict[int, list[str]] = {}
        self._version: str | None = None
        self._checked_at = float("-inf")
        self._changes_seen = _local_changes

    def platform(
        self, session: Session, issuer: str, client_id: str | None
    ) -> RegisteredPlatform | None:
        """The platform for `issuer` (+ `client_id`; without one, only a unique issuer's)."""
        self._refresh(session)
        found = self._platforms.get((issuer, client_id))
        if found is None:
            row = registrations.find_platform(session, issuer, client_id)
            if row is None:
                return None
            found = RegisteredPlatform.of(row)
            with self._lock:
                self._platforms[(issuer, client_id)] = found
        return found

    def deployment(
        self, session: Session, platform: RegisteredPlatform, deployment_id: str
    ) -> int | None:
        """The row id of one of the platform's stored deployments, or None."""
        known = platform.deployments.get(deployment_id)
        if known is None:
            row = session.scalar(
                select(Deployment.id).where(
                    Deployment.platform_id == platform.id,
                    Deployment.deployment_id == deployment_id,
                )
            )
            if row is None:
                return None
            known = platform.deployments[deployment_id] = row
        return known

    def level_keys(self, session: Session, version_id: int) -> list[str] | None:
        """A framework version's level keys, or None if there is no such version."""
        known = self._levels.get(version_id)
        if known is None:
            known = framework_level_keys(session, version_id)
            if known is not None:
                self._levels[version_id] = known
        return known

    def keys(self, url: str, lifetime: float) -> dict[str, Any] | None:
        """The parsed keys (by `kid`) of the key set at `url`, if fetched less than `lifetime`
        seconds ago."""
        cached = self._keys.get(url)
        if cached is None or time.time() - cached[1] > lifetime:
            return None
        return cached[0]

    def remember_keys(self, url: str, keys: dict[str, Any], fetched: float) -> None:
        self._keys[url] = (keys, fetched)

    def _refresh(self, session: Session) -> None:
        """Empty the cache after a change here, or (checked every `CHECK_SECONDS`) elsewhere."""
        if self._changes_seen != _local_changes:
            self._clear(_local_changes)
        if time.monotonic() - self._checked_at < CHECK_SECONDS:
            return
        version = session.scalar(select(LaunchState.value).where(LaunchState.key == VERSION_KEY))
        if version != self._version:
            self._clear(self._changes_seen)
            self._version = version
        self._checked_at = time.monotonic()

    def _clear(self, changes_seen: int) -> None:
        with self._lock:
            self._platforms = {}
            self._changes_seen = changes_seen


@event.listens_for(Session, "after_flush")
def _registrations_changed(session: Session, _context: Any) -> None:
    """A flush that wrote a platform or a deployment gives the registrations a new version."""
    global _local_changes
    rows = chain(session.new, session.deleted, session.dirty)
    if not any(
        isinstance(row, Platform | Deployment)
        and (row not in session.dirty or session.is_modified(row, include_collections=False))
        for row in rows
    ):
        return
    version = secrets.token_hex(8)
    expires = utcnow() + VERSION_LIFETIME
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        insert(LaunchState)
        .values(key=VERSION_KEY, value=version, expires_at=expires)
        .on_conflict_do_update(
            index_elements=[LaunchState.key], set_={"value": version, "expires_at": expires}
        )
    )
    _local_changes += 1
