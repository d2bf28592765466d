"""Registration invites: the single-use, expiring links through which an LMS may register itself
with LTI Dynamic Registration. The token is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from lms_plugin.lti.models import RegistrationInvite
from lms_plugin.orm import utcnow

DEFAULT_EXPIRES_IN_HOURS = 72.0
MAX_EXPIRES_IN_HOURS = 30 * 24.0
TOKEN_BYTES = 32
MAX_NAME_LENGTH = 255
# A longer token cannot be one of ours: do not even hash it.
MAX_TOKEN_LENGTH = 200


class InviteError(ValueError):
    """An invite cannot be created as asked; the message is safe to show."""


def create_invite(
    session: Session,
    base_url: str,
    name: str = "",
    expires_in: float = DEFAULT_EXPIRES_IN_HOURS,
) -> str:
    """Store a new invite valid for `expires_in` hours; returns the registration URL to paste into
    the LMS (the only place the token ever appears). Flushes; the caller commits."""
    if not (isinstance(expires_in, int | float) and math.isfinite(expires_in)):
        raise InviteError(f"the expiry must be a number of hours, got {expires_in!r}")
    if not 0 < expires_in <= MAX_EXPIRES_IN_HOURS:
        raise InviteError(
            f"the expiry must be more than 0 and at most {MAX_EXPIRES_IN_HOURS:g} hours, "
            f"got {expires_in:g}"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InviteError(f"the name must be at most {MAX_NAME_LENGTH} characters")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        RegistrationInvite(
            token_sha256=_digest(token),
            name=name,
            created_at=now,
            expires_at=now + dt.timedelta(hours=expires_in),
        )
    )
    session.flush()
    return f"{base_url}/lti/register?invite={token}"


def usable_invite(session: Session, token: str | None) -> RegistrationInvite | None:
    """The unused, unexpired invite with this token, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return session.scalar(
        select(RegistrationInvite).where(
            RegistrationInvite.token_sha256 == _digest(token),
            RegistrationInvite.used_at.is_(None),
            RegistrationInvite.expires_at > utcnow(),
        )
    )


def claim(session: Session, invite: RegistrationInvite) -> bool:
    """Mark the invite used, unless another transaction used it first (or it expired): True when
    this transaction has it. Its row stays locked until commit, so of two concurrent claims one
    waits, then finds it used."""
    now = utcnow()
    result = session.execute(
        update(RegistrationInvite)
        .where(
            RegistrationInvite.id == invite.id,
            RegistrationInvite.used_at.is_(None),
            RegistrationInvite.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    claimed: bool = result.rowcount == 1  # type: ignore[attr-defined]
    if claimed:
        set_committed_value(invite, "used_at", now)
    return claimed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
