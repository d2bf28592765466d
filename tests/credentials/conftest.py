"""Fixtures for the credential core: an issuer with keys, status lists, credentials, the DCC stack.

Pure unit tests: no database, no Flask app. Keys are generated per session, never written down.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lms_plugin.config import PROJECT_ROOT
from lms_plugin.credentials import dids, signing, status_list, verifying
from lms_plugin.credentials.builder import (
    Framework,
    Issuer,
    Level,
    Occupation,
    Recipient,
    Statement,
    build_achievement_credential,
    onet_occupation_url,
)

HOST = "tool.example.edu"
BASE = f"https://{HOST}"
DCC_SCRIPT = Path(__file__).with_name("dcc_verify.mjs")
DCC_PACKAGES = (
    "@digitalcredentials/vc",
    "@digitalcredentials/data-integrity",
    "@digitalcredentials/eddsa-rdfc-2022-cryptosuite",
    "@digitalcredentials/security-document-loader",
    "@digitalcredentials/vc-bitstring-status-list",
)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def level_of(key: str = "emerging", statements: int = 10) -> Level:
    return Level(
        key=key,
        label=key.title(),
        url=f"{BASE}/frameworks/7/levels/{key}",
        statements=[
            Statement(
                text=f"Legal documents and case files {n} — organize and label them under "
                "direct attorney supervision in a law office filing system.",
                url=f"{BASE}/frameworks/7/statements/{n}",
            )
            for n in range(1, statements + 1)
        ],
    )


FRAMEWORK = Framework(
    title="Legal Secretaries and Administrative Assistants",
    version="v.26.05",
    url=f"{BASE}/frameworks/7",
    attribution="© EBSCOed, built on O*NET (CC BY 4.0)",
)
OCCUPATION = Occupation(
    soc="43-6012.00",
    title="Legal Secretaries and Administrative Assistants",
    url=onet_occupation_url("43-6012.00"),
)


@dataclass
class IssuerWorld:
    """An issuer (did:web with a current and a retired key), its status list, and helpers."""

    current: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    retired: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    rogue: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    list_url: str = f"{BASE}/status-lists/3f1c"
    bits: bytearray = field(default_factory=status_list.new_bitstring)
    used: set[int] = field(default_factory=set)

    @property
    def did(self) -> str:
        return dids.did_web(HOST)

    @property
    def did_document(self) -> dict[str, Any]:
        return dids.did_web_document(
            HOST,
            [
                dids.PublishedKey("key-2", self.current.public_key()),
                dids.PublishedKey("key-1", self.retired.public_key()),
            ],
        )

    def method(self, fragment: str = "key-2") -> str:
        return f"{self.did}#{fragment}"

    def credential(
        self,
        *,
        recipient: Recipient | None = None,
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | None = None,
        level: Level | None = None,
        issuer: str | None = None,
        with_status: bool = True,
    ) -> tuple[dict[str, Any], int]:
        index = status_list.allocate_index(self.used)
        self.used.add(index)
        unsigned = build_achievement_credential(
            credential_id=f"{BASE}/credentials/{index:06d}",
            issuer=Issuer(id=issuer or self.did, name="Example College", url="https://example.edu"),
            recipient=recipient or Recipient.from_email("Learner@Example.org"),
            level=level or level_of(),
            framework=FRAMEWORK,
            occupation=OCCUPATION,
            valid_from=valid_from or NOW - dt.timedelta(days=1),
            valid_until=valid_until,
            status_entry=status_list.status_entry(self.list_url, index) if with_status else None,
        )
        return unsigned, index

    def signed(self, key: Ed25519PrivateKey | None = None, method: str | None = None, **kw: Any):
        unsigned, index = self.credential(**kw)
        signed = signing.sign_credential(unsigned, key or self.current, method or self.method())
        return signed, index

    def status_list(self, revoked: Collection[int] = ()) -> dict[str, Any]:
        bits = bytearray(self.bits)
        for index in revoked:
            status_list.set_bit(bits, index)
        unsigned = status_list.status_list_credential(
            list_url=self.list_url,
            issuer=self.did,
            bits=bits,
            valid_from=NOW - dt.timedelta(days=2),
        )
        return signing.sign_credential(unsigned, self.current, self.method())

    def documents(self, status: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {self.did: self.did_document, self.list_url: status or self.status_list()}


@pytest.fixture(scope="session")
def world() -> IssuerWorld:
    return IssuerWorld()


def our_verdict(credential: Any, documents: Mapping[str, Any]) -> verifying.VerificationResult:
    return verifying.verify_credential(
        credential,
        resolve_key=documents.get,
        fetch_status_list=documents.get,
        now=NOW,
    )


def require_dcc() -> None:
    """Fail (never skip) with a clear message when Node or the DCC packages are missing."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is missing: the interop tests run the DCC verifier with node")
    missing = [name for name in DCC_PACKAGES if not (PROJECT_ROOT / "node_modules" / name).is_dir()]
    if missing:
        pytest.fail(
            f"npm packages missing: {', '.join(missing)}; run `npm ci` at the repository root "
            "(make test does)"
        )


def dcc_verify(
    cases: list[dict[str, Any]], repeat: int = 0, canonize: list[Any] = ()
) -> dict[str, Any]:
    """Run tests/credentials/dcc_verify.mjs on cases [{name, credential, documents}] (and
    documents to canonicalize with the DCC cryptosuite)."""
    require_dcc()
    payload = {"cases": copy.deepcopy(cases), "repeat": repeat, "canonize": list(canonize)}
    for case in payload["cases"]:
        case.setdefault("now", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
    completed = subprocess.run(
        ["node", str(DCC_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"the DCC verifier script failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout)
