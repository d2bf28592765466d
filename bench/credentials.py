"""Credentials signed and verified per second by us, beside the Digital Credentials Consortium's
JavaScript verifier (Node, offline) on the same credential in the same run.

The credential is a typical OB 3.0 level credential (10 statements, did:web issuer, e-mail hash,
Bitstring Status List entry); a verification checks everything (signature, issuer key, the status
list credential's own signature and the bit, dates) on both sides. The DCC side keeps its document
loader and suite across verifications, as a verifying service would; our side keeps the verdict on
an unchanged status list (keyed by its content), so we also report verification with that cache
cleared every time.

Targets: our signing and our verification each at least 2x the DCC verifier's rate. And a large
credential as issued now (40 statements, so 41 alignments with the occupation, and 40 evidence
items, with the badge image and the learner's name) verifies in at most 2x the time of the same
40-statement credential as it was issued before evidence, image and name (the "current figure");
its time beside the typical credential's is printed too. Verification time grows with the number of
nodes to canonicalize (linearly), so the large credential, with about 2.7x the typical one's nodes,
takes about 2.7x its time.

    python -m bench.credentials [--count 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.report import figure, verdict
from lms_plugin.credentials import dids, signing, status_list, verifying
from lms_plugin.credentials.builder import (
    BadgeImage,
    Evidence,
    Issuer,
    Level,
    Recipient,
    Statement,
    build_achievement_credential,
)
from tests.credentials.conftest import FRAMEWORK, OCCUPATION

ROOT = Path(__file__).resolve().parent.parent
DCC_SCRIPT = ROOT / "tests" / "credentials" / "dcc_verify.mjs"
HOST = "tool.example.edu"
BASE = f"https://{HOST}"
TARGET_FACTOR = 2.0
LARGE = 40  # statements and evidence items of the large credential
LARGE_FACTOR = 2.0


def scenario(
    statements: int = 10, evidence: int = 0
) -> tuple[Ed25519PrivateKey, str, dict, dict[str, dict]]:
    """(key, verification method, unsigned credential, documents a verifier needs); with
    `evidence`, also the badge image and the learner's name, as the app issues them."""
    key = Ed25519PrivateKey.generate()
    did_document = dids.did_web_document(HOST, [dids.PublishedKey("key-1", key.public_key())])
    method = did_document["verificationMethod"][0]["id"]
    list_url = f"{BASE}/status-lists/1"
    now = dt.datetime.now(dt.UTC)
    signed_list = signing.sign_credential(
        status_list.status_list_credential(
            list_url=list_url,
            issuer=did_document["id"],
            bits=status_list.new_bitstring(),
            valid_from=now - dt.timedelta(days=1),
        ),
        key,
        method,
    )
    index = status_list.allocate_index(set())
    level = Level(
        key="emerging",
        label="Emerging",
        url=f"{BASE}/frameworks/1/levels/emerging",
        statements=[
            Statement(
                text=f"Legal documents and case files {n} — organize and label them under direct "
                "attorney supervision in a law office filing system.",
                url=f"{BASE}/frameworks/1/statements/{n}",
            )
            for n in range(1, statements + 1)
        ],
    )
    recipient = Recipient.from_email("learner@example.org")
    if evidence:
        recipient = replace(recipient, name="Ada Lovelace")
    credential = build_achievement_credential(
        credential_id=f"{BASE}/credentials/0d6c2a3e-0f4e-4d8a-9d8e-6b1f0a7c2b11",
        issuer=Issuer(id=did_document["id"], name="Example College", url="https://example.edu"),
        recipient=recipient,
        level=level,
        framework=FRAMEWORK,
        occupation=OCCUPATION,
        valid_from=now - dt.timedelta(hours=1),
        status_entry=status_list.status_entry(list_url, index),
        evidence=[
            Evidence(
                statement=statement.text,
                judged_at=now - dt.timedelta(days=n),
                url=f"https://portfolio.example.org/work/{n}",
                comment="Done unaided, to the firm's standard." if n % 2 else None,
            )
            for n, statement in enumerate(level.statements[:evidence], start=1)
        ],
        image=BadgeImage(f"{BASE}/issuers/college/badges/1.svg", "Badge of the level")
        if evidence
        else None,
    )
    return key, method, credential, {did_document["id"]: did_document, list_url: signed_list}


def rate(action, count: int) -> float:  # type: ignore[no-untyped-def]
    for _ in range(min(count, 20)):
        action()
    started = time.perf_counter()
    for _ in range(count):
        action()
    return count / (time.perf_counter() - started)


def interleaved_ms(actions: list, count: int) -> list[float]:  # type: ignore[type-arg]
    """The median milliseconds per call of each action, calls taken in turn (so that load from
    elsewhere on the machine weighs on all alike)."""
    for action in actions:
        for _ in range(min(count, 20)):
            action()
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(count):
        for spent, action in zip(times, actions, strict=True):
            started = time.perf_counter()
            action()
            spent.append(time.perf_counter() - started)
    return [1000 * statistics.median(spent) for spent in times]


def dcc_rate(credential: dict, documents: dict, count: int) -> float:
    payload = {
        "cases": [{"name": "bench", "credential": credential, "documents": documents}],
        "repeat": count,
    }
    completed = subprocess.run(
        ["node", str(DCC_SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the DCC verifier failed (run `npm ci` first?):\n{completed.stderr}")
    output = json.loads(completed.stdout)
    if not output["results"][0]["verified"]:
        raise SystemExit(f"the DCC verifier rejects the credential: {output['results'][0]}")
    return output["rate"]


def verifier(statements: int = 10, evidence: int = 0):  # type: ignore[no-untyped-def]
    """A function verifying one signed credential of that size (asserting it verifies)."""
    key, method, credential, documents = scenario(statements, evidence)
    signed = signing.sign_credential(credential, key, method)

    def verify() -> None:
        result = verifying.verify_credential(
            signed, resolve_key=documents.get, fetch_status_list=documents.get
        )
        assert result.verified, result.errors

    return verify


def run(count: int) -> bool:
    key, method, credential, documents = scenario()
    signed = signing.sign_credential(credential, key, method)

    def verify() -> None:
        result = verifying.verify_credential(
            signed, resolve_key=documents.get, fetch_status_list=documents.get
        )
        assert result.verified, result.errors

    def verify_cold() -> None:
        verifying._STATUS_LIST_CACHE.clear()
        verify()

    verify()
    dcc = dcc_rate(signed, documents, count)
    sign = rate(lambda: signing.sign_credential(credential, key, method), count)
    warm = rate(verify, count)
    cold = rate(verify_cold, count)
    typical_ms, before_ms, large_ms = interleaved_ms(
        [verify, verifier(LARGE, 0), verifier(LARGE, LARGE)], count
    )
    target = TARGET_FACTOR * dcc
    ok = sign >= target and warm >= target and cold >= target
    ok = ok and large_ms <= LARGE_FACTOR * before_ms
    print("credential bench (OB 3.0 level credential, eddsa-rdfc-2022, did:web, status list)")
    figure("DCC JavaScript verifier (Node), verifications/s", f"{dcc:.0f}/s", "reference")
    figure("our signing, credentials/s", f"{sign:.0f}/s", f">= {target:.0f}/s (2x DCC)")
    figure("our verification, credentials/s", f"{warm:.0f}/s", f">= {target:.0f}/s (2x DCC)")
    figure("our verification, status list not cached", f"{cold:.0f}/s", f">= {target:.0f}/s")
    figure("verification time, typical (10 statements)", f"{typical_ms:.2f} ms", "reference")
    figure(
        f"verification time, {LARGE} statements, no evidence",
        f"{before_ms:.2f} ms",
        "current figure",
    )
    figure(
        f"verification time, {LARGE} statements + {LARGE} evidence",
        f"{large_ms:.2f} ms",
        f"<= {LARGE_FACTOR * before_ms:.2f} ms (2x current)",
    )
    print(
        f"    {large_ms / before_ms:.2f}x the current figure, "
        f"{large_ms / typical_ms:.2f}x the typical credential's"
    )
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    run(args.count)


if __name__ == "__main__":
    main()
