"""The app's LRSs: the default one from the configuration, each platform's or deployment's from
the database (passwords decrypted with the app's secret box), one keep-alive client per LRS, and
the xAPI delivery worker configured from the app (`lms_plugin.worker` runs it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from lms_plugin.database import db
from xapi import delivery
from xapi.delivery import Destination, Worker
from xapi.lrs import LrsClient, LrsConfigError, LrsSettings

DEFAULT_BATCH_SIZE = 500


def default_lrs(config: Mapping[str, Any]) -> LrsSettings | None:
    """The LRS for every platform without its own: `XAPI_LRS_ENDPOINT` and its credentials."""
    endpoint = config.get("XAPI_LRS_ENDPOINT")
    if not endpoint:
        return None
    return LrsSettings(
        endpoint=endpoint,
        username=config.get("XAPI_LRS_USERNAME") or "",
        password=config.get("XAPI_LRS_PASSWORD") or "",
    )


def destinations(problems: list[str] | None = None) -> list[Destination]:
    """Every configured LRS with the outbox rows it takes (inside an app context)."""
    box = current_app.extensions["secret_box"]
    problems = problems if problems is not None else []
    try:
        default = default_lrs(current_app.config)
    except LrsConfigError as error:
        problems.append(f"XAPI_LRS_ENDPOINT: {error}")
        default = None
    return delivery.destinations(
        db.session,
        default,
        lambda ciphertext: box.decrypt(ciphertext).decode("utf-8"),
        problems,
    )


def client_for(settings: LrsSettings) -> LrsClient:
    """One client (keep-alive connections) per LRS setting, kept by the app."""
    clients: dict[LrsSettings, LrsClient] = current_app.extensions.setdefault("xapi_clients", {})
    client = clients.get(settings)
    if client is None:
        client = clients[settings] = LrsClient(settings, timeout=request_timeout())
    return client


def request_timeout() -> float:
    return max(1.0, float(current_app.config["XAPI_LRS_TIMEOUT"]))


def worker(batch_size: int = DEFAULT_BATCH_SIZE) -> Worker:
    """A worker whose lease outlasts any request: 3 x XAPI_LRS_TIMEOUT."""
    timeout = request_timeout()
    return Worker(
        client_for,
        batch_size=batch_size,
        request_timeout=timeout,
        lease_seconds=3 * timeout,
    )
