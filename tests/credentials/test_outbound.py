"""lms_plugin.credentials.outbound: fetches of outsider-chosen URLs never reach loopback or private
addresses (whatever the URL's tricks or the resolver's answers), connect to the address that was
checked, follow no redirects, stop at one total deadline and at a size cap."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lms_plugin.credentials import outbound
from lms_plugin.credentials.outbound import OutboundRefused, Policy

LOCAL = Policy(allow_private=True, seconds=3)
PUBLIC_ONLY = Policy(allow_private=False, seconds=3)


class TcpServer:
    """A loopback server that records every connection and answers with `handle(connection)`."""

    def __init__(self, handle: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None):
        self.handle = handle
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.server_names: list[str | None] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                if self.tls is not None:
                    self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
                    with self.tls.wrap_socket(connection, server_side=True) as secure:
                        self._exchange(secure)
                else:
                    self._exchange(connection)
            except OSError:
                pass  # the client gave up (that is what several tests want)

    def _exchange(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                return
            request += chunk
        self.requests.append(request)
        self.handle(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()


@contextmanager
def serving(
    handle: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None
) -> Iterator[TcpServer]:
    server = TcpServer(handle, tls)
    try:
        yield server
    finally:
        server.close()


def answer(body: bytes = b'{"ok": true}', status: str = "200 OK", headers: str = ""):
    def handle(connection: socket.socket) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n"
        connection.sendall(head.encode() + b"\r\n" + body)

    return handle


def drip(prefix: bytes, every: float = 0.2) -> Callable[[socket.socket], None]:
    """Send `prefix`, then one byte every `every` seconds, for ever (until the client leaves)."""

    def handle(connection: socket.socket) -> None:
        connection.sendall(prefix)
        for _ in range(1000):
            time.sleep(every)
            connection.sendall(b"a")

    return handle


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1:5098\\@8.8.8.8/x", "backslashes"),
        ("http://127.0.0.1:5098\\@8.8.8.8/", "backslashes"),
        ("https://8.8.8.8@127.0.0.1/", "user name or password"),
        ("https://user:pw@example.org/", "user name or password"),
        ("https://exa mple.org/", "spaces"),
        ("https://example.org/\x00", "control characters"),
        ("https://bücher.example/", "IDNA"),
        ("https://example.org:8443/", "only the standard port"),
        ("http://example.org/", "only https"),
        ("ftp://example.org/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("//example.org/", "not an absolute URL"),
        ("https:///path", "does not name a host"),
        ("https://[::1/", "does not name a host"),
        ("https://exa_mple.org/", "does not name a host"),
        ("https://-example.org/", "not name a valid host"),
        ("https://example.org:99999/", "no valid port"),
        ("https://example.org/" + "a" * 3000, "at most 2048"),
    ],
)
def test_tricky_urls_are_refused_before_any_lookup(url: str, why: str, monkeypatch) -> None:
    monkeypatch.setattr(outbound, "resolve", lambda *a: pytest.fail("resolved a refused URL"))
    with pytest.raises(OutboundRefused, match=why):
        outbound.fetch(url, PUBLIC_ONLY)


def test_parsing_keeps_the_name_and_encodes_the_path() -> None:
    target = outbound.parse("HTTPS://Example.ORG./a b/ü?q=1#frag".replace(" ", "%20"))
    assert (target.scheme, target.host, target.port) == ("https", "example.org", 443)
    assert target.target == "/a%20b/%C3%BC?q=1" and target.host_header == "example.org"
    assert outbound.parse("http://[::1]:8080", allow_private=True).host_header == "[::1]:8080"
    assert outbound.parse("https://xn--bcher-kva.example").host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address to classify, not to bind
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::127.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::808:808", True),
        ("2002:7f00:1::1", False),
        ("ff02::1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert outbound.is_public(ipaddress.ip_address(address)) is public


# --- loopback and private addresses -------------------------------------------------------------


def test_the_backslash_trick_never_connects_to_loopback() -> None:
    with serving(answer()) as server:
        for policy in (PUBLIC_ONLY, LOCAL):
            for scheme in ("https", "http"):
                with pytest.raises(OutboundRefused):
                    outbound.fetch(f"{scheme}://127.0.0.1:{server.port}\\@8.8.8.8/x", policy)
        assert server.connections == 0


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "127.1", "2130706433", "0x7f.0.0.1", "[::1]", "[::ffff:127.0.0.1]"],
)
def test_loopback_in_any_spelling_is_refused(host: str, monkeypatch) -> None:
    monkeypatch.setattr(outbound, "open_socket", lambda *a: pytest.fail("connected"))
    with pytest.raises(OutboundRefused, match="not a public address|does not resolve"):
        outbound.fetch(f"https://{host}/x", PUBLIC_ONLY)


def test_a_name_resolving_to_loopback_is_refused_and_never_contacted(monkeypatch) -> None:
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    with serving(answer()) as server:
        with pytest.raises(OutboundRefused, match="not a public address"):
            outbound.fetch("https://issuer.example/.well-known/did.json", PUBLIC_ONLY)
        # ALLOW_PRIVATE_ADDRESSES is the one switch: with it, the same name is fetched.
        body = outbound.get(f"http://issuer.example:{server.port}/x", LOCAL)
        assert body == b'{"ok": true}' and server.connections == 1


def test_every_resolved_address_must_be_public(monkeypatch) -> None:
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.215.14", "127.0.0.1"])
    monkeypatch.setattr(outbound, "open_socket", lambda *a: pytest.fail("connected"))
    with pytest.raises(OutboundRefused, match="not a public address"):
        outbound.fetch("https://mixed.example/", PUBLIC_ONLY)


def test_dns_rebinding_cannot_reach_loopback(monkeypatch) -> None:
    """The resolver answers a public address, then loopback: the host is resolved once and the
    connection goes to the address that was checked."""
    answers = iter([["93.184.215.14"]])
    lookups: list[str] = []
    connected: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers, ["127.0.0.1"])

    def record(address, port, timeout):
        connected.append(str(address))
        raise ConnectionRefusedError

    monkeypatch.setattr(outbound, "resolve", rebinding)
    monkeypatch.setattr(outbound, "open_socket", record)
    with pytest.raises(OutboundRefused, match="could not be reached"):
        outbound.fetch("https://rebind.example/did.json", PUBLIC_ONLY)
    assert lookups == ["rebind.example"] and connected == ["93.184.215.14"]


# --- TLS to the pinned address --------------------------------------------------------------


def self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("certificate_name", ["issuer.test", "someone-else.test"])
def test_tls_goes_to_the_checked_address_with_the_name_for_sni_host_and_certificate(
    certificate_name: str, tmp_path: Path, monkeypatch
) -> None:
    cert, key = self_signed(certificate_name, tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(outbound, "_tls_context", lambda: client_tls)
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    with serving(answer(b"{}"), tls=server_tls) as server:
        url = f"https://issuer.test:{server.port}/.well-known/did.json"
        if certificate_name != "issuer.test":
            with pytest.raises(OutboundRefused, match="no valid TLS certificate"):
                outbound.get(url, LOCAL)
            return
        assert outbound.get(url, LOCAL) == b"{}"
    assert server.server_names == ["issuer.test"]
    [request] = server.requests
    assert request.startswith(b"GET /.well-known/did.json HTTP/1.1\r\n")
    assert f"\r\nHost: issuer.test:{server.port}\r\n".encode() in request


# --- redirects, deadline, size ------------------------------------------------------------------


def test_redirects_are_not_followed() -> None:
    with serving(answer()) as target:
        moved = answer(b"", "302 Found", f"Location: http://127.0.0.1:{target.port}/\r\n")
        with serving(moved) as server:
            with pytest.raises(OutboundRefused, match="redirects elsewhere"):
                outbound.get(f"http://127.0.0.1:{server.port}/", LOCAL)
            assert server.connections == 1
        assert target.connections == 0


@pytest.mark.parametrize(
    "prefix",
    [b"", b"HTTP/1.1 200 OK\r\nX-Slow: ", b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"],
    ids=["status line", "headers", "body"],
)
def test_a_dripping_server_is_cut_off_at_the_deadline(prefix: bytes) -> None:
    """One byte every 0.2 s never trips a per-read timeout; the total deadline still holds."""
    with serving(drip(prefix)) as server:
        started = time.monotonic()
        with pytest.raises(OutboundRefused, match="did not answer in time"):
            outbound.fetch(f"http://127.0.0.1:{server.port}/", Policy(True, seconds=1.0))
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.5, elapsed


def test_the_callers_deadline_is_kept_when_sooner() -> None:
    with serving(drip(b"HTTP/1.1 200 OK\r\n")) as server:
        started = time.monotonic()
        with pytest.raises(OutboundRefused, match="in time"):
            outbound.fetch(f"http://127.0.0.1:{server.port}/", LOCAL, deadline=started + 0.5)
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("declared", [True, False])
def test_bodies_over_the_size_cap_are_refused(declared: bool) -> None:
    body = b"x" * 5000

    def handle(connection: socket.socket) -> None:
        length = f"Content-Length: {len(body)}\r\n" if declared else ""
        connection.sendall(f"HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n".encode() + body)

    policy = Policy(True, seconds=3, max_bytes=4096)
    with serving(handle) as server, pytest.raises(OutboundRefused, match="more than 4,096 bytes"):
        outbound.fetch(f"http://127.0.0.1:{server.port}/", policy)


def test_a_plain_fetch_sends_what_it_should() -> None:
    with serving(answer(b'{"id": 1}')) as server:
        response = outbound.fetch(
            f"http://127.0.0.1:{server.port}/a/b?c=d#e", LOCAL, accept="application/ld+json"
        )
    assert response.status == 200 and response.body == b'{"id": 1}'
    [request] = server.requests
    assert request.startswith(b"GET /a/b?c=d HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{server.port}\r\n".encode() in request
    assert b"\r\nAccept: application/ld+json\r\n" in request
