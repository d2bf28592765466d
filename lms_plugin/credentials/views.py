"""Web side of the credentials (the one module of `lms_plugin/credentials/` that imports
Flask): the did:web document, public credential pages, status lists, verification by page and
API, the learner's and staff's credential lists."""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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

from lms_plugin.credentials import badge_image, builder, facts, identity_check, issuance, sharing
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.credentials.models import Credential
from lms_plugin.credentials.untrusted import InputError, parse_json
from lms_plugin.credentials.verification import CredentialVerifier, FetchRefused
from lms_plugin.credentials.verifying import NotACredential, headline, refused
from lms_plugin.database import db
from lms_plugin.orm import utcnow

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
        trust_list=current_app.extensions["trust_list"],
    )


blueprint.add_app_template_filter(headline, "headline")


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
    found = db.session.get(Credential, credential_id) if _is_uuid(credential_id) else None
    if found is None:
        abort(404, description="There is no credential with this id.")
    return found


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _attachment(response: Response, found: Credential, extension: str) -> None:
    name = sharing.download_name(json.loads(found.document), found.issued_at, extension)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'


@blueprint.get("/credentials/<credential_id>.json")
def credential_json(credential_id: str) -> ResponseReturnValue:
    found = credential_or_404(credential_id)
    response = Response(found.document, mimetype=JSON_LD)
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.args.get("download"):
        _attachment(response, found, "json")
    return response


def _svg_response(svg: str) -> Response:
    response = Response(svg, mimetype=badge_image.MEDIA_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/credentials/<credential_id>.svg")
def credential_svg(credential_id: str) -> ResponseReturnValue:
    """The level's badge with the signed credential baked in (Open Badges 3.0 SVG baking)."""
    found = credential_or_404(credential_id)
    response = _svg_response(issuance.baked_badge(found))
    if request.args.get("download"):
        _attachment(response, found, "svg")
    return response


@blueprint.get("/issuers/<slug>/badges/<int(max=2147483647):level_id>.svg")
def level_badge(slug: str, level_id: int) -> ResponseReturnValue:
    """A level's badge as one issuer awards it: the `image` of its credentials' achievement."""
    known = re.fullmatch(r"[a-z0-9-]{1,100}", slug)
    svg = issuance.level_badge(db.session, issuer_settings(), slug, level_id) if known else None
    if svg is None:
        abort(404, description="This issuer has awarded no badge for this level.")
    response = _svg_response(svg)
    response.headers["Cache-Control"] = "public, max-age=3600"
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
    achievement = document["credentialSubject"]["achievement"]
    return render_template(
        "credentials/credential.html",
        credential=found,
        document=document,
        achievement=achievement,
        level=_level(document),
        earner=_earner(document),
        evidence=[e for e in document.get("evidence", []) if isinstance(e, dict)],
        image=achievement.get("image") if isinstance(achievement.get("image"), dict) else None,
        offerable=sharing.offerable(found.revoked_at, found.valid_until, utcnow()),
        result=result.to_json(),
        page_url=page_url,
        email_check=identity_check.names_an_email(document),
        qr_svg=_qr_svg(page_url),
        linkedin_url=sharing.linkedin_url(document, found.id, found.issued_at, page_url),
    )


def _earner(document: dict[str, Any]) -> str | None:
    """The learner's name, when they chose to show it in the credential."""
    name: str | None = facts.describe(document)["earner"]["name"]
    return name


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


@blueprint.route("/verify", methods=["GET", "POST"])
def verify_page() -> ResponseReturnValue:
    """Verify a credential pasted, uploaded (JSON or a baked SVG badge) or given by URL; with
    `email`, also say whether that address is the earner's."""
    if request.method == "GET":
        url = request.args.get("url", "")[:2048]
        return render_template("credentials/verify.html", result=None, error=None, url=url)
    text = request.form.get("credential", "").strip()
    upload = request.files.get("file")
    url = request.form.get("url", "").strip()
    email = request.form.get("email")
    uploaded = bool(upload and upload.filename)
    by_url = bool(url and not text and not uploaded)
    status = 200
    verified, error, identity = None, None, None
    with verify_slot() as free:
        try:
            if not free:
                error, status = BUSY, 503
            elif uploaded:
                verified = verifier().verify(upload.read())
            elif by_url:
                verified = verifier().verify_url(url)
            elif text:
                verified = verifier().verify(text)
            else:
                raise NotACredential("paste a credential, upload its file or give its address")
            if verified is not None and email is not None:
                identity = _identity(verified.credential, email)
        except (NotACredential, FetchRefused) as problem:
            error, status = str(problem), 400
    result = verified.to_json() if verified is not None else None
    response = make_response(
        render_template(
            "credentials/verify.html",
            result=result,
            error=error,
            identity=identity,
            # What the e-mail check sends back: the address given, else the credential read.
            given_url=url if by_url else "",
            given_text=_given_text(verified) if not by_url else "",
        ),
        status,
    )
    if status == 503:
        response.headers["Retry-After"] = "2"
    return response


def _identity(credential: Any, email: str) -> dict[str, Any]:
    """The page's answer to "Check an e-mail address"."""
    try:
        address = identity_check.normalized_email(email)
    except identity_check.EmailRefused as problem:
        return {"email": email[:320], "problem": str(problem)}
    return {"email": address, "match": identity_check.email_matches(credential, address)}


def _given_text(verified: Any) -> str:
    """The credential read, as JSON text, for the e-mail check to send back."""
    if verified is None or verified.credential is None:
        return ""
    return json.dumps(verified.credential, ensure_ascii=False)


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


@blueprint.post("/api/v1/identity-check")
def identity_check_api() -> ResponseReturnValue:
    """`{"credential": <the credential, or its URL>, "email": "..."}` -> `{"match": bool}`:
    whether the address is the earner's (nothing else is said about the credential)."""
    try:
        body = parse_json(request.get_data())
    except InputError as problem:
        abort(400, description=str(problem))
    if not isinstance(body, dict) or set(body) != {"credential", "email"}:
        abort(400, description='send a JSON object with "credential" and "email", nothing else')
    try:
        email = identity_check.normalized_email(body["email"])
    except identity_check.EmailRefused as problem:
        abort(400, description=str(problem))
    credential = body["credential"]
    if isinstance(credential, str):
        with verify_slot() as free:
            if not free:
                return {"error": "Service Unavailable", "message": BUSY}, 503, {"Retry-After": "2"}
            try:
                credential = verifier().read_url(credential)
            except (FetchRefused, NotACredential) as problem:
                abort(400, description=f"The credential could not be read: {problem}")
    if not isinstance(credential, dict):
        abort(400, description='"credential" must be the credential (a JSON object) or its URL')
    return {"match": identity_check.email_matches(credential, email)}
