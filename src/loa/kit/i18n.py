"""Languages of the pages: gettext catalogues (English msgids; Vietnamese is the default language) and
Babel's formats for dates, times and numbers in vi_VN or English.

Catalogues are the `.po` files under `src/loa/web/locale/<lang>/LC_MESSAGES/`, read directly with Babel
(compiled in memory on first use): a fresh checkout needs no compile step, and there are no `.mo` files
to keep in step. Every `*.po` of a language is merged, so each area (citizen, console, admin) can keep
its own file and nobody edits the same one at once. Changing a `.po` file needs a restart.

A page's language comes from the `lang` cookie (set by `/lang?to=en`), Vietnamese without it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import HTTPConnection

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
COOKIE = "lang"
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}  # each in its own language, as a switch shows it
BABEL_LOCALES = {"vi": "vi_VN", "en": "en_GB"}  # en_GB: day before month, as Vietnamese readers expect
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # times people read are Vietnam's, whatever the server's zone
LOCALE_DIR = Path(__file__).resolve().parents[1] / "web" / "locale"
BILINGUAL_SEPARATOR = " / "


def language(value: str | None) -> str:
    """A supported language code, or the default."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def language_of(request: HTTPConnection) -> str:
    return language(request.cookies.get(COOKIE))


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> Translations:
    """Every catalogue of `lang` merged (fuzzy entries left out, as gettext does)."""
    merged: Translations | None = None
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as source:
            catalog = read_po(source, locale=BABEL_LOCALES[lang], domain="messages")
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        loaded = Translations(compiled, domain="messages")
        if merged is None:
            merged = loaded
        else:
            merged.merge(loaded)
    return merged if merged is not None else Translations()


def gettext(lang: str, message: str) -> str:
    return translations(language(lang)).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(language(lang)).ngettext(singular, plural, n)


def pick(message: str, lang: str) -> str:
    """One side of a bilingual message of the services ("Tiếng Việt / English"), in `lang`.
    A message without the separator is returned as it is."""
    vietnamese, separator, english = message.partition(BILINGUAL_SEPARATOR)
    if not separator:
        return message
    return english.strip() if language(lang) == "en" else vietnamese.strip()


# --- formats --------------------------------------------------------------------------------------


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:  # stored times are UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TIMEZONE)


def format_datetime(value: datetime | None, lang: str, format: str = "medium") -> str:
    """In Vietnam's time: "21:40 28 thg 11, 2025" / "28 Nov 2025, 21:40" ("medium": the date in full, the
    time without seconds); other Babel formats or patterns as Babel prints them."""
    if value is None:
        return ""
    locale = BABEL_LOCALES[language(lang)]
    local = _local(value)
    if format != "medium":
        return dates.format_datetime(local, format, tzinfo=TIMEZONE, locale=locale)
    pattern = Locale.parse(locale).datetime_formats["medium"]
    return pattern.format(dates.format_time(local, "short", tzinfo=TIMEZONE, locale=locale),
                          dates.format_date(local.date(), "medium", locale=locale))


def format_date(value: date | datetime | None, lang: str, format: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value).date()
    return dates.format_date(value, format, locale=BABEL_LOCALES[language(lang)])


def format_time(value: time | datetime | None, lang: str, format: str = "short") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _local(value)
    return dates.format_time(value, format, tzinfo=TIMEZONE if isinstance(value, datetime) else None,
                             locale=BABEL_LOCALES[language(lang)])


def format_timedelta(value: timedelta | None, lang: str, granularity: str = "minute") -> str:
    """"3 ngày" / "3 days": a duration as people say it (deadlines, waiting times)."""
    if value is None:
        return ""
    return dates.format_timedelta(value, granularity=granularity, locale=BABEL_LOCALES[language(lang)])


def format_number(value: float | int | None, lang: str) -> str:
    """"10.000.000" in Vietnamese, "10,000,000" in English."""
    if value is None:
        return ""
    return numbers.format_decimal(value, locale=BABEL_LOCALES[language(lang)])


# --- Jinja2 ---------------------------------------------------------------------------------------


def _lang(context: Context) -> str:
    return language(context.get("lang"))


def install(env: Environment) -> None:
    """`_()`, `gettext`, `ngettext` and `{% trans %}` in the page's language (the context's `lang`), and the
    filters `datetime`, `date`, `time`, `timedelta`, `number` and `pick` (a service's bilingual message)."""
    env.add_extension("jinja2.ext.i18n")

    @pass_context
    def _gettext(context: Context, message: str) -> str:
        return gettext(_lang(context), message)

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
        return ngettext(_lang(context), singular, plural, n)

    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]

    def filter_with_lang(fn: Callable[..., str]) -> Callable[..., str]:
        @pass_context
        def filtered(context: Context, value: Any, *args: Any) -> str:
            return fn(value, _lang(context), *args)

        return filtered

    env.filters["datetime"] = filter_with_lang(format_datetime)
    env.filters["date"] = filter_with_lang(format_date)
    env.filters["time"] = filter_with_lang(format_time)
    env.filters["timedelta"] = filter_with_lang(format_timedelta)
    env.filters["number"] = filter_with_lang(format_number)
    env.filters["pick"] = filter_with_lang(lambda message, lang: pick(message, lang))


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is defined, to be translated later (e.g. labels in a dict)."""
    return message
