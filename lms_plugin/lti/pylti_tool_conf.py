"""pylti1p3's tool configuration, read from the database instead of a JSON file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pylti1p3.deployment import Deployment as PyltiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy.orm import Session

from lms_plugin.keys import SigningKey
from lms_plugin.lti import registrations
from lms_plugin.lti.models import Platform
from lms_plugin.lti.registry import RegisteredPlatform, Registry

MAX_DEPLOYMENT_ID_LENGTH = 255  # LTI 1.3 Core: at most 255 ASCII characters


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Registrations and deployments from the `platforms` and `deployments` tables.

    Every issuer may have many client ids (Canvas uses one issuer for all its developer keys).
    Unknown issuers give None, which pylti1p3 turns into a clear error rather than a 500.
    A deployment is found if listed, or allowed if its platform takes any deployment: it is then
    recorded by `record_deployment`, once the launch has passed every check (never before).
    Platforms and deployments come from the process's `Registry`; the tool's key is read only
    when a registration's private key is asked for (service calls, not launches).
    """

    def __init__(
        self, session: Session, registry: Registry, signing_key: Callable[[], SigningKey]
    ) -> None:
        self.session = session
        self.registry = registry
        self.signing_key = signing_key

    def platform(self, iss: str, client_id: str | None) -> RegisteredPlatform | None:
        return self.registry.platform(self.session, iss, client_id)

    def deployment(self, platform: RegisteredPlatform, deployment_id: str) -> int | None:
        """The row id of one of the platform's stored deployments, or None."""
        return self.registry.deployment(self.session, platform, deployment_id)

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Any:
        return self._registration(self.platform(iss, None))

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Any:
        return self._registration(self.platform(iss, client_id))

    def find_deployment(self, iss: str, deployment_id: str) -> PyltiDeployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> PyltiDeployment | None:
        platform = self.platform(iss, client_id)
        if platform is None or not isinstance(deployment_id, str):
            return None
        if not 0 < len(deployment_id) <= MAX_DEPLOYMENT_ID_LENGTH:
            return None
        if not platform.any_deployment and self.deployment(platform, deployment_id) is None:
            return None
        return PyltiDeployment().set_deployment_id(deployment_id)

    def known_deployment(self, iss: str, client_id: str, deployment_id: str) -> int | None:
        """The row id of a validated launch's deployment, or None if it is still to be recorded."""
        platform = self.platform(iss, client_id)
        assert platform is not None, "the launch was validated"
        return self.deployment(platform, deployment_id)

    def record_deployment(self, iss: str, client_id: str, deployment_id: str) -> int:
        """The row id of the launch's deployment, stored first if its platform's policy allows
        a new one; call only once the launch naming it has passed every check (signature,
        audience, nonce, deployment, message)."""
        platform = self.platform(iss, client_id)
        assert platform is not None, "the launch was validated"
        found = self.deployment(platform, deployment_id)
        if found is not None:
            return found
        assert platform.any_deployment, "the launch was validated"
        row = self.session.get(Platform, platform.id)
        assert row is not None
        return registrations.record_deployment(self.session, row, deployment_id).id

    def _registration(self, platform: RegisteredPlatform | None) -> Registration | None:
        if platform is None:
            return None
        return (
            ToolRegistration(self.signing_key)
            .set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            .set_auth_login_url(platform.auth_login_url)
            .set_auth_token_url(platform.auth_token_url)
            .set_key_set_url(platform.jwks_url)
        )


class ToolRegistration(Registration):  # type: ignore[misc]
    """A registration whose tool keys are read when first asked for."""

    def __init__(self, signing_key: Callable[[], SigningKey]) -> None:
        super().__init__()
        self._signing_key = signing_key

    def get_tool_private_key(self) -> str:
        return self._signing_key().private_pem

    def get_tool_public_key(self) -> str:
        return self._signing_key().public_pem
