"""The anchor for `bench.launches`: a bare pylti1p3 tool as its own Flask example builds one (no
database, registrations from a dict, launch data and platform keys in a file cache shared by the
gunicorn workers). Its launch validates the id_token, saves the launch data and redirects, as
ours does; it records nothing else.

    BARE_TOOL_CONF=<json file> BARE_TOOL_CACHE=<folder> gunicorn 'bench.bare_tool:create_app()'
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, redirect, request, url_for
from flask.typing import ResponseReturnValue
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.contrib.flask.launch_data_storage.cache import FlaskCacheDataStorage
from pylti1p3.tool_config import ToolConfDict


class FileCache:
    """What flask-caching's `FileSystemCache` does: one pickled (expiry, value) file per key,
    written atomically, so every worker process sees every other's entries."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / hashlib.md5(key.encode("utf-8")).hexdigest()

    def get(self, key: str) -> Any:
        try:
            with open(self._path(key), "rb") as file:
                expires, value = pickle.load(file)
        except (OSError, EOFError, pickle.UnpicklingError):
            return None
        return value if expires == 0 or expires > time.time() else None

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        expires = time.time() + timeout if timeout else 0
        handle, name = tempfile.mkstemp(dir=self.folder)
        with os.fdopen(handle, "wb") as file:
            pickle.dump((expires, value), file, pickle.HIGHEST_PROTOCOL)
        os.replace(name, self._path(key))
        return True

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "bench-bare-tool"
    conf = json.loads(Path(os.environ["BARE_TOOL_CONF"]).read_text())
    tool_conf = ToolConfDict(conf["issuers"])
    for issuer, entries in conf["issuers"].items():
        for entry in entries:
            tool_conf.set_private_key(issuer, conf["private_key"], client_id=entry["client_id"])
            tool_conf.set_public_key(issuer, conf["public_key"], client_id=entry["client_id"])
    cache = FileCache(os.environ["BARE_TOOL_CACHE"])

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        storage = FlaskCacheDataStorage(cache)
        oidc = FlaskOIDCLogin(FlaskRequest(), tool_conf, launch_data_storage=storage)
        return oidc.redirect(request.values["target_link_uri"])

    @app.post("/lti/launch")
    def launch() -> ResponseReturnValue:
        storage = FlaskCacheDataStorage(cache)
        message = FlaskMessageLaunch(FlaskRequest(), tool_conf, launch_data_storage=storage)
        message.set_public_key_caching(storage, cache_lifetime=7200)
        message.get_launch_data()
        return redirect(url_for("launched", launch_id=message.get_launch_id()), code=303)

    @app.get("/launch/<launch_id>")
    def launched(launch_id: str) -> ResponseReturnValue:
        return launch_id

    @app.get("/healthz")
    def health() -> ResponseReturnValue:
        return "ok"

    return app
