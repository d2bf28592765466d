"""LTI 1.3 vocabulary shared by the tool and the sandbox platform: claim names, message types,
scopes, media types, roles."""

from __future__ import annotations

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
TOOL_PLATFORM = LTI + "tool_platform"
LTI_VERSION = "1.3.0"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DEEP_LINKING_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DL_MSG = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
DL_LOG = "https://purl.imsglobal.org/spec/lti-dl/claim/log"
DL_ERRORMSG = "https://purl.imsglobal.org/spec/lti-dl/claim/errormsg"
DL_ERRORLOG = "https://purl.imsglobal.org/spec/lti-dl/claim/errorlog"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
ACCEPTED_MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TOOL_SCOPES = (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    SCOPE_NRPS,
)

MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
MEDIA_MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# Roles (LTI 1.3 Core, appendix A.2). Only context (course membership) roles decide what someone
# may do in a course: system roles (`.../system/person#...`), institution roles
# (`.../institution/person#...`), LIS v2 person roles and other vocabularies never do.
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
CONTEXT_ROLE = LIS + "membership#"
CONTEXT_SUB_ROLE = LIS + "membership/"
CONTEXT_PRINCIPALS = frozenset(
    {
        "Administrator",
        "ContentDeveloper",
        "Instructor",
        "Learner",
        "Mentor",
        "Manager",
        "Member",
        "Officer",
    }
)
# Course staff: those who teach, grade or build the course (a TeachingAssistant or Grader is an
# Instructor sub-role, so counts through its principal). Mentor is not staff: Canvas sends it for
# observers (parents), and mentors advise learners, they do not judge them.
STAFF_PRINCIPALS = frozenset({"Instructor", "ContentDeveloper", "Administrator"})
# Deprecated simple names of context roles that some platforms still send (Moodle's roster);
# `TeachingAssistant` is the LTI 1.1 context role, an Instructor sub-role in LTI 1.3.
SIMPLE_NAMES = {name: name for name in CONTEXT_PRINCIPALS} | {"TeachingAssistant": "Instructor"}

STAFF = "staff"
LEARNER = "learner"


def context_roles(roles: object) -> set[str]:
    """The principal context roles in a roles claim: `.../membership#Instructor` and
    `.../membership/Instructor#Grader` both give `Instructor` (a sub-role implies its principal),
    `.../membership/Learner#Instructor` gives `Learner`; simple names count as context roles;
    anything else (institution, system or unknown roles, non-strings) gives nothing."""
    found: set[str] = set()
    for role in roles if isinstance(roles, list | tuple | set | frozenset) else ():
        if not isinstance(role, str):
            continue
        if role.startswith(CONTEXT_ROLE):
            name: str | None = role[len(CONTEXT_ROLE) :]
        elif role.startswith(CONTEXT_SUB_ROLE):
            principal, hash_, sub_role = role[len(CONTEXT_SUB_ROLE) :].partition("#")
            name = principal if hash_ and sub_role else None
        else:
            name = SIMPLE_NAMES.get(role)
        if name in CONTEXT_PRINCIPALS:
            found.add(name)
    return found


def course_role(roles: object) -> str | None:
    """`STAFF`, `LEARNER` or None (a mentor, a member, no course role at all). Someone both
    staff and learner of one course counts as staff, as the LMS grants them its rights."""
    names = context_roles(roles)
    if names & STAFF_PRINCIPALS:
        return STAFF
    return LEARNER if "Learner" in names else None


def is_staff(roles: object) -> bool:
    """Course staff: Instructor (with its sub-roles TeachingAssistant, Grader, ...),
    ContentDeveloper or Administrator, as a context role."""
    return course_role(roles) == STAFF
