"""Launch validation: pylti1p3's message launch, made as strict as LTI 1.3 Core requires.

What pylti1p3 2.0 leaves out, and this adds:
- the nonce is consumed (single use; pylti1p3 only checks that it exists), by the statement that
  records the launch (`services.record_launch`), or before a new deployment is recorded;
- `aud` must contain our client id, and `azp` must equal it when `aud` has several values or
  when `azp` is present; `exp`, `iat`, `iss`, `aud`, `nonce` and `sub` are required by PyJWT;
- only RS256 is accepted, whatever the token's header says (no `none`, no HS256 key confusion);
- the platform key set is cached in the database for every worker (and parsed, in each process's
  `Registry`) and fetched again, at most once a minute, when a token names an unknown `kid`;
  fetches have timeouts;
- a deployment that is not listed is refused with a plain message, unless its platform takes any
  deployment: it is then recorded, only after every other check has passed;
- the `state` cookie must match (pylti1p3 also accepts a state it has seen with the same token
  before, which is how a replay would get in: the nonce check stops that), unless the state was
  proved through the platform's storage (`platform_storage`).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import jwt
import requests
from pylti1p3.contrib.flask import FlaskMessageLaunch
from pylti1p3.exception import LtiException

from lms_plugin.lti import claims
from lms_plugin.lti.cookies import PartitionedCookieService
from lms_plugin.lti.state_store import DatabaseLaunchDataStorage, StateStore

ALGORITHM = "RS256"
CLOCK_SKEW_SECONDS = 60
JWKS_LIFETIME_SECONDS = 2 * 3600
JWKS_REFRESH_INTERVAL_SECONDS = 60
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "nonce", "sub"]
NONCE_REFUSED = "Invalid nonce: unknown, expired or already used"


class ToolMessageLaunch(FlaskMessageLaunch):  # type: ignore[misc]
    """A message launch validated as LTI 1.3 Core requires (see the module docstring)."""

    def __init__(
        self,
        request: Any,
        tool_config: Any,
        store: StateStore,
        http: requests.Session,
        state_verified: bool = False,
    ) -> None:
        self.store = store
        self.state_verified = state_verified
        self.deployment_row_id: int | None = None  # set by `validate`
        # Where the launch's nonce is stored (set by `validate_nonce`), while it is not spent.
        self.nonce_key: str | None = None
        self.data_storage = DatabaseLaunchDataStorage(store)
        super().__init__(
            request,
            tool_config,
            cookie_service=PartitionedCookieService(request),
            launch_data_storage=self.data_storage,
            requests_session=http,
        )

    def validate(self) -> ToolMessageLaunch:
        """Check the signature before anything is stored; record a new deployment (if its
        platform's policy allows it) only once everything has passed, the nonce included: it is
        then spent here, not by the launch's write."""
        self._validated = True
        try:
            (
                self.validate_state()
                .validate_jwt_format()
                .validate_registration()
                .validate_jwt_signature()
                .validate_nonce()
                .validate_deployment()
                .validate_message()
            )
            conf, iss, client_id = self._tool_config, self.get_iss(), self.get_client_id()
            self.deployment_row_id = conf.known_deployment(
                iss, client_id, self._get_deployment_id()
            )
            if self.deployment_row_id is None:
                if self.nonce_key is None or self.store.take(self.nonce_key) is None:
                    raise LtiException(NONCE_REFUSED)
                self.nonce_key = None
                self.deployment_row_id = conf.record_deployment(
                    iss, client_id, self._get_deployment_id()
                )
        except Exception:
            self._validated = False
            raise
        return self

    def validate_deployment(self) -> ToolMessageLaunch:
        deployment_id = self._get_jwt_body().get(claims.DEPLOYMENT_ID)
        found = self._tool_config.find_deployment_by_params(
            self.get_iss(), deployment_id, self.get_client_id()
        )
        if not found:
            shown = repr(deployment_id)[:80] if deployment_id else "none"
            raise LtiException(
                f"its deployment ({shown}) is not registered with this tool; the tool's operator "
                "can add it (lms-plugin platform add ... --deployment-id)"
            )
        return self

    def validate_state(self) -> ToolMessageLaunch:
        state = self._get_request_param("state")
        if not state:
            raise LtiException("Missing state param")
        if not self.state_verified and self._cookie_service.get_cookie(state) != state:
            raise LtiException(
                "State not found: this browser did not start the login (or blocks cookies)"
            )
        return self

    def validate_nonce(self) -> ToolMessageLaunch:
        """The nonce must be given; the launch's write consumes it (`services.record_launch`)."""
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise LtiException('"nonce" is empty')
        self.nonce_key = self.data_storage.key_of(self._session_service._get_key("nonce", nonce))
        return self

    def validate_registration(self) -> ToolMessageLaunch:
        body = self._get_jwt_body()
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if not audiences or not all(isinstance(a, str) for a in audiences):
            raise LtiException('"aud" is missing or malformed')
        azp = body.get("azp")
        if len(audiences) > 1 and not azp:
            raise LtiException('"azp" is required when "aud" has several values')
        client_id = azp or audiences[0]
        if client_id not in audiences:
            raise LtiException('"azp" is not one of the audiences')
        config = self._tool_config
        self._registration = config.find_registration_by_params(self.get_iss(), client_id)
        if not self._registration:
            raise LtiException("Unknown platform: this issuer and client id are not registered")
        self._client_id = client_id
        return self

    def get_client_id(self) -> str:
        return getattr(self, "_client_id", None) or super().get_client_id()

    def validate_jwt_signature(self) -> ToolMessageLaunch:
        header = self._jwt.get("header", {})
        if header.get("alg") != ALGORITHM:
            raise LtiException(f"Unsupported signature algorithm {header.get('alg')!r}")
        kid = header.get("kid")
        if not kid or not isinstance(kid, str):
            raise LtiException("JWT header has no kid")
        key = self._platform_key(kid)
        try:
            jwt.decode(
                self._get_id_token(),
                key,
                algorithms=[ALGORITHM],
                audience=self.get_client_id(),
                issuer=self.get_iss(),
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise LtiException(f"Invalid id_token: {error}") from None
        return self

    def _platform_key(self, kid: str) -> Any:
        assert self._registration is not None
        url = self._registration.get_key_set_url()
        registry = self._tool_config.registry
        known = registry.keys(url, JWKS_LIFETIME_SECONDS)
        if known is not None and kid in known:
            return known[kid]
        cache_key = "jwks:" + hashlib.sha256(url.encode("utf-8")).hexdigest()
        cached = self.store.get(cache_key)
        keys = _parse_keys(cached["jwks"]) if cached else {}
        if kid not in keys and (
            not cached or time.time() - cached["fetched"] > JWKS_REFRESH_INTERVAL_SECONDS
        ):
            cached = {"jwks": self._fetch_jwks(url), "fetched": time.time()}
            self.store.put(cache_key, cached, JWKS_LIFETIME_SECONDS)
            keys = _parse_keys(cached["jwks"])
        if cached:
            registry.remember_keys(url, keys, cached["fetched"])
        if kid not in keys:
            raise LtiException(f"Unknown signing key {kid!r} for this platform")
        return keys[kid]

    def _fetch_jwks(self, url: str) -> dict[str, Any]:
        try:
            response = self._requests_session.get(url)
            response.raise_for_status()
            jwks = response.json()
        except (requests.RequestException, ValueError) as error:
            raise LtiException(
                f"Cannot fetch the platform's keys: {type(error).__name__}"
            ) from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise LtiException("The platform's key set is not a JWKS")
        return jwks


def _parse_keys(jwks: dict[str, Any]) -> dict[str, Any]:
    """The usable RS256 signing keys of a key set, by `kid` (the first of a repeated `kid`)."""
    keys: dict[str, Any] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or kid in keys:
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[kid] = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
        except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
            keys[kid] = None
    return {kid: key for kid, key in keys.items() if key is not None}
