"""Hypothesis profiles shared by the fuzz targets in this folder.

`ci` (the default, used by `make test`): a bounded, reproducible run of a few seconds per target.
`long`: `HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/fuzz` explores far more inputs, at random,
and keeps what it finds in `.hypothesis/` to replay first next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
