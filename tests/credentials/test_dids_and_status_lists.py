"""Multikey / did:key / did:web helpers and Bitstring Status Lists."""

from __future__ import annotations

import base64
import datetime as dt
import gzip

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lms_plugin.credentials import dids, status_list

# The did:key specification's first Ed25519 example.
VECTOR_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def raw(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_multikey_matches_the_did_key_test_vector() -> None:
    public = dids.public_key_from_multibase(VECTOR_DID.removeprefix("did:key:"))
    assert len(raw(public)) == 32
    assert dids.did_key(public) == VECTOR_DID


def test_multikey_round_trip() -> None:
    key = Ed25519PrivateKey.generate()
    value = dids.public_key_multibase(key)
    assert value.startswith("z6Mk")
    assert raw(dids.public_key_from_multibase(value)) == raw(key.public_key())


@pytest.mark.parametrize(
    "value",
    ["", "6Mk", "z0OIl", "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "z" + "1" * 60],
)
def test_bad_multikeys_are_refused(value: str) -> None:
    with pytest.raises(dids.KeyFormatError):
        dids.public_key_from_multibase(value)


def test_did_key_document() -> None:
    document = dids.did_key_document(VECTOR_DID)
    method = f"{VECTOR_DID}#{VECTOR_DID.removeprefix('did:key:')}"
    assert document["id"] == VECTOR_DID
    assert document["assertionMethod"] == [method]
    assert document["verificationMethod"][0]["controller"] == VECTOR_DID
    public, controller = dids.find_assertion_key(document, method)
    assert dids.did_key(public) == VECTOR_DID and controller == VECTOR_DID


def test_did_web_identifiers() -> None:
    assert dids.did_web("Tool.Example.edu") == "did:web:tool.example.edu"
    assert dids.did_web("localhost:5000") == "did:web:localhost%3A5000"
    assert dids.did_web_document_url("did:web:localhost%3A5000") == (
        "https://localhost:5000/.well-known/did.json"
    )
    assert dids.did_web_document_url("did:web:example.com:user:alice") == (
        "https://example.com/user/alice/did.json"
    )
    with pytest.raises(dids.KeyFormatError):
        dids.did_web("example.com/evil")


def test_did_web_document_lists_current_and_retired_keys() -> None:
    current, retired = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    document = dids.did_web_document(
        "tool.example.edu:8443",
        [
            dids.PublishedKey("key-2", current.public_key()),
            dids.PublishedKey("key-1", retired.public_key()),
        ],
    )
    did = "did:web:tool.example.edu%3A8443"
    assert document["@context"] == [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/multikey/v1",
    ]
    assert document["id"] == did
    assert document["assertionMethod"] == [f"{did}#key-2", f"{did}#key-1"]
    for method in document["verificationMethod"]:
        assert method["type"] == "Multikey" and method["controller"] == did
        public, _ = dids.find_assertion_key(document, method["id"])
        assert dids.public_key_multibase(public) == method["publicKeyMultibase"]
    with pytest.raises(dids.KeyFormatError, match="not in the issuer's DID document"):
        dids.find_assertion_key(document, f"{did}#key-3")
    document["assertionMethod"] = [f"{did}#key-2"]
    with pytest.raises(dids.KeyFormatError, match="assertionMethod"):
        dids.find_assertion_key(document, f"{did}#key-1")


# --- status lists ---------------------------------------------------------------------------


def test_bits_set_clear_and_encode() -> None:
    bits = status_list.new_bitstring()
    assert len(bits) * 8 == status_list.STATUS_LIST_SIZE == 131_072
    status_list.set_bit(bits, 0)
    status_list.set_bit(bits, 131_071)
    assert bits[0] == 0x80 and bits[-1] == 0x01
    encoded = status_list.encode_list(bits)
    assert encoded.startswith("u") and "=" not in encoded
    decoded = status_list.decode_list(encoded)
    assert decoded == bits
    assert status_list.get_bit(decoded, 0) and not status_list.get_bit(decoded, 1)
    status_list.set_bit(bits, 0, False)
    assert not status_list.get_bit(bits, 0)
    with pytest.raises(status_list.StatusListError):
        status_list.get_bit(bits, 131_072)


def test_random_allocation_from_a_set_or_a_bitmap() -> None:
    used = {status_list.allocate_index(set()) for _ in range(50)}
    assert len(used) > 45  # random, not sequential
    assert max(used) > 1000
    allocated = status_list.new_bitstring()
    for index in range(131_072 - 1):
        allocated[index // 8] |= 0x80 >> (index % 8)
    assert status_list.allocate_index(allocated) == 131_071
    status_list.set_bit(allocated, 131_071)
    with pytest.raises(status_list.StatusListFull):
        status_list.allocate_index(allocated)


def test_small_lists_are_refused() -> None:
    with pytest.raises(status_list.StatusListError):
        status_list.new_bitstring(1024)


@pytest.mark.parametrize(
    "encoded",
    [
        "zabc",
        "u!!!",
        "u" + base64.urlsafe_b64encode(b"not gzip").decode(),
        "u" + base64.urlsafe_b64encode(gzip.compress(b"\0" * (17 * 1024 * 1024))).decode(),
    ],
)
def test_bad_or_bombing_lists_are_refused(encoded: str) -> None:
    with pytest.raises(status_list.StatusListError):
        status_list.decode_list(encoded)


def test_entry_and_list_credential() -> None:
    url = "https://tool.example.edu/status-lists/1"
    assert status_list.status_entry(url, 94567) == {
        "id": f"{url}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": url,
    }
    bits = status_list.new_bitstring()
    status_list.set_bit(bits, 94567)
    credential = status_list.status_list_credential(
        list_url=url,
        issuer="did:web:tool.example.edu",
        bits=bits,
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["credentialSubject"]["type"] == "BitstringStatusList"
    assert credential["credentialSubject"]["statusPurpose"] == "revocation"
    assert status_list.is_set(credential, 94567) and not status_list.is_set(credential, 94566)
