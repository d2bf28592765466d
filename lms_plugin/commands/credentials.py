"""`lms-plugin credentials list|achievements|issue|revoke|verify`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Select, func, select

from lms_plugin.assessment import awards
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.commands.common import echo_listing, json_option, require_current_schema
from lms_plugin.credentials import issuance
from lms_plugin.credentials.models import Credential
from lms_plugin.credentials.untrusted import DEFAULT_LIMITS
from lms_plugin.credentials.verification import CredentialVerifier
from lms_plugin.credentials.verifying import NotACredential, refused
from lms_plugin.database import db
from lms_plugin.frameworks.models import FrameworkVersion, Level
from lms_plugin.lti.models import Course, Person, ResourceLink
from lms_plugin.orm import utcnow


@click.group("credentials")
def credentials_group() -> None:
    """List, issue, revoke and verify Open Badges 3.0 credentials."""


learner_option = click.option(
    "--learner",
    default=None,
    metavar="ID_OR_NAME",
    help="Only this learner: their id (as the JSON API gives it) or part of their name.",
)


def _only_learner(query: Select[Any], learner: str | None) -> Select[Any]:
    """Narrow a query joined to Person to one learner id, or to names containing `learner`."""
    if learner is None:
        return query
    if learner.strip().isdigit():
        return query.where(Person.id == int(learner))
    return query.where(func.lower(Person.name).contains(learner.strip().lower(), autoescape=True))


def _summary(person: Person, level: Level, version: FrameworkVersion) -> dict[str, Any]:
    return {
        "learner": {"id": person.id, "name": person.name},
        "level": {"key": level.key, "label": level.label},
        "framework": {"id": version.id, "title": version.title, "version": version.version_label},
    }


def _timestamp(moment: Any) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def _nothing_listed(what: str, learner: str | None) -> str:
    return f"No {what}" + (f" for learners matching {learner!r}." if learner else " yet.")


@credentials_group.command("list")
@learner_option
@json_option
@with_appcontext
def list_command(learner: str | None, as_json: bool) -> None:
    """List issued credentials, newest first: id, learner, level, framework, issued, status."""
    require_current_schema()
    query = (
        select(Credential, Person, Level, FrameworkVersion)
        .join(Person, Person.id == Credential.learner_id)
        .join(Level, Level.id == Credential.level_id)
        .join(FrameworkVersion, FrameworkVersion.id == Level.version_id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    now = utcnow()
    settings = current_app.extensions["issuer_settings"]
    rows = [
        {
            "id": credential.id,
            **_summary(person, level, version),
            "achievement_id": credential.achievement_id,
            "issued_at": _timestamp(credential.issued_at),
            "status": "revoked"
            if credential.revoked_at
            else (
                "expired" if credential.valid_until and credential.valid_until < now else "active"
            ),
            "url": settings.credential_url(credential.id),
        }
        for credential, person, level, version in db.session.execute(_only_learner(query, learner))
    ]
    echo_listing(
        rows,
        as_json=as_json,
        empty=(
            _nothing_listed("credentials issued", learner)
            + " A credential is issued when a learner achieves a level."
        ),
        headings=("ID", "LEARNER", "LEVEL", "FRAMEWORK", "ISSUED (UTC)", "STATUS"),
        cells=lambda row: (
            row["id"],
            f"{row['learner']['name']} ({row['learner']['id']})",
            row["level"]["label"],
            f"{row['framework']['title']} {row['framework']['version']}",
            row["issued_at"].replace("T", " ")[:16],
            row["status"],
        ),
    )


@credentials_group.command("achievements")
@learner_option
@json_option
@with_appcontext
def achievements_command(learner: str | None, as_json: bool) -> None:
    """List the levels learners hold (not withdrawn), newest first: the ids that
    `credentials issue --achievement ID` takes, with the credentials issued for each."""
    require_current_schema()
    query = (
        select(LevelAchievement, Person, Level, FrameworkVersion, Course)
        .join(Person, Person.id == LevelAchievement.learner_id)
        .join(Level, Level.id == LevelAchievement.level_id)
        .join(FrameworkVersion, FrameworkVersion.id == Level.version_id)
        .join(ResourceLink, ResourceLink.id == LevelAchievement.resource_link_id)
        .join(Course, Course.id == ResourceLink.course_id)
        .where(LevelAchievement.withdrawn_at.is_(None))
        .order_by(LevelAchievement.achieved_at.desc(), LevelAchievement.id.desc())
    )
    found = db.session.execute(_only_learner(query, learner)).all()
    issued: dict[int, list[str]] = {}
    if found:
        for achievement_id, credential_id in db.session.execute(
            select(Credential.achievement_id, Credential.id)
            .where(Credential.achievement_id.in_([row[0].id for row in found]))
            .order_by(Credential.issued_at, Credential.id)
        ):
            issued.setdefault(achievement_id, []).append(credential_id)
    rows = [
        {
            "id": achievement.id,
            **_summary(person, level, version),
            "course": {"id": course.id, "title": course.title or course.context_id},
            "achieved_at": _timestamp(achievement.achieved_at),
            "credentials": issued.get(achievement.id, []),
        }
        for achievement, person, level, version, course in found
    ]
    echo_listing(
        rows,
        as_json=as_json,
        empty=(
            _nothing_listed("levels achieved", learner)
            + " A learner achieves a level when evaluators judge its statements met."
        ),
        headings=("ID", "LEARNER", "LEVEL", "FRAMEWORK", "COURSE", "ACHIEVED (UTC)", "CREDENTIALS"),
        cells=lambda row: (
            row["id"],
            f"{row['learner']['name']} ({row['learner']['id']})",
            row["level"]["label"],
            f"{row['framework']['title']} {row['framework']['version']}",
            row["course"]["title"],
            row["achieved_at"].replace("T", " ")[:16],
            len(row["credentials"]),
        ),
    )


@credentials_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@with_appcontext
def verify_command(file: Path) -> None:
    """Verify a credential file (JSON, or an SVG badge with one baked in; FILE, or - for standard
    input); prints the same JSON as POST /api/v1/verify. Exit 0 verified, 1 not verified, 2 not a
    credential at all."""
    try:
        if str(file) == "-":
            data = sys.stdin.buffer.read(DEFAULT_LIMITS.max_bytes + 1)
        else:
            with file.open("rb") as handle:
                data = handle.read(DEFAULT_LIMITS.max_bytes + 1)
    except OSError as error:
        click.echo(json.dumps(refused(str(error))))
        sys.exit(2)
    verifier = CredentialVerifier(
        db.session,
        current_app.extensions["issuer_settings"],
        allow_private_addresses=current_app.config["ALLOW_PRIVATE_ADDRESSES"],
        trust_list=current_app.extensions["trust_list"],
    )
    try:
        result = verifier.verify(data)
    except NotACredential as error:
        click.echo(json.dumps(refused(str(error))))
        sys.exit(2)
    click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    sys.exit(0 if result.verified else (1 if result.is_credential else 2))


@credentials_group.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="Shown on the credential's public page.")
@with_appcontext
def revoke_command(credential_id: str, reason: str) -> None:
    """Revoke a credential (its status list bit is set; verifiers see it at once)."""
    credential = db.session.get(Credential, credential_id)
    if credential is None:
        raise click.ClickException(f"there is no credential {credential_id}")
    if not reason.strip():
        raise click.BadParameter("give a reason", param_hint="--reason")
    if not issuance.revoke(db.session, credential, reason):
        click.echo(f"{credential_id} was already revoked.")
        return
    db.session.commit()
    click.echo(f"Revoked {credential_id}.")


@credentials_group.command("issue")
@click.option(
    "--achievement",
    "achievement_id",
    type=int,
    required=True,
    help="A level achievement id (`lms-plugin credentials achievements` lists them).",
)
@click.option(
    "--did", "learner_did", default=None, help="Bind the credential to the learner's DID."
)
@with_appcontext
def issue_command(achievement_id: int, learner_did: str | None) -> None:
    """Issue a (new) credential for a level a learner holds, e.g. bound to a DID they give."""
    achievement = db.session.get(LevelAchievement, achievement_id)
    if achievement is None:
        raise click.ClickException(f"there is no level achievement {achievement_id}")
    if achievement.withdrawn_at is not None:
        raise click.ClickException(f"achievement {achievement_id} was withdrawn: nothing to issue")
    try:
        issued = awards.issue_for_achievement(
            db.session,
            current_app.extensions["issuer_settings"],
            achievement,
            learner_did=learner_did,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(current_app.extensions["issuer_settings"].credential_url(issued.credential.id))
