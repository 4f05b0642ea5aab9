"""English words (GCIDE, through `english-words`): a real word is what the person meant, never a typo of a key
word or of a company, and never a foreign number word ("once", "six", "cent")."""

from __future__ import annotations

from functools import lru_cache

from english_words import get_english_words_set


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """English words (GCIDE, lowercase): a real word is what the person meant, never a typo of a key word."""
    return frozenset(get_english_words_set(["gcide"], lower=True, alpha=True))


def is_english(word: str) -> bool:
    """Whether `word` (lowercase) is an English word or a plain inflection of one ("worlds", "funded", "trading")."""
    words = _dictionary()
    if word in words:
        return True
    stems = [word[:-1] if word.endswith("s") else None, word[:-2] if word.endswith(("es", "ed", "er")) else None,
             word[:-1] if word.endswith(("ed", "er")) else None, word[:-3] if word.endswith(("ing", "est")) else None,
             word[:-3] + "e" if word.endswith("ing") else None, word[:-2] + "y" if word.endswith("ies") else None]
    if any(stem and len(stem) >= 3 and stem in words for stem in stems):
        return True
    # "rebalance", "reinvest", "unwind", "oversold": a prefix on an English word
    prefix = next((p for p in ("re", "un", "over", "under", "pre") if word.startswith(p) and len(word) - len(p) >= 4), None)
    return prefix is not None and is_english(word[len(prefix):])


def is_dictionary_word(word: str) -> bool:
    """Whether `word` (lowercase) stands in the dictionary as it is, or as a plain plural: stricter than `is_english`,
    for deciding that a word is no misspelt company ("over" is a word; "phizer" is no 'phiz' + 'er' but Pfizer)."""
    words = _dictionary()
    return word in words or (word.endswith("s") and word[:-1] in words)
