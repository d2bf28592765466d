"""Error pages: every HTTP error answers a clear page (HTML) or `{"error": ...}` (API and JSON)."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

# Page headings in plain words (the API keeps HTTP's own names in `error`).
PLAIN_TITLES = {
    400: "This request could not be used",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Not ready yet",
    413: "Too large",
    422: "This could not be saved",
    429: "Please wait a little",
    503: "Busy for a moment",
}


# Blueprints answering a launch's own addresses (login, launch, its pages and their errors).
LAUNCH_BLUEPRINTS = ("lti", "assessment_pages", "wallet_pages")


def shown_in_lms() -> bool:
    """Whether this page shows inside an LMS: framed (as the browser says), or answering an
    address of a launch. Such pages leave out the site navigation and footer (template global)."""
    framed = request.headers.get("Sec-Fetch-Dest") == "iframe"
    return framed or request.blueprint in LAUNCH_BLUEPRINTS


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    message = error.description or error.name
    if isinstance(error, CSRFError):
        status, message = 403, f"CSRF check failed: {error.description}"
    # Keep the error's own headers (`Allow` on a 405, `Retry-After`), not its HTML content type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if wants_json():
        return {"error": error.name, "message": message}, status, headers
    title = PLAIN_TITLES.get(status, error.name)
    page = render_template("error.html", status=status, title=title, message=message)
    return page, status, headers


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.add_template_global(shown_in_lms, "shown_in_lms")
