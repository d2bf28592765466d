"""The issue's Done-when: credentials we sign, judged by our verifier and by the DCC JavaScript
stack (offline, in Node), with the same verdict on every case."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import gzip
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lms_plugin.credentials import dids, status_list, verifying
from lms_plugin.credentials.builder import Recipient
from tests.credentials.conftest import NOW, IssuerWorld, dcc_verify, our_verdict
from tests.credentials.test_canonical import plain_pyld


def _flip_subject_byte(credential: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(credential)
    achievement = changed["credentialSubject"]["achievement"]
    achievement["name"] = achievement["name"][:-1] + chr(ord(achievement["name"][-1]) ^ 1)
    return changed


def _unrevoke_without_signing(signed_list: dict[str, Any]) -> dict[str, Any]:
    altered = copy.deepcopy(signed_list)
    altered["credentialSubject"]["encodedList"] = status_list.encode_list(
        status_list.new_bitstring()
    )
    return altered


def _sign_with_plain_pyld(credential: dict[str, Any], world: IssuerWorld) -> dict[str, Any]:
    """Sign as a careless issuer would: PyLD out of the box silently drops undefined terms and
    resolves relative IRIs against http://example.org/base/."""
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": world.method(),
        "proofPurpose": "assertionMethod",
    }
    config = {"@context": credential["@context"], **proof}
    data = hashlib.sha256(plain_pyld(config).encode()).digest()
    data += hashlib.sha256(plain_pyld(credential).encode()).digest()
    proof["proofValue"] = "z" + dids.b58encode(world.current.sign(data))
    return {**credential, "proof": [proof]}


def _cases(world: IssuerWorld) -> list[tuple[str, bool, dict[str, Any], dict[str, Any]]]:
    """(name, expected verdict, credential, documents)."""
    valid, _ = world.signed()
    other, _ = world.signed(level=None, recipient=Recipient.from_email("other@example.org"))
    swapped = {**valid, "proof": other["proof"]}
    retired_key, _ = world.signed(key=world.retired, method=world.method("key-1"))
    rogue, _ = world.signed(key=world.rogue, method=world.method("key-9"))
    revoked, revoked_index = world.signed()
    expired, _ = world.signed(
        valid_from=NOW - dt.timedelta(days=30), valid_until=NOW - dt.timedelta(days=1)
    )
    listed_revoked, listed_index = world.signed()
    revoking_list = world.status_list(revoked={revoked_index, listed_index})
    did_key_issuer = Ed25519PrivateKey.generate()
    by_did_key, _ = world.signed(
        key=did_key_issuer,
        method=dids.did_key_verification_method(did_key_issuer),
        issuer=dids.did_key(did_key_issuer),
        with_status=False,
    )
    by_did_recipient, _ = world.signed(recipient=Recipient.from_did("did:example:learner-42"))
    undefined, _ = world.credential()
    undefined["credentialSubject"]["favouriteColour"] = "blue"
    relative, _ = world.credential()
    relative["credentialSubject"]["achievement"]["id"] = "levels/emerging"
    documents = world.documents()
    return [
        ("valid", True, valid, documents),
        ("valid, signed with a retired key", True, retired_key, documents),
        ("valid, did:key issuer", True, by_did_key, {}),
        ("valid, learner DID", True, by_did_recipient, documents),
        (
            "signed with an undefined term",
            False,
            _sign_with_plain_pyld(undefined, world),
            documents,
        ),
        ("signed with a relative IRI", False, _sign_with_plain_pyld(relative, world), documents),
        ("one changed byte in the subject", False, _flip_subject_byte(valid), documents),
        ("swapped proof", False, swapped, documents),
        ("key not in the issuer's DID document", False, rogue, documents),
        ("revoked", False, revoked, world.documents(revoking_list)),
        ("expired", False, expired, documents),
        (
            "status list altered without re-signing",
            False,
            listed_revoked,
            world.documents(_unrevoke_without_signing(revoking_list)),
        ),
    ]


@pytest.fixture(scope="module")
def verdicts(world: IssuerWorld) -> list[tuple[str, bool, verifying.VerificationResult, dict]]:
    cases = _cases(world)
    dcc = dcc_verify(
        [
            {"name": name, "credential": credential, "documents": documents}
            for name, _, credential, documents in cases
        ]
    )["results"]
    return [
        (name, expected, our_verdict(credential, documents), dcc_result)
        for (name, expected, credential, documents), dcc_result in zip(cases, dcc, strict=True)
    ]


CASE_NAMES = [
    "valid",
    "valid, signed with a retired key",
    "valid, did:key issuer",
    "valid, learner DID",
    "signed with an undefined term",
    "signed with a relative IRI",
    "one changed byte in the subject",
    "swapped proof",
    "key not in the issuer's DID document",
    "revoked",
    "expired",
    "status list altered without re-signing",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_same_verdict_as_the_dcc_stack(verdicts, case: str) -> None:
    [(name, expected, ours, dcc)] = [v for v in verdicts if v[0] == case]
    assert dcc["verified"] is expected, f"DCC on {name!r}: {dcc['errors']}"
    assert ours.verified is expected, f"ours on {name!r}: {ours.errors}"
    assert ours.verified == dcc["verified"]


def test_failures_name_the_failing_check(verdicts) -> None:
    failing = {name: ours for name, _, ours, _ in verdicts}
    expected_check = {
        "one changed byte in the subject": "signature",
        "swapped proof": "signature",
        "key not in the issuer's DID document": "issuer key",
        "revoked": "not revoked",
        "expired": "not expired",
        "status list altered without re-signing": "not revoked",
    }
    for name, check in expected_check.items():
        result = failing[name].to_json()
        [outcome] = [c for c in result["checks"] if c["check"] == check]
        assert outcome["passed"] is False, (name, result)
        assert result["errors"], name
    revoked = failing["revoked"].to_json()
    assert "revoked" in " ".join(revoked["errors"])
    altered = failing["status list altered without re-signing"].to_json()
    assert "not authentic" in " ".join(altered["errors"])


def test_a_valid_credential_passes_every_check_in_plain_words(verdicts) -> None:
    [(_, _, ours, dcc)] = [v for v in verdicts if v[0] == "valid"]
    answer = ours.to_json()
    assert answer["verified"] is True and answer["errors"] == []
    assert [c["check"] for c in answer["checks"]] == [
        "well-formed",
        "signature",
        "issuer key",
        "not revoked",
        "not expired",
    ]
    assert all(c["passed"] is True and c["message"] for c in answer["checks"])
    assert {entry["id"] for entry in dcc["log"]} >= {"valid_signature", "revocation_status"}


def test_status_list_encoding_reads_the_same_in_node(world: IssuerWorld) -> None:
    """The DCC decoder sees our bit order: a list with only index 5 set revokes index 5 only."""
    bits = status_list.new_bitstring()
    status_list.set_bit(bits, 5)
    raw = gzip.decompress(base64.urlsafe_b64decode(status_list.encode_list(bits)[1:] + "=="))
    assert raw[0] == 0b00000100
    assert status_list.get_bit(raw, 5) and not status_list.get_bit(raw, 4)
