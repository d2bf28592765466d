"""Setting the LRS of a platform or of one deployment (the CLI's `xapi lrs set`, and the demo
pointing the sandbox platform at the sandbox LRS): stored in the database, so every process
(server, worker, CLI) delivers to it and `xapi lrs list` / `xapi status` show it."""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from lms_plugin.lti.models import Deployment, Platform
from lms_plugin.secret_box import SecretBox
from xapi import outbox
from xapi.lrs import XAPI_VERSION
from xapi.models import LrsEndpoint, OutboxStatement


def save_endpoint(
    session: Session,
    box: SecretBox,
    platform: Platform,
    deployment: Deployment | None,
    *,
    endpoint: str,
    username: str,
    password: str,
) -> LrsEndpoint:
    """Create or replace the LRS of `platform` (or of `deployment` only), the password encrypted,
    and queue again the statements that were waiting for it (the caller commits)."""
    deployment_pk = deployment.id if deployment else None
    row = find_endpoint(session, platform, deployment)
    if row is None:
        row = LrsEndpoint(platform_id=platform.id, deployment_id=deployment_pk)
        session.add(row)
    row.endpoint = endpoint
    row.username = username
    row.password_encrypted = box.encrypt(password.encode("utf-8"))
    row.xapi_version = XAPI_VERSION
    scope = OutboxStatement.platform_id == platform.id
    if deployment_pk is not None:
        scope = and_(scope, OutboxStatement.deployment_id == deployment_pk)
    outbox.resume(session, scope)
    return row


def find_endpoint(
    session: Session, platform: Platform, deployment: Deployment | None = None
) -> LrsEndpoint | None:
    """The LRS set for exactly this platform (or this deployment of it), if any."""
    return session.scalar(
        select(LrsEndpoint).where(
            LrsEndpoint.platform_id == platform.id,
            LrsEndpoint.deployment_id.is_(None)
            if deployment is None
            else LrsEndpoint.deployment_id == deployment.id,
        )
    )
