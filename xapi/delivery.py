"""Delivering the outbox to the LRSs: claim due rows, send them in batches, record the results.

No write transaction is open while an LRS is called (on SQLite it would block every other writer,
the web requests judging learners included): a batch of due rows is claimed in one atomic
`UPDATE ... RETURNING` that pushes their next attempt `lease_seconds` ahead and stamps a lease id,
and committed; the batch is sent; then its results are written (only for rows whose lease is still
ours) and committed. On PostgreSQL the claim selects with `FOR UPDATE SKIP LOCKED`, so several
workers never claim, and so never send, the same statement at once; on SQLite the claim is one
write statement, serialized by the database. A worker killed mid-batch leaves leased rows that
come due again when the lease ends: they are sent again, byte for byte, and the LRS answers the
duplicate as already stored.

Answers, per batch:
- 2xx: every statement is stored (200), or was already (204, identical duplicates): delivered;
- 400, 409, 413, 422: one or more statements are refused: the batch is split in halves until
  each refused statement is alone, and that one is dead (a dead-letter state; `replay` queues
  it again after a fix); the rest are delivered;
- 401, 403: the LRS refuses our credentials: nothing more goes to it in this pass, the rows stay
  queued (held for `refused_hold_seconds`) and the report names it;
- 408, 429, 5xx, any other answer, no answer (refused, reset, timeout): the rows stay queued and
  come due again after an exponential backoff with jitter (at least Retry-After); nothing more
  goes to that LRS in this pass. Statements are never dropped for being late.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.orm import Session

from lms_plugin.orm import is_state, utcnow
from xapi.lrs import LrsAnswer, LrsClient, LrsConfigError, LrsSettings, LrsUnreachable
from xapi.models import LrsEndpoint, OutboxStatement
from xapi.outbox import tally_delivered

log = logging.getLogger(__name__)


REJECTED = frozenset({400, 409, 413, 422})


REFUSED = frozenset({401, 403})


MAX_ERROR = 2000


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits base * 2**(n-1) seconds (at most `cap`),
    times a random factor in [0.5, 1], and never less than the LRS's Retry-After."""

    base: float = 1.0
    cap: float = 600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        exponent = min(max(attempts - 1, 0), 32)
        seconds = min(self.cap, self.base * 2**exponent) * random.uniform(0.5, 1.0)  # noqa: S311
        if retry_after is not None:
            seconds = max(seconds, min(retry_after, self.cap))
        return seconds


@dataclass(frozen=True)
class Destination:
    """An LRS and the outbox rows that go to it (a SQL condition on the outbox)."""

    name: str
    lrs: LrsSettings
    where: ColumnElement[bool]


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0
    """Rows dropped without delivery (superseded scores, cancelled credential requests)."""
    refused: list[str] = field(default_factory=list)
    """Destinations whose LRS refused our credentials (401/403), with its answer."""
    problems: list[str] = field(default_factory=list)
    """Destinations that could not be used at all (undecryptable password, bad endpoint)."""

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.dead += other.dead
        self.skipped += other.skipped
        self.refused += other.refused
        self.problems += other.problems

    @property
    def busy(self) -> bool:
        return bool(self.delivered or self.retrying or self.dead or self.refused or self.problems)


def destinations(
    session: Session,
    default: LrsSettings | None,
    decrypt: Callable[[bytes], str],
    problems: list[str] | None = None,
) -> list[Destination]:
    """Where each outbox row goes: its deployment's LRS, else its platform's, else the default
    (`XAPI_LRS_ENDPOINT`). Rows matching none stay queued. An endpoint that cannot be used is
    named in `problems` and its rows stay queued too."""
    problems = problems if problems is not None else []
    endpoints = list(session.scalars(select(LrsEndpoint).order_by(LrsEndpoint.id)))
    by_deployment = [e for e in endpoints if e.deployment_id is not None]
    by_platform: dict[int, LrsEndpoint] = {}
    for endpoint in endpoints:
        if endpoint.deployment_id is None:
            by_platform.setdefault(endpoint.platform_id, endpoint)
    own = {e.deployment_id for e in by_deployment}
    row = OutboxStatement
    not_own_deployment = or_(row.deployment_id.is_(None), row.deployment_id.not_in(own))
    found: list[tuple[str, LrsEndpoint | LrsSettings, ColumnElement[bool]]] = []
    for endpoint in by_deployment:
        name = f"deployment {endpoint.deployment_id} of platform {endpoint.platform_id}"
        where = and_(
            row.platform_id == endpoint.platform_id, row.deployment_id == endpoint.deployment_id
        )
        found.append((name, endpoint, where))
    for platform_id, endpoint in by_platform.items():
        where = and_(row.platform_id == platform_id, not_own_deployment)
        found.append((f"platform {platform_id}", endpoint, where))
    if default is not None:
        where = or_(
            row.platform_id.is_(None),
            and_(row.platform_id.not_in(list(by_platform)), not_own_deployment),
        )
        found.append(("the default LRS (XAPI_LRS_ENDPOINT)", default, where))
    result = []
    for name, source, where in found:
        try:
            lrs = source if isinstance(source, LrsSettings) else _settings(source, decrypt)
        except (LrsConfigError, ValueError) as error:
            problems.append(f"{name}: {error}")
            continue
        result.append(Destination(f"{name} at {lrs.endpoint}", lrs, where))
    return result


def _settings(endpoint: LrsEndpoint, decrypt: Callable[[bytes], str]) -> LrsSettings:
    return LrsSettings(
        endpoint=endpoint.endpoint,
        username=endpoint.username,
        password=decrypt(endpoint.password_encrypted),
        version=endpoint.xapi_version,
    )


def routed(targets: Sequence[Destination]) -> ColumnElement[bool]:
    """Outbox rows that some destination takes."""
    return or_(*(d.where for d in targets)) if targets else false()


@dataclass(frozen=True)
class _Claimed:
    id: int
    statement_id: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    kind: str  # delivered | dead | retry | refused | release
    reason: str | None = None
    retry_after: float | None = None


class Worker:
    """Delivers due outbox rows to their destinations; each `deliver` is one committed pass."""

    def __init__(
        self,
        client_for: Callable[[LrsSettings], LrsClient],
        *,
        batch_size: int = 500,
        lease_seconds: float = 60.0,
        request_timeout: float = 10.0,
        max_batches: int = 20,
        backoff: Backoff | None = None,
        refused_hold_seconds: float = 60.0,
    ) -> None:
        if lease_seconds <= request_timeout:
            raise ValueError("the lease must be longer than one request's timeout")
        self.client_for = client_for
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.request_timeout = request_timeout
        self.max_batches = max_batches
        self.backoff = backoff or Backoff()
        self.refused_hold_seconds = refused_hold_seconds

    def deliver(self, session: Session, targets: Sequence[Destination]) -> DeliveryReport:
        """One pass: up to `max_batches` batches to each destination. Commits."""
        report = DeliveryReport()
        for target in targets:
            client = self.client_for(target.lrs)
            for _ in range(self.max_batches):
                lease_id, rows = self._claim(session, target)
                if not rows:
                    break
                outcomes = self._send(client, rows)
                stop = self._record(session, target, lease_id, rows, outcomes, report)
                if stop or len(rows) < self.batch_size:
                    break
        return report

    def _claim(self, session: Session, target: Destination) -> tuple[str, list[_Claimed]]:
        now = utcnow()
        lease_id = str(uuid.uuid4())
        row = OutboxStatement
        due = (
            select(row.id)
            .where(is_state(row.state, "queued"), row.next_attempt_at <= now, target.where)
            .order_by(row.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(row)
            .where(row.id.in_(due.scalar_subquery()))
            .values(
                next_attempt_at=now + dt.timedelta(seconds=self.lease_seconds), lease_id=lease_id
            )
            .returning(row.id, row.statement_id, row.payload, row.attempts)
            .execution_options(synchronize_session=False)
        )
        try:
            claimed = [_Claimed(*r) for r in session.execute(claim)]
            session.commit()
        except Exception:
            session.rollback()
            raise
        claimed.sort(key=lambda c: c.id)
        return lease_id, claimed

    def _send(self, client: LrsClient, rows: list[_Claimed]) -> dict[int, _Outcome]:
        """Send a claimed batch, splitting it to isolate refused statements. Stops at the first
        answer that is not about the statements (unreachable, busy, credentials refused)."""
        deadline = time.monotonic() + self.lease_seconds - self.request_timeout - 1
        outcomes: dict[int, _Outcome] = {}
        pending: deque[list[_Claimed]] = deque([rows])
        stopped: _Outcome | None = None
        while pending:
            batch = pending.popleft()
            if stopped is None and time.monotonic() > deadline:
                stopped = _Outcome("release")
            if stopped is not None:
                outcomes.update((r.id, stopped) for r in batch)
                continue
            try:
                answer = client.post_statements([r.payload for r in batch])
            except LrsUnreachable as error:
                stopped = _Outcome("retry", str(error))
                outcomes.update((r.id, stopped) for r in batch)
                continue
            outcome = _classify(answer)
            if outcome.kind == "delivered":
                outcomes.update((r.id, outcome) for r in batch)
            elif outcome.kind == "dead":
                if len(batch) == 1:
                    outcomes[batch[0].id] = outcome
                else:
                    middle = len(batch) // 2
                    pending.extendleft([batch[middle:], batch[:middle]])
            else:
                stopped = outcome
                outcomes.update((r.id, outcome) for r in batch)
        return outcomes

    def _record(
        self,
        session: Session,
        target: Destination,
        lease_id: str,
        rows: list[_Claimed],
        outcomes: dict[int, _Outcome],
        report: DeliveryReport,
    ) -> bool:
        """Write the outcomes (only where the lease is still ours) and commit; returns whether
        to stop sending to this destination in this pass."""
        now = utcnow()
        row = OutboxStatement
        mine = row.lease_id == lease_id
        attempts = {r.id: r.attempts for r in rows}
        groups: dict[_Outcome, list[int]] = defaultdict(list)
        for row_id, outcome in outcomes.items():
            groups[outcome].append(row_id)
        stop = False
        newly_delivered = 0
        try:
            for outcome, ids in groups.items():
                where = and_(row.id.in_(ids), mine)
                values: dict[str, object] = {"lease_id": None}
                if outcome.kind == "delivered":
                    where = and_(where, is_state(row.state, "queued"))  # tallied as they change
                    values.update(state="delivered", delivered_at=now, last_error=None)
                    report.delivered += len(ids)
                elif outcome.kind == "dead":
                    values.update(
                        state="dead", attempts=row.attempts + 1, last_error=outcome.reason
                    )
                    report.dead += len(ids)
                    log.error(
                        "xAPI: %s refused statement(s) %s: %s",
                        target.name,
                        _statement_ids(rows, ids),
                        outcome.reason,
                    )
                elif outcome.kind == "retry":
                    delay = self.backoff.delay(
                        max(attempts[i] for i in ids) + 1, outcome.retry_after
                    )
                    values.update(
                        attempts=row.attempts + 1,
                        next_attempt_at=now + dt.timedelta(seconds=delay),
                        last_error=outcome.reason,
                    )
                    report.retrying += len(ids)
                    stop = True
                    log.warning(
                        "xAPI: %s: %s; %d statement(s) retry in %.1f s",
                        target.name,
                        outcome.reason,
                        len(ids),
                        delay,
                    )
                elif outcome.kind == "refused":
                    hold = dt.timedelta(seconds=self.refused_hold_seconds)
                    values.update(next_attempt_at=now + hold, last_error=outcome.reason)
                    report.retrying += len(ids)
                    report.refused.append(f"{target.name}: {outcome.reason}")
                    stop = True
                    log.error("xAPI: %s refused our credentials: %s", target.name, outcome.reason)
                else:  # release: the lease would end before another request could finish
                    values.update(next_attempt_at=now)
                    stop = True
                result = session.execute(
                    update(row).where(where).values(**values),
                    execution_options={"synchronize_session": False},
                )
                if outcome.kind == "delivered":
                    newly_delivered += int(result.rowcount or 0)  # type: ignore[attr-defined]
            # in the transaction that delivered them, and last: the tally row stays locked
            # only until the commit (several workers may record at once)
            tally_delivered(session, newly_delivered)
            session.commit()
        except Exception:
            session.rollback()
            raise
        return stop


def _statement_ids(rows: list[_Claimed], ids: list[int]) -> str:
    wanted = set(ids)
    return ", ".join(r.statement_id for r in rows if r.id in wanted)


def _classify(answer: LrsAnswer) -> _Outcome:
    status = answer.status
    detail = f"HTTP {status}" + (f": {answer.text}" if answer.text else "")
    detail = detail[:MAX_ERROR]
    if 200 <= status < 300:
        return _Outcome("delivered")
    if status in REJECTED:
        return _Outcome("dead", detail)
    if status in REFUSED:
        return _Outcome("refused", detail)
    return _Outcome("retry", detail, answer.retry_after)


def unrouted(session: Session, targets: Sequence[Destination]) -> int:
    """Queued rows that no configured LRS takes (they wait for one)."""
    # Counted as all minus routed: NOT over a condition that is NULL for a row (a NULL
    # platform compared with a platform id) would leave that row out.
    queued = is_state(OutboxStatement.state, "queued")
    every = session.scalar(select(func.count()).where(queued)) or 0
    taken = session.scalar(select(func.count()).where(queued, routed(targets))) or 0
    return every - taken
