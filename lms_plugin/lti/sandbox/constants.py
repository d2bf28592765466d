"""Fixed identity, URLs, claim names, scopes and role URIs of the sandbox platform."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

CLIENT_ID = "sandbox-tool"
DEPLOYMENT_ID = "sandbox-deployment-1"
PLATFORM_NAME = "Sandbox LMS"
LTI_VERSION = "1.3.0"

COURSE_CONTEXT_ID = "sandbox-course-101"
COURSE_LABEL = "SBX-101"
COURSE_TITLE = "Sandbox Course 101"

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE = LTI + "message_type"
CLAIM_VERSION = LTI + "version"
CLAIM_DEPLOYMENT_ID = LTI + "deployment_id"
CLAIM_TARGET_LINK_URI = LTI + "target_link_uri"
CLAIM_ROLES = LTI + "roles"
CLAIM_CONTEXT = LTI + "context"
CLAIM_RESOURCE_LINK = LTI + "resource_link"
CLAIM_CUSTOM = LTI + "custom"
CLAIM_TOOL_PLATFORM = LTI + "tool_platform"
CLAIM_LAUNCH_PRESENTATION = LTI + "launch_presentation"
CLAIM_AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CLAIM_DL_SETTINGS = DL + "deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS = DL + "content_items"
CLAIM_DL_DATA = DL + "data"
CLAIM_DL_MSG = DL + "msg"
CLAIM_DL_LOG = DL + "log"
CLAIM_DL_ERRORMSG = DL + "errormsg"
CLAIM_DL_ERRORLOG = DL + "errorlog"

MESSAGE_RESOURCE_LINK = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING = "LtiDeepLinkingRequest"
MESSAGE_DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE]
SERVICE_SCOPES = frozenset([*AGS_SCOPES, SCOPE_NRPS])

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

MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
MEDIA_MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


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
