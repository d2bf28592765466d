"""Fuzz target: the credential verifier takes any text and answers within its deadline, either a
verdict (JSON-serializable, "verified" only when every check passed) or `NotACredential`; the
public API and page answer 200, 400 or 503 with a plain message, never 500.

Inputs: a signed Open Badges credential mutated with hostile JSON-LD shapes: long arrays of
strings plus one fraction (PyLD's quadratic duplicate check), deep nesting, many nodes, inline and
relative and unknown contexts, scoped contexts, value, list, graph, reverse and JSON literals,
weird numbers (1e999, NaN, -0, huge integers, subnormals), lone surrogates and control characters,
many proofs, many status entries, duplicate keys.
Bounded by the `ci` profile in `make test`; `HYPOTHESIS_PROFILE=long` runs it for longer.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lms_plugin import create_app, migrate
from lms_plugin.credentials import verifying
from lms_plugin.credentials.documents import CONTEXT_FILES, VC_V2
from lms_plugin.credentials.untrusted import Limits
from lms_plugin.database import make_engine
from tests.credentials.conftest import NOW, IssuerWorld

WORLD = IssuerWorld()
SIGNED, _ = WORLD.signed()
DOCUMENTS = WORLD.documents()
LIMITS = Limits(max_seconds=0.5)
# Each example can take up to its deadline: a third of the profile's examples per target.
EXAMPLES = max(20, settings.default.max_examples // 3)


class Raw:
    """JSON text written as it is (NaN, 1e999, a duplicate key...)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(item) for item in value) + "]"
    return json.dumps(value)  # lone surrogates as \uXXXX escapes


TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(exclude_categories=()), max_size=10),  # surrogates and controls
    st.sampled_from(["", "\ud800", "a\x00b", "urn:x", "did:web:127.0.0.1", "rel/path", "_:b0"]),
    st.sampled_from(["http://a/", "https://example.org/x#y", "2026-01-01T00:00:00Z", "@id"]),
)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["1e999", "-1e999", "NaN", "Infinity", "-0", "1E400", "5e-324", "9" * 400, "9" * 5000]
    ).map(Raw),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
KEYWORDS = ["@value", "@type", "@language", "@list", "@set", "@graph", "@id", "@reverse"]
KEYWORDS += ["@included", "@json", "@nest", "@index", "@direction", "@context", "@vocab"]
TERMS = ["name", "description", "id", "type", "evidence", "narrative", "achievement"]
KEYS = st.one_of(st.sampled_from(KEYWORDS + TERMS), TEXT)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=20,
)
INLINE_CONTEXTS = st.one_of(
    st.dictionaries(TEXT, st.one_of(TEXT, JSONISH), max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "@vocab": TEXT,
            "@base": TEXT,
            "@version": st.sampled_from([1.1, 1.0, "1.1"]),
            "@protected": st.booleans(),
            "@propagate": st.booleans(),
            "@import": TEXT,
            "x": st.fixed_dictionaries(
                {"@id": TEXT},
                optional={
                    "@type": st.sampled_from(["@json", "@id", "@vocab", "rel", "xsd:double"]),
                    "@container": st.sampled_from(["@list", "@set", "@language", "@graph"]),
                    "@reverse": TEXT,
                    "@context": JSONISH,
                },
            ),
        },
    ),
)
CONTEXT_ITEMS = st.one_of(
    st.sampled_from([*CONTEXT_FILES, "https://evil.example/c.json", "ctx.json", "", "_:x"]),
    INLINE_CONTEXTS,
)


def quadratic(count: int) -> list[Any]:
    return [*map(str, range(count)), 0.5]


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"id": "urn:leaf"}
    for _ in range(depth):
        node = {"id": "urn:n", "achievement": node}
    return node


def status_entries(count: int) -> list[dict[str, Any]]:
    entry = copy.deepcopy(SIGNED["credentialStatus"])
    return [{**entry, "statusListIndex": str(n)} for n in range(count)]


SIZES = st.one_of(st.sampled_from([0, 1, 100, 2_000, 8_000, 20_000]), st.integers(0, 20_000))
BIG = st.one_of(
    SIZES.map(quadratic),
    st.integers(0, 70).map(nested),
    SIZES.map(lambda n: [{"id": f"urn:x:{i}", "name": [str(i), 1.5]} for i in range(n // 2)]),
    SIZES.map(lambda n: [{"name": "same"} for _ in range(n // 4)]),
)


def objects(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The credential, its subject and achievement (those still objects)."""
    found = [document]
    subject = document.get("credentialSubject")
    if isinstance(subject, dict):
        found.append(subject)
        if isinstance(subject.get("achievement"), dict):
            found.append(subject["achievement"])
    return found


@st.composite
def hostile(draw: st.DrawFn) -> str:
    """A signed credential with one to three hostile changes, as JSON text."""
    document = copy.deepcopy(SIGNED)
    for _ in range(draw(st.integers(1, 3))):
        change = draw(
            st.sampled_from(["value", "big", "big", "context", "status", "proofs", "raw", "dup"])
        )
        target = draw(st.sampled_from(objects(document)))
        key = draw(KEYS)
        if change == "value":
            target[key] = draw(JSONISH)
        elif change == "big":
            target[draw(st.sampled_from(TERMS))] = draw(BIG)
        elif change == "context":
            document["@context"] = [VC_V2, *draw(st.lists(CONTEXT_ITEMS, max_size=4))]
            if draw(st.booleans()):
                document["@context"].append({f"t{n}": f"urn:t:{n}" for n in range(5_000)})
        elif change == "status":
            document["credentialStatus"] = status_entries(draw(st.integers(0, 1_000)))
        elif change == "proofs":
            proof = SIGNED["proof"][0]
            document["proof"] = [copy.deepcopy(proof) for _ in range(draw(st.integers(0, 50)))]
        elif change == "raw":
            target[key] = Raw(draw(st.sampled_from(["NaN", "1e999", '"\\udfff"', "-0", "1e-999"])))
        else:
            target[key] = Raw('{"a": 1, "a": 2}')
    return dump(document)


def check_verdict(text: str) -> None:
    started = time.monotonic()
    try:
        result = verifying.verify_credential(
            text,
            resolve_key=DOCUMENTS.get,
            fetch_status_list=DOCUMENTS.get,
            now=NOW,
            limits=LIMITS,
        )
    except verifying.NotACredential as error:
        assert str(error)
        return
    elapsed = time.monotonic() - started
    assert elapsed < LIMITS.max_seconds + 1.0, elapsed
    answer = result.to_json()
    json.dumps(answer, ensure_ascii=False).encode("utf-8")  # pages and the CLI print it
    assert isinstance(answer["verified"], bool)
    if answer["verified"]:
        assert all(check["passed"] is True for check in answer["checks"])


def test_the_unchanged_credential_verifies() -> None:
    assert verifying.verify_credential(
        dump(SIGNED), resolve_key=DOCUMENTS.get, fetch_status_list=DOCUMENTS.get, now=NOW
    ).verified


WORST_KNOWN = [  # the bench's worst shapes (bench/verifier.py)
    dump({**SIGNED, "name": quadratic(20_000)}),
    dump(
        {**SIGNED, "evidence": [{"id": f"urn:x:{i}", "name": [str(i), 1.5]} for i in range(9_000)]}
    ),
    dump({**SIGNED, "credentialStatus": status_entries(1_000)}),
    dump({**SIGNED, "evidence": nested(62)}),
]


@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
@given(hostile())
@example(WORST_KNOWN[0])
@example(WORST_KNOWN[1])
@example(WORST_KNOWN[2])
@example(WORST_KNOWN[3])
def test_the_verifier_answers_any_hostile_credential_in_time(text: str) -> None:
    check_verdict(text)


@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
@given(JSONISH.map(dump))
def test_the_verifier_answers_any_json_in_time(text: str) -> None:
    check_verdict(text)


# --- through HTTP: never a server error -------------------------------------------------------


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """The app on its own migrated SQLite file (the verifier reads no course data)."""
    folder: Path = tmp_path_factory.mktemp("verifier-fuzz")
    url = f"sqlite:///{folder / 'fuzz.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app: Flask = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "fuzz",
            "INSTANCE_PATH": str(folder / "instance"),
            "BASE_URL": "http://tool.test",
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield app.test_client()
    app.extensions["database"].kw["bind"].dispose()


SMALL_HOSTILE = st.one_of(
    JSONISH.map(dump),
    st.builds(
        lambda key, value: dump({**SIGNED, key: value}),
        KEYS,
        st.one_of(JSONISH, SCALARS.map(lambda v: v), st.sampled_from(["1e999", "NaN"]).map(Raw)),
    ),
    st.builds(
        lambda items: dump({**SIGNED, "@context": [VC_V2, *items]}),
        st.lists(CONTEXT_ITEMS, max_size=3),
    ),
)


@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
@given(SMALL_HOSTILE)
def test_the_public_verifier_never_answers_500(web: FlaskClient, text: str) -> None:
    api = web.post("/api/v1/verify", data=text.encode("utf-8", "surrogatepass"))
    assert api.status_code in (200, 400, 503), api.status_code
    assert api.json["verified"] in (True, False) and all(
        isinstance(e, str) for e in api.json["errors"]
    )
    page = web.post("/verify", data={"credential": text})
    assert page.status_code in (200, 400, 503), page.status_code
