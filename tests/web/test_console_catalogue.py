"""Every text of the console's page modules has its Vietnamese words (the shared catalogue test reads the templates
and `pages.py` modules; the console's routes live in `console_pages.py`)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from loa.kit import i18n

SRC = Path(__file__).resolve().parents[2] / "src/loa"
METHODS = [("domains/*/console_pages.py", "python"), ("web/console.py", "python"),
           ("web/templates/console/**.html", "jinja2"), ("web/templates/console.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translate": (2,),
            "translate_plural": (2, 3)}


def _vietnamese() -> dict[str, object]:
    merged: dict[str, object] = {}
    for path in sorted((i18n.LOCALE_DIR / "vi" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale="vi_VN"):
                if message.id and not message.fuzzy:
                    merged[message.id if isinstance(message.id, str) else message.id[0]] = message.string
    return merged


def test_every_text_of_the_console_is_translated_into_vietnamese() -> None:
    catalogue = _vietnamese()
    missing = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
            SRC, METHODS, keywords=KEYWORDS, options_map={"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        msgid = message if isinstance(message, str) else message[0]
        strings = catalogue.get(msgid)
        values = [strings] if isinstance(strings, str) else list(strings or [])  # type: ignore[call-overload]
        if not values or not all(values):
            missing.append(f"{filename}:{lineno}: {msgid!r}")
    assert not missing, "add these to src/loa/web/locale/vi/LC_MESSAGES/console.po:\n" + "\n".join(missing)
