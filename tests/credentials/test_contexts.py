"""The vendored contexts are exactly the pinned bytes, and the loader serves nothing else."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from lms_plugin.credentials.documents import CONTEXT_FILES, UnknownDocumentError, document_loader

PINNED = {
    "credentials-status-v1.jsonld": (
        "fd08cbf28ddd829ab2f1978c48f43ab07a112c1c90245a0cfac7ba721c65170c"
    ),
    "credentials-v2.jsonld": "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f",
    "data-integrity-v2.jsonld": "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363",
    "did-v1.jsonld": "62c1054bf404d6dd3a4b26b64f830fd72095f6a26edc4469908c94351352ce5f",
    "multikey-v1.jsonld": "c5f3806f8286920573221938917988a18a4cc5a09e968d29649613c7a1c2b1f6",
    "credentials-v1.jsonld": "00d7dd6d3ad8b920e3e550dd3a3d9090bffcac84cdbf943da6924b3e0a5c8bb8",
    "ed25519-signature-2020-v1.jsonld": (
        "b9e1ab971fd8bf2c7553e0c4a9438e0b9450afde1ea1ca5b2492368b9f549588"
    ),
    "ob-v3p0-context-3.0.3.json": (
        "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"
    ),
    "clr-v2p0-context-2.0.1.json": (
        "880f1902d4158f2f33ce06af41b90719977cd1ea337a9de2e41edb3ff5e543d6"
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_context_file_is_pinned(name: str) -> None:
    data = resources.files("lms_plugin.credentials").joinpath("contexts", name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == PINNED[name]


def test_every_url_has_a_pinned_file() -> None:
    assert set(CONTEXT_FILES.values()) == set(PINNED)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/2018/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        "http://www.w3.org/ns/credentials/v2",
        "file:///etc/passwd",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(UnknownDocumentError):
        document_loader(url)
