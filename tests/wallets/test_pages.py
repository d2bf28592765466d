"""The learner's offer (SQLite and PostgreSQL): the "Add to a wallet" page and its JSON form, for
the learner's own credentials only, with CSRF; what the offer stores (hashes only)."""

from __future__ import annotations

import hashlib
import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lms_plugin.database import db
from lms_plugin.wallets.models import WalletOffer
from tests.wallets.conftest import Holding, exchange_path, make_offer, offer_path


def test_the_learner_page_offers_to_add_each_credential_to_a_wallet(holding: Holding) -> None:
    learner = holding.learner
    page = learner.client.get(f"/launch/{learner.launch_id}").get_data(as_text=True)
    action = f"/launch/{learner.launch_id}/credentials/{holding.credential['id']}/wallet"
    assert f'action="{action}"' in page and "Add to a wallet" in page
    assert "did-form" not in page  # the old "paste your DID" form is gone
    answer = learner.client.post(action, data={"csrf_token": learner.csrf})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    html = answer.get_data(as_text=True)
    assert html.count('<svg role="img"') == 2 and "QR code for an OpenID4VCI wallet" in html
    links = [unescape(href) for href in re.findall(r'href="([^"]+)"', html)]
    assert any(
        link.startswith("openid-credential-offer://?credential_offer_uri=") for link in links
    )
    assert any(link.startswith("https://lcw.app/request.html?request=") for link in links)
    assert "10 minutes" in html


def test_only_the_learner_can_make_an_offer_of_their_credential(holding: Holding) -> None:
    me, other = holding.course.learners
    staff = holding.course.staff
    credential_id = holding.credential["id"]
    path = f"/api/v1/credentials/{credential_id}/offer"
    assert other.post(path, None).status_code == 403
    assert staff.post(path, None).status_code == 403
    page = f"/launch/{other.launch_id}/credentials/{credential_id}/wallet"
    assert other.client.post(page, data={"csrf_token": other.csrf}).status_code == 403
    no_csrf = me.client.post(path, headers={"X-LTI-Launch-Id": me.launch_id})
    assert no_csrf.status_code == 403
    assert (
        me.client.post(f"/launch/{me.launch_id}/credentials/{credential_id}/wallet").status_code
        == 403
    )
    assert FlaskClient.post(me.client, path).status_code == 403  # no launch named
    assert me.post("/api/v1/credentials/not-a-uuid/offer", None).status_code == 404
    assert (
        me.post("/api/v1/credentials/0b7b5b5e-4a39-4d5e-9f50-1a2b3c4d5e6f/offer", None).status_code
        == 404
    )


def test_an_offer_keeps_only_hashes_of_its_secrets(app: Flask, holding: Holding) -> None:
    offer = make_offer(holding)
    handle = offer_path(offer).rsplit("/", 1)[1]
    exchange = exchange_path(offer).rsplit("/", 1)[1]
    with app.app_context():
        [row] = db.session.scalars(select(WalletOffer)).all()
        stored = " ".join(str(value) for value in row.__dict__.values())
        assert handle not in stored and exchange not in stored
        assert row.handle_hash == hashlib.sha256(handle.encode()).hexdigest()
        assert (row.expires_at - row.created_at).total_seconds() == 600


def test_offers_that_expired_unused_are_deleted_with_the_next(app: Flask, holding: Holding) -> None:
    make_offer(holding)
    with app.app_context():
        for row in db.session.scalars(select(WalletOffer)):
            row.expires_at = row.created_at
        db.session.commit()
    fresh = make_offer(holding)
    with app.app_context():
        [row] = db.session.scalars(select(WalletOffer)).all()
        handle = offer_path(fresh).rsplit("/", 1)[1]
        assert row.handle_hash == hashlib.sha256(handle.encode()).hexdigest()
