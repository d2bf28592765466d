"""`lms-plugin platform ...`: register LMS platforms, invite them, name their issuers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from lms_plugin.commands.common import echo_listing, json_option, require_current_schema
from lms_plugin.credentials import issuance
from lms_plugin.database import db
from lms_plugin.lti import invites, issuer_profiles, registrations
from lms_plugin.lti.models import Platform


@click.group("platform")
def platform_group() -> None:
    """Register LMS platforms (issuer + client id) and their deployments."""


@platform_group.command("add")
@click.option(
    "--issuer",
    required=True,
    help="The platform's issuer (iss), e.g. https://canvas.instructure.com",
)
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option(
    "--deployment-id",
    "deployment_ids",
    multiple=True,
    help="A deployment id (repeatable; required unless --any-deployment).",
)
@click.option(
    "--any-deployment/--listed-deployments-only",
    "any_deployment",
    default=None,
    help="Also accept deployments not listed, each recorded from its first valid launch "
    "(default for a new platform: listed deployments only; a known one keeps its setting).",
)
@click.option("--auth-login-url", required=True, help="The platform's OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth 2 token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public key set URL.")
@click.option("--name", default="", help="A name to show for the platform.")
@with_appcontext
def platform_add_command(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_login_url: str,
    auth_token_url: str,
    jwks_url: str,
    name: str,
    any_deployment: bool | None,
) -> None:
    """Register a platform, or add a deployment to a known one (same issuer and client id)."""
    require_current_schema()
    if not deployment_ids and not any_deployment:
        raise click.UsageError("Give at least one --deployment-id, or --any-deployment.")
    for label, value in (
        ("--issuer", issuer),
        ("--auth-login-url", auth_login_url),
        ("--auth-token-url", auth_token_url),
        ("--jwks-url", jwks_url),
    ):
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise click.BadParameter(f"{value!r} is not an absolute URL", param_hint=label)
    platform = registrations.add_platform(
        db.session,
        registrations.PlatformSettings(
            issuer=issuer,
            client_id=client_id,
            auth_login_url=auth_login_url,
            auth_token_url=auth_token_url,
            jwks_url=jwks_url,
            name=name,
            any_deployment=any_deployment,
        ),
        deployment_ids,
    )
    db.session.commit()
    click.echo(
        f"Platform {platform.id}: {platform.issuer} client {platform.client_id}; "
        f"deployments: {deployments_text(deployment_policy(platform))}"
    )


def deployment_policy(platform: Platform) -> dict[str, Any]:
    """A platform's deployments, those recorded from launches, and whether it takes any other."""
    return {
        "deployments": [d.deployment_id for d in platform.deployments],
        "deployments_from_launches": [
            d.deployment_id for d in platform.deployments if d.from_launch
        ],
        "any_deployment": platform.any_deployment,
    }


def deployments_text(policy: Mapping[str, Any]) -> str:
    """`deployment_policy` in words."""
    listed = ", ".join(
        f"{d} (recorded from a launch)" if d in policy["deployments_from_launches"] else d
        for d in policy["deployments"]
    )
    if policy["any_deployment"]:
        return f"{listed or 'none yet'}; any other is recorded from its first launch"
    return listed or "none"


@platform_group.command("list")
@json_option
@with_appcontext
def platform_list_command(as_json: bool) -> None:
    """List registered platforms and their deployments."""
    require_current_schema()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "issuer": p.issuer,
            "client_id": p.client_id,
            "auth_login_url": p.auth_login_url,
            "auth_token_url": p.auth_token_url,
            "jwks_url": p.jwks_url,
            **deployment_policy(p),
            "issuer_profile": issuer_profiles.summary(db.session, p),
        }
        for p in registrations.list_platforms(db.session)
    ]
    echo_listing(
        rows,
        as_json=as_json,
        empty=(
            "No platforms registered yet. Register one with `lms-plugin platform add ...`, "
            "or print a registration link with `lms-plugin platform invite`."
        ),
        headings=("ID", "NAME", "ISSUER", "CLIENT ID", "DEPLOYMENTS", "CREDENTIALS ISSUED BY"),
        cells=lambda row: (
            row["id"],
            row["name"],
            row["issuer"],
            row["client_id"],
            deployments_text(row),
            f"{row['issuer_profile']['name']} [{row['issuer_profile']['slug'] or 'default'}]",
        ),
    )


@platform_group.command("invite")
@click.option("--name", default="", help="A name for the platform (shown in `platform list`).")
@click.option(
    "--expires-in",
    type=float,
    default=invites.DEFAULT_EXPIRES_IN_HOURS,
    show_default=True,
    metavar="HOURS",
    help=f"Hours the link stays usable (at most {invites.MAX_EXPIRES_IN_HOURS:g}).",
)
@with_appcontext
def platform_invite_command(name: str, expires_in: float) -> None:
    """Print a single-use registration link: paste it into the LMS as the Tool URL (LTI Dynamic
    Registration); the platform is registered and live once the LMS has used it."""
    require_current_schema()
    try:
        url = invites.create_invite(db.session, current_app.config["BASE_URL"], name, expires_in)
    except invites.InviteError as error:
        raise click.UsageError(f"{error}.") from None
    db.session.commit()
    click.echo(url)


@platform_group.command("issuer")
@click.option("--issuer", required=True, help="The platform's issuer (iss).")
@click.option("--client-id", default=None, help="Which platform, when several share the issuer.")
@click.option("--deployment-id", default=None, help="Only for this deployment of the platform.")
@click.option("--name", required=True, help="The institution credentials name as their issuer.")
@click.option("--url", default=None, help="The institution's web site, shown with its name.")
@click.option(
    "--slug", default=None, help="Its DID path: did:web:<tool host>:issuers:<slug> (new only)."
)
@with_appcontext
def platform_issuer_command(
    issuer: str,
    client_id: str | None,
    deployment_id: str | None,
    name: str,
    url: str | None,
    slug: str | None,
) -> None:
    """Set who credentials of a platform (or of one deployment, which overrides the platform)
    name as their issuer; it signs with its own key. Credentials issued earlier keep theirs."""
    require_current_schema()
    settings = current_app.extensions["issuer_settings"]
    try:
        platform, deployment = issuer_profiles.find_scope(
            db.session, issuer, client_id, deployment_id
        )
        profile = issuer_profiles.set_profile(
            db.session, platform, deployment, name=name, url=url, slug=slug
        )
    except issuer_profiles.IssuerProfileError as error:
        raise click.ClickException(str(error)) from None
    identity = issuance.profile_identity(db.session, settings, issuer_profiles.info(profile))
    db.session.commit()
    where = f"deployment {deployment.deployment_id}" if deployment else "every deployment"
    click.echo(
        f"Issuer for {platform.issuer} (client {platform.client_id}), {where}: {profile.name}"
        f"{f' <{profile.url}>' if profile.url else ''}; DID {identity.did}"
    )
