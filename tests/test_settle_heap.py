"""`settle_heap`: what a serving process holds once started leaves the collector's full passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lms_plugin.commands import serve


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settling_takes_the_loaded_objects_out_of_full_collections(unfrozen: None) -> None:
    loaded = [{"row": n} for n in range(50_000)]  # what starting a worker leaves behind
    gc.collect()
    walked_before = len(gc.get_objects(generation=2))
    serve.settle_heap()
    assert gc.get_freeze_count() >= len(loaded)
    assert len(gc.get_objects(generation=2)) < walked_before - len(loaded)
    made_later = [[n] for n in range(1_000)]
    gc.collect()
    assert len(gc.get_objects(generation=2)) >= len(made_later)  # tracked as before


def test_a_gunicorn_worker_settles_once_ready(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    monkeypatch.setattr("lms_plugin.credentials.isolation.warm_up", lambda: started.append(True))
    serve._worker_ready(object())
    assert started == [True] and gc.get_freeze_count() > 0
