"""Pinned JSON-LD contexts and the offline document loader that serves them.

Nothing here touches the network: a URL that is not one of the vendored contexts is an error, at
signing and at verification time alike (a context that changes or vanishes on the web would change
what a signature covers). The files live in `contexts/`; their origin and licence are in its README.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR_V2P0 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
STATUS_LIST_V1 = "https://www.w3.org/ns/credentials/status/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
# Only DID Authentication presentations name these (wallets signing with Ed25519Signature2020).
VC_V1 = "https://www.w3.org/2018/credentials/v1"
ED25519_2020_V1 = "https://w3id.org/security/suites/ed25519-2020/v1"

CONTEXT_FILES = MappingProxyType(
    {
        VC_V2: "credentials-v2.jsonld",
        OB_V3P0: "ob-v3p0-context-3.0.3.json",
        CLR_V2P0: "clr-v2p0-context-2.0.1.json",
        DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
        STATUS_LIST_V1: "credentials-status-v1.jsonld",
        DID_V1: "did-v1.jsonld",
        MULTIKEY_V1: "multikey-v1.jsonld",
        VC_V1: "credentials-v1.jsonld",
        ED25519_2020_V1: "ed25519-signature-2020-v1.jsonld",
    }
)


class UnknownDocumentError(LookupError):
    """A JSON-LD document (context) was asked for that is not vendored here."""


@cache
def context_document(url: str) -> dict[str, Any]:
    """The parsed vendored context for `url` (shared: never mutate it)."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise UnknownDocumentError(f"unknown JSON-LD context {url!r} (only pinned contexts load)")
    text = resources.files(__package__).joinpath("contexts", name).read_text("utf-8")
    return json.loads(text)


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A PyLD document loader serving only the pinned contexts.

    The `static` tag lets PyLD keep the resolved context in its process-wide cache.
    """
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": context_document(url),
        "tag": "static",
    }
