"""The assessment listener that issues a credential for every level achieved and revokes it when
the level is withdrawn (a re-achieved level gets a new credential)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from lms_plugin.assessment.models import Judgement
from lms_plugin.assessment.services import LevelEvent, Placement
from lms_plugin.credentials import issuance
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.frameworks.models import Level
from xapi.recorder import XapiRecorder

IssuedHook = Callable[[Session, Placement, Credential], None]


class CredentialIssuer:
    """Issues and revokes inside the judgement's transaction; `on_issued` hears of each new
    credential (the xAPI recorder uses it)."""

    def __init__(self, settings: IssuerSettings, on_issued: Sequence[IssuedHook] = ()) -> None:
        self.settings = settings
        self.on_issued = list(on_issued)

    def judged(
        self, session: Session, placement: Placement, judgements: Sequence[Judgement]
    ) -> None:
        """Credentials follow levels, not single judgements."""

    def level_changed(self, session: Session, placement: Placement, event: LevelEvent) -> None:
        if event.kind == "achieved":
            credential = issuance.issue(session, self.settings, event.achievement, now=event.at)
            for hook in self.on_issued:
                hook(session, placement, credential)
            return
        for credential in issuance.credentials_of_achievement(session, event.achievement.id):
            issuance.revoke(
                session,
                credential,
                f"The {event.level.label} level was withdrawn: an evaluator reversed a judgement.",
                now=event.at,
            )


def xapi_hook(recorder: XapiRecorder, settings: IssuerSettings) -> IssuedHook:
    """Queue the xAPI "earned" statement (Open Badges vocabulary) for each new credential."""

    def record(session: Session, placement: Placement, credential: Credential) -> None:
        level = session.get(Level, credential.level_id)
        assert level is not None
        document = json.loads(credential.document)
        recorder.credential_issued(
            session,
            placement,
            credential.learner_id,
            level,
            credential_id=settings.credential_url(credential.id),
            issued_at=credential.issued_at,
            achievement_id=document["credentialSubject"]["achievement"]["id"],
            achievement_name=document["name"],
            issuer_id=document["issuer"]["id"],
        )

    return record
