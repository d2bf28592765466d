"""The sandbox remembers who this browser acts as: switching is a CSRF-protected POST kept in a
cookie, and every sandbox link and "New window" act as that user."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from tests.sandbox.helpers import BASE, INSTRUCTOR, LEARNER, add_link


def csrf_token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sandbox").text)
    assert found is not None
    return found.group(1)


def switch_to(client: FlaskClient, user: str) -> None:
    response = client.post("/sandbox/act-as", data={"user": user, "csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.headers["Location"] == "/sandbox"


def acting_as(html: str) -> str:
    found = re.search(r"You are <strong>([^<]+)</strong>", html)
    assert found is not None
    return unescape(found.group(1))


def test_the_chosen_user_is_kept_until_switched_again(sandbox: Flask, client: FlaskClient) -> None:
    add_link(sandbox)
    assert acting_as(client.get("/sandbox").text) == "Ada Lovelace"
    switch_to(client, LEARNER)
    home = client.get("/sandbox").text
    assert acting_as(home) == "Chloé Dubois"
    launches = re.findall(r'name="user" value="([^"]+)"', home)
    assert launches and set(launches) == {LEARNER}  # "Launch" and "New window" alike
    assert acting_as(client.get("/sandbox").text) == "Chloé Dubois"
    # Another browser is not affected.
    assert acting_as(sandbox.test_client().get("/sandbox").text) == "Ada Lovelace"
    # ?as= shows one page as someone else without changing what is remembered.
    assert acting_as(client.get(f"/sandbox?as={INSTRUCTOR}").text) == "Ada Lovelace"
    assert acting_as(client.get("/sandbox").text) == "Chloé Dubois"
    switch_to(client, INSTRUCTOR)
    assert acting_as(client.get("/sandbox").text) == "Ada Lovelace"


def test_breadcrumb_and_new_window_act_as_the_launching_learner(
    sandbox: Flask, client: FlaskClient
) -> None:
    link, _ = add_link(sandbox)
    switch_to(client, LEARNER)
    page = client.get("/sandbox/launch", query_string={"user": LEARNER, "link": link}).text

    breadcrumb = re.search(
        r'<nav aria-label="Breadcrumb"><a href="([^"]+)">Sandbox Course 101', page
    )
    assert breadcrumb is not None
    assert acting_as(client.get(unescape(breadcrumb.group(1))).text) == "Chloé Dubois"
    # Even in a browser that never switched, the breadcrumb stays with the launching user.
    assert acting_as(sandbox.test_client().get(unescape(breadcrumb.group(1))).text) == (
        "Chloé Dubois"
    )

    new_window = re.search(r'<a href="([^"]+)" target="_blank"[^>]*>Open in a new window', page)
    assert new_window is not None
    login = client.get(unescape(new_window.group(1)))
    assert login.status_code == 302 and login.headers["Location"].startswith(f"{BASE}/lti/login?")
    assert parse_qs(urlsplit(login.headers["Location"]).query)["login_hint"] == [LEARNER]


def test_the_role_is_shown_once(client: FlaskClient) -> None:
    home = client.get("/sandbox").text
    assert ">Ada Lovelace — Instructor</option>" in home
    assert ">Chloé Dubois — Learner</option>" in home
    assert "(Instructor)" not in home and "(instructor)" not in home


def test_switching_needs_the_csrf_token_and_a_member(client: FlaskClient) -> None:
    refused = client.post("/sandbox/act-as", data={"user": LEARNER})
    assert refused.status_code == 403
    stranger = client.post(
        "/sandbox/act-as", data={"user": "nobody", "csrf_token": csrf_token(client)}
    )
    assert stranger.status_code == 400 and "Choose a user" in stranger.text
    assert "sandbox_user" not in stranger.headers.get("Set-Cookie", "")
    assert acting_as(client.get("/sandbox").text) == "Ada Lovelace"
