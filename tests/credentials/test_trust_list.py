"""Trusted issuer registries (`TRUSTED_REGISTRIES`, the DCC's registry formats): read from files
and URLs at start and on a schedule, never while verifying; a listed issuer is "registry" trust
with the registry's name, on the API, the page and the CLI."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from lms_plugin.commands import cli
from lms_plugin.credentials import dids, outbound
from lms_plugin.credentials.facts import Listing
from lms_plugin.credentials.trust_list import TrustList
from tests.credentials.conftest import IssuerWorld
from tests.credentials.test_verify_facts import foreign

LOCAL = outbound.Policy(allow_private=True, seconds=2.0)


def registry(entries: dict[str, dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """A registry in the DCC's format (as its sandbox and community registries publish)."""
    return {"meta": {"created": "2022-10-27T17:57:31+00:00", **meta}, "registry": entries}


@contextmanager
def serving(documents: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server answering `documents` by path (JSON); yields its base URL and the paths
    asked for, in order."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            asked.append(self.path)
            if self.path not in documents:
                self.send_error(404)
                return
            body = json.dumps(documents[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_list_of_registries_from_files_and_urls(tmp_path: Path) -> None:
    both = "did:key:z6MkBoth"
    (tmp_path / "community.json").write_text(
        json.dumps(
            registry(
                {
                    both: {"name": "Community name", "url": "https://community.example"},
                    "did:web:college.example": {"name": "Example College", "location": "Here"},
                }
            )
        )
    )
    remote = registry({both: {"name": "Member name", "url": "https://member.example"}})
    with serving({"/registry.json": remote}) as (base, asked):
        known = [
            {"type": "oidf", "name": "DCC Member Registry", "fetchEndpoint": f"{base}/fetch?sub="},
            {"type": "dcc-legacy", "name": "Member Registry", "url": f"{base}/registry.json"},
            {"type": "dcc-legacy", "name": "Community Registry", "url": "community.json"},
            {"type": "dcc-legacy", "url": "nameless.json"},
        ]
        (tmp_path / "known.json").write_text(json.dumps(known))
        trusted = TrustList.from_setting(str(tmp_path / "known.json"), LOCAL)

        problems = trusted.refresh()

        assert asked == ["/registry.json"]  # an oidf registry is never asked per DID
    assert any("'DCC Member Registry' is skipped" in problem for problem in problems)
    assert any("without a name" in problem for problem in problems)
    # The first registry that lists a DID names it, as in the DCC's client.
    assert trusted.lookup(both) == Listing(
        "Member Registry", "Member name", "https://member.example"
    )
    assert trusted.lookup("did:web:college.example") == Listing(
        "Community Registry", "Example College", None
    )
    assert trusted.lookup("did:web:elsewhere.example") is None
    assert trusted.lookup(None) is None and trusted.lookup(["did:key:z6MkBoth"]) is None


def test_a_lone_registry_is_named_by_its_meta_or_its_place(tmp_path: Path) -> None:
    named = tmp_path / "named.json"
    named.write_text(json.dumps(registry({"did:key:z1": {"name": "One"}}, name="State Board")))
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(registry({"did:key:z2": {"name": "Two"}})))
    trusted = TrustList.from_setting(f"{named}, {plain}", LOCAL)

    assert trusted.refresh() == []

    assert trusted.lookup("did:key:z1") == Listing("State Board", "One", None)
    assert trusted.lookup("did:key:z2") == Listing(str(plain), "Two", None)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not JSON"),
        ('"a string"', "neither a registry nor a list"),
        ('{"registry": ["did:key:z1"]}', 'not a registry (an object with a "registry"'),
        ('[{"name": "Broken", "url": "missing.json"}]', "cannot be read"),
        ('{"registry": {"x": 1}, "registry": {}}', "twice"),
    ],
)
def test_unusable_registries_are_reported_not_raised(
    tmp_path: Path, content: str, problem: str
) -> None:
    source = tmp_path / "registry.json"
    source.write_text(content)
    trusted = TrustList.from_setting(str(source), LOCAL)

    problems = trusted.refresh()

    assert any(problem in found for found in problems), problems
    assert trusted.lookup("did:key:z1") is None


def test_odd_entries_are_read_safely(tmp_path: Path) -> None:
    source = tmp_path / "registry.json"
    entries = {
        "did:key:zGood": {"name": "  Good  ", "url": "javascript:alert(1)"},
        "did:key:zOdd": {"name": 42, "url": ["https://x.example"]},
        "did:key:zNotAnObject": "Somebody",
        "not-a-did": {"name": "Nobody"},
        "did:key:zLong": {"name": "x" * 5000},
    }
    source.write_text(json.dumps(registry(entries)))
    trusted = TrustList.from_setting(str(source), LOCAL)
    trusted.refresh()

    assert trusted.lookup("did:key:zGood") == Listing(str(source), "Good", None)
    assert trusted.lookup("did:key:zOdd") == Listing(str(source), None, None)
    assert trusted.lookup("did:key:zNotAnObject") is None and trusted.lookup("not-a-did") is None
    assert len(trusted.lookup("did:key:zLong").name) == 500


def test_a_registry_that_cannot_be_read_keeps_what_it_listed(tmp_path: Path) -> None:
    documents = {"/registry.json": registry({"did:key:z1": {"name": "First"}})}
    with serving(documents) as (base, _asked):
        trusted = TrustList.from_setting(f"{base}/registry.json", LOCAL)
        assert trusted.refresh() == []
        documents["/registry.json"] = registry({"did:key:z2": {"name": "Second"}})
        trusted.refresh()
        assert trusted.lookup("did:key:z1") is None
        assert trusted.lookup("did:key:z2") == Listing(f"{base}/registry.json", "Second", None)
        del documents["/registry.json"]

        problems = trusted.refresh()

    assert problems == [f"{base}/registry.json: {base}/registry.json answered 404"]
    assert trusted.lookup("did:key:z2") is not None


def test_registry_urls_go_through_the_outbound_rules(tmp_path: Path) -> None:
    public_only = outbound.Policy(allow_private=False, seconds=1.0)
    trusted = TrustList.from_setting("http://127.0.0.1:9/registry.json", public_only)

    [problem] = trusted.refresh()

    assert "only https URLs are fetched" in problem


def test_the_background_refresh_picks_up_changes(tmp_path: Path) -> None:
    source = tmp_path / "registry.json"
    source.write_text(json.dumps(registry({"did:key:z1": {"name": "Before"}})))
    trusted = TrustList.from_setting(str(source), LOCAL)
    trusted.refresh()
    trusted.start(0.05)
    try:
        source.write_text(json.dumps(registry({"did:key:z1": {"name": "After"}})))
        assert wait_for(lambda: trusted.lookup("did:key:z1").name == "After")
    finally:
        trusted.stop()


@pytest.fixture
def listed_world(tmp_path: Path) -> tuple[IssuerWorld, Path]:
    world = IssuerWorld()
    known = tmp_path / "known.json"
    (tmp_path / "members.json").write_text(
        json.dumps(
            registry(
                {
                    dids.did_key(world.rogue): {
                        "name": "Ada's Academy",
                        "url": "https://academy.example",
                        "location": "London",
                    }
                }
            )
        )
    )
    known.write_text(json.dumps([{"type": "dcc-legacy", "name": "Members", "url": "members.json"}]))
    return world, known


def test_a_listed_issuer_is_recognised_on_the_api_page_and_cli(
    make_app: Callable[..., Flask], listed_world: tuple[IssuerWorld, Path], tmp_path: Path
) -> None:
    world, known = listed_world
    app = make_app(TRUSTED_REGISTRIES=str(known), TRUSTED_REGISTRIES_REFRESH=0)
    client = app.test_client()
    signed = foreign(world)

    answer = client.post("/api/v1/verify", json=signed).json

    assert answer["verified"] is True
    assert answer["credential"]["issuer"] == {
        "id": dids.did_key(world.rogue),
        "name": "Ada's Academy",  # the registry's name for it, not the credential's claim
        "url": "https://academy.example",
        "trust": "registry",
        "registry": "Members",
    }
    form = client.get("/verify").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    page = client.post("/verify", data={"csrf_token": token, "credential": json.dumps(signed)})
    html = page.get_data(as_text=True)
    assert "Issued by Ada&#39;s Academy, recognised by Members." in html
    assert "✓ Verified" in html and "Issuer unknown" not in html
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(signed))
    printed = app.test_cli_runner().invoke(cli, ["credentials", "verify", str(path)])
    assert printed.exit_code == 0 and json.loads(printed.output) == answer


def test_an_unlisted_issuer_is_in_no_registry_you_trust(
    make_app: Callable[..., Flask], listed_world: tuple[IssuerWorld, Path]
) -> None:
    _, known = listed_world
    app = make_app(TRUSTED_REGISTRIES=str(known), TRUSTED_REGISTRIES_REFRESH=0)
    client = app.test_client()
    other = foreign(IssuerWorld())

    answer = client.post("/api/v1/verify", json=other).json

    assert answer["verified"] is True
    assert answer["credential"]["issuer"]["trust"] == "unknown"
    assert answer["credential"]["issuer"]["registry"] is None
    assert answer["credential"]["issuer"]["name"] == "Example College"


def test_verifying_never_fetches_a_registry(make_app: Callable[..., Flask]) -> None:
    world = IssuerWorld()
    documents = {"/registry.json": registry({dids.did_key(world.rogue): {"name": "Listed"}})}
    with serving(documents) as (base, asked):
        app = make_app(TRUSTED_REGISTRIES=f"{base}/registry.json", TRUSTED_REGISTRIES_REFRESH=0)
        assert asked == ["/registry.json"]  # read once, when the app starts
        client = app.test_client()
        for _ in range(3):
            answer = client.post("/api/v1/verify", json=foreign(world)).json
            assert answer["credential"]["issuer"]["trust"] == "registry"
        assert asked == ["/registry.json"]


def test_a_bad_refresh_setting_is_refused(make_app: Callable[..., Flask]) -> None:
    from lms_plugin.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_REGISTRIES_REFRESH must be an integer"):
        make_app(TRUSTED_REGISTRIES_REFRESH="hourly")
