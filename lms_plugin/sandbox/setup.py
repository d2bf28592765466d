"""Setting the sandbox up: its key, its course and people, and its registration with the tool."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_plugin.lti.registrations import PlatformSettings, add_platform
from lms_plugin.sandbox import keys
from lms_plugin.sandbox.constants import (
    CLIENT_ID,
    COURSE_CONTEXT_ID,
    COURSE_LABEL,
    COURSE_TITLE,
    DEPLOYMENT_ID,
    PLATFORM_NAME,
    SandboxUrls,
)
from lms_plugin.sandbox.models import SandboxCourse, SandboxKey, SandboxMembership, SandboxUser
from lms_plugin.secret_box import SecretBox


@dataclass(frozen=True)
class Person:
    user_id: str
    given_name: str
    family_name: str
    email: str
    role: str

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


# Learners after the first two never launch in the demo: the tool learns of them only via NRPS.
PEOPLE = (
    Person("sandbox-user-ada", "Ada", "Lovelace", "ada@sandbox.test", "Instructor"),
    Person("sandbox-user-grace", "Grace", "Hopper", "grace@sandbox.test", "TeachingAssistant"),
    Person("sandbox-user-chloe", "Chloé", "Dubois", "chloe@sandbox.test", "Learner"),
    Person("sandbox-user-dmitri", "Dmitri", "Ivanov", "dmitri@sandbox.test", "Learner"),
    Person("sandbox-user-bea", "Bea", "Wong", "bea@sandbox.test", "Learner"),
    Person("sandbox-user-sam", "Sam", "O'Brien", "sam@sandbox.test", "Learner"),
    Person("sandbox-user-zoe", "Zoë", "Nakamura-Østergaard", "zoe@sandbox.test", "Learner"),
)


def platform_settings(base_url: str) -> PlatformSettings:
    """How the tool must know the sandbox (what `lms-plugin platform add` would be given)."""
    urls = SandboxUrls(base_url)
    return PlatformSettings(
        issuer=urls.issuer,
        client_id=CLIENT_ID,
        auth_login_url=urls.auth,
        auth_token_url=urls.token,
        jwks_url=urls.jwks,
        name=PLATFORM_NAME,
    )


def is_set_up(session: Session) -> bool:
    """True once the course and a key exist (the cheap check before `ensure_sandbox`)."""
    course = session.scalar(
        select(SandboxCourse.id).where(SandboxCourse.context_id == COURSE_CONTEXT_ID)
    )
    return course is not None and session.scalar(select(SandboxKey.id).limit(1)) is not None


def ensure_sandbox(session: Session, base_url: str, *, box: SecretBox | None = None) -> None:
    """Create whatever of the sandbox is missing, and register it with the tool. Idempotent.

    `box` encrypts the sandbox's private key; by default the current Flask app's
    (`app.extensions["secret_box"]`). Flushes; the caller commits.
    """
    if box is None:
        from flask import current_app

        box = current_app.extensions["secret_box"]
        assert isinstance(box, SecretBox)
    keys.current_key(session, box)

    course = session.scalar(
        select(SandboxCourse).where(SandboxCourse.context_id == COURSE_CONTEXT_ID)
    )
    if course is None:
        course = SandboxCourse(context_id=COURSE_CONTEXT_ID, label=COURSE_LABEL, title=COURSE_TITLE)
        session.add(course)
        session.flush()

    for person in PEOPLE:
        user = session.scalar(select(SandboxUser).where(SandboxUser.user_id == person.user_id))
        if user is None:
            user = SandboxUser(
                user_id=person.user_id,
                name=person.name,
                given_name=person.given_name,
                family_name=person.family_name,
                email=person.email,
            )
            session.add(user)
            session.flush()
        membership = session.scalar(
            select(SandboxMembership).where(
                SandboxMembership.course_id == course.id, SandboxMembership.user_id == user.id
            )
        )
        if membership is None:
            session.add(SandboxMembership(course_id=course.id, user_id=user.id, role=person.role))
    session.flush()

    add_platform(session, platform_settings(base_url), [DEPLOYMENT_ID])
