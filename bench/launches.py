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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, text

from bench.report import figure, verdict
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key

TARGET_MEDIAN_MS = 10.0
TARGET_RATE = 150.0
TARGET_POST_RATIO = 1.0
PHASES = ("validate", "record", "commit", "render")
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def run(database: str, seconds: float, clients: int) -> bool:
    workdir = Path(tempfile.mkdtemp(prefix="bench-launch-"))
    pg_name = None
    if database == "postgresql":
        pg_name = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{pg_name}"'))
        url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BASE_URL": base,
        "SECRET_KEY": "bench-secret",
        "INSTANCE_PATH": str(workdir),
        "SANDBOX_ENABLED": "0",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "lms-plugin", "init"], env=env, check=True, capture_output=True)
    keyset = KeySetServer()
    platform = LtiPlatform(rsa_key(), keyset)
    from lms_plugin import create_app

    platform.register(
        create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "bench-secret", "INSTANCE_PATH": str(workdir)}
        )
    )
    server = subprocess.Popen(
        [
            bin_dir / "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "lms_plugin:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bare_port = free_port()
    bare_base = f"http://127.0.0.1:{bare_port}"
    bare = subprocess.Popen(
        [
            bin_dir / "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{bare_port}",
            "bench.bare_tool:create_app()",
        ],
        env={**env, **bare_tool_env(workdir, platform)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(bare_base)
        wait_until_up(base)
        launcher = Launcher(platform, base)
        warm = launcher.connection()
        for i in range(20):
            launcher.launch(warm, f"warm-{i}")

        anchor = Launcher(platform, bare_base)
        warm = anchor.connection()
        for i in range(20):
            anchor.launch(warm, f"warm-{i}")

        # Latency: one client, one launch at a time, ours and the bare tool's in turn.
        conn, anchor_conn = launcher.connection(), anchor.connection()
        samples, posts, anchor_posts = [], [], []
        phases: dict[str, list[float]] = {phase: [] for phase in PHASES}
        for i in range(300):
            samples.append(launcher.launch(conn, f"serial-{i}"))
            posts.append(launcher.post_ms)
            for phase in PHASES:
                phases[phase].append(launcher.phases[phase])
            anchor.launch(anchor_conn, f"serial-{i}")
            anchor_posts.append(anchor.post_ms)
        server_median = statistics.median(s for s, _ in samples)
        trip_median = statistics.median(t for _, t in samples)
        post_median, anchor_median = statistics.median(posts), statistics.median(anchor_posts)

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
        for process in (server, bare):
            process.terminate()
            process.wait(timeout=10)
        keyset.close()
        if pg_name:
            with create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))

    ratio = post_median / anchor_median
    ok = server_median < TARGET_MEDIAN_MS and rate > TARGET_RATE and ratio <= TARGET_POST_RATIO
    print(f"launch bench ({database}, gunicorn 2 workers, JWKS cached, {clients} clients)")
    figure(
        "median server time per launch (login + launch)",
        f"{server_median:.2f} ms",
        f"< {TARGET_MEDIAN_MS:.0f} ms",
    )
    figure("median round trip per launch, one client", f"{trip_median:.2f} ms", "-")
    figure("launches per second", f"{rate:.0f}/s", f"> {TARGET_RATE:.0f}/s")
    figure("platform JWKS fetches", str(keyset.fetches), "1 (2 with the bare tool)")
    figure("launch POST round trip, median (ours)", f"{post_median:.2f} ms", "-")
    figure("launch POST round trip, median (bare pylti1p3)", f"{anchor_median:.2f} ms", "-")
    figure("launch POST, ours / bare pylti1p3", f"{ratio:.2f}x", f"<= {TARGET_POST_RATIO:.1f}x")
    shown = ", ".join(f"{p} {statistics.median(phases[p]):.2f}" for p in PHASES)
    figure("launch POST Server-Timing phases, median ms", shown, "-")
    # What the bare tool does not do: write the launch's rows to a database and commit them.
    unrecorded = statistics.median(
        post - record - commit
        for post, record, commit in zip(posts, phases["record"], phases["commit"], strict=True)
    )
    shown = f"{unrecorded / anchor_median:.2f}x"
    figure("launch POST less record + commit, ours / bare", shown, "-")
    verdict(ok)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    run(args.database, args.seconds, args.clients)


if __name__ == "__main__":
    main()
