"""The session cookie: signed as Flask signs it, its serializer built once per secret key, no
zlib attempt on each save, and cookies made before (compressed) still read."""

from __future__ import annotations

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from lms_plugin.lti.current import SESSION_LAUNCHES

LAUNCHES = [f"launch-id-{n:02d}-abcdefghijklmnopqrstu" for n in range(20)]  # compressible


def test_the_session_cookie_is_signed_uncompressed_and_read_by_flask_s_own_interface(
    app: Flask,
) -> None:
    with app.test_request_context("/"):
        ours = app.session_interface.get_signing_serializer(app)
        assert ours is not None and ours is app.session_interface.get_signing_serializer(app)
        cookie = ours.dumps({SESSION_LAUNCHES: LAUNCHES})
        assert not cookie.startswith(".")  # not compressed
        flask_own = SecureCookieSessionInterface().get_signing_serializer(app)
        assert flask_own is not None
        assert flask_own.loads(cookie) == {SESSION_LAUNCHES: LAUNCHES}
        old = flask_own.dumps({SESSION_LAUNCHES: LAUNCHES})
        assert old.startswith(".") and ours.loads(old) == {SESSION_LAUNCHES: LAUNCHES}
        tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
        assert ours.loads_unsafe(tampered)[0] is False


def test_a_changed_secret_key_refuses_old_cookies_unless_kept_as_a_fallback(
    app: Flask,
) -> None:
    client = app.test_client()

    @app.get("/_remember")
    def remember() -> str:
        session[SESSION_LAUNCHES] = LAUNCHES[:1]
        return "ok"

    @app.get("/_launches")
    def launches() -> str:
        return ",".join(session.get(SESSION_LAUNCHES, []))

    client.get("/_remember")
    assert client.get("/_launches").get_data(as_text=True) == LAUNCHES[0]
    old_key = app.secret_key
    app.secret_key = "another-secret-key-for-the-test"
    assert client.get("/_launches").get_data(as_text=True) == ""  # old signature refused
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/_launches").get_data(as_text=True) == LAUNCHES[0]
