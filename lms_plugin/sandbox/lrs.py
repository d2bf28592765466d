"""The sandbox LRS: a small xAPI statement store for the demo, so a newcomer sees the statements
the tool sends. It is a demonstration, not an LRS for production (no queries, no attachments, no
voiding semantics); the tests prove delivery against Ralph, a real LRS.

It answers the way an LRS does to what the tool's delivery sends: HTTP basic auth with the
sandbox credentials (derived from SECRET_KEY), the `X-Experience-API-Version` header (1.0.x),
`POST` of one statement or a list (200 with the ids), `PUT ?statementId=` (204); an id already
stored with the same statement is accepted again, with a different one it is a conflict (409).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.sandbox.models import SandboxLrsStatement
from lms_plugin.sandbox.toolkeys import contains_nul

USERNAME = "sandbox-lrs"
ENDPOINT_PATH = "/sandbox/lrs/xAPI"
COURSE_TYPE = "http://adlnet.gov/expapi/activities/course"
MAX_BATCH = 1000
MAX_SHOWN = 200


class LrsRequestError(Exception):
    """The request is refused with `status`; the message says why in plain words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def password(secret_key: str) -> str:
    """The sandbox LRS password: fixed per installation, known only to the server."""
    digest = hmac.new(secret_key.encode("utf-8"), b"sandbox-lrs-password", hashlib.sha256)
    return digest.hexdigest()[:32]


def lrs_settings(base_url: str, secret_key: str) -> dict[str, str]:
    """The `XAPI_LRS_*` settings that send the tool's statements to the sandbox LRS."""
    return {
        "XAPI_LRS_ENDPOINT": base_url.rstrip("/") + ENDPOINT_PATH,
        "XAPI_LRS_USERNAME": USERNAME,
        "XAPI_LRS_PASSWORD": password(secret_key),
    }


def check_request(authorization: str | None, version: str | None, secret_key: str) -> None:
    """Refuse a request without the sandbox credentials (401) or without xAPI 1.0.x (400)."""
    if not _authorized(authorization, secret_key):
        raise LrsRequestError(401, "the sandbox LRS needs its user and password (HTTP basic)")
    if not version:
        raise LrsRequestError(400, "the X-Experience-API-Version header is missing")
    if not version.strip().startswith("1.0"):
        raise LrsRequestError(400, f"xAPI version {version[:20]!r} is not supported; use 1.0.3")


def _authorized(authorization: str | None, secret_key: str) -> bool:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{USERNAME}:{password(secret_key)}".encode()
    return hmac.compare_digest(f"{user}:{given}".encode(), expected)


def parse_body(data: bytes) -> Any:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise LrsRequestError(400, "the body is not valid JSON") from None
    if contains_nul(body):
        raise LrsRequestError(400, "the statements must not contain NUL characters")
    return body


def post_statements(session: Session, body: Any) -> list[str]:
    """Store one statement or a list of them (all or nothing); answer their ids, in order."""
    statements = body if isinstance(body, list) else [body]
    if not statements or len(statements) > MAX_BATCH:
        raise LrsRequestError(400, f"send between 1 and {MAX_BATCH} statements")
    ids = [_checked(statement, index, None) for index, statement in enumerate(statements)]
    if len(set(ids)) != len(ids):
        raise LrsRequestError(400, "the same statement id appears twice in one request")
    _store(session, list(zip(ids, statements, strict=True)))
    return ids


def put_statement(session: Session, statement_id: str | None, body: Any) -> None:
    """Store one statement under `statementId`."""
    if not statement_id:
        raise LrsRequestError(400, "PUT needs the statementId parameter")
    _store(session, [(_checked(body, 0, statement_id), body)])


def _checked(statement: Any, index: int, given_id: str | None) -> str:
    """The statement's id (one is assigned when it has none) after a basic shape check."""
    if not isinstance(statement, dict):
        raise LrsRequestError(400, f"statement {index} must be a JSON object")
    for part in ("actor", "verb", "object"):
        if not isinstance(statement.get(part), dict):
            raise LrsRequestError(400, f"statement {index} has no {part}")
    if not isinstance(statement["verb"].get("id"), str):
        raise LrsRequestError(400, f"statement {index}: the verb has no id")
    raw_id = statement.get("id", given_id)
    if raw_id is None:
        statement["id"] = str(uuid.uuid4())
        return str(statement["id"])
    statement_id = _uuid(raw_id, index)
    if given_id is not None and statement_id != _uuid(given_id, index):
        raise LrsRequestError(400, "the statement's id differs from the statementId parameter")
    statement["id"] = statement_id
    return statement_id


def _uuid(value: Any, index: int) -> str:
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise LrsRequestError(400, f"statement {index}: the id must be a UUID")


def _store(session: Session, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    ids = [statement_id for statement_id, _ in items]
    stored = {
        row.statement_id: row
        for row in session.scalars(
            select(SandboxLrsStatement).where(SandboxLrsStatement.statement_id.in_(ids))
        )
    }
    for statement_id, statement in items:
        existing = stored.get(statement_id)
        if existing is not None:
            if json.loads(existing.body) != statement:
                raise LrsRequestError(
                    409, f"a different statement is already stored under id {statement_id}"
                )
            continue  # the same statement again: a retry, accepted
        course_iri, course_title = _course(statement)
        session.add(
            SandboxLrsStatement(
                statement_id=statement_id,
                course_iri=course_iri,
                course_title=course_title,
                body=json.dumps(statement, ensure_ascii=False),
            )
        )
    session.flush()


def _course(statement: dict[str, Any]) -> tuple[str | None, str | None]:
    """The course activity of the statement's context grouping (its id and name), if any."""
    context = statement.get("context")
    activities = context.get("contextActivities") if isinstance(context, dict) else None
    grouping = activities.get("grouping") if isinstance(activities, dict) else None
    for activity in grouping if isinstance(grouping, list) else []:
        definition = activity.get("definition") if isinstance(activity, dict) else None
        if isinstance(definition, dict) and definition.get("type") == COURSE_TYPE:
            iri = activity.get("id")
            if isinstance(iri, str) and len(iri) <= 2048:
                return iri, (language_map(definition.get("name")) or iri)[:500]
    return None, None


def language_map(value: Any) -> str:
    """The English (or else the first) text of an xAPI language map."""
    if not isinstance(value, dict) or not value:
        return ""
    for key in ("en-US", "en"):
        if isinstance(value.get(key), str):
            return str(value[key])
    first = next(iter(value.values()))
    return first if isinstance(first, str) else ""


# --- the viewer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownStatement:
    """A statement as an LRS viewer lists it, with its JSON for the curious."""

    statement_id: str
    actor: str
    verb: str
    object: str
    result: str
    time: str
    course: str
    json: str


@dataclass(frozen=True)
class Course:
    iri: str
    title: str


def courses(session: Session) -> list[Course]:
    """Every course statements were received for."""
    rows = session.execute(
        select(SandboxLrsStatement.course_iri, SandboxLrsStatement.course_title)
        .where(SandboxLrsStatement.course_iri.is_not(None))
        .distinct()
    )
    found = {iri: title for iri, title in rows if iri}
    return sorted(
        (Course(iri, title or iri) for iri, title in found.items()), key=lambda c: c.title
    )


def newest_statements(session: Session, course_iri: str | None) -> list[ShownStatement]:
    """The newest statements received (of one course, if given), newest first."""
    query = select(SandboxLrsStatement).order_by(
        SandboxLrsStatement.stored_at.desc(), SandboxLrsStatement.id.desc()
    )
    if course_iri:
        query = query.where(SandboxLrsStatement.course_iri == course_iri)
    return [_shown(row) for row in session.scalars(query.limit(MAX_SHOWN))]


def _shown(row: SandboxLrsStatement) -> ShownStatement:
    statement = json.loads(row.body)
    verb = statement["verb"]
    return ShownStatement(
        statement_id=row.statement_id,
        actor=_actor(statement["actor"]),
        verb=language_map(verb.get("display")) or verb["id"].rsplit("/", 1)[-1],
        object=_object(statement["object"]),
        result=_result(statement.get("result")),
        time=str(statement.get("timestamp") or row.stored_at.isoformat()),
        course=row.course_title or "",
        json=json.dumps(statement, indent=2, ensure_ascii=False),
    )


def _actor(actor: dict[str, Any]) -> str:
    account = actor.get("account")
    for value in (
        actor.get("name"),
        actor.get("mbox"),
        account.get("name") if isinstance(account, dict) else None,
    ):
        if isinstance(value, str) and value:
            return value
    return "(unnamed)"


def _object(target: dict[str, Any]) -> str:
    definition = target.get("definition")
    name = language_map(definition.get("name")) if isinstance(definition, dict) else ""
    return name or str(target.get("id", ""))


def _result(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    parts = []
    if isinstance(result.get("success"), bool):
        parts.append("success" if result["success"] else "no success")
    if isinstance(result.get("completion"), bool):
        parts.append("completed" if result["completion"] else "not completed")
    score = result.get("score")
    if isinstance(score, dict) and score.get("scaled") is not None:
        parts.append(f"score {score['scaled']}")
    if isinstance(result.get("response"), str) and result["response"]:
        parts.append(f"“{result['response']}”")
    return ", ".join(parts)
