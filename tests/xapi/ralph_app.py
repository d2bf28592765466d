"""Serves Ralph's LRS API on loopback with its filesystem backend, for the tests and the bench.

Run with the Python of Ralph's own virtual environment (`.ralph-venv`, built by `make test`):

    .ralph-venv/bin/python tests/xapi/ralph_app.py PORT

Ralph 5.1.0's filesystem backend opens its statements file in "create" mode by default, so every
write after the first fails (500): the default operation type is switched to append before the
API (and so its backend) is imported. The rest of the configuration comes from the environment
(`RALPH_APP_DIR`, `RALPH_RUNSERVER_BACKEND=fs`, `RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH`).
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.data.fs import FSDataBackend

FSDataBackend.default_operation_type = BaseOperationType.APPEND

from ralph.api import app  # noqa: E402  (after the switch above)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
