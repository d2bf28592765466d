"""Credentials name the institution that judged (SQLite and PostgreSQL): each platform (or
deployment) has an issuer profile with its own DID and key; `platform issuer` sets it; a platform
without one issues under a default named after it; profile DIDs resolve locally (did:web at
/issuers/<slug>/did.json), and credentials of the tool-wide issuer keep verifying."""

from __future__ import annotations

import copy
import json
import socket
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from lms_plugin.commands import cli
from lms_plugin.credentials import dids, issuance, signing, status_list
from lms_plugin.credentials.models import Credential, StatusList
from lms_plugin.database import db
from lms_plugin.keys import ToolKey
from lms_plugin.lti import issuer_profiles
from lms_plugin.lti.models import Course, IssuerProfile, Platform
from tests.courses import placed_course
from tests.credentials.test_app import achieve, dcc_case, document, verify
from tests.lti.platform import KeySetServer, LtiPlatform

HTTPS_BASE = "https://tool.example.edu"
HOST = "tool.example.edu"
RIVERSIDE_URL = "https://riverside.example.edu"


class NorthfieldMoodle(LtiPlatform):
    """A second institution's LMS."""

    issuer = "https://moodle.northfield.example.org"
    client_id = "northfield-tool"
    deployment_id = "1"
    auth_login_url = "https://moodle.northfield.example.org/mod/lti/auth.php"


def register_other(
    app: Flask, key: rsa.RSAPrivateKey, keyset: KeySetServer, name: str | None = None
) -> LtiPlatform:
    other = NorthfieldMoodle(key, keyset)
    other.register(app)
    if name is not None:
        with app.app_context():
            found = db.session.scalar(select(Platform).where(Platform.issuer == other.issuer))
            assert found is not None
            found.name = name
            db.session.commit()
    return other


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(cli, list(args))


def set_issuer(app: Flask, issuer: str, name: str, *more: str) -> Any:
    return run(app, "platform", "issuer", "--issuer", issuer, "--name", name, *more)


def add_platform(
    app: Flask, issuer: str, client_id: str, deployment_id: str, jwks_url: str
) -> None:
    added = run(
        app,
        "platform",
        "add",
        "--issuer",
        issuer,
        "--client-id",
        client_id,
        "--deployment-id",
        deployment_id,
        "--auth-login-url",
        "https://lms.example.edu/auth",
        "--auth-token-url",
        "https://lms.example.edu/token",
        "--jwks-url",
        jwks_url,
    )
    assert added.exit_code == 0, added.output


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def https_app(make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The tool on a public HTTPS host (did:web); launches target it."""
    monkeypatch.setattr("tests.courses.BASE", HTTPS_BASE)
    return make_app(BASE_URL=HTTPS_BASE)


def served_documents(client: FlaskClient, credential: dict[str, Any]) -> dict[str, Any]:
    """What a verifier would fetch: the issuer's DID document and the status list."""
    did = credential["issuer"]["id"]
    path = dids.did_web_document_url(did).removeprefix(HTTPS_BASE)
    status_url = credential["credentialStatus"]["statusListCredential"]
    return {
        did: client.get(path).json,
        status_url: client.get(status_url.removeprefix(HTTPS_BASE)).json,
    }


def failed_checks(result: dict[str, Any]) -> set[str]:
    return {check["check"] for check in result["checks"] if check["passed"] is False}


def test_did_web_paths() -> None:
    did = dids.did_web("tool.example.edu:8443", ("issuers", "riverside-college"))
    assert did == "did:web:tool.example.edu%3A8443:issuers:riverside-college"
    assert dids.did_web_document_url(did) == (
        "https://tool.example.edu:8443/issuers/riverside-college/did.json"
    )
    with pytest.raises(dids.KeyFormatError):
        dids.did_web(HOST, ("issuers", ""))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Riverside College", "riverside-college"),
        ("  École Supérieure d'Art — Nîmes ", "ecole-superieure-d-art-nimes"),
        ("東京大学", "issuer"),
        ("x" * 300, "x" * 56),
    ],
)
def test_slugs_from_names(name: str, slug: str) -> None:
    assert issuer_profiles.slugify(name) == slug
    assert issuer_profiles.SLUG.fullmatch(slug)


def test_two_platforms_issue_under_their_own_default_profiles(
    app: Flask,
    client: FlaskClient,
    platform: LtiPlatform,
    platform_key: rsa.RSAPrivateKey,
    keyset: KeySetServer,
    version_id: int,
) -> None:
    other = register_other(app, platform_key, keyset, name="Northfield Moodle")
    assert count(app, IssuerProfile) == 0  # nothing is created before it is needed
    listed = run(app, "platform", "list", "--json")
    assert [p["issuer_profile"] for p in json.loads(listed.output)] == [
        {"name": "Test LMS", "url": None, "slug": None},
        {"name": "Northfield Moodle", "url": None, "slug": None},
    ]
    test_lms = document(client, achieve(app, placed_course(app, platform, version_id))["url"])
    northfield = document(
        client, achieve(app, placed_course(app, other, version_id, context_id="nf-1"))["url"]
    )

    assert test_lms["issuer"]["name"] == "Test LMS"
    assert northfield["issuer"]["name"] == "Northfield Moodle"
    assert test_lms["issuer"]["id"] != northfield["issuer"]["id"]
    assert all(c["issuer"]["id"].startswith("did:key:z6Mk") for c in (test_lms, northfield))
    methods = [c["proof"][0]["verificationMethod"] for c in (test_lms, northfield)]
    assert methods[0] != methods[1]
    assert methods[0].startswith(test_lms["issuer"]["id"] + "#")
    lists = [c["credentialStatus"]["statusListCredential"] for c in (test_lms, northfield)]
    assert lists[0] != lists[1]  # each list is signed by its credentials' own issuer
    assert verify(client, test_lms)["verified"] is True
    assert verify(client, northfield)["verified"] is True

    swapped = copy.deepcopy(northfield)
    swapped["issuer"] = test_lms["issuer"]
    result = verify(client, swapped)
    assert result["verified"] is False
    assert "issuer key" in failed_checks(result) or "signature" in failed_checks(result)

    with app.app_context():
        profiles = db.session.scalars(select(IssuerProfile).order_by(IssuerProfile.id)).all()
        assert [(p.name, p.slug, p.deployment_id) for p in profiles] == [
            ("Test LMS", "test-lms", None),
            ("Northfield Moodle", "northfield-moodle", None),
        ]
        owners = db.session.scalars(select(ToolKey.issuer_profile_id).join(Credential)).all()
        assert sorted(owners) == sorted(p.id for p in profiles)
    listed = json.loads(run(app, "platform", "list", "--json").output)
    assert [p["issuer_profile"]["slug"] for p in listed] == ["test-lms", "northfield-moodle"]


def test_default_profiles_of_platforms_with_the_same_name_get_unique_slugs(
    app: Flask, platform: LtiPlatform, platform_key: rsa.RSAPrivateKey, keyset: KeySetServer
) -> None:
    register_other(app, platform_key, keyset)  # also named "Test LMS"
    with app.app_context():
        courses = []
        for index, found in enumerate(db.session.scalars(select(Platform).order_by(Platform.id))):
            course = Course(platform_id=found.id, context_id=f"c-{index}")
            db.session.add(course)
            courses.append(course)
        db.session.flush()
        first, second = (issuer_profiles.profile_for_course(db.session, c) for c in courses)
        again = issuer_profiles.profile_for_course(db.session, courses[0])
        db.session.commit()
        assert (first.name, first.slug) == ("Test LMS", "test-lms")
        assert (second.name, second.slug) == ("Test LMS", "test-lms-2")
        assert again.id == first.id


def test_a_default_made_meanwhile_by_another_transaction_is_used(
    app: Flask, platform: LtiPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers may need a platform's default at once: the one that finds it made (or its
    slug taken) in between reads the other's row instead of failing."""
    with app.app_context():
        platform_id = db.session.scalar(select(Platform.id))
        assert platform_id is not None
        course = Course(platform_id=platform_id, context_id="c-1")
        db.session.add(course)
        db.session.commit()
        other = app.extensions["database"]()
        try:
            theirs = issuer_profiles.profile_for_course(other, other.get(Course, course.id))
            other.commit()
            theirs_id = theirs.id
        finally:
            other.close()
        real = issuer_profiles.platform_profile
        reads: list[int] = []

        def stale_at_first(session: Any, pid: int) -> IssuerProfile | None:
            reads.append(pid)  # the first read happened before the other worker committed
            return None if len(reads) == 1 else real(session, pid)

        monkeypatch.setattr(issuer_profiles, "platform_profile", stale_at_first)
        ours = issuer_profiles.profile_for_course(db.session, course)
        db.session.commit()
        assert ours.id == theirs_id and len(reads) == 2
        monkeypatch.setattr(issuer_profiles, "platform_profile", real)
        assert count(app, IssuerProfile) == 1

        second = Course(platform_id=register_slug_clash(app, db.session), context_id="c-2")
        db.session.add(second)
        db.session.flush()
        real_slug = issuer_profiles.unique_slug
        taken = iter(["test-lms"])  # another platform's, committed after this worker looked
        monkeypatch.setattr(
            issuer_profiles,
            "unique_slug",
            lambda session, name: next(taken, None) or real_slug(session, name),
        )
        made = issuer_profiles.profile_for_course(db.session, second)
        db.session.commit()
        assert (made.name, made.slug) == ("Test LMS", "test-lms-2")


def register_slug_clash(app: Flask, session: Any) -> int:
    """A second platform named like the first ("Test LMS")."""
    other = Platform(
        issuer="https://other.example.edu",
        client_id="c",
        name="Test LMS",
        auth_login_url="https://other.example.edu/auth",
        auth_token_url="https://other.example.edu/token",
        jwks_url="https://other.example.edu/jwks",
    )
    session.add(other)
    session.flush()
    return other.id


def test_platform_issuer_sets_profiles_and_a_deployment_overrides_its_platform(
    app: Flask,
    client: FlaskClient,
    platform: LtiPlatform,
    platform_key: rsa.RSAPrivateKey,
    keyset: KeySetServer,
    version_id: int,
) -> None:
    for args, message in [
        (["--issuer", "https://nowhere.example"], "no platform with issuer"),
        (["--issuer", platform.issuer, "--deployment-id", "nope"], "no deployment nope"),
        (["--issuer", platform.issuer, "--url", "not a url"], "not an absolute"),
        (["--issuer", platform.issuer, "--slug", "Bad Slug"], "slug must be"),
    ]:
        refused = run(app, "platform", "issuer", *args, "--name", "Riverside College")
        assert refused.exit_code != 0 and message in refused.output, refused.output
    assert count(app, IssuerProfile) == 0 and count(app, ToolKey) == 0

    add_platform(app, platform.issuer, platform.client_id, "deployment-2", keyset.url)
    done = set_issuer(app, platform.issuer, "Riverside College", "--url", RIVERSIDE_URL)
    assert done.exit_code == 0, done.output
    assert "Riverside College" in done.output and "every deployment" in done.output
    done = set_issuer(
        app,
        platform.issuer,
        "Riverside Continuing Education",
        "--deployment-id",
        "deployment-2",
    )
    assert done.exit_code == 0, done.output
    assert "deployment deployment-2" in done.output

    second_deployment = LtiPlatform(platform_key, keyset)
    second_deployment.deployment_id = "deployment-2"
    on_platform = document(client, achieve(app, placed_course(app, platform, version_id))["url"])
    on_deployment = document(
        client,
        achieve(app, placed_course(app, second_deployment, version_id, context_id="ce-1"))["url"],
    )
    assert on_platform["issuer"]["name"] == "Riverside College"
    assert on_platform["issuer"]["url"] == "https://riverside.example.edu"
    assert on_deployment["issuer"]["name"] == "Riverside Continuing Education"
    assert "url" not in on_deployment["issuer"]
    assert on_platform["issuer"]["id"] != on_deployment["issuer"]["id"]

    renamed = set_issuer(app, platform.issuer, "Riverside University")
    assert renamed.exit_code == 0, renamed.output
    course = placed_course(app, platform, version_id, context_id="course-2")
    newer = document(client, achieve(app, course)["url"])
    assert newer["issuer"]["name"] == "Riverside University" and "url" not in newer["issuer"]
    assert newer["issuer"]["id"] == on_platform["issuer"]["id"]  # same profile, same DID
    earlier = document(client, on_platform["id"])
    assert earlier["issuer"]["name"] == "Riverside College"  # issued credentials never change
    assert verify(client, earlier)["verified"] is True
    assert verify(client, newer)["verified"] is True

    moved = set_issuer(app, platform.issuer, "Riverside", "--slug", "riverside")
    assert moved.exit_code != 0 and "cannot change" in moved.output
    with app.app_context():
        slugs = set(db.session.scalars(select(IssuerProfile.slug)))
    assert slugs == {"riverside-college", "riverside-continuing-education"}


def test_several_platforms_with_one_issuer_need_a_client_id(
    app: Flask, platform: LtiPlatform
) -> None:
    add_platform(app, platform.issuer, "other-client", "x", "https://lms.example.edu/jwks")
    ambiguous = set_issuer(app, platform.issuer, "A")
    assert ambiguous.exit_code != 0 and "--client-id" in ambiguous.output
    assert count(app, IssuerProfile) == 0
    chosen = set_issuer(
        app, platform.issuer, "Other College", "--client-id", "other-client", "--slug", "other"
    )
    assert chosen.exit_code == 0, chosen.output
    assert "did:key:z6Mk" in chosen.output  # no public HTTPS host: did:key of its own key
    with app.app_context():
        [profile] = db.session.scalars(select(IssuerProfile)).all()
        owner = db.session.get(Platform, profile.platform_id)
        assert owner is not None and owner.client_id == "other-client"
        assert profile.slug == "other"


def test_profiles_are_did_web_under_the_tools_host_and_the_dcc_verifier_accepts_them(
    https_app: Flask,
    platform: LtiPlatform,
    platform_key: rsa.RSAPrivateKey,
    keyset: KeySetServer,
    version_id: int,
) -> None:
    app, client = https_app, https_app.test_client()
    other = register_other(app, platform_key, keyset, name="Northfield Moodle")
    set_up = set_issuer(app, platform.issuer, "Riverside College", "--url", RIVERSIDE_URL)
    assert set_up.exit_code == 0, set_up.output
    assert "did:web:tool.example.edu:issuers:riverside-college" in set_up.output
    riverside = document(client, achieve(app, placed_course(app, platform, version_id))["url"])
    northfield = document(
        client, achieve(app, placed_course(app, other, version_id, context_id="nf-1"))["url"]
    )

    assert riverside["issuer"] == {
        "id": "did:web:tool.example.edu:issuers:riverside-college",
        "type": ["Profile"],
        "name": "Riverside College",
        "url": "https://riverside.example.edu",
    }
    assert northfield["issuer"]["id"] == "did:web:tool.example.edu:issuers:northfield-moodle"
    published = client.get("/issuers/riverside-college/did.json")
    assert published.status_code == 200
    assert published.headers["Access-Control-Allow-Origin"] == "*"
    assert published.json["id"] == riverside["issuer"]["id"]
    assert published.json["assertionMethod"] == [riverside["proof"][0]["verificationMethod"]]
    root = client.get("/.well-known/did.json").json
    profile_methods = {
        method["publicKeyMultibase"] for method in published.json["verificationMethod"]
    }
    assert not profile_methods & {m["publicKeyMultibase"] for m in root["verificationMethod"]}
    assert client.get("/issuers/nobody/did.json").status_code == 404

    for credential in (riverside, northfield):
        assert verify(client, credential)["verified"] is True
        accepted = dcc_case(credential, served_documents(client, credential))
        assert accepted["verified"] is True, accepted

    both = {**served_documents(client, riverside), **served_documents(client, northfield)}
    claimed = copy.deepcopy(riverside)  # Riverside's credential passed off as Northfield's
    claimed["issuer"] = northfield["issuer"]
    kid = riverside["proof"][0]["verificationMethod"].partition("#")[2]
    claimed["proof"][0]["verificationMethod"] = f"{northfield['issuer']['id']}#{kid}"
    only_issuer = copy.deepcopy(riverside)
    only_issuer["issuer"] = northfield["issuer"]
    for forged in (claimed, only_issuer):
        result = verify(client, forged)
        assert result["verified"] is False
        assert "issuer key" in failed_checks(result) or "signature" in failed_checks(result)
        assert dcc_case(forged, both)["verified"] is False


def test_profile_key_rotation_keeps_earlier_credentials_verifying(
    https_app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    app, client = https_app, https_app.test_client()
    course = placed_course(app, platform, version_id)
    first = document(client, achieve(app, course, 0)["url"])
    old_method = first["proof"][0]["verificationMethod"]
    old_kid = old_method.partition("#")[2]

    assert run(app, "keys", "rotate", "--issuer-profile", "nobody").exit_code != 0
    rotated = run(app, "keys", "rotate", "--issuer-profile", "test-lms")
    assert rotated.exit_code == 0, rotated.output
    assert run(app, "keys", "retire", old_kid).exit_code == 0
    listing = json.loads(run(app, "keys", "list", "--json").output)
    [old_key] = [key for key in listing if key["kid"] == old_kid]
    assert old_key["state"] == "retired" and old_key["issuer_profile"] == "test-lms"
    second = document(client, achieve(app, course, 1)["url"])
    new_method = second["proof"][0]["verificationMethod"]

    assert new_method != old_method and second["issuer"]["id"] == first["issuer"]["id"]
    published = client.get("/issuers/test-lms/did.json").json
    assert published["assertionMethod"] == [old_method, new_method]
    for credential in (first, second):
        assert verify(client, credential)["verified"] is True
        assert dcc_case(credential, served_documents(client, credential))["verified"] is True
    tool_wide = client.get("/.well-known/did.json").json
    assert old_kid not in json.dumps(tool_wide)


def test_credentials_of_the_tool_wide_issuer_still_verify(
    https_app: Flask, platform: LtiPlatform, version_id: int
) -> None:
    """A credential as issued before issuer profiles: the tool's did:web and key, a status list
    without a profile."""
    app, client = https_app, https_app.test_client()
    old_id = str(uuid.uuid4())
    listed = achieve(app, placed_course(app, platform, version_id))
    with app.app_context():
        settings = app.extensions["issuer_settings"]
        current = db.session.get(Credential, listed["id"])
        assert current is not None
        tool = issuance.signing_identity(db.session, settings)
        old_list = StatusList(
            id=str(uuid.uuid4()),
            purpose=status_list.REVOCATION,
            size=status_list.STATUS_LIST_SIZE,
            bits=bytes(status_list.new_bitstring()),
        )
        db.session.add(old_list)
        db.session.flush()
        profiled = json.loads(current.document)
        unsigned = {key: value for key, value in profiled.items() if key not in ("proof", "issuer")}
        unsigned["id"] = settings.credential_url(old_id)
        unsigned["issuer"] = {"id": tool.did, "type": ["Profile"], "name": "Old Issuer"}
        unsigned["credentialStatus"] = status_list.status_entry(
            settings.status_list_url(old_list.id), 42
        )
        signed = signing.sign_credential(unsigned, tool.private_key, tool.verification_method)
        db.session.add(
            Credential(
                id=old_id,
                achievement_id=current.achievement_id,
                learner_id=current.learner_id,
                level_id=current.level_id,
                key_id=tool.key_id,
                status_list_id=old_list.id,
                status_index=42,
                document=json.dumps(signed),
                issued_at=current.issued_at,
            )
        )
        db.session.commit()
    assert signed["issuer"]["id"] == "did:web:tool.example.edu"
    assert verify(client, signed)["verified"] is True
    documents = {
        tool.did: client.get("/.well-known/did.json").json,
        signed["credentialStatus"]["statusListCredential"]: client.get(
            f"/status-lists/{old_list.id}"
        ).json,
    }
    assert dcc_case(signed, documents)["verified"] is True
    assert run(app, "credentials", "revoke", old_id, "--reason", "test").exit_code == 0
    revoked = verify(client, signed)
    assert revoked["verified"] is False and failed_checks(revoked) == {"not revoked"}


def test_own_profile_dids_are_resolved_here_never_fetched(
    https_app: Flask, platform: LtiPlatform, version_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = https_app, https_app.test_client()
    signed = document(client, achieve(app, placed_course(app, platform, version_id))["url"])
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    unknown = copy.deepcopy(signed)
    unknown["issuer"]["id"] = "did:web:tool.example.edu:issuers:nobody"
    unknown["proof"][0]["verificationMethod"] = "did:web:tool.example.edu:issuers:nobody#k"
    result = verify(client, unknown)
    assert result["verified"] is False and "issuer key" in failed_checks(result)
    assert verify(client, signed)["verified"] is True
    assert HOST not in looked_up
    with app.app_context():
        settings = app.extensions["issuer_settings"]
        assert issuance.is_own_did(settings, "did:web:tool.example.edu:issuers:nobody")
        assert not issuance.is_own_did(settings, "did:web:tool.example.edu.evil.example")
        assert issuance.own_did_document(db.session, settings, unknown["issuer"]["id"]) is None
