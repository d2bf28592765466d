"""`load_strict`'s value bound: a document with too many values is refused before it is built."""

from __future__ import annotations

import json

import pytest

from lms_plugin import strict_json
from lms_plugin.strict_json import StrictJSONError, StrictLimits, load_strict

LIMITS = StrictLimits(max_values=10)
# Documents with 8 to 12 values (the root counts), commas inside strings included.
SHAPES = {
    "flat": lambda n: json.dumps(list(range(n - 1))),
    "nested": lambda n: json.dumps({"a": [[]] * (n - 3), "b": "x,y,z"}),
    "strings with commas": lambda n: json.dumps([",,,,"] * (n - 1)),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("values", range(8, 13))
def test_the_count_before_parsing_refuses_exactly_what_the_walk_refuses(
    shape: str, values: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SHAPES[shape](values)
    walked = strict_json._check_values
    monkeypatch.setattr(strict_json, "_check_values", lambda document, limit: None)
    try:
        load_strict(text, LIMITS)
    except StrictJSONError as error:
        refused_early = error.message
    else:
        refused_early = None
    if values > LIMITS.max_values:
        with pytest.raises(StrictJSONError) as walk:
            walked(json.loads(text), LIMITS.max_values)
        assert walk.value.message == "the document has more than 10 values"
        assert refused_early in (None, walk.value.message)  # never another message
    else:
        assert refused_early is None  # a document within the bound is never refused early


def test_a_flood_of_values_is_refused_without_building_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five megabytes of empty arrays would be 1.7 million lists: refused from the text alone."""

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the document was parsed")

    monkeypatch.setattr(strict_json.json, "loads", never)
    text = "[" + "[]," * 1_700_000 + "0]"
    with pytest.raises(StrictJSONError) as refused:
        load_strict(text)
    assert (refused.value.path, refused.value.message) == (
        "$",
        "the document has more than 200,000 values",
    )
