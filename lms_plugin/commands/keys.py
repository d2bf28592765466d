"""`lms-plugin keys ...`: list, rotate and retire the tool's signing keys."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms_plugin import keys
from lms_plugin.commands.common import require_current_schema
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
@with_appcontext
def keys_list_command() -> None:
    """List every key with its purpose and state."""
    require_current_schema()
    current_ids = keys.current_key_ids(db.session)
    slugs = issuer_profiles.slugs(db.session)
    for key in keys.all_keys(db.session):
        state = "retired" if key.retired_at else "published"
        if key.id in current_ids:
            state = "current"
        created = f"{key.created_at:%Y-%m-%d %H:%M}Z"
        owner = f"  issuer {slugs[key.issuer_profile_id]}" if key.issuer_profile_id else ""
        click.echo(f"{key.purpose:<12} {key.algorithm:<8} {state:<10} {key.kid}  {created}{owner}")
