"""Vietnamese-aware text folding for search: "Bộ Y tế" and "bo y te" fold alike; đ → d."""

from __future__ import annotations

import re
import unicodedata

_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})
_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class _StripMarks(dict[int, str]):
    """`str.translate` table: each character to its canonical decomposition without combining marks (đ→d),
    worked out the first time the character is seen. Translating character by character gives what
    NFD-then-drop-marks gives (decomposition is per character; reordering only moves the dropped marks),
    at the speed of one C call per string: folding runs on every message stored."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code).translate(_D_MAP))
        self[code] = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return self[code]


_STRIP_MARKS = _StripMarks()


def _fold_word(word: str) -> str:
    return unicodedata.normalize("NFC", word.translate(_STRIP_MARKS)).casefold()


# Folded words, remembered: Vietnamese is written in a few thousand syllables, so most words of a message
# were seen before and folding it costs a dictionary lookup per word (it runs on every message stored).
_FOLDED_WORDS: dict[str, str] = {}
_FOLDED_WORDS_MAX = 100_000


def fold(text: str) -> str:
    """Lower-case, diacritics removed, đ→d, runs of spaces collapsed. Idempotent."""
    folded = []
    for word in text.split():
        done = _FOLDED_WORDS.get(word)
        if done is None:
            done = _fold_word(word)
            if len(_FOLDED_WORDS) < _FOLDED_WORDS_MAX:
                _FOLDED_WORDS[word] = done
        if done:  # a lone combining mark folds to nothing
            folded.append(done)
    return " ".join(folded)


def fold_words(text: str) -> list[str]:
    """Folded words, punctuation dropped: the tokens search matches on."""
    return [word for word in _NON_WORD.split(fold(text)) if word]


def clean_line(text: str) -> str:
    """A one-line user-entered value: NFC, trimmed, inner whitespace collapsed."""
    return _SPACES.sub(" ", nfc(text)).strip()
