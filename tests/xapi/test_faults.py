"""Statements are never lost and never sent twice: the LRS down, failing (500) and busy (429)
while 500 judgements are made, then back; and a worker killed mid-batch, then restarted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from lms_plugin.database import db
from lms_plugin.learning_records import lrs
from tests.courses import Course, placed_course
from tests.lti.platform import LtiPlatform
from tests.xapi.conftest import lrs_config, outbox
from tests.xapi.lrs_tools import FaultyLrs, Ralph
from xapi import outbox as xapi_outbox
from xapi.delivery import Backoff, Worker
from xapi.lrs import LrsClient

LMS_PLUGIN = str(Path(sys.executable).parent / "lms-plugin")
# Each visit of a cell changes it (an item that leaves its cell as it is records nothing).
VERDICTS = ("met", "not_yet", "clear")


def judge_many(course: Course, count: int, per_request: int = 10) -> None:
    """`count` judgements in requests of `per_request`, cycling over every cell, each visit of a
    cell with the next verdict."""
    cells = [
        (learner, s)
        for learner in course.learner_ids
        for ss in course.statements.values()
        for s in ss
    ]
    assert len(cells) >= per_request
    for start in range(0, count, per_request):
        items = [
            (*cells[(start + k) % len(cells)], VERDICTS[(start + k) // len(cells) % 3])
            for k in range(per_request)
        ]
        response = course.staff.judge(*items)
        assert response.status_code == 201, response.get_data(as_text=True)


def queued(app: Flask) -> int:
    with app.app_context():
        return int(xapi_outbox.counts(db.session)["queued"] or 0)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_an_lrs_outage_loses_nothing_and_sends_nothing_twice(
    make_app: Callable[..., Flask],
    platform: LtiPlatform,
    version_id: int,
    ralph: Ralph,
    faulty_lrs: FaultyLrs,
) -> None:
    app = make_app(**lrs_config(faulty_lrs.endpoint, ralph))
    platform.register(app)
    course = placed_course(app, platform, version_id, learners=3)
    worker = Worker(
        lambda settings: LrsClient(settings, timeout=2),
        batch_size=100,
        request_timeout=2,
        lease_seconds=6,
        backoff=Backoff(base=0.02, cap=0.2),
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def deliver_loop() -> None:  # the worker keeps running through the outage
        try:
            while not stop.is_set():
                with app.app_context():
                    targets = lrs.destinations()
                    db.session.commit()
                    worker.deliver(db.session, targets)
                stop.wait(0.02)
        except BaseException as error:  # reported by the test
            errors.append(error)

    thread = threading.Thread(target=deliver_loop)
    thread.start()
    try:
        for mode, count in (("down", 170), ("500", 170), ("429", 160)):
            faulty_lrs.mode = mode
            judge_many(course, count)
        assert faulty_lrs.failed > 0
        assert not faulty_lrs.delivered, "nothing reaches the LRS while it fails"
        assert queued(app) == len(outbox(app))

        faulty_lrs.mode = "pass"
        wait_until(lambda: queued(app) == 0, 30, "the outbox to drain")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []

    rows = outbox(app)
    assert {row.state for row in rows} == {"delivered"}
    ids = Counter(row.statement_id for row in rows)
    assert len(ids) == len(rows) > 500
    assert faulty_lrs.delivered == ids, "every statement was delivered exactly once"
    stored = ralph.stored_ids()
    assert all(stored[statement_id] == 1 for statement_id in ids)
    assert 409 not in faulty_lrs.answers
    assert max(row.attempts for row in rows) >= 1


def test_a_worker_killed_mid_batch_loses_nothing(
    make_app: Callable[..., Flask],
    platform: LtiPlatform,
    version_id: int,
    ralph: Ralph,
    faulty_lrs: FaultyLrs,
    instance_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    config = lrs_config(faulty_lrs.endpoint, ralph)
    app = make_app(**config)
    platform.register(app)
    course = placed_course(app, platform, version_id, learners=2)
    judge_many(course, 120)
    total = len(outbox(app))
    env = instance_env(**config, XAPI_LRS_TIMEOUT="1")
    command = [LMS_PLUGIN, "xapi", "deliver", "--batch-size", "20"]

    # The third batch reaches the LRS, but its worker dies before hearing the answer.
    faulty_lrs.mode, faulty_lrs.pass_first = "hold", 2
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        assert faulty_lrs.holding.wait(30), log.read_text()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    held = set(faulty_lrs.held)
    faulty_lrs.mode = "pass"
    faulty_lrs.release.set()
    wait_until(lambda: len(faulty_lrs.answers) >= 3, 10, "the held batch to reach the LRS")
    assert 0 < queued(app) < total

    # A new worker sends the claimed batch again when its lease ends: an identical duplicate.
    result = subprocess.run(
        [*command, "--drain", "--timeout", "30"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr

    rows = outbox(app)
    assert {row.state for row in rows} == {"delivered"}
    ids = {row.statement_id for row in rows}
    assert len(ids) == total
    stored = ralph.stored_ids()
    assert all(stored[statement_id] == 1 for statement_id in ids)
    assert set(faulty_lrs.delivered) == ids
    sent_twice = {i for i, n in faulty_lrs.delivered.items() if n > 1}
    assert sent_twice and sent_twice <= held
    assert max(faulty_lrs.delivered.values()) == 2
    assert 409 not in faulty_lrs.answers
    status = json.loads(
        subprocess.run(
            [LMS_PLUGIN, "xapi", "status", "--json"], env=env, capture_output=True, check=True
        ).stdout
    )
    assert status == {"queued": 0, "delivered": total, "dead": 0, "oldest_queued_age_s": None}
