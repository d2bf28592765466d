"""The verifier's worst inputs: hostile credentials of every shape we know, each up to 1 MB, timed
through the whole verification (parsing, canonicalization in a worker process killed at the
deadline, signature and status checks) against its budget.

Shapes: a signed OB 3.0 credential carrying a long array of strings plus one fraction (PyLD's
quadratic duplicate check: 8,000 strings took 18 s before the bound), many small nodes with
fractions, nesting as deep as allowed and deeper, an inline context of many terms, a scoped-context
bomb, thousands of identical anonymous nodes and a blank-node clique (RDFC-1.0's N-degree hashing),
1,000 status entries, many proofs, one 1 MB string.

Target: every verification, the worst included, answers within the budget (2 s; its work stops
0.1 s before, to leave time for stopping a worker), and none of these hostile inputs verifies.

    python -m bench.verifier
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from typing import Any

from bench.report import figure, verdict
from lms_plugin.credentials import verifying
from lms_plugin.credentials.documents import VC_V2
from lms_plugin.credentials.untrusted import DEFAULT_LIMITS, InputError, parse_json
from tests.credentials.conftest import NOW, IssuerWorld

MAX_BYTES = DEFAULT_LIMITS.max_bytes


def fill(make: Callable[[int], Any], unit: int) -> Any:
    """The largest `make(n)` (n a multiple of `unit`) whose JSON stays within 1 MB and within the
    value limit, found by doubling then halving."""
    low, high = 0, unit
    while fits(make(high)):
        low, high = high, high * 2
    while high - low > unit:
        middle = (low + high) // 2 // unit * unit
        low, high = (middle, high) if fits(make(middle)) else (low, middle)
    return make(low)


def fits(document: Any) -> bool:
    """Within the size and value limits (else it is refused at once: no test of the bound)."""
    try:
        parse_json(json.dumps(document))
    except InputError:
        return False
    return True


def shapes(signed: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    def with_(**changes: Any) -> dict[str, Any]:
        return {**copy.deepcopy(signed), **changes}

    def nested(depth: int) -> Any:
        node: Any = "leaf"
        for _ in range(depth):
            node = [node]
        return node

    def context_bomb(levels: int, width: int) -> dict[str, Any]:
        context: dict[str, Any] = {"leaf": "https://example.org/leaf"}
        for level in range(levels):
            context = {
                f"t{level}_{n}": {"@id": f"https://example.org/t{level}/{n}", "@context": context}
                for n in range(width)
            }
        return context

    bomb_node: dict[str, Any] = {"leaf": "x"}
    for level in range(6):
        bomb_node = {f"t{level}_{n}": bomb_node for n in range(4)}
    clique = [
        {
            "@id": f"_:n{i}",
            "https://example.org/p": [{"@id": f"_:n{j}"} for j in range(12) if j != i],
        }
        for i in range(12)
    ]
    proof = signed["proof"][0]
    entry = signed["credentialStatus"]
    return {
        "strings + one fraction": lambda: fill(
            lambda n: with_(name=[*map(str, range(n)), 0.5]), 1_000
        ),
        "small nodes with fractions": lambda: fill(
            lambda n: with_(
                evidence=[{"id": f"urn:x:{i}", "name": [str(i), 1.5]} for i in range(n)]
            ),
            500,
        ),
        "nesting, as deep as allowed": lambda: with_(name=nested(62)),
        "nesting, deeper than allowed": lambda: json.dumps(with_(name="@")).replace(
            '"@"', "[" * 100_000 + "]" * 100_000
        ),
        "an inline context of many terms": lambda: fill(
            lambda n: with_(
                **{"@context": [*signed["@context"], {f"t{i}": f"urn:t:{i}" for i in range(n)}]},
                **{f"t{i}": "x" for i in range(0, n, 2)},
            ),
            500,
        ),
        "scoped-context bomb": lambda: with_(
            **{"@context": [*signed["@context"], context_bomb(6, 4)]}, evidence=bomb_node
        ),
        "identical anonymous nodes": lambda: fill(
            lambda n: with_(evidence=[{"name": "same"} for _ in range(n)]), 500
        ),
        "blank-node clique": lambda: with_(evidence={"@graph": clique}),
        "1,000 status entries": lambda: with_(
            credentialStatus=[{**entry, "statusListIndex": str(n)} for n in range(1_000)]
        ),
        "8 proofs (the most looked at)": lambda: with_(
            proof=[{**proof, "created": f"2026-01-0{n + 1}T00:00:00Z"} for n in range(8)]
        ),
        "8 proofs + strings + one fraction": lambda: fill(
            lambda n: with_(
                name=[*map(str, range(n)), 0.5],
                proof=[{**proof, "created": f"2026-01-0{k + 1}T00:00:00Z"} for k in range(8)],
            ),
            1_000,
        ),
        "one 1 MB string": lambda: fill(lambda n: with_(name="x" * n), 10_000),
        "array of 1,000 contexts URLs": lambda: with_(**{"@context": [VC_V2] * 1_000}),
    }


def run(repeat: int) -> bool:
    world = IssuerWorld()
    signed, _ = world.signed()
    documents = world.documents()
    budget = DEFAULT_LIMITS.max_seconds
    print(f"verifier bench: hostile inputs up to {MAX_BYTES:,} bytes, budget {budget:g} s each")
    worst: tuple[float, str] = (0.0, "")
    ok = True
    for name, make in shapes(signed).items():
        made = make()
        text = made if isinstance(made, str) else json.dumps(made)
        seconds = 0.0
        for _ in range(repeat):
            started = time.perf_counter()
            try:
                result = verifying.verify_credential(
                    text, resolve_key=documents.get, fetch_status_list=documents.get, now=NOW
                )
                answer = f"not verified: {result.errors[0][:60]}" if result.errors else "VERIFIED"
                ok = ok and not result.verified
            except verifying.NotACredential as error:
                answer = f"refused: {str(error)[:60]}"
            seconds = max(seconds, time.perf_counter() - started)
        worst = max(worst, (seconds, name))
        target = f"<= {budget:g} s"
        figure(f"{name} ({len(text) // 1024} KiB)", f"{seconds:.3f} s", target)
        print(f"    {answer}")
    ok = ok and worst[0] <= budget
    figure(f"WORST: {worst[1]}", f"{worst[0]:.3f} s", f"<= {budget:g} s")
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=2, help="Runs per shape (the slowest counts)."
    )
    args = parser.parse_args()
    raise SystemExit(0 if run(args.repeat) else 1)


if __name__ == "__main__":
    main()
