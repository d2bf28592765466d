"""sign_credential / verify_credential: round trips, proof sets, and hostile input (clear errors,
bounded time)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time

import pytest

from lms_plugin.credentials import signing, verifying
from lms_plugin.credentials.untrusted import Limits
from tests.credentials.conftest import NOW, IssuerWorld, our_verdict


def test_round_trip(world: IssuerWorld) -> None:
    unsigned, _ = world.credential()
    signed = signing.sign_credential(
        unsigned, world.current, world.method(), created=dt.datetime(2026, 5, 1, 12, 0, 0)
    )
    assert "proof" not in unsigned  # the input is left alone
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 1
    assert signed["proof"][0]["created"] == "2026-05-01T12:00:00Z"
    assert signed["proof"][0]["proofValue"].startswith("z")
    assert our_verdict(signed, world.documents()).verified


def test_round_trip_through_json_text(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    text = json.dumps(signed, ensure_ascii=False, indent=2)
    assert our_verdict(text, world.documents()).verified
    assert our_verdict(text.encode("utf-8"), world.documents()).verified


def test_a_second_proof_joins_the_proof_set(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    twice = signing.sign_credential(signed, world.retired, world.method("key-1"))
    assert len(twice["proof"]) == 2
    assert our_verdict(twice, world.documents()).verified


def test_verify_reports_not_yet_valid(world: IssuerWorld) -> None:
    signed, _ = world.signed(valid_from=NOW + dt.timedelta(days=3))
    result = our_verdict(signed, world.documents()).to_json()
    assert result["verified"] is False
    assert "not valid before" in result["errors"][0]


def test_a_foreign_issuer_that_cannot_be_resolved(world: IssuerWorld) -> None:
    signed, _ = world.signed()

    def offline(did: str):
        raise OSError("network unreachable")

    result = verifying.verify_credential(
        signed, resolve_key=offline, fetch_status_list=world.documents().get, now=NOW
    ).to_json()
    assert result["verified"] is False
    # A resolver's own failure is not echoed (it may name internal hosts or SQL); refusals it
    # raises as ValueError (the app's FetchRefused) are written for employers and are shown.
    assert "The issuer's DID document could not be read." in result["errors"]
    assert "network unreachable" not in " ".join(result["errors"])

    def refused(did: str):
        raise ValueError("example.org answered 404")

    result = verifying.verify_credential(
        signed, resolve_key=refused, fetch_status_list=world.documents().get, now=NOW
    ).to_json()
    assert "could not be read: example.org answered 404" in " ".join(result["errors"])


def test_proof_purpose_must_be_assertion(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    signed = copy.deepcopy(signed)
    signed["proof"][0]["proofPurpose"] = "authentication"
    assert not our_verdict(signed, world.documents()).verified


def test_status_types_other_than_bitstring_fail(world: IssuerWorld) -> None:
    unsigned, _ = world.credential()
    unsigned["credentialStatus"] = {
        "id": "https://tool.example.edu/status/1#5",
        "type": "StatusList2021Entry",
    }
    # StatusList2021Entry is not in the VC 2.0 context: the credential is not even well-formed.
    with pytest.raises(signing.SigningError):
        signing.sign_credential(unsigned, world.current, world.method())


# --- hostile input --------------------------------------------------------------------------


def verify_text(world: IssuerWorld, text: str | bytes, **kw) -> verifying.VerificationResult:
    return verifying.verify_credential(
        text, resolve_key=world.documents().get, fetch_status_list=world.documents().get, **kw
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json at all", "not JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ('{"a": 1, "a": 2}', "twice"),
        ('{"a": NaN}', "NaN is not JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ("[1, 2, 3]", "not a JSON object"),
        ('"just a string"', "not a JSON object"),
    ],
)
def test_non_credentials_are_refused_clearly(world: IssuerWorld, text, message: str) -> None:
    with pytest.raises(verifying.NotACredential, match=message):
        verify_text(world, text)


def test_huge_input_is_refused_before_parsing(world: IssuerWorld) -> None:
    text = '{"x": "' + "a" * (2 * 1024 * 1024) + '"}'
    started = time.perf_counter()
    with pytest.raises(verifying.NotACredential, match="larger than"):
        verify_text(world, text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"hello": "world"}, "@context"),
        (
            {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "X"},
            "VerifiableCredential",
        ),
        (
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"id": "did:example:1"},
            },
            "issuer",
        ),
    ],
)
def test_json_that_is_not_a_credential_fails_well_formed(
    world: IssuerWorld, document, message: str
) -> None:
    result = verify_text(world, json.dumps(document)).to_json()
    assert result["verified"] is False
    assert result["checks"][0]["check"] == "well-formed" and result["checks"][0]["passed"] is False
    assert message in result["errors"][0]
    assert all(check["passed"] is None for check in result["checks"][1:])


def test_deep_but_parseable_nesting_is_refused(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    deep: dict = {"id": "https://example.org/x"}
    for _ in range(100):
        deep = {"id": "https://example.org/x", "achievement": deep}
    signed = {**signed, "evidence": deep}
    with pytest.raises(verifying.NotACredential, match="nested more than 64 levels"):
        verify_text(world, json.dumps(signed))
    # Already parsed (by the app) and too deep: a failed verdict, not an exception.
    result = our_verdict(signed, world.documents()).to_json()
    assert result["verified"] is False
    assert "nested more than 64 levels" in result["errors"][0]


def test_undefined_terms_fail_well_formed(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    signed = {**signed, "sneaky": "not covered by the signature"}
    result = verify_text(world, json.dumps(signed)).to_json()
    assert result["verified"] is False
    assert "sneaky" in result["errors"][0]


def test_unknown_context_urls_are_not_fetched(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    signed = {**signed, "@context": [*signed["@context"], "https://evil.example/context.json"]}
    result = verify_text(world, json.dumps(signed)).to_json()
    assert result["verified"] is False
    assert "evil.example" in result["errors"][0]


def context_bomb(levels: int, width: int) -> dict:
    """Nested scoped contexts: each level's term redefines `width` terms with a deeper context."""
    context: dict = {"leaf": "https://example.org/leaf"}
    for level in range(levels):
        context = {
            f"t{level}_{n}": {"@id": f"https://example.org/t{level}/{n}", "@context": context}
            for n in range(width)
        }
    return context


def test_a_context_bomb_is_stopped_in_bounded_time(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    document = copy.deepcopy(signed)
    document["@context"] = [*signed["@context"], context_bomb(levels=5, width=5)]
    node: dict = {"leaf": "x"}
    for level in range(5):
        node = {f"t{level}_{n}": node for n in range(5)}
    document["evidence"] = node
    started = time.perf_counter()
    result = verify_text(
        world, json.dumps(document), limits=Limits(max_seconds=0.5, max_values=10**6)
    ).to_json()
    elapsed = time.perf_counter() - started
    assert result["verified"] is False
    assert elapsed < 3, elapsed
    assert result["errors"]


def test_a_verdict_is_json_serializable(world: IssuerWorld) -> None:
    signed, _ = world.signed()
    json.dumps(our_verdict(signed, world.documents()).to_json())
