"""The application factory."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

from lms_plugin import errors
from lms_plugin.commands import register_commands
from lms_plugin.config import PROJECT_ROOT, instance_path, load_config
from lms_plugin.credentials.issuance import IssuerSettings
from lms_plugin.database import db
from lms_plugin.extensions import csrf
from lms_plugin.lti import platform_storage
from lms_plugin.lti.http import TimeoutSession
from lms_plugin.secret_box import SecretBox


def build_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Create the app: configuration, database, CSRF, blueprints, error pages and CLI commands."""
    overrides = dict(overrides or {})
    instance = instance_path(overrides)
    app = Flask(
        "lms_plugin",
        instance_path=str(instance),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "lms_plugin" / "static"),
    )
    app.config.update(load_config(overrides, instance))

    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]
    app.extensions["secret_box"] = SecretBox(app.config["KEY_ENCRYPTION_KEY"])
    app.extensions["lti_http"] = TimeoutSession()
    # after_request handlers run last-registered first: the timing header goes on after the
    # database commit, so Server-Timing includes it.
    app.before_request(_start_timer)
    app.after_request(_response_headers)
    db.init_app(app)
    platform_storage.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)

    from lms_plugin.assessment import wording
    from lms_plugin.assessment.api import blueprint as assessment_api
    from lms_plugin.assessment.openapi import blueprint as openapi
    from lms_plugin.assessment.version_views import blueprint as version_move_pages
    from lms_plugin.assessment.views import blueprint as assessment_pages
    from lms_plugin.assessment.views import course_page
    from lms_plugin.credentials.views import blueprint as credential_pages
    from lms_plugin.credentials.views import identity_check_api, verify_api
    from lms_plugin.frameworks.views import blueprint as frameworks
    from lms_plugin.frameworks.views import case_blueprint
    from lms_plugin.health import blueprint as health
    from lms_plugin.lti.views import blueprint as lti
    from lms_plugin.lti.views import launch, login

    app.register_blueprint(health)
    app.register_blueprint(frameworks)
    app.register_blueprint(case_blueprint)
    app.register_blueprint(lti)
    app.register_blueprint(assessment_api)
    app.register_blueprint(assessment_pages)
    app.register_blueprint(version_move_pages)
    app.extensions["course_page"] = course_page
    app.register_blueprint(openapi)
    app.register_blueprint(credential_pages)
    csrf.exempt(verify_api)
    csrf.exempt(identity_check_api)
    wording.register(app)
    from lms_plugin.assessment.awards import CredentialAwards
    from lms_plugin.learning_records.recorder import XapiRecorder, credential_hook
    from lms_plugin.lti.issuer_profiles import ProfileDirectory
    from lms_plugin.lti.scores import ScorePassback

    app.extensions["issuer_settings"] = IssuerSettings(
        base_url=app.config["BASE_URL"],
        box=app.extensions["secret_box"],
        profiles=ProfileDirectory(),
        validity_days=app.config["CREDENTIAL_VALIDITY_DAYS"] or None,
    )
    app.extensions["trust_list"] = _trust_list(app)
    recorder = XapiRecorder(app.config["BASE_URL"], include_email=app.config["XAPI_INCLUDE_EMAIL"])
    settings = app.extensions["issuer_settings"]
    app.extensions["credential_issuer"] = CredentialAwards(
        settings, on_issued=[credential_hook(recorder, settings)]
    )
    app.extensions["assessment_listeners"] = [
        ScorePassback(),
        recorder,
        app.extensions["credential_issuer"],
    ]
    csrf.exempt(login)
    csrf.exempt(launch)
    from lms_plugin.wallets.views import blueprint as wallets
    from lms_plugin.wallets.views import pages as wallet_pages
    from lms_plugin.wallets.views import wallet_since

    app.register_blueprint(wallets)
    app.register_blueprint(wallet_pages)
    app.add_template_global(wallet_since, "wallet_since")
    if app.config["SANDBOX_ENABLED"]:
        from lms_plugin.sandbox.views import blueprint as sandbox

        app.register_blueprint(sandbox)
    app.extensions["app_factory"] = lambda: build_app(overrides)  # `serve`: one app per worker
    register_commands(app)
    return app


def _trust_list(app: Flask) -> Any:
    """The issuer registries the operator trusts: read now, refreshed in the background."""
    from lms_plugin.credentials import outbound, trust_list

    policy = outbound.Policy(
        allow_private=app.config["ALLOW_PRIVATE_ADDRESSES"],
        seconds=10.0,
        max_bytes=trust_list.REGISTRY_LIMITS.max_bytes,
    )
    trusted = trust_list.TrustList.from_setting(app.config["TRUSTED_REGISTRIES"], policy)
    trusted.refresh()
    trusted.start(app.config["TRUSTED_REGISTRIES_REFRESH"])
    return trusted


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _response_headers(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None:
        now = time.perf_counter()
        timing = [f"app;dur={(now - started) * 1000:.2f}"]
        # Phases a view marked (`lti.current.mark_phase`); what follows the last is the commit.
        phases = g.get("timing_phases")
        if phases:
            timing += [f"{name};dur={ms:.2f}" for name, ms in phases]
            timing.append(f"commit;dur={(now - g.timing_mark) * 1000:.2f}")
        response.headers["Server-Timing"] = ", ".join(timing)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response
