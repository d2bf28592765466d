"""The verifier takes a badge image with the credential baked in (OB 3.0 SVG baking: the
`<openbadges:credential>` element holding the credential JSON, or a compact JWS in its `verify`
attribute) on the API, the page and the CLI, and reads the XML safely (no DTD, no entities,
bounded size)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lms_plugin.commands import cli
from lms_plugin.credentials import badge_image, untrusted
from tests.courses import Course
from tests.credentials.conftest import IssuerWorld
from tests.credentials.test_app import achieve
from tests.credentials.test_trust_list import serving
from tests.credentials.test_verify_facts import foreign

SVG_NS = "http://www.w3.org/2000/svg"
OB_NS = badge_image.OB_NAMESPACE


def baked(credential: Any, *, inner: str | None = None) -> bytes:
    """An SVG badge with `credential` baked in as the OB 3.0 spec's example does (CDATA)."""
    inner = inner if inner is not None else f"<![CDATA[{json.dumps(credential)}]]>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="{SVG_NS}" '
        f'xmlns:openbadges="{OB_NS}" viewBox="0 0 512 512">'
        f"<openbadges:credential>{inner}</openbadges:credential>"
        '<title>Badge</title><circle cx="256" cy="256" r="200"/></svg>'
    ).encode()


def test_the_api_verifies_a_baked_badge_as_the_json_itself(
    client: FlaskClient, world: IssuerWorld
) -> None:
    signed = foreign(world)

    from_svg = client.post("/api/v1/verify", data=baked(signed), content_type="image/svg+xml")
    from_json = client.post("/api/v1/verify", json=signed)

    assert from_svg.status_code == 200 and from_svg.json["verified"] is True
    assert from_svg.json == from_json.json
    # The JSON as element text (no CDATA, escaped as XML) reads the same.
    escaped = json.dumps(signed).replace("&", "&amp;").replace("<", "&lt;")
    as_text = client.post("/api/v1/verify", data=baked(signed, inner=escaped))
    assert as_text.json == from_json.json


def test_an_altered_baked_badge_is_altered(client: FlaskClient, world: IssuerWorld) -> None:
    altered = copy.deepcopy(foreign(world))
    altered["credentialSubject"]["achievement"]["name"] = "Chief Justice"

    answer = client.post("/api/v1/verify", data=baked(altered)).json

    assert answer["verified"] is False
    assert answer["credential"]["achievement"]["name"] == "Chief Justice"
    assert next(c for c in answer["checks"] if c["check"] == "signature")["passed"] is False


def test_a_compact_jws_in_the_verify_attribute_is_read_but_not_a_proof_we_check(
    client: FlaskClient, world: IssuerWorld
) -> None:
    unsigned, _ = world.credential(with_status=False)

    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    token = f"{part({'alg': 'EdDSA'})}.{part({'vc': unsigned, 'iss': 'x'})}.c2ln"
    svg = (
        f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB_NS}">'
        f'<openbadges:credential verify="{token}"/></svg>'
    ).encode()

    answer = client.post("/api/v1/verify", data=svg).json

    assert answer["verified"] is False
    assert answer["credential"]["name"] == unsigned["name"]
    signature = next(c for c in answer["checks"] if c["check"] == "signature")
    assert "no Data Integrity proof" in signature["message"]


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB_NS}"><openbadges:credential>&c;'
    "</openbadges:credential></svg>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB_NS}"><openbadges:credential>&x;'
    "</openbadges:credential></svg>"
)


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        (BOMB, "declares a DTD or entities"),
        (EXTERNAL, "declares a DTD or entities"),
        (f'<svg xmlns="{SVG_NS}"><circle r="1"/></svg>', "no credential baked in"),
        (
            f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB_NS}"><openbadges:credential>{{}}'
            "</openbadges:credential><openbadges:credential>{}</openbadges:credential></svg>",
            "more than one",
        ),
        (f'<svg xmlns:openbadges="{OB_NS}"><openbadges:credential>  ', "well-formed SVG"),
        (
            f'<svg xmlns:openbadges="{OB_NS}"><openbadges:credential> '
            "</openbadges:credential></svg>",
            "is empty",
        ),
        (
            f'<svg xmlns:openbadges="{OB_NS}"><openbadges:credential>[1]</openbadges:credential>'
            "</svg>",
            "not a JSON object",
        ),
        (
            f'<svg xmlns:openbadges="{OB_NS}"><openbadges:credential verify="a.b"/></svg>',
            "not a compact JWS",
        ),
        (
            f'<svg xmlns:openbadges="{OB_NS}"><openbadges:credential verify="a.!!!.c"/></svg>',
            "no readable payload",
        ),
        # The OB 2.0 namespace's assertion is not an OB 3.0 credential.
        (
            '<svg xmlns:openbadges="http://openbadges.org">'
            '<openbadges:assertion verify="x"/></svg>',
            "no credential baked in",
        ),
    ],
)
def test_hostile_or_empty_images_are_refused_in_plain_words(
    client: FlaskClient, svg: str, message: str
) -> None:
    answer = client.post("/api/v1/verify", data=svg.encode(), content_type="image/svg+xml")
    assert answer.status_code == 400
    assert message in answer.json["errors"][0]
    assert answer.json["credential"] is None


def test_an_image_over_the_size_limit_is_refused_before_parsing() -> None:
    padding = "<g/>" * 300_000
    svg = f'<svg xmlns="{SVG_NS}">{padding}</svg>'
    with pytest.raises(untrusted.InputError, match="larger than"):
        untrusted.parse_credential_input(svg)


def test_the_cli_verifies_a_baked_badge_file(
    app: Flask, client: FlaskClient, world: IssuerWorld, tmp_path: Path
) -> None:
    signed = foreign(world)
    badge = tmp_path / "badge.svg"
    badge.write_bytes(baked(signed))
    runner = app.test_cli_runner()

    printed = runner.invoke(cli, ["credentials", "verify", str(badge)])

    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == client.post("/api/v1/verify", json=signed).json
    altered = copy.deepcopy(signed)
    altered["validFrom"] = "2020-01-01T00:00:00Z"
    badge.write_bytes(baked(altered))
    assert runner.invoke(cli, ["credentials", "verify", str(badge)]).exit_code == 1
    badge.write_text(BOMB)
    refused = runner.invoke(cli, ["credentials", "verify", str(badge)])
    assert refused.exit_code == 2 and "DTD" in json.loads(refused.output)["errors"][0]


def csrf_token(client: FlaskClient) -> str:
    form = client.get("/verify").get_data(as_text=True)
    return form.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_page_takes_an_uploaded_or_linked_badge(
    client: FlaskClient, world: IssuerWorld
) -> None:
    import io

    signed = foreign(world)
    upload = client.post(
        "/verify",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(baked(signed)), "badge.svg")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200
    page = upload.get_data(as_text=True)
    assert "What the credential says" in page and "Issuer unknown: authentic" in page
    assert "Check an e-mail address" in page

    with serving({}) as (base, _asked):
        pass  # a closed port: nothing answers there any more
    gone = client.post("/verify", data={"csrf_token": csrf_token(client), "url": f"{base}/b.svg"})
    assert gone.status_code == 400
    assert "could not be reached" in gone.get_data(as_text=True)

    hostile = client.post(
        "/verify",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(BOMB.encode()), "bomb.svg")},
        content_type="multipart/form-data",
    )
    assert hostile.status_code == 400
    assert "declares a DTD or entities" in hostile.get_data(as_text=True)


def test_our_own_baked_badge_verifies_by_upload_and_by_url(
    app: Flask, client: FlaskClient, course: Course
) -> None:
    listed = achieve(app, course)
    svg = client.get(f"{listed['url']}.svg")
    assert svg.status_code == 200

    answer = client.post("/api/v1/verify", data=svg.data, content_type="image/svg+xml").json

    assert answer["verified"] is True, answer
    assert answer["credential"]["issuer"]["trust"] == "self"
    page = client.post(
        "/verify", data={"csrf_token": csrf_token(client), "url": f"{listed['url']}.svg"}
    )
    assert page.status_code == 200 and "✓ Verified" in page.get_data(as_text=True)
