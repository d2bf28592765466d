"""Reading JSON nobody vouches for: bounded size, depth and node count, strict syntax."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lms_plugin.strict_json import DuplicateKeyError, refuse_duplicate_keys


@dataclass(frozen=True)
class Limits:
    """Bounds for verifying untrusted input."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_values: int = 100_000
    # Wall-clock budget for the canonicalizations of one verification.
    max_seconds: float = 2.0


DEFAULT_LIMITS = Limits()


class InputError(ValueError):
    """The input is not a JSON object we are willing to process."""


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not JSON")


def parse_json(data: str | bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse JSON text within `limits`; raises `InputError` in plain words."""
    if len(data) > limits.max_bytes:
        raise InputError(f"the input is larger than {limits.max_bytes:,} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the input is not UTF-8 text") from None
    try:
        value = json.loads(
            data, object_pairs_hook=refuse_duplicate_keys, parse_constant=_no_constant
        )
    except DuplicateKeyError as error:
        raise InputError(str(error)) from None
    except RecursionError:
        raise InputError("the input is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise InputError(f"the input is not JSON ({error.msg}, line {error.lineno})") from None
    check_shape(value, limits)
    return value


def check_shape(value: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse documents nested deeper than `max_depth` or with more than `max_values` values."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > limits.max_values:
            raise InputError(f"the input has more than {limits.max_values:,} values")
        if depth > limits.max_depth:
            raise InputError(f"the input is nested more than {limits.max_depth} levels deep")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and item != item:  # NaN from a dict built in Python
            raise InputError("NaN is not JSON")
