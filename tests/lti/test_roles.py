"""Course roles: only context (course membership) roles decide, read as LTI 1.3 Core appendix A.2
defines them (a sub-role implies its principal role; institution and system roles never grant
anything in a course), for the role lists Canvas and Moodle really send."""

from __future__ import annotations

from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import func, select

from lms_plugin.database import db
from lms_plugin.lti import claims, nrps
from lms_plugin.lti.models import Course, Enrollment, Person, Platform, RosterSync
from lms_plugin.lti.platform_api import PlatformClient
from lms_plugin.sandbox.constants import ROLE_URIS
from tests.courses import BASE, launch_as
from tests.courses import Course as PlacedCourse
from tests.lti.platform import LtiPlatform

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
CONTEXT = LIS + "membership#"
INSTITUTION = LIS + "institution/person#"
SYSTEM = LIS + "system/person#"
TEST_USER = "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"
STAFF, LEARNER, NONE = claims.STAFF, claims.LEARNER, None

# Canvas (lib/lti/substitutions_helper.rb, `all_roles("lti1_3")`): the course enrollments' roles
# (LIS_V2_LTI_ADVANTAGE_ROLE_MAP) plus institution roles from the user's enrollments and account
# memberships anywhere in the root account, plus system roles, sorted.
CANVAS = {
    "teacher": (
        [INSTITUTION + "Instructor", CONTEXT + "Instructor", SYSTEM + "User"],
        STAFF,
    ),
    "TA": (
        [
            INSTITUTION + "Instructor",
            CONTEXT + "Instructor",
            LIS + "membership/Instructor#TeachingAssistant",
            SYSTEM + "User",
        ],
        STAFF,
    ),
    "designer": (
        [INSTITUTION + "Instructor", CONTEXT + "ContentDeveloper", SYSTEM + "User"],
        STAFF,
    ),
    "student": ([INSTITUTION + "Student", CONTEXT + "Learner", SYSTEM + "User"], LEARNER),
    "student who teaches another course": (
        [INSTITUTION + "Instructor", INSTITUTION + "Student", CONTEXT + "Learner", SYSTEM + "User"],
        LEARNER,
    ),
    "student who is an account admin": (
        [
            INSTITUTION + "Administrator",
            INSTITUTION + "Student",
            CONTEXT + "Learner",
            SYSTEM + "User",
        ],
        LEARNER,
    ),
    "site admin enrolled as a student": (
        [INSTITUTION + "Student", CONTEXT + "Learner", SYSTEM + "SysAdmin", SYSTEM + "User"],
        LEARNER,
    ),
    "student view (test student)": (
        [CONTEXT + "Learner", TEST_USER, SYSTEM + "User"],
        LEARNER,
    ),
    "observer": ([CONTEXT + "Mentor", SYSTEM + "User"], NONE),
    "account admin not enrolled in the course": (
        [INSTITUTION + "Administrator", SYSTEM + "User"],
        NONE,
    ),
    "site admin not enrolled in the course": ([SYSTEM + "SysAdmin", SYSTEM + "User"], NONE),
}

# Moodle launches (mod/lti/locallib.php `lti_get_ims_role`, then `lti_sign_jwt` turns simple
# names into `membership#` URIs and `urn:lti:sysrole`/`instrole` into system/institution URIs):
# Instructor for those with mod/lti:manage (teacher, non-editing teacher, manager, site admin).
# Its roster (ltiservice_memberships, `lti_get_ims_role(..., true)`) sends the simple names as they
# are, Instructor only with moodle/course:manageactivities, and the LIS v2 person role for admins.
MOODLE = {
    "teacher": ([CONTEXT + "Instructor"], STAFF),
    "student": ([CONTEXT + "Learner"], LEARNER),
    "site admin": (
        [CONTEXT + "Instructor", SYSTEM + "Administrator", INSTITUTION + "Administrator"],
        STAFF,
    ),
    "site admin switched to the student role": ([CONTEXT + "Learner"], LEARNER),
    "roster: teacher": (["Instructor"], STAFF),
    "roster: student (or non-editing teacher)": (["Learner"], LEARNER),
    "roster: site admin": (["Instructor", LIS + "person#Administrator"], STAFF),
}

# The review's findings and the vocabulary's corners.
VOCABULARY = {
    "learner with an institution Instructor role": (
        [CONTEXT + "Learner", INSTITUTION + "Instructor"],
        LEARNER,
    ),
    "learner with a system Administrator role": (
        [CONTEXT + "Learner", SYSTEM + "Administrator"],
        LEARNER,
    ),
    "Learner sub-role Instructor": ([LIS + "membership/Learner#Instructor"], LEARNER),
    "grader sub-role alone": ([LIS + "membership/Instructor#Grader"], STAFF),
    "TA sub-role alone": ([LIS + "membership/Instructor#TeachingAssistant"], STAFF),
    "TA section sub-role": ([LIS + "membership/Instructor#TeachingAssistantSection"], STAFF),
    "content developer sub-role": ([LIS + "membership/ContentDeveloper#Librarian"], STAFF),
    "course administrator": ([CONTEXT + "Administrator"], STAFF),
    "course administrator sub-role": ([LIS + "membership/Administrator#Support"], STAFF),
    "learner who is also an instructor of the course": (
        [CONTEXT + "Learner", CONTEXT + "Instructor"],
        STAFF,
    ),
    "mentor": ([CONTEXT + "Mentor"], NONE),
    "mentor sub-role": ([LIS + "membership/Mentor#Tutor"], NONE),
    "member and manager (a group)": ([CONTEXT + "Member", CONTEXT + "Manager"], NONE),
    "institution instructor only": ([INSTITUTION + "Instructor"], NONE),
    "institution faculty and administrator": (
        [INSTITUTION + "Faculty", INSTITUTION + "Administrator"],
        NONE,
    ),
    "system administrator only": ([SYSTEM + "Administrator"], NONE),
    "simple name TeachingAssistant (LTI 1.1 context role)": (["TeachingAssistant"], STAFF),
    "simple name Mentor": (["Mentor"], NONE),
    "no roles (anonymous)": ([], NONE),
    "sub-role without its name": ([LIS + "membership/Instructor#"], NONE),
    "unknown principal": ([CONTEXT + "Superuser", LIS + "membership/Superuser#Instructor"], NONE),
    "another vocabulary's Instructor": (["https://example.edu/roles#Instructor"], NONE),
    "https instead of the vocabulary's http": (
        ["https://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        NONE,
    ),
    "LTI 1.1 institution role": (["urn:lti:instrole:ims/lis/Instructor"], NONE),
    "not strings": ([None, 3, {"role": "Instructor"}], NONE),
}


def cases(table: dict[str, tuple[list[Any], str | None]]) -> Any:
    return pytest.mark.parametrize(("roles", "expected"), list(table.values()), ids=list(table))


@cases(CANVAS)
def test_canvas_roles(roles: list[str], expected: str | None) -> None:
    assert claims.course_role(roles) == expected


@cases(MOODLE)
def test_moodle_roles(roles: list[str], expected: str | None) -> None:
    assert claims.course_role(roles) == expected


@cases(VOCABULARY)
def test_vocabulary(roles: list[Any], expected: str | None) -> None:
    assert claims.course_role(roles) == expected
    assert claims.is_staff(roles) is (expected == STAFF)


@pytest.mark.parametrize(
    "claim", [None, "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor", {}]
)
def test_a_roles_claim_that_is_not_a_list_gives_no_role(claim: object) -> None:
    assert claims.course_role(claim) is None


def test_the_sandbox_lms_sends_roles_as_the_vocabulary_defines_them() -> None:
    assert {name: claims.course_role(uris) for name, uris in ROLE_URIS.items()} == {
        "Instructor": STAFF,
        "TeachingAssistant": STAFF,
        "Learner": LEARNER,
    }


# Through the real launch flow.

LEARNER_WITH_INSTITUTION_ROLES = [
    CONTEXT + "Learner",
    INSTITUTION + "Instructor",
    INSTITUTION + "Administrator",
    SYSTEM + "Administrator",
]


def test_a_learner_with_institution_and_system_roles_gets_no_grid_and_cannot_judge(
    app: Flask, platform: LtiPlatform, course: PlacedCourse
) -> None:
    custom = {claims.CUSTOM: {"framework": str(course.version_id), "levels": "emerging"}}
    sneaky = launch_as(
        app,
        platform,
        "course-1-sneaky",
        "Sneaky Learner",
        False,
        **{claims.ROLES: LEARNER_WITH_INSTITUTION_ROLES, **custom},
    )
    page = sneaky.client.get(f"/launch/{sneaky.launch_id}").get_data(as_text=True)
    assert "My progress" in page and 'class="grid"' not in page
    assert sneaky.get("/api/v1/grid").status_code == 403
    victim = course.learner_ids[0]
    statement = course.statements["emerging"][0]
    assert sneaky.judge((victim, statement, "met")).status_code == 403
    assert sneaky.get(f"/api/v1/judgements?learner_id={victim}").status_code == 403
    assert sneaky.get(f"/api/v1/progress?learner_id={victim}").status_code == 403
    assert course.staff.get("/api/v1/judgements").json == {"judgements": [], "submissions": []}
    # They are a learner of the course: the grid lists them.
    learners = {row["name"] for row in course.staff.get("/api/v1/grid").json["learners"]}
    assert "Sneaky Learner" in learners


def test_a_grader_sub_role_alone_gets_the_grid_and_judges(
    app: Flask, platform: LtiPlatform, course: PlacedCourse
) -> None:
    custom = {claims.CUSTOM: {"framework": str(course.version_id), "levels": "emerging"}}
    grader = launch_as(
        app,
        platform,
        "course-1-grader",
        "Grader",
        False,
        **{claims.ROLES: [LIS + "membership/Instructor#Grader"], **custom},
    )
    assert grader.get("/api/v1/grid").status_code == 200
    judged = grader.judge((course.learner_ids[0], course.statements["emerging"][0], "met"))
    assert judged.status_code == 201, judged.json


def test_an_observer_or_someone_without_a_course_role_is_refused_and_nothing_is_stored(
    app: Flask, platform: LtiPlatform
) -> None:
    for roles in ([CONTEXT + "Mentor", SYSTEM + "User"], [INSTITUTION + "Administrator"], []):
        client = app.test_client()
        response = platform.launch(client, BASE, sub="observer-1", **{claims.ROLES: roles})
        assert response.status_code == 403, roles
        assert "your role in this course is neither" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 0
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


class Roster:
    """A platform client that answers one NRPS page."""

    def __init__(self, members: list[dict[str, Any]]) -> None:
        self.members = members

    def get_json(self, *_args: Any) -> tuple[dict[str, Any], None]:
        return {"id": "roster", "members": self.members}, None


def test_the_roster_enrolls_staff_and_learners_only_and_never_demotes_launched_staff(
    app: Flask, platform: LtiPlatform, course: PlacedCourse
) -> None:
    members = [
        {"user_id": "course-1-teacher", "roles": ["Learner"]},  # Moodle's non-editing teacher
        {"user_id": "new-learner", "roles": [CONTEXT + "Learner", INSTITUTION + "Instructor"]},
        {"user_id": "new-grader", "roles": [LIS + "membership/Instructor#Grader"]},
        {"user_id": "parent", "roles": [CONTEXT + "Mentor"]},
        {"user_id": "admin", "roles": [INSTITUTION + "Administrator"]},
    ]
    with app.app_context():
        found = db.session.scalar(select(Course).where(Course.context_id == "course-1"))
        registered = db.session.scalar(select(Platform))
        assert found is not None and registered is not None
        client = cast(PlatformClient, Roster(members))
        nrps.request_sync(db.session, found.id, "https://lms/roster")
        db.session.commit()
        assert nrps.sync_rosters(db.session, lambda _platform: client).delivered == 1
        synced = db.session.get(RosterSync, found.id)
        assert synced is not None and synced.members == 3
        rows = db.session.execute(
            select(Person.sub, Enrollment.is_staff, Enrollment.source).join(
                Enrollment, Enrollment.person_id == Person.id
            )
        ).all()
    enrolled = {sub: (staff, source) for sub, staff, source in rows}
    assert enrolled["course-1-teacher"] == (True, "launch")
    assert enrolled["new-learner"] == (False, "nrps")
    assert enrolled["new-grader"] == (True, "nrps")
    assert "parent" not in enrolled and "admin" not in enrolled
