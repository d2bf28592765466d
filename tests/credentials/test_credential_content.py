"""What a credential carries (issue 14): evidence of each statement met, the level's badge image,
the learner's name when they chose to show it; the 1EdTech schema, our verifier and the DCC
verifier accept all of it. The badge SVG (escaped, accessible), baking and reading it back; the
LinkedIn link and download names."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml import ElementTree

from lms_plugin.credentials import badge_image, sharing, signing, untrusted
from lms_plugin.credentials.builder import (
    BadgeImage,
    Evidence,
    Issuer,
    Recipient,
    build_achievement_credential,
    recipient_did,
)
from tests.credentials.conftest import (
    BASE,
    FRAMEWORK,
    NOW,
    OCCUPATION,
    IssuerWorld,
    dcc_verify,
    level_of,
    our_verdict,
)
from tests.credentials.test_builder import validate

HOSTILE = 'Ada <script>alert(1)</script> & "Bob" ]]> \x07'


def _evidence(count: int) -> list[Evidence]:
    return [
        Evidence(
            statement=f"Statement {n} — in a law office",
            judged_at=NOW - dt.timedelta(days=n),
            url=f"https://portfolio.example.org/work {n}?a=<b>" if n % 2 else None,
            comment="Filed 40 case folders unaided ]]> <b>well</b>" if n % 3 == 0 else None,
        )
        for n in range(1, count + 1)
    ]


def full_credential(
    world: IssuerWorld,
    *,
    statements: int = 10,
    evidence: int = 10,
    recipient: Recipient | None = None,
) -> dict[str, Any]:
    """Signed, with evidence, an image and (by default) the learner's name."""
    unsigned = build_achievement_credential(
        credential_id=f"{BASE}/credentials/{uuid.uuid4()}",
        issuer=Issuer(id=world.did, name="Example College", url="https://example.edu"),
        recipient=recipient
        or replace(Recipient.from_email("learner@example.org"), name="Ada Lovelace"),
        level=level_of(statements=statements),
        framework=FRAMEWORK,
        occupation=OCCUPATION,
        valid_from=NOW - dt.timedelta(days=1),
        evidence=_evidence(evidence),
        image=BadgeImage(url=f"{BASE}/issuers/college/badges/3.svg", caption="The badge"),
        status_entry=None,
    )
    return signing.sign_credential(unsigned, world.current, world.method())


def test_evidence_image_and_name_in_the_credential(world: IssuerWorld) -> None:
    credential = full_credential(world)
    validate(credential)
    subject = credential["credentialSubject"]
    assert subject["identifier"] == [
        subject["identifier"][0],
        {
            "type": "IdentityObject",
            "identityHash": "Ada Lovelace",
            "identityType": "name",
            "hashed": False,
        },
    ]
    assert subject["identifier"][0]["hashed"] is True
    assert subject["achievement"]["image"] == {
        "id": f"{BASE}/issuers/college/badges/3.svg",
        "type": "Image",
        "caption": "The badge",
    }
    evidence = credential["evidence"]
    assert len(evidence) == 10
    first, third = evidence[0], evidence[2]
    assert first["id"] == "https://portfolio.example.org/work%201?a=%3Cb%3E"  # a valid IRI
    assert first["name"] == "Statement 1 — in a law office"
    assert first["description"] == f"Judged met on {(NOW - dt.timedelta(days=1)).date()}."
    assert "narrative" not in first and "id" not in evidence[1]
    assert third["narrative"] == "Filed 40 case folders unaided ]]> <b>well</b>"
    assert our_verdict(credential, world.documents()).verified


def test_no_name_unless_chosen_and_a_did_recipient_keeps_its_did(world: IssuerWorld) -> None:
    hashed = full_credential(world, recipient=Recipient.from_email("x@example.org"))
    assert [i["identityType"] for i in hashed["credentialSubject"]["identifier"]] == [
        "emailAddress"
    ]
    named_did = Recipient(did="did:example:wallet-9", name="Ada")
    bound = full_credential(world, recipient=named_did)
    assert recipient_did(bound) == "did:example:wallet-9"
    assert bound["credentialSubject"]["identifier"][0]["identityType"] == "name"
    validate(bound)


def test_the_dcc_verifier_accepts_evidence_image_and_name(world: IssuerWorld) -> None:
    cases = [
        {"name": "full", "credential": full_credential(world), "documents": world.documents()},
        {
            "name": "did and name",
            "credential": full_credential(
                world, recipient=Recipient(did="did:example:w", name="Ada")
            ),
            "documents": world.documents(),
        },
    ]
    results = dcc_verify(cases)["results"]
    assert [r["verified"] for r in results] == [True, True], results


def test_the_badge_is_escaped_accessible_svg() -> None:
    svg = badge_image.render(
        HOSTILE + " framework with a very long title indeed", "Level <1>", HOSTILE
    )
    root = ElementTree.fromstring(svg)  # well-formed: every text escaped
    ns = {"svg": badge_image.SVG_NAMESPACE}
    assert root.get("role") == "img" and root.get("aria-labelledby") == "badge-title badge-desc"
    title = root.find("svg:title", ns).text
    desc = root.find("svg:desc", ns).text
    assert "<script>" in title and "\x07" not in title  # as text, not markup
    assert desc.startswith("Badge for the Level <1> level of the Ada <script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


@pytest.mark.parametrize("colour", badge_image.PALETTE)
def test_white_on_every_badge_colour_passes_wcag_aa(colour: str) -> None:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert (1.05) / (luminance(colour) + 0.05) >= 4.5


def test_baking_embeds_the_exact_credential_and_reads_it_back(world: IssuerWorld) -> None:
    credential = full_credential(world)
    text = json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
    assert "]]>" in text  # a comment holds one: it must not end the CDATA section
    baked = badge_image.bake(badge_image.render("Framework", "Level", "Issuer"), text)
    assert baked.startswith(
        '<svg xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" '
        'xmlns="http://www.w3.org/2000/svg"'
    )
    assert "<openbadges:credential><![CDATA[{" in baked and "verify=" not in baked
    read = untrusted.read_baked_svg(baked)
    assert json.loads(read) == credential
    assert our_verdict(read, world.documents()).verified
    with pytest.raises(untrusted.InputError, match="no credential baked in"):
        untrusted.read_baked_svg(badge_image.render("F", "L", "I"))


def test_linkedin_link_and_download_names(world: IssuerWorld) -> None:
    credential = full_credential(world)
    issued = dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC)
    url = sharing.linkedin_url(credential, "abc-123", issued, f"{BASE}/credentials/abc-123")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("www.linkedin.com", "/profile/add")
    assert parse_qs(parts.query) == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": [credential["name"]],
        "organizationName": ["Example College"],
        "issueYear": ["2026"],
        "issueMonth": ["3"],
        "certUrl": [f"{BASE}/credentials/abc-123"],
        "certId": ["abc-123"],
    }
    assert (
        sharing.download_name(credential, issued, "json")
        == "legal-secretaries-and-administrative-assistants-emerging-2026-03-09.json"
    )
    assert sharing.slug('Niveau élevé "3" / <x>') == "niveau-eleve-3-x"


def test_offerable_only_while_neither_revoked_nor_expired() -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert sharing.offerable(None, None, now)
    assert sharing.offerable(None, dt.datetime(2026, 7, 1), now)  # naive means UTC
    assert not sharing.offerable(None, dt.datetime(2026, 5, 1), now)
    assert not sharing.offerable(dt.datetime(2026, 5, 1), None, now)
