"""Fixed identity, URLs, claim names, scopes and role URIs of the sandbox platform."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from lms_plugin.lti import claims as vocab

CLIENT_ID = "sandbox-tool"
DEPLOYMENT_ID = "sandbox-deployment-1"
PLATFORM_NAME = "Sandbox LMS"

COURSE_CONTEXT_ID = "sandbox-course-101"
COURSE_LABEL = "SBX-101"
COURSE_TITLE = "Sandbox Course 101"


AGS_SCOPES = [
    vocab.SCOPE_LINEITEM,
    vocab.SCOPE_LINEITEM_READONLY,
    vocab.SCOPE_RESULT_READONLY,
    vocab.SCOPE_SCORE,
]
SERVICE_SCOPES = frozenset([*AGS_SCOPES, vocab.SCOPE_NRPS])

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ROLE_URIS: dict[str, list[str]] = {
    "Instructor": [MEMBERSHIP + "Instructor"],
    # LTI 1.3 Core (A.2.2): a sub-role is sent with its principal role.
    "TeachingAssistant": [
        MEMBERSHIP + "Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    ],
    "Learner": [MEMBERSHIP + "Learner"],
}
STAFF_ROLES = frozenset(["Instructor", "TeachingAssistant"])
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"


@dataclass(frozen=True)
class SandboxUrls:
    """Every URL of the sandbox platform and of the tool it talks to, from the app's BASE_URL."""

    base_url: str
    tool_jwks_override: str | None = None

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/sandbox"

    @property
    def home(self) -> str:
        return f"{self.base_url}/sandbox"

    @property
    def auth(self) -> str:
        return f"{self.base_url}/sandbox/auth"

    @property
    def token(self) -> str:
        return f"{self.base_url}/sandbox/token"

    @property
    def jwks(self) -> str:
        return f"{self.base_url}/sandbox/jwks"

    @property
    def deep_link_return(self) -> str:
        return f"{self.base_url}/sandbox/deep-link-return"

    @property
    def tool_login(self) -> str:
        return f"{self.base_url}/lti/login"

    @property
    def tool_launch(self) -> str:
        return f"{self.base_url}/lti/launch"

    @property
    def tool_jwks(self) -> str:
        return self.tool_jwks_override or f"{self.base_url}/lti/jwks"

    def course(self, context_id: str) -> str:
        return f"{self.base_url}/sandbox/courses/{quote(context_id, safe='')}"

    def lineitems(self, context_id: str) -> str:
        return f"{self.course(context_id)}/lineitems"

    def lineitem(self, context_id: str, line_item_id: int) -> str:
        return f"{self.lineitems(context_id)}/{line_item_id}"

    def memberships(self, context_id: str) -> str:
        return f"{self.course(context_id)}/memberships"
