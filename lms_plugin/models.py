"""Every model, imported in one place so that the metadata (and Alembic) sees the whole schema."""

from lms_plugin.assessment.models import EvidenceSubmission, Judgement, LevelAchievement
from lms_plugin.credentials.models import Credential, CredentialRequest, StatusList
from lms_plugin.frameworks.models import Framework, FrameworkVersion, Level, Statement
from lms_plugin.keys import ToolKey
from lms_plugin.lti.models import (
    Course,
    Deployment,
    Enrollment,
    LaunchState,
    Person,
    Platform,
    ResourceLink,
    ScoreOutbox,
)
from lms_plugin.orm import Base
from lms_plugin.sandbox.models import (
    SandboxAccessToken,
    SandboxCourse,
    SandboxKey,
    SandboxLineItem,
    SandboxMembership,
    SandboxResourceLink,
    SandboxScore,
    SandboxUsedNonce,
    SandboxUser,
)
from lms_plugin.wallets.models import WalletNonce, WalletOffer
from xapi.models import LrsEndpoint, OutboxStatement

__all__ = [
    "Base",
    "Course",
    "Credential",
    "CredentialRequest",
    "Deployment",
    "Enrollment",
    "EvidenceSubmission",
    "Framework",
    "FrameworkVersion",
    "Judgement",
    "LaunchState",
    "Level",
    "LevelAchievement",
    "LrsEndpoint",
    "OutboxStatement",
    "Person",
    "Platform",
    "ResourceLink",
    "SandboxAccessToken",
    "SandboxCourse",
    "SandboxKey",
    "SandboxLineItem",
    "SandboxMembership",
    "SandboxResourceLink",
    "SandboxScore",
    "SandboxUsedNonce",
    "SandboxUser",
    "ScoreOutbox",
    "Statement",
    "StatusList",
    "ToolKey",
    "WalletNonce",
    "WalletOffer",
]
