"""Every text of the pages has its Vietnamese words: a string added to a template or a page module without a
translation would show English to Vietnamese readers."""

from __future__ import annotations

from pathlib import Path

from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from loa.kit import i18n

SRC = Path(__file__).resolve().parents[2] / "src/loa"
METHODS = [("web/**.py", "python"), ("domains/*/*pages.py", "python"), ("web/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translate": (2,),
            "translate_plural": (2, 3)}


def _extracted() -> dict[str | tuple[str, str], str]:
    found: dict[str | tuple[str, str], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            SRC, METHODS, keywords=KEYWORDS, options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        found.setdefault(message if isinstance(message, str) else tuple(message[:2]), f"{filename}:{lineno}")
    return found


def _catalogue(lang: str):  # type: ignore[no-untyped-def]
    from babel.messages.catalog import Catalog

    merged = Catalog(locale=i18n.BABEL_LOCALES[lang])
    for path in sorted((i18n.LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale=i18n.BABEL_LOCALES[lang]):
                if message.id:
                    merged[message.id] = message
    return merged


def test_every_text_of_the_pages_is_translated_into_vietnamese() -> None:
    catalogue = _catalogue("vi")
    missing = []
    for msgid, where in _extracted().items():
        message = catalogue.get(msgid)
        strings = [message.string] if message and isinstance(message.string, str) else list(
            message.string if message else [])
        if not message or not all(strings) or message.fuzzy:
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "add these to src/loa/web/locale/vi/LC_MESSAGES/*.po:\n" + "\n".join(missing)


def test_translations_keep_the_placeholders() -> None:
    for lang in i18n.LANGUAGES:
        catalogue = _catalogue(lang)
        for message in catalogue:
            if message.id and message.python_format and message.string:
                python_format(catalogue, message)  # raises TranslationError on a lost or renamed %(name)s
