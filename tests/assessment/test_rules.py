"""The roll-up rule, as pure functions."""

from __future__ import annotations

from lms_plugin.assessment.rules import LevelRule, achieved_levels

LEVELS = [(1, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), (2, [21, 22, 23]), (3, [31])]


def met(*ids: int) -> dict[int, bool]:
    return dict.fromkeys(ids, True)


def test_default_rule_needs_every_statement() -> None:
    assert achieved_levels(LEVELS, met(*range(11, 20)), LevelRule()) == []
    assert achieved_levels(LEVELS, met(*range(11, 21)), LevelRule()) == [1]
    assert achieved_levels(LEVELS, {**met(*range(11, 21)), 21: False}, LevelRule()) == [1]


def test_threshold_eight_of_ten_rounds_up_per_level() -> None:
    rule = LevelRule(threshold_percent=80)
    assert rule.needed(10) == 8 and rule.needed(3) == 3 and rule.needed(1) == 1
    assert achieved_levels(LEVELS, met(*range(11, 19)), rule) == [1]
    assert achieved_levels(LEVELS, met(*range(11, 18)), rule) == []


def test_lower_levels_first_when_required() -> None:
    only_top = met(21, 22, 23, 31)
    assert achieved_levels(LEVELS, only_top, LevelRule()) == [2, 3]
    assert achieved_levels(LEVELS, only_top, LevelRule(require_lower_levels=True)) == []
    everything = met(*range(11, 21), 21, 22, 23, 31)
    assert achieved_levels(LEVELS, everything, LevelRule(require_lower_levels=True)) == [1, 2, 3]


def test_not_yet_counts_as_not_met() -> None:
    verdicts = {**met(*range(11, 21)), 15: False}
    assert achieved_levels(LEVELS, verdicts, LevelRule()) == []
