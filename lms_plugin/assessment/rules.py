"""Roll-up: which levels a learner has achieved, given the current verdict of each statement.

Pure functions, no database: easy to test and the same for every caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LevelRule:
    """A level is achieved when at least `threshold_percent` of its statements are met (100 = all),
    and, with `require_lower_levels`, every level before it is achieved too."""

    threshold_percent: int = 100
    require_lower_levels: bool = False

    def needed(self, statement_count: int) -> int:
        """How many statements of a level must be met (at least one)."""
        return max(1, math.ceil(statement_count * self.threshold_percent / 100))


def achieved_levels(
    levels: Sequence[tuple[int, Sequence[int]]],
    met: Mapping[int, bool],
    rule: LevelRule,
) -> list[int]:
    """The ids of the achieved levels. `levels` is `[(level id, [statement ids])]` in order;
    `met[statement id]` is True when its current verdict is "met"."""
    achieved: list[int] = []
    lower_ok = True
    for level_id, statements in levels:
        count = sum(1 for statement in statements if met.get(statement, False))
        ok = bool(statements) and count >= rule.needed(len(statements))
        if ok and (lower_ok or not rule.require_lower_levels):
            achieved.append(level_id)
        lower_ok = lower_ok and ok
    return achieved
