"""LTI launch handling under gunicorn with 2 workers: OIDC login + id_token launch, platform JWKS
cached (it is served once by a local HTTP server, then read from the tool's cache).

Prints the median server time per launch (login + launch, from `Server-Timing`), the median
round trip, and launches per second with concurrent clients.
Targets: median server time under 10 ms, over 150 launches/s on a 2-core machine.

    python -m bench.launches [--database sqlite|postgresql] [--seconds 10] [--clients 2]
"""

from __future__ import annotations

import argparse
import http.client
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
from sqlalchemy import create_engine, text

from bench.report import figure, verdict
from tests.lti.platform import KeySetServer, LtiPlatform, rsa_key

TARGET_MEDIAN_MS = 10.0
TARGET_RATE = 150.0
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_ms(response: http.client.HTTPResponse) -> float:
    match = re.search(r"app;dur=([\d.]+)", response.headers.get("Server-Timing", ""))
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
        """One launch; returns (server ms, round-trip ms)."""
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
        conn.request(
            "POST",
            "/lti/launch",
            body=urlencode({"id_token": token, "state": auth["state"]}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        launch = conn.getresponse()
        body = launch.read()
        assert launch.status == 303, body[:300]
        elapsed = (time.perf_counter() - started) * 1000
        return server_ms(login) + server_ms(launch), elapsed


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
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        launcher = Launcher(platform, base)
        warm = launcher.connection()
        for i in range(20):
            launcher.launch(warm, f"warm-{i}")

        # Latency: one client, one launch at a time.
        conn = launcher.connection()
        samples = [launcher.launch(conn, f"serial-{i}") for i in range(300)]
        server_median = statistics.median(s for s, _ in samples)
        trip_median = statistics.median(t for _, t in samples)

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
        server.terminate()
        server.wait(timeout=10)
        keyset.close()
        if pg_name:
            with create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT").connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))

    ok = server_median < TARGET_MEDIAN_MS and rate > TARGET_RATE
    print(f"launch bench ({database}, gunicorn 2 workers, JWKS cached, {clients} clients)")
    figure(
        "median server time per launch (login + launch)",
        f"{server_median:.2f} ms",
        f"< {TARGET_MEDIAN_MS:.0f} ms",
    )
    figure("median round trip per launch, one client", f"{trip_median:.2f} ms", "-")
    figure("launches per second", f"{rate:.0f}/s", f"> {TARGET_RATE:.0f}/s")
    figure("platform JWKS fetches", str(keyset.fetches), "1")
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
