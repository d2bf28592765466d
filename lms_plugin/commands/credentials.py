"""`lms-plugin credentials issue|revoke|verify`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from lms_plugin.assessment import awards
from lms_plugin.assessment.models import LevelAchievement
from lms_plugin.credentials import issuance
from lms_plugin.credentials.models import Credential
from lms_plugin.credentials.untrusted import DEFAULT_LIMITS
from lms_plugin.credentials.verification import CredentialVerifier
from lms_plugin.credentials.verifying import NotACredential
from lms_plugin.database import db


@click.group("credentials")
def credentials_group() -> None:
    """Issue, revoke and verify Open Badges 3.0 credentials."""


@credentials_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@with_appcontext
def verify_command(file: Path) -> None:
    """Verify a credential file offline (FILE, or - for standard input); prints the same JSON as
    POST /api/v1/verify. Exit 0 verified, 1 not verified, 2 not a credential at all."""
    try:
        if str(file) == "-":
            data = sys.stdin.buffer.read(DEFAULT_LIMITS.max_bytes + 1)
        else:
            with file.open("rb") as handle:
                data = handle.read(DEFAULT_LIMITS.max_bytes + 1)
    except OSError as error:
        click.echo(json.dumps({"verified": False, "checks": [], "errors": [str(error)]}))
        sys.exit(2)
    verifier = CredentialVerifier(
        db.session,
        current_app.extensions["issuer_settings"],
        allow_private_addresses=current_app.config["ALLOW_PRIVATE_ADDRESSES"],
    )
    try:
        result = verifier.verify(data)
    except NotACredential as error:
        click.echo(json.dumps({"verified": False, "checks": [], "errors": [str(error)]}))
        sys.exit(2)
    click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    sys.exit(0 if result.verified else 1)


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
    "--achievement", "achievement_id", type=int, required=True, help="A level achievement id."
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
