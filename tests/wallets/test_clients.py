"""Wallet clients we did not write pick credentials up over real HTTP (SQLite and PostgreSQL):
`@openid4vc/openid4vci` for OpenID4VCI, `@digitalcredentials/vc` with a did:key for the VC-API
exchange, also signing as the Learner Credential Wallet does (Ed25519Signature2020 on a VC 1.1
presentation) (tests/credentials/wallet_client.mjs); the DCC verifier verifies what they got."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from lms_plugin.config import PROJECT_ROOT
from tests.credentials.conftest import dcc_verify
from tests.live_server import free_port
from tests.wallets.conftest import BASE, Holding, make_offer

CLIENT = PROJECT_ROOT / "tests" / "credentials" / "wallet_client.mjs"


@pytest.fixture
def live(make_app: Callable[..., Flask], holding: Holding) -> Iterator[str]:
    """The tool on the tests' database, served over HTTP on a free port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, make_app(BASE_URL=base), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join()


def on(base: str, offer: dict[str, Any]) -> dict[str, Any]:
    """The offer as the live server would have written it (same database, other base URL)."""
    encoded = requests.utils.quote(BASE, safe="")
    return {
        "offer_uri": offer["offer_uri"].replace(encoded, requests.utils.quote(base, safe="")),
        "exchange_url": offer["exchange_url"].replace(BASE, base),
    }


def wallet(task: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(CLIENT)],
        input=json.dumps(task),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    answer = json.loads(done.stdout or "{}")
    assert done.returncode == 0, answer.get("error") or done.stderr[-4000:]
    return answer


def dcc_verdict(credential: dict[str, Any]) -> dict[str, Any]:
    status = credential["credentialStatus"]
    entries = status if isinstance(status, list) else [status]
    urls = {entry["statusListCredential"] for entry in entries}
    documents = {url: requests.get(url, timeout=10).json() for url in urls}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # not the session's start
    case = {"name": "wallet", "credential": credential, "documents": documents, "now": now}
    [result] = dcc_verify([case])["results"]
    return result


@pytest.mark.parametrize("protocol", ["openid4vci", "vc-api", "vc-api-2020"])
def test_a_wallet_library_picks_up_a_credential_the_dcc_verifier_accepts(
    live: str, holding: Holding, protocol: str
) -> None:
    offer = on(live, make_offer(holding))
    got = wallet({"protocol": protocol, **offer})
    credential = got["credential"]
    assert got["did"].startswith("did:key:z6Mk")
    assert credential["credentialSubject"]["id"] == got["did"]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    result = dcc_verdict(credential)
    assert result["verified"] is True, result
    # The offer is used up, whichever way it went.
    again = subprocess.run(
        ["node", str(CLIENT)],
        input=json.dumps({"protocol": protocol, **offer}),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert again.returncode == 1
