"""Per-person limits on writes that cost the tool work or storage (a credential copy is a signed
document kept for good), counted in the short-lived state table (`launch_state`): one row per use,
expiring when it leaves the window, so the live rows are the uses in the last window (sliding).

Uses of one subject take turns (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write
that purges the subject's expired rows takes the database's write lock first), so concurrent
requests cannot slip past the count. A refused use records nothing, and a use whose request fails
later is rolled back with it. No Flask here: the view answers 429.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lms_plugin.lti.models import LaunchState
from lms_plugin.orm import utcnow


@dataclass(frozen=True)
class Limit:
    """At most `count` uses per subject in any `seconds`."""

    name: str
    count: int
    seconds: int

    def message(self) -> str:
        hours = self.seconds // 3600
        span = f"{hours} hour{'s' if hours != 1 else ''}" if hours else f"{self.seconds} seconds"
        return f"You can do this {self.count} times in {span}: please try again later."


CREDENTIAL_COPIES = Limit("credential-copies", 5, 3600)


def allow(session: Session, limit: Limit, subject: int | str) -> bool:
    """Record one use by `subject` and return True, or return False (recording nothing) when it
    has used all of them in the window. Flushes."""
    prefix = f"rate:{limit.name}:{subject}:"
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(prefix.encode()).digest()
        session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], signed=True))))
    mine = LaunchState.key.startswith(prefix, autoescape=True)
    expired = delete(LaunchState).where(mine, LaunchState.expires_at <= now)
    session.execute(expired, execution_options={"synchronize_session": False})
    used = session.scalar(
        select(func.count()).select_from(LaunchState).where(mine, LaunchState.expires_at > now)
    )
    if (used or 0) >= limit.count:
        return False
    expires = now + dt.timedelta(seconds=limit.seconds)
    session.add(LaunchState(key=prefix + secrets.token_hex(8), value="1", expires_at=expires))
    session.flush()
    return True
