"""W3C Bitstring Status List 1.0: revocation bits, their encoding, the list credential, entries.

Bit 0 is the most significant bit of byte 0 (the spec's "left-most" bit). A list has at least
131,072 entries (16 KiB), the spec's minimum for group privacy, and indexes are drawn at random
so an index says nothing about when or to whom a credential was issued.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import secrets
import zlib
from collections.abc import Collection
from typing import Any

from lms_plugin.credentials.builder import xsd_datetime
from lms_plugin.credentials.documents import VC_V2

STATUS_LIST_SIZE = 131_072
REVOCATION = "revocation"
# A decoded list larger than this is refused (a gzip bomb is a few KiB that inflate to GiBs).
MAX_DECODED_BYTES = 16 * 1024 * 1024
_RANDOM = secrets.SystemRandom()


class StatusListError(ValueError):
    """A malformed or unusable status list."""


class StatusListFull(StatusListError):
    """Every index of the list is allocated."""


def new_bitstring(size: int = STATUS_LIST_SIZE) -> bytearray:
    """An all-clear bitstring of `size` bits (a multiple of 8, at least 131,072)."""
    if size < STATUS_LIST_SIZE or size % 8:
        raise StatusListError(
            f"a status list needs a multiple of 8 bits, at least {STATUS_LIST_SIZE}"
        )
    return bytearray(size // 8)


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside the list (0-{len(bits) * 8 - 1})")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int, value: bool = True) -> None:
    """Set (revoke) or clear (reinstate) the bit at `index`."""
    get_bit(bits, index)
    if value:
        bits[index // 8] |= 0x80 >> (index % 8)
    else:
        bits[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF


def allocate_index(used: Collection[int] | bytes | bytearray, size: int = STATUS_LIST_SIZE) -> int:
    """A random free index: `used` is the set of allocated indexes, or a bitmap of them."""
    if isinstance(used, bytes | bytearray):
        if len(used) * 8 < size:
            raise StatusListError("the allocation bitmap is shorter than the list")

        def taken(index: int) -> bool:
            return get_bit(used, index)

        count = sum(byte.bit_count() for byte in used[: size // 8])
    else:

        def taken(index: int) -> bool:
            return index in used

        count = len(used)
    if count >= size:
        raise StatusListFull("every index of this status list is allocated")
    for _ in range(64):
        index = _RANDOM.randrange(size)
        if not taken(index):
            return index
    # A nearly full list: draw among the free indexes themselves.
    free = [index for index in range(size) if not taken(index)]
    if not free:
        raise StatusListFull("every index of this status list is allocated")
    return _RANDOM.choice(free)


def encode_list(bits: bytes | bytearray) -> str:
    """`encodedList`: multibase base64url (`u`, no padding) of the GZIP-compressed bitstring."""
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: str, *, max_bytes: int = MAX_DECODED_BYTES) -> bytes:
    """The bitstring of an `encodedList`; refuses it malformed or inflating past `max_bytes`."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError('encodedList must be multibase base64url (start with "u")')
    body = encoded[1:]
    try:
        compressed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise StatusListError("encodedList is not base64url") from None
    inflater = zlib.decompressobj(wbits=31)
    try:
        bits = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error:
        raise StatusListError("encodedList is not GZIP data") from None
    if len(bits) > max_bytes or inflater.unconsumed_tail:
        raise StatusListError("encodedList inflates past the size limit")
    if not inflater.eof or not bits:
        raise StatusListError("encodedList is truncated or empty")
    return bits


def status_entry(list_url: str, index: int, purpose: str = REVOCATION) -> dict[str, Any]:
    """The `BitstringStatusListEntry` that points a credential at its bit."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    *,
    list_url: str,
    issuer: str,
    bits: bytes | bytearray,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None = None,
    purpose: str = REVOCATION,
) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` (pass it to `sign_credential`).

    `issuer` is the DID that issues the credentials the list covers: verifiers check they match.
    """
    if len(bits) * 8 < STATUS_LIST_SIZE:
        raise StatusListError(f"a status list has at least {STATUS_LIST_SIZE} entries")
    credential: dict[str, Any] = {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": xsd_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = xsd_datetime(valid_until)
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": encode_list(bits),
    }
    return credential


def is_set(status_list: dict[str, Any], index: int) -> bool:
    """Whether bit `index` is set in a (parsed) status list credential."""
    subject = status_list.get("credentialSubject")
    if not isinstance(subject, dict):
        raise StatusListError("the status list credential has no credentialSubject")
    return get_bit(decode_list(subject.get("encodedList")), index)
