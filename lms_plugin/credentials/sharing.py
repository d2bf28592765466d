"""How a learner shows a credential off: LinkedIn's "Add to profile" link with the certification
fields filled in, the names of downloaded files, and whether the credential may still be offered
at all (never once revoked or expired)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from lms_plugin.credentials import facts

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def offerable(
    revoked_at: dt.datetime | None, valid_until: dt.datetime | None, now: dt.datetime
) -> bool:
    """Whether the credential may be shared or downloaded: neither revoked nor expired."""
    if revoked_at is not None:
        return False
    return valid_until is None or _aware(valid_until) > _aware(now)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def linkedin_url(
    document: Mapping[str, Any], credential_id: str, issued_at: dt.datetime, page_url: str
) -> str:
    """LinkedIn's "Add licence or certification" form, filled in: name, issuing organisation,
    issue year and month, the credential's URL and id."""
    described = facts.describe(document)
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": described["name"] or described["achievement"]["name"] or "",
        "organizationName": described["issuer"]["name"] or "",
        "issueYear": issued_at.year,
        "issueMonth": issued_at.month,
        "certUrl": page_url,
        "certId": credential_id,
    }
    return f"{LINKEDIN_ADD}?{urlencode(query)}"


def slug(text: str) -> str:
    """Lower-case ASCII words joined by hyphens ("Niveau élevé" -> "niveau-eleve")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def download_name(document: Mapping[str, Any], issued_at: dt.datetime, extension: str) -> str:
    """`<framework>-<level>-<date>.<extension>`, ASCII only (safe in a Content-Disposition)."""
    achievement = facts.describe(document)["achievement"]
    parts = [
        slug(achievement["framework"] or achievement["name"] or ""),
        slug(achievement["level"] or ""),
        issued_at.date().isoformat(),
    ]
    return "-".join(part for part in parts if part) + f".{extension}"
