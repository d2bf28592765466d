"""LTI launch handling under gunicorn with 2 workers: OIDC login + id_token launch, platform JWKS
cached (it is served once by a local HTTP server, then read from the tool's cache).

Prints the median server time per launch (login + launch, from `Server-Timing`), the median
round trip, and launches per second with concurrent clients. Beside it, in the same run and
alternating launch by launch, a bare pylti1p3 tool (`bench.bare_tool`: no database, file cache,
2 gunicorn workers): the id_token POST's median round trip of ours over the bare tool's, and the
median of each `Server-Timing` phase of ours (validate, record, commit, render), and the ratio
of our POST less its record and commit phases (the database work the bare tool has not).
Targets: median server time under 10 ms, over 150 launches/s on a 2-core machine; launch POST
at most 1.0x the bare tool's.

    python -m bench.launches [--database sqlite|postgresql] [--seconds 10] [--clients 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from cryptography.hazmat.primitives import serialization

from bench.assessment import SECRET
from bench.assessment import database as bench_database
from bench.report import figure, verdict
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key

TARGET_MEDIAN_MS = 10.0
TARGET_RATE = 150.0
TARGET_POST_RATIO = 1.0
PHASES = ("validate", "record", "commit", "render")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_ms(response: http.client.HTTPResponse, phase: str = "app") -> float:
    match = re.search(rf"\b{phase};dur=([\d.]+)", response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


class Launcher:
    """The browser's part of a launch, on a raw keep-alive connection (requests costs more CPU
    per call than the server does, and the client shares the machine's two cores)."""

    def __init__(self, platform: LtiPlatform, base: str) -> None:
        self.platform = platform
        self.base = base
        self.port = urlsplit(base).port

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def launch(self, conn: http.client.HTTPConnection, sub: str) -> tuple[float, float]:
        """One launch; returns (server ms, round-trip ms). The id_token POST's round trip and
        its `Server-Timing` phases are kept in `post_ms` and `phases`."""
        started = time.perf_counter()
        query = urlencode(
            {
                "iss": self.platform.issuer,
                "login_hint": sub,
                "target_link_uri": f"{self.base}/lti/launch",
                "client_id": self.platform.client_id,
                "lti_deployment_id": self.platform.deployment_id,
            }
        )
        conn.request("GET", f"/lti/login?{query}")
        login = conn.getresponse()
        login.read()
        assert login.status == 302, login.status
        auth = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        cookie = login.headers["Set-Cookie"].split(";", 1)[0]
        token = self.platform.sign(self.platform.claims(auth["nonce"], self.base, sub=sub))
        posted = time.perf_counter()
        conn.request(
            "POST",
            "/lti/launch",
            body=urlencode({"id_token": token, "state": auth["state"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        launch = conn.getresponse()
        body = launch.read()
        assert launch.status == 303, body[:300]
        self.post_ms = (time.perf_counter() - posted) * 1000
        self.phases = {phase: server_ms(launch, phase) for phase in PHASES}
        elapsed = (time.perf_counter() - started) * 1000
        return server_ms(login) + server_ms(launch), elapsed


def bare_tool_env(workdir: Path, platform: LtiPlatform) -> dict[str, str]:
    """The environment of `bench.bare_tool` for the same test platform."""
    key = rsa_key()
    conf = {
        "issuers": {
            platform.issuer: [
                {
                    "default": True,
                    "client_id": platform.client_id,
                    "auth_login_url": platform.auth_login_url,
                    "auth_token_url": "https://lms.example.edu/token",
                    "key_set_url": platform.keyset.url,
                    "deployment_ids": [platform.deployment_id],
                }
            ]
        },
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "public_key": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    }
    path = workdir / "bare-tool.json"
    path.write_text(json.dumps(conf))
    return {"BARE_TOOL_CONF": str(path), "BARE_TOOL_CACHE": str(workdir / "bare-cache")}


def wait_until_up(base: str, seconds: float = 60) -> None:
    """Wait for a server's health check (a worker booting on a busy machine may time out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)


@dataclass
class Servers:
    """Our tool and the bare one, each under gunicorn with 2 workers, for one test platform."""

    base: str
    bare_base: str


@contextmanager
def servers(url: str, platform: LtiPlatform) -> Iterator[Servers]:
    """Start ours on the database at `url` (set up by `lms-plugin init` here if it is not, with
    the benches' SECRET_KEY) and the bare tool beside it, the platform registered with both;
    stop them on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-launch-"))
    port, bare_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BASE_URL": base,
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(workdir),
        "SANDBOX_ENABLED": "0",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "lms-plugin", "init"], env=env, check=True, capture_output=True)
    from lms_plugin import create_app

    config = {"DATABASE_URL": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": str(workdir)}
    platform.register(create_app(config))
    started = []
    try:
        for bind, app, extra in (
            (port, "lms_plugin:create_app()", {}),
            (bare_port, "bench.bare_tool:create_app()", bare_tool_env(workdir, platform)),
        ):
            started.append(
                subprocess.Popen(
                    [bin_dir / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{bind}", app],
                    env={**env, **extra},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        found = Servers(base, f"http://127.0.0.1:{bare_port}")
        wait_until_up(found.bare_base)
        wait_until_up(found.base)
        yield found
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Comparison:
    """Launch POST round trips, ours and the bare tool's (medians, ms), and our phases; our
    whole launches (login + POST) as `Launcher.launch` returns them."""

    ours: float
    bare: float
    phases: dict[str, list[float]]
    unrecorded: float  # ours less its record and commit phases (median, ms)
    whole: list[tuple[float, float]]

    @property
    def ratio(self) -> float:
        return self.ours / self.bare


def compare(platform: LtiPlatform, found: Servers, launches: int = 300) -> Comparison:
    """One client, one launch at a time, ours and the bare tool's in turn (after 20 each to
    warm both): the id_token POST's round trip of each, and our whole launches."""
    launcher, anchor = Launcher(platform, found.base), Launcher(platform, found.bare_base)
    for tool in (launcher, anchor):
        warm = tool.connection()
        for _ in range(20):
            tool.launch(warm, f"warm-{uuid.uuid4().hex}")
    conn, anchor_conn = launcher.connection(), anchor.connection()
    posts, anchor_posts, whole = [], [], []
    phases: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for _ in range(launches):
        sub = f"serial-{uuid.uuid4().hex}"
        whole.append(launcher.launch(conn, sub))
        posts.append(launcher.post_ms)
        for phase in PHASES:
            phases[phase].append(launcher.phases[phase])
        anchor.launch(anchor_conn, sub)
        anchor_posts.append(anchor.post_ms)
    # What the bare tool does not do: write the launch's rows to a database and commit them.
    unrecorded = statistics.median(
        post - record - commit
        for post, record, commit in zip(posts, phases["record"], phases["commit"], strict=True)
    )
    return Comparison(
        statistics.median(posts), statistics.median(anchor_posts), phases, unrecorded, whole
    )


def run(database: str, seconds: float, clients: int) -> bool:
    keyset = KeySetServer()
    platform = LtiPlatform(rsa_key(), keyset)
    try:
        with bench_database(database) as url, servers(url, platform) as found:
            # Latency: one client, one launch at a time, ours and the bare tool's in turn.
            posts = compare(platform, found)
            server_median = statistics.median(s for s, _ in posts.whole)
            trip_median = statistics.median(t for _, t in posts.whole)
            launcher = Launcher(platform, found.base)

            # Throughput: several clients for a fixed time.
            done = 0
            lock = threading.Lock()
            stop = time.monotonic() + seconds

            def client(number: int) -> None:
                nonlocal done
                connection = launcher.connection()
                count = 0
                while time.monotonic() < stop:
                    launcher.launch(connection, f"load-{number}-{count}")
                    count += 1
                with lock:
                    done += count

            started = time.monotonic()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(client, range(clients)))
            rate = done / (time.monotonic() - started)
    finally:
        keyset.close()

    ok = (
        server_median < TARGET_MEDIAN_MS and rate > TARGET_RATE and posts.ratio <= TARGET_POST_RATIO
    )
    print(f"launch bench ({database}, gunicorn 2 workers, JWKS cached, {clients} clients)")
    figure(
        "median server time per launch (login + launch)",
        f"{server_median:.2f} ms",
        f"< {TARGET_MEDIAN_MS:.0f} ms",
    )
    figure("median round trip per launch, one client", f"{trip_median:.2f} ms", "-")
    figure("launches per second", f"{rate:.0f}/s", f"> {TARGET_RATE:.0f}/s")
    figure("platform JWKS fetches", str(keyset.fetches), "1 (2 with the bare tool)")
    print_comparison(posts)
    verdict(ok)
    return ok


def print_comparison(posts: Comparison) -> None:
    """The figures of a `compare`: round trips, their ratio (target 1.0x), our phases, and the
    ratio of ours less its record and commit phases."""
    figure("launch POST round trip, median (ours)", f"{posts.ours:.2f} ms", "-")
    figure("launch POST round trip, median (bare pylti1p3)", f"{posts.bare:.2f} ms", "-")
    target = f"<= {TARGET_POST_RATIO:.1f}x"
    figure("launch POST, ours / bare pylti1p3", f"{posts.ratio:.2f}x", target)
    shown = ", ".join(f"{p} {statistics.median(posts.phases[p]):.2f}" for p in PHASES)
    figure("launch POST Server-Timing phases, median ms", shown, "-")
    shown = f"{posts.unrecorded / posts.bare:.2f}x"
    figure("launch POST less record + commit, ours / bare", shown, "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    run(args.database, args.seconds, args.clients)


if __name__ == "__main__":
    main()
