"""`lms-plugin keys ...`: list, rotate and retire the tool's signing keys."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms_plugin import keys
from lms_plugin.commands.common import echo_listing, json_option, require_current_schema
from lms_plugin.database import db
from lms_plugin.lti import issuer_profiles


@click.group("keys")
def keys_group() -> None:
    """List, rotate and retire the tool's signing keys."""


@keys_group.command("rotate")
@click.option(
    "--purpose", type=click.Choice(sorted(keys.ALGORITHMS)), default="lti", show_default=True
)
@click.option(
    "--issuer-profile",
    "profile_slug",
    default=None,
    metavar="SLUG",
    help="Rotate this issuer profile's credentials key instead (slug from `platform list`).",
)
@with_appcontext
def keys_rotate_command(purpose: str, profile_slug: str | None) -> None:
    """Add a new signing key; earlier keys stay published until retired."""
    require_current_schema()
    profile_id = None
    if profile_slug is not None:
        profile = current_app.extensions["issuer_settings"].profiles.by_slug(
            db.session, profile_slug
        )
        if profile is None:
            raise click.ClickException(f"there is no issuer profile {profile_slug!r}")
        purpose, profile_id = "credentials", profile.id
    key = keys.generate_key(db.session, current_app.extensions["secret_box"], purpose, profile_id)
    db.session.commit()
    click.echo(f"New {purpose} key {key.kid} now signs; earlier keys stay published until retired.")


# A kid is a JWK thumbprint (base64url), which may begin with "-": not an option here.
@keys_group.command("retire", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@with_appcontext
def keys_retire_command(kid: str) -> None:
    """Retire a key (not the current one): LTI keys leave the JWKS; credential keys stop signing."""
    require_current_schema()
    try:
        key = keys.retire_key(db.session, kid)
    except keys.ToolKeyError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Retired {key.purpose} key {key.kid}.")


@keys_group.command("list")
@json_option
@with_appcontext
def keys_list_command(as_json: bool) -> None:
    """List every key with its purpose and state."""
    require_current_schema()
    current_ids = keys.current_key_ids(db.session)
    slugs = issuer_profiles.slugs(db.session)
    rows = [
        {
            "kid": key.kid,
            "purpose": key.purpose,
            "algorithm": key.algorithm,
            "state": "current"
            if key.id in current_ids
            else ("retired" if key.retired_at else "published"),
            "created_at": f"{key.created_at:%Y-%m-%dT%H:%M:%S}Z",
            "issuer_profile": slugs[key.issuer_profile_id] if key.issuer_profile_id else None,
        }
        for key in keys.all_keys(db.session)
    ]
    echo_listing(
        rows,
        as_json=as_json,
        empty=(
            "No keys yet. `lms-plugin init` makes the tool's first keys "
            "(`lms-plugin keys rotate --purpose lti|credentials` makes one now)."
        ),
        headings=("PURPOSE", "ALGORITHM", "STATE", "KID", "CREATED (UTC)", "ISSUER PROFILE"),
        cells=lambda row: (
            row["purpose"],
            row["algorithm"],
            row["state"],
            row["kid"],
            row["created_at"].replace("T", " ")[:16],
            row["issuer_profile"] or "the tool",
        ),
    )
