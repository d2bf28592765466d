"""Ed25519 public keys as Multikey, `did:key` and `did:web` identifiers and their DID documents.

A Multikey is `z` + base58btc(0xed 0x01 + the 32 raw key bytes), so Ed25519 keys read `z6Mk...`.
An issuer is `did:web:<host>` (a port is percent-encoded: `did:web:localhost%3A5000`), its
document served at `https://<host>/.well-known/did.json`, or `did:web:<host>:<path>:<segments>`,
served at `https://<host>/<path>/<segments>/did.json`; a document lists every key that may have
signed credentials, current and retired, under `assertionMethod`, so older credentials keep
verifying.
`did:key` needs no server: the identifier is the key, and its document is derived offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lms_plugin.credentials.documents import DID_V1, MULTIKEY_V1

ED25519_PUB_MULTICODEC = b"\xed\x01"
DID_CONTEXT = (DID_V1, MULTIKEY_V1)
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: value for value, char in enumerate(_B58_ALPHABET)}


class KeyFormatError(ValueError):
    """Not a usable Ed25519 Multikey / DID."""


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet)."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, remainder = divmod(number, 58)
        out.append(_B58_ALPHABET[remainder])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise KeyFormatError(f"not base58: {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def _public(key: Ed25519PublicKey | Ed25519PrivateKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_multibase(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """`z6Mk...`: the Multikey `publicKeyMultibase` of an Ed25519 key."""
    raw = _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(ED25519_PUB_MULTICODEC + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    """The Ed25519 public key of a `z6Mk...` Multikey value."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) > 100:
        raise KeyFormatError("publicKeyMultibase must be base58btc ('z...')")
    data = b58decode(value[1:])
    if len(data) != 34 or not data.startswith(ED25519_PUB_MULTICODEC):
        raise KeyFormatError("publicKeyMultibase is not an Ed25519 public key (0xed01)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def did_key(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """`did:key:z6Mk...` for an Ed25519 key."""
    return f"did:key:{public_key_multibase(key)}"


def did_key_verification_method(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The verification method id (`did:key:z6Mk...#z6Mk...`) to sign with a did:key."""
    multibase = public_key_multibase(key)
    return f"did:key:{multibase}#{multibase}"


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 `did:key`, derived offline."""
    if not did.startswith("did:key:"):
        raise KeyFormatError(f"not a did:key: {did!r}")
    multibase = did.removeprefix("did:key:").partition("#")[0]
    public_key_from_multibase(multibase)
    method_id = f"did:key:{multibase}#{multibase}"
    return _document(
        f"did:key:{multibase}", [_method(method_id, f"did:key:{multibase}", multibase)]
    )


def did_web(host: str, path: Sequence[str] = ()) -> str:
    """`did:web:<host>[:<path segment>...]` for a host name, a port percent-encoded
    (`localhost%3A5000`)."""
    host = host.strip().lower()
    if not host or "/" in host or "@" in host:
        raise KeyFormatError(f"not a host name: {host!r}")
    if any(not segment for segment in path):
        raise KeyFormatError("a did:web path has no empty segments")
    return ":".join(["did:web:" + quote(host, safe=".-"), *(quote(s, safe="") for s in path)])


def did_web_document_url(did: str) -> str:
    """Where a did:web document lives (`https://<host>/.well-known/did.json`, or a path)."""
    if not did.startswith("did:web:"):
        raise KeyFormatError(f"not a did:web: {did!r}")
    parts = [unquote(part) for part in did.removeprefix("did:web:").split(":")]
    if not parts[0]:
        raise KeyFormatError(f"did:web without a host: {did!r}")
    path = "/".join(parts[1:]) + "/did.json" if len(parts) > 1 else ".well-known/did.json"
    return f"https://{parts[0]}/{path}"


@dataclass(frozen=True)
class PublishedKey:
    """A key in the issuer's DID document: `fragment` names it (`did:web:host#<fragment>`)."""

    fragment: str
    public_key: Ed25519PublicKey


def did_web_document(
    host: str, keys: Iterable[PublishedKey], path: Sequence[str] = ()
) -> dict[str, Any]:
    """The issuer's did:web document, every key (current and retired) an assertionMethod."""
    did = did_web(host, path)
    methods = []
    for key in keys:
        if not key.fragment or "#" in key.fragment:
            raise KeyFormatError(f"bad key fragment {key.fragment!r}")
        methods.append(_method(f"{did}#{key.fragment}", did, public_key_multibase(key.public_key)))
    return _document(did, methods)


def _method(method_id: str, controller: str, multibase: str) -> dict[str, Any]:
    return {
        "id": method_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": multibase,
    }


def _document(did: str, methods: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [method["id"] for method in methods]
    return {
        "@context": list(DID_CONTEXT),
        "id": did,
        "verificationMethod": methods,
        "authentication": ids,
        "assertionMethod": ids,
    }


def find_assertion_key(
    did_document: Mapping[str, Any], method_id: str
) -> tuple[Ed25519PublicKey, str]:
    """The public key and controller of `method_id`, if the document authorizes it to assert.

    Raises `KeyFormatError` saying why not (not listed, not under assertionMethod, not Ed25519).
    """
    did = did_document.get("id")
    method: Any = None
    for candidate in _as_list(did_document.get("verificationMethod")):
        if isinstance(candidate, Mapping) and _absolute(candidate.get("id"), did) == method_id:
            method = candidate
    authorized = False
    for entry in _as_list(did_document.get("assertionMethod")):
        if isinstance(entry, str) and _absolute(entry, did) == method_id:
            authorized = True
        elif isinstance(entry, Mapping) and _absolute(entry.get("id"), did) == method_id:
            authorized = True
            method = entry
    if method is None:
        raise KeyFormatError(f"key {method_id} is not in the issuer's DID document")
    if not authorized:
        raise KeyFormatError(f"key {method_id} is not authorized to issue (assertionMethod)")
    controller = method.get("controller")
    if not isinstance(controller, str):
        raise KeyFormatError(f"key {method_id} names no controller")
    if method.get("type") not in ("Multikey", "Ed25519VerificationKey2020"):
        raise KeyFormatError(f"key {method_id} is of unsupported type {method.get('type')!r}")
    return public_key_from_multibase(method.get("publicKeyMultibase")), controller


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _absolute(method_id: Any, did: Any) -> Any:
    if isinstance(method_id, str) and method_id.startswith("#") and isinstance(did, str):
        return did + method_id
    return method_id
