"""Every text of the administration has its Vietnamese words, and no other catalogue words it differently (all
catalogues of a language are merged, so a second translation of the same English would silently win)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from loa.kit import i18n

SRC = Path(__file__).resolve().parents[2] / "src/loa"
JINJA = {"extensions": "jinja2.ext.i18n"}
METHODS = [("domains/*/admin_pages.py", "python"), ("web/templates/admin.html", "jinja2"),
           ("web/templates/admin/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translate": (2,),
            "translate_plural": (2, 3)}
OWN = "admin.po"


def _extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            SRC, METHODS, keywords=KEYWORDS,
            options_map={"web/templates/admin.html": JINJA, "web/templates/admin/**.html": JINJA}):
        found.setdefault(message if isinstance(message, str) else message[0], f"{filename}:{lineno}")
    return found


def _catalogues(lang: str) -> dict[str, Catalog]:
    found = {}
    for path in sorted((i18n.LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as source:
            found[path.name] = read_po(source, locale=i18n.BABEL_LOCALES[lang])
    return found


def _string(catalogue: Catalog, msgid: str) -> str | None:
    message = catalogue.get(msgid)
    if message is None or message.fuzzy:
        return None
    return message.string if isinstance(message.string, str) else message.string[0]


def test_every_text_of_the_administration_is_translated_in_its_own_catalogue() -> None:
    own = _catalogues("vi")[OWN]
    missing = [f"{where}: {msgid!r}" for msgid, where in _extracted().items() if not _string(own, msgid)]
    assert not missing, f"add these to src/loa/web/locale/vi/LC_MESSAGES/{OWN}:\n" + "\n".join(missing)


def test_no_other_catalogue_translates_an_administration_text_differently() -> None:
    catalogues = _catalogues("vi")
    own = catalogues.pop(OWN)
    clashes = []
    for message in own:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        mine = _string(own, msgid)
        for name, other in catalogues.items():
            theirs = _string(other, msgid)
            if theirs is not None and theirs != mine:
                clashes.append(f"{msgid!r}: {OWN} {mine!r}, {name} {theirs!r}")
    assert not clashes, "one English text, two Vietnamese ones (use a more precise msgid):\n" + "\n".join(clashes)


def test_the_administration_pages_are_vietnamese_by_default() -> None:
    assert i18n.gettext("vi", "Holiday calendar %(year)s") % {"year": 2026} == "Lịch nghỉ lễ năm 2026"
    assert i18n.gettext("en", "Holiday calendar %(year)s") % {"year": 2026} == "Holiday calendar 2026"
