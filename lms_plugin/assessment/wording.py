"""Dates and counts as people read them, the same on every page and in grid.js.

One date-time format, always in UTC and saying so ("1 Dec 2026, 00:51 UTC"), in the launch's
locale when the platform sends one (LTI `launch_presentation.locale`), else British English.
The pattern is CLDR's (through Babel) as Chromium's `Intl.DateTimeFormat` builds it for
`{year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
hourCycle: "h23", timeZone: "UTC", timeZoneName: "short"}`: the date (yMMMd) and the 24-hour time
joined by the locale's medium glue, the zone written "UTC".
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, tokenize_pattern, untokenize_pattern
from flask import Flask
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from lms_plugin.orm import utc_iso

DEFAULT_LOCALE = "en-GB"
# A BCP 47 language tag's shape (language, then script, region, variants), at most 35 characters.
TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}")
MAX_TAG_LENGTH = 35


@lru_cache(maxsize=128)
def locale_tag(tag: str | None) -> str:
    """The BCP 47 tag of the locale dates follow: `tag` (`en-GB` or `en_GB`) when CLDR knows
    it, else the default."""
    if not tag or len(tag) > MAX_TAG_LENGTH or not TAG.fullmatch(tag):
        return DEFAULT_LOCALE
    try:
        locale = Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        return DEFAULT_LOCALE
    return str(locale).replace("_", "-")


@lru_cache(maxsize=128)
def _pattern(tag: str) -> str:
    locale = Locale.parse(tag, sep="-")
    time = []
    for kind, value in tokenize_pattern(locale.datetime_skeletons["Hmv"].pattern):
        if kind == "field" and value[0] in "vz":
            time.append(("chars", "UTC"))
        elif kind == "field" and value[0] == "H":
            time.append(("field", ("H", 2)))  # "00:51", as Intl's 2-digit hour
        else:
            time.append((kind, value))
    date = locale.datetime_skeletons["yMMMd"].pattern
    return str(locale.datetime_formats["medium"]).format(untokenize_pattern(time), date)


def format_when(moment: dt.datetime | str, tag: str | None = None) -> str:
    """`moment` (aware, or ISO 8601 text) in the one format, in UTC, for locale `tag`."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
    resolved = locale_tag(tag)
    return format_datetime(
        moment, _pattern(resolved), tzinfo=dt.UTC, locale=resolved.replace("-", "_")
    )


def count(number: int, one: str, many: str | None = None) -> str:
    """A count and its noun: "1 statement", "10 statements" (`many` when the plural is not
    `one` + "s")."""
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _launch_locale(context: Context) -> str | None:
    return getattr(context.get("launch"), "locale", None)


@pass_context
def _when(context: Context, moment: dt.datetime | str | None) -> Markup:
    """A `<time>` element: the machine-readable instant, and the one format for people."""
    if moment is None:
        return Markup("")
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return escape(moment)  # not a date at all: shown as written
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)  # a date without a zone is read as UTC
    text = format_when(moment, _launch_locale(context))
    return Markup('<time datetime="{}">{}</time>').format(utc_iso(moment), escape(text))


@pass_context
def _date_locale(context: Context) -> str:
    """The locale tag grid.js formats dates with (the same the page's own dates follow)."""
    return locale_tag(_launch_locale(context))


def register(app: Flask) -> None:
    """The template filters `when` and `count`, and the global `date_locale()`."""
    app.add_template_filter(_when, "when")
    app.add_template_filter(count, "count")
    app.add_template_global(_date_locale, "date_locale")
