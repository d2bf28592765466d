"""Web side of the credentials (the one module of `lms_plugin/credentials/` that imports
Flask): the did:web document, public credential pages, status lists, verification by page and
API, the learner's and staff's credential lists."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue

from lms_plugin.credentials import builder, issuance
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.credentials.verification import CredentialVerifier, FetchRefused
from lms_plugin.credentials.verifying import NotACredential, refused
from lms_plugin.database import db

blueprint = Blueprint("credentials", __name__)
JSON_LD = "application/ld+json"


def issuer_settings() -> IssuerSettings:
    settings: IssuerSettings = current_app.extensions["issuer_settings"]
    return settings


def verifier() -> CredentialVerifier:
    return CredentialVerifier(
        db.session,
        issuer_settings(),
        allow_private_addresses=current_app.config["ALLOW_PRIVATE_ADDRESSES"],
    )


# Verifications of outsiders' input running at once in this process. Each ends by its deadline
# (2 s), and the rest are answered 503 at once, so slow remote servers can never hold every
# thread of a worker (`lms-plugin serve` runs 8 per worker): other requests always find one.
VERIFY_SLOTS = threading.BoundedSemaphore(4)
BUSY = "The verifier is busy: try again in a moment."


@contextmanager
def verify_slot() -> Iterator[bool]:
    """Whether a verification may run now (taking a slot until the block ends)."""
    if not VERIFY_SLOTS.acquire(timeout=0.2):
        yield False
        return
    try:
        yield True
    finally:
        VERIFY_SLOTS.release()


def _public_json(document: Any, mimetype: str = "application/json") -> Response:
    response = Response(json.dumps(document, ensure_ascii=False), mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/.well-known/did.json")
def did_document() -> ResponseReturnValue:
    """The tool's own did:web (it issued credentials before issuer profiles)."""
    response = _public_json(issuance.did_document(db.session, issuer_settings()))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/issuers/<slug>/did.json")
def profile_did_document(slug: str) -> ResponseReturnValue:
    """An issuer profile's did:web (`did:web:<host>:issuers:<slug>`), every key it signed with."""
    document = issuance.profile_did_document(db.session, issuer_settings(), slug)
    if document is None:
        abort(404, description="There is no issuer with this name.")
    response = _public_json(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get("/status-lists/<list_id>")
def status_list(list_id: str) -> ResponseReturnValue:
    document = issuance.signed_status_list(db.session, issuer_settings(), list_id)
    if document is None:
        abort(404, description="There is no status list with this id.")
    response = _public_json(document, "application/vc+ld+json")
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def credential_or_404(credential_id: str) -> Credential:
    found = db.session.get(Credential, credential_id)
    if found is None:
        abort(404, description="There is no credential with this id.")
    return found


@blueprint.get("/credentials/<credential_id>.json")
def credential_json(credential_id: str) -> ResponseReturnValue:
    found = credential_or_404(credential_id)
    response = Response(found.document, mimetype=JSON_LD)
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{found.id}.json"'
    return response


@blueprint.get("/credentials/<credential_id>")
def credential_page(credential_id: str) -> ResponseReturnValue:
    """The employer's page (HTML), or the signed credential for `Accept: application/ld+json`."""
    best = request.accept_mimetypes.best_match(["text/html", JSON_LD, "application/json"])
    if best in (JSON_LD, "application/json"):
        return credential_json(credential_id)
    found = credential_or_404(credential_id)
    document = json.loads(found.document)
    result = verifier().verify(document)
    page_url = issuer_settings().credential_url(found.id)
    return render_template(
        "credentials/credential.html",
        credential=found,
        document=document,
        achievement=document["credentialSubject"]["achievement"],
        level=_level(document),
        result=result.to_json(),
        page_url=page_url,
        qr_svg=_qr_svg(page_url),
        linkedin_url=_linkedin_url(document, found, page_url),
    )


def _level(document: dict[str, Any]) -> dict[str, str] | None:
    """The level as the page shows it, from the signed document (its label)."""
    label = builder.level_label(document)
    return {"label": label} if label else None


def _qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR code of this page"
    )
    return buffer.getvalue().decode("ascii")


def _linkedin_url(document: dict[str, Any], found: Credential, page_url: str) -> str:
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": document.get("name", ""),
        "organizationName": document["issuer"].get("name", ""),
        "issueYear": found.issued_at.year,
        "issueMonth": found.issued_at.month,
        "certUrl": page_url,
        "certId": found.id,
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(query)


@blueprint.route("/verify", methods=["GET", "POST"])
def verify_page() -> ResponseReturnValue:
    """Verify a credential pasted, uploaded or given by URL."""
    if request.method == "GET":
        return render_template("credentials/verify.html", result=None, error=None)
    text = request.form.get("credential", "").strip()
    upload = request.files.get("file")
    url = request.form.get("url", "").strip()
    status = 200
    result, error = None, None
    with verify_slot() as free:
        try:
            if not free:
                error, status = BUSY, 503
            elif upload and upload.filename:
                result = verifier().verify(upload.read()).to_json()
            elif url and not text:
                result = verifier().verify_url(url).to_json()
            elif text:
                result = verifier().verify(text).to_json()
            else:
                raise NotACredential("paste a credential, upload its file or give its address")
        except (NotACredential, FetchRefused) as problem:
            error, status = str(problem), 400
    response = make_response(
        render_template("credentials/verify.html", result=result, error=error), status
    )
    if status == 503:
        response.headers["Retry-After"] = "2"
    return response


@blueprint.post("/api/v1/verify")
def verify_api() -> ResponseReturnValue:
    """Verify the credential given as the JSON body."""
    with verify_slot() as free:
        if not free:
            return refused(BUSY), 503, {"Retry-After": "2"}
        try:
            result = verifier().verify(request.get_data())
        except NotACredential as problem:
            return refused(str(problem)), 400
    return result.to_json()
