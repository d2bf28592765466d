"""Configuration: environment variables with documented defaults, overridden by `create_app`.

- `DATABASE_URL`: SQLAlchemy URL (`postgresql://` uses psycopg 3);
  default `sqlite:///<instance>/lms_plugin.sqlite3`.
- `SECRET_KEY`: signs sessions and CSRF tokens; default generated once into `<instance>/secret_key`.
- `BASE_URL`: the tool's public base URL; default `http://127.0.0.1:5000`.
- `INSTANCE_PATH`: where local state lives; default `instance/` in the project folder.
- `SEEDS_DIR`: the framework files `lms-plugin init` imports; default `seeds/`.
- `MAX_CONTENT_LENGTH`: the largest request body in bytes; default 1 MiB.
- `KEY_ENCRYPTION_KEY`: encrypts private keys and LRS passwords at rest; default `SECRET_KEY`.
- `ALLOW_HTTP_PLATFORMS`: accept `http://` platform URLs in dynamic registration (`1`/`0`);
  default off, on with the sandbox (which runs on plain HTTP). It never opens fetches of
  outsider-chosen URLs to private addresses: that is `ALLOW_PRIVATE_ADDRESSES` alone.
- `ALLOW_PRIVATE_ADDRESSES`: let fetches of URLs an outsider chose (credentials to verify, their
  DID documents and status lists) reach private and loopback addresses, over plain http and on
  any port (`1`/`0`); default off (only public addresses, https, standard port); `lms-plugin
  demo` and the tests turn it on. URLs the operator registered (platforms, LRSs) are not checked.
- `PROXY_COUNT`: how many reverse proxies (TLS terminators) sit in front; default 0.
- `CREDENTIAL_VALIDITY_DAYS`: credentials expire after this many days; default 0 (never).
- `TRUSTED_REGISTRIES`: issuer registries whose issuers verification calls recognised, in the
  Digital Credentials Consortium's format (a registry, or a list of registries such as its
  `known-did-registries.json`): file paths and https URLs, separated by spaces; default none.
- `TRUSTED_REGISTRIES_REFRESH`: seconds between re-reads of `TRUSTED_REGISTRIES` (also read at
  start); default 3600, 0 reads them only at start.
- `SANDBOX_ENABLED`: serve the sandbox LMS at `/sandbox` (`1`/`0`); default off, on in `demo`.
- `XAPI_LRS_ENDPOINT`: the xAPI endpoint of the LRS for every platform without its own (set with
  `lms-plugin xapi lrs set`), e.g. `https://lrs.example.edu/xAPI/`; default none (statements stay
  queued).
- `XAPI_LRS_USERNAME`, `XAPI_LRS_PASSWORD`: HTTP basic credentials for `XAPI_LRS_ENDPOINT`.
- `XAPI_LRS_TIMEOUT`: seconds to wait for an LRS to connect and to answer; default 10.
- `XAPI_INCLUDE_EMAIL`: identify learners in xAPI statements by e-mail (`mbox`) when the LMS gave
  one, instead of by LMS account (`1`/`0`); default off.
- `OUTBOX_RETENTION_DAYS`: the worker deletes delivered xAPI statements, delivered (or
  superseded) scores and done credential requests this many days after delivery, in bounded
  batches; queued and dead rows are never deleted; default 30, 0 keeps them forever.
- `XAPI_ARCHIVE_DIR`: when set, delivered xAPI statements are appended to
  `<dir>/xapi-delivered-<YYYY-MM-DD>.jsonl` (the exact bytes sent, one a line, by day of purge)
  before they are deleted; default none (deleted without a copy).
- `WALLET_TX_CODE`: wallet offers (OpenID4VCI) also ask for a 6-digit transaction code, shown
  to the learner beside the QR code (`1`/`0`); default off.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENVIRONMENT_KEYS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "BASE_URL",
    "SEEDS_DIR",
    "MAX_CONTENT_LENGTH",
    "SANDBOX_ENABLED",
    "KEY_ENCRYPTION_KEY",
    "ALLOW_HTTP_PLATFORMS",
    "ALLOW_PRIVATE_ADDRESSES",
    "PROXY_COUNT",
    "CREDENTIAL_VALIDITY_DAYS",
    "TRUSTED_REGISTRIES",
    "TRUSTED_REGISTRIES_REFRESH",
    "XAPI_LRS_ENDPOINT",
    "XAPI_LRS_USERNAME",
    "XAPI_LRS_PASSWORD",
    "XAPI_LRS_TIMEOUT",
    "XAPI_INCLUDE_EMAIL",
    "OUTBOX_RETENTION_DAYS",
    "XAPI_ARCHIVE_DIR",
    "WALLET_TX_CODE",
)
BOOLEAN_KEYS = (
    "SANDBOX_ENABLED",
    "ALLOW_HTTP_PLATFORMS",
    "ALLOW_PRIVATE_ADDRESSES",
    "XAPI_INCLUDE_EMAIL",
    "WALLET_TX_CODE",
)
INTEGER_KEYS = (
    "MAX_CONTENT_LENGTH",
    "PROXY_COUNT",
    "CREDENTIAL_VALIDITY_DAYS",
    "XAPI_LRS_TIMEOUT",
    "TRUSTED_REGISTRIES_REFRESH",
    "OUTBOX_RETENTION_DAYS",
)

DEFAULTS: dict[str, Any] = {
    "BASE_URL": "http://127.0.0.1:5000",
    "SEEDS_DIR": str(PROJECT_ROOT / "seeds"),
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SANDBOX_ENABLED": False,
    "ALLOW_PRIVATE_ADDRESSES": False,
    "PROXY_COUNT": 0,
    "CREDENTIAL_VALIDITY_DAYS": 0,
    "TRUSTED_REGISTRIES": "",
    "TRUSTED_REGISTRIES_REFRESH": 3600,
    "XAPI_LRS_TIMEOUT": 10,
    "XAPI_INCLUDE_EMAIL": False,
    "OUTBOX_RETENTION_DAYS": 30,
    "WALLET_TX_CODE": False,
}


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


def instance_path(overrides: Mapping[str, Any]) -> Path:
    """The instance folder: `INSTANCE_PATH` from overrides, else the environment, else default."""
    raw = overrides.get("INSTANCE_PATH") or os.environ.get("INSTANCE_PATH")
    return Path(raw).resolve() if raw else PROJECT_ROOT / "instance"


def load_config(overrides: Mapping[str, Any], instance: Path) -> dict[str, Any]:
    """Merge defaults < environment < overrides, then fill in the values derived from `instance`."""
    config: dict[str, Any] = dict(DEFAULTS)
    config.update({key: os.environ[key] for key in ENVIRONMENT_KEYS if os.environ.get(key)})
    config.update(overrides)
    for key in INTEGER_KEYS:
        try:
            config[key] = int(config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be an integer, got {config[key]!r}") from None
    if config["OUTBOX_RETENTION_DAYS"] < 0:
        raise ConfigError("OUTBOX_RETENTION_DAYS must be 0 (keep forever) or more days")
    for key in BOOLEAN_KEYS:
        if key in config:
            config[key] = parse_boolean(key, config[key])
    config.setdefault("DATABASE_URL", f"sqlite:///{instance / 'lms_plugin.sqlite3'}")
    config["DATABASE_URL"] = normalize_database_url(str(config["DATABASE_URL"]))
    config["BASE_URL"] = normalize_base_url(str(config["BASE_URL"]))
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = read_or_create_secret_key(instance / "secret_key")
    config.setdefault("KEY_ENCRYPTION_KEY", config["SECRET_KEY"])
    config.setdefault("ALLOW_HTTP_PLATFORMS", config["SANDBOX_ENABLED"])
    https = config["BASE_URL"].startswith("https://")
    # In an LMS iframe the tool is a third party: its cookies need SameSite=None, which browsers
    # accept only with Secure (HTTPS). Over plain HTTP (the local demo) Lax is what works.
    config.setdefault("SESSION_COOKIE_SECURE", https)
    config.setdefault("SESSION_COOKIE_SAMESITE", "None" if https else "Lax")
    config.setdefault("SESSION_COOKIE_PARTITIONED", https)
    config.setdefault("SESSION_COOKIE_NAME", "lms_plugin_session")
    return config


def parse_boolean(key: str, value: Any) -> bool:
    """`1/true/yes/on` and `0/false/no/off` (any case), or a real bool."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{key} must be 1 or 0 (true/false), got {value!r}")


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def normalize_base_url(url: str) -> str:
    """Check the tool's base URL is absolute http(s) and drop a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"BASE_URL must be an absolute http(s) URL, got {url!r}")
    return url.rstrip("/")


def read_or_create_secret_key(path: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first use.

    Several workers may start at once: the file is created exclusively, and a loser reads the
    winner's key.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the instance folder: private
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        raise ConfigError(f"{path} is empty: delete it or set SECRET_KEY") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
