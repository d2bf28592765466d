"""Platform registrations and their deployments (many platforms, many deployments each).

A platform takes launches from its listed deployments only, unless `any_deployment` is set
(dynamically registered platforms, or `lms-plugin platform add --any-deployment`): then a
deployment is recorded from its first launch that passed every check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from lms_plugin.lti.models import Deployment, Platform


@dataclass(frozen=True)
class PlatformSettings:
    """What an administrator (or dynamic registration) gives us about one platform."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    name: str = ""
    any_deployment: bool | None = None  # None: keep a known platform's policy (new: False)


def find_platform(session: Session, issuer: str, client_id: str | None = None) -> Platform | None:
    """The platform for `issuer` (+ `client_id`); without a client id, only a unique issuer's."""
    query = select(Platform).where(Platform.issuer == issuer)
    if client_id is not None:
        return session.scalar(query.where(Platform.client_id == client_id))
    found = session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def find_deployment(session: Session, platform: Platform, deployment_id: str) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(
            Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id
        )
    )


def add_platform(
    session: Session, settings: PlatformSettings, deployment_ids: Sequence[str] = ()
) -> Platform:
    """Register a platform, or update the URLs of a known one, and add deployments it lacks.

    Idempotent: running it twice with the same arguments changes nothing. Flushes; the caller
    commits.
    """
    platform = find_platform(session, settings.issuer, settings.client_id)
    if platform is None:
        platform = Platform(issuer=settings.issuer, client_id=settings.client_id)
        session.add(platform)
    platform.auth_login_url = settings.auth_login_url
    platform.auth_token_url = settings.auth_token_url
    platform.jwks_url = settings.jwks_url
    if settings.name or not platform.name:
        platform.name = settings.name
    if settings.any_deployment is not None:
        platform.any_deployment = settings.any_deployment
    session.flush()
    for deployment_id in deployment_ids:
        if find_deployment(session, platform, deployment_id) is None:
            session.add(Deployment(platform_id=platform.id, deployment_id=deployment_id))
    session.flush()
    return platform


def record_deployment(session: Session, platform: Platform, deployment_id: str) -> Deployment:
    """The platform's deployment with this id, stored (marked as from a launch) if new.

    Only for a launch that passed every check. Two first launches of one deployment at once both
    succeed: the one that loses the race on the unique constraint finds the other's row.
    """
    found = find_deployment(session, platform, deployment_id)
    if found is not None:
        return found
    deployment = Deployment(platform_id=platform.id, deployment_id=deployment_id, from_launch=True)
    try:
        with session.begin_nested():
            session.add(deployment)
    except IntegrityError:
        found = find_deployment(session, platform, deployment_id)
        if found is None:
            raise
        return found
    return deployment


def list_platforms(session: Session) -> Sequence[Platform]:
    query = select(Platform).options(selectinload(Platform.deployments)).order_by(Platform.id)
    return session.scalars(query).all()
