"""Outbound HTTP to URLs an outsider chose: the one place such fetches happen.

Credentials given for verification name URLs (their issuers' did:web documents, status lists, the
credential itself pasted on /verify) that anyone can choose. `fetch` treats them so that none can
reach the tool's own network or hold a thread for long:

- the URL is parsed once, strictly: https only, no user name or password, no backslashes, spaces
  or control characters, a host of ASCII letters, digits, dots and hyphens (an international name
  must be given IDNA-encoded, `xn--...`) or an IP literal, and the scheme's standard port;
- the host is resolved once, and EVERY address it resolves to must be public (not private,
  loopback, link-local, shared, reserved or multicast, nor IPv6 forms embedding such an IPv4);
- the connection goes to an address that was checked (no second lookup a rebinding DNS server
  could answer differently), with TLS server name and certificate checked for the host name and
  the `Host` header naming it;
- redirects are not followed, the body is read up to `max_bytes`, and one total deadline covers
  resolution, connection, TLS, headers and body: a watchdog shuts the socket down when it passes,
  so a server answering one byte at a time is cut off on time.

`Policy(allow_private=True)` (the `ALLOW_PRIVATE_ADDRESSES` setting; the demo and the tests) lets
fetches reach private and loopback addresses, over plain http and on any port. URLs that the
operator registered (LMS platforms, LRSs) do not come through here: they may sit on a private
network.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import quote

import certifi

USER_AGENT = "lms-plugin (credential verifier)"
MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.S)
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64, IPv4-compatible).
_EMBEDDING_IPV4 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("::/96"))


class OutboundRefused(ValueError):
    """A URL we will not fetch, or a fetch that failed; the message is plain and safe to show."""


@dataclass(frozen=True)
class Policy:
    """What fetches of outsider-chosen URLs may do."""

    allow_private: bool = False
    seconds: float = 5.0
    max_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """A parsed URL: what to resolve, where to connect, what to ask for."""

    scheme: str
    host: str  # lower-case name, or an IP literal without brackets
    port: int
    target: str  # path and query, sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""


def parse(url: str, allow_private: bool = False) -> Target:
    """Parse `url` once, strictly, or raise `OutboundRefused` saying why not."""
    shown = url[:200] if isinstance(url, str) else ""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise OutboundRefused(f"the address is not a URL of at most {MAX_URL_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise OutboundRefused(
            f"{shown!r} has spaces, backslashes or control characters: it is not fetched"
        )
    match = _URL.fullmatch(url)
    if match is None:
        raise OutboundRefused(f"{shown!r} is not an absolute URL")
    scheme = match["scheme"].lower()
    schemes = ("https", "http") if allow_private else ("https",)
    if scheme not in schemes:
        raise OutboundRefused(f"only https URLs are fetched, not {shown!r}")
    authority = match["authority"]
    if "@" in authority:
        raise OutboundRefused(f"{shown!r} has a user name or password: it is not fetched")
    parts = _HOST_PORT.fullmatch(authority)
    if parts is None:
        raise OutboundRefused(
            f"{shown!r} does not name a host (international names must be IDNA-encoded, xn--...)"
        )
    host = _host(parts["host"], shown)
    port = DEFAULT_PORTS[scheme]
    if parts["port"] is not None:
        port = int(parts["port"])
        if not 0 < port < 65536:
            raise OutboundRefused(f"{shown!r} names no valid port")
        if port != DEFAULT_PORTS[scheme] and not allow_private:
            raise OutboundRefused(f"{shown!r} uses port {port}: only the standard port is fetched")
    rest = match["rest"].partition("#")[0]
    rest = _NON_ASCII.sub(lambda m: quote(m.group(), safe=""), rest)
    if not rest.startswith("/"):
        rest = "/" + rest
    return Target(scheme=scheme, host=host, port=port, target=rest)


def _host(raw: str, shown: str) -> str:
    if raw.startswith("["):
        try:
            return str(ipaddress.IPv6Address(raw[1:-1]))
        except ValueError:
            raise OutboundRefused(f"{shown!r} has an invalid IPv6 address") from None
    host = raw.lower().removesuffix(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise OutboundRefused(f"{shown!r} does not name a valid host")
    return host


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (and IPv6 forms embedding only such IPv4)."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in net for net in _EMBEDDING_IPV4):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return True


def resolve(host: str, port: int) -> list[str]:
    """The addresses of `host` (the system resolver; tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# getaddrinfo cannot be interrupted: lookups run here, and a caller stops waiting at its deadline.
_LOOKUPS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="outbound-dns")


def _lookup(host: str, port: int) -> list[str]:
    return resolve(host, port)  # looked up at call time, so that tests can replace it


def addresses(target: Target, allow_private: bool, deadline: float) -> list[IPAddress]:
    """Resolve the target's host once and check every address; raises `OutboundRefused`."""
    try:
        found: list[IPAddress] = [ipaddress.ip_address(target.host)]
    except ValueError:
        future = _LOOKUPS.submit(_lookup, target.host, target.port)
        try:
            answers = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise OutboundRefused(f"{target.host} could not be resolved in time") from None
        except (OSError, UnicodeError):
            raise OutboundRefused(f"{target.host} does not resolve") from None
        found = []
        for answer in answers:
            try:
                found.append(ipaddress.ip_address(answer.partition("%")[0]))
            except ValueError:
                raise OutboundRefused(f"{target.host} resolves to an unusable address") from None
    if not found:
        raise OutboundRefused(f"{target.host} does not resolve")
    if not allow_private and not all(is_public(address) for address in found):
        raise OutboundRefused(f"{target.host} is not a public address: it is not fetched")
    return found


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def open_socket(address: IPAddress, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly `address` (tests may replace this function)."""
    return socket.create_connection((str(address), port), timeout=timeout)


class _Watchdog:
    """Shuts a socket down at the deadline, whatever the reading thread is blocked on."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.fired = False
        self._socket = sock.dup()  # the same connection; shutting it down ends any read
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._timer.cancel()
        self._socket.close()


def fetch(
    url: str,
    policy: Policy,
    *,
    accept: str = "application/json",
    deadline: float | None = None,
) -> Response:
    """GET `url` within `policy` and before `deadline` (a `time.monotonic()` value, at most
    `policy.seconds` from now). Any status is returned; failures raise `OutboundRefused`."""
    latest = time.monotonic() + policy.seconds
    deadline = latest if deadline is None else min(deadline, latest)
    target = parse(url, policy.allow_private)
    found = addresses(target, policy.allow_private, deadline)
    sock = None
    for address in found:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            sock = open_socket(address, target.port, remaining)
            break
        except OSError:
            continue
    if sock is None:
        raise OutboundRefused(f"{target.host} could not be reached")
    watchdog = _Watchdog(sock, deadline - time.monotonic())
    try:
        response = _exchange(sock, target, accept, policy.max_bytes)
    except OutboundRefused:
        raise
    except ssl.SSLCertVerificationError:
        raise OutboundRefused(f"{target.host} has no valid TLS certificate for its name") from None
    except (OSError, http.client.HTTPException, ValueError):
        if watchdog.fired:
            raise OutboundRefused(f"{target.host} did not answer in time") from None
        raise OutboundRefused(f"{target.host} did not answer properly") from None
    finally:
        watchdog.stop()
        sock.close()
    if watchdog.fired:  # the answer may look complete, but it was cut off
        raise OutboundRefused(f"{target.host} did not answer in time")
    return response


def _exchange(sock: socket.socket, target: Target, accept: str, max_bytes: int) -> Response:
    if target.scheme == "https":
        sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
    connection = http.client.HTTPConnection(target.host, target.port)
    connection.sock = sock
    try:
        connection.putrequest("GET", target.target, skip_host=True, skip_accept_encoding=True)
        for name, value in (
            ("Host", target.host_header),
            ("Accept", accept),
            ("Accept-Encoding", "identity"),
            ("User-Agent", USER_AGENT),
            ("Connection", "close"),
        ):
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        headers = {name.lower(): value for name, value in answer.getheaders()}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise OutboundRefused(f"{target.host} answered more than {max_bytes:,} bytes")
        body = answer.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise OutboundRefused(f"{target.host} answered more than {max_bytes:,} bytes")
        return Response(answer.status, headers, body)
    finally:
        connection.close()


def get(
    url: str, policy: Policy, *, accept: str = "application/json", deadline: float | None = None
) -> bytes:
    """The body of a 200 answer to GET `url` (no redirects followed), else `OutboundRefused`."""
    response = fetch(url, policy, accept=accept, deadline=deadline)
    if 300 <= response.status < 400:
        raise OutboundRefused(f"{url[:200]} redirects elsewhere (redirects are not followed)")
    if response.status != 200:
        raise OutboundRefused(f"{url[:200]} answered {response.status}")
    return response.body
