"""Numbers as people write and say them: "seventy five", "a dozen", "a couple of", "forty two point five".

Spelled numbers go through the maintained `text2num`; a pass before it keeps what that library
does not know or reads differently: "one" as a pronoun ("the other one", "Capital One"), "a
couple", "a pair", "a dozen". A pass after it joins spoken prices ("limit twelve fifty" -> 12.50).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from text_to_num import alpha2digit

from agent.language.english import is_english
from agent.language.vocabulary import ONE_AS_PRONOUN, SCALE

_PROTECTED_ONE = "\ue000"
_PROTECTED_O = "\ue001"  # text2num reads "O O" as 00: in "V O O" they are letters of a ticker
_PROTECTED_NUMBER = {"two": "\ue002", "three": "\ue003", "four": "\ue004"}
# text2num writes ordinals as 3rd, 5th: put the words back ("a third of it", "Fifth Third", "first thing")
_ORDINALS = dict(zip(map(str, range(1, 11)), ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"],
                     strict=True))
_ONE_AFTER = re.compile(rf"\b(?P<before>{'|'.join(sorted(ONE_AS_PRONOUN, key=len, reverse=True))})\s+one\b", re.I)
# "one" counts before a share word or a company ("one share", "one AAPL") or after a verb ("buy one"); elsewhere
# ("the silver one", "one of those days") it is a pronoun
_LONE_ONE = re.compile(r"(?<!ty\s)(?<!ty-)(?<!\band\s)(?<!hundred\s)(?<!\bbuy\s)(?<!\bsell\s)(?<!\bget\s)(?<!\bgrab\s)(?<!\badd\s)(?<!\bjust\s)(?<!\bonly\s)"
                       r"\bone\b(?!\s+(?:shares?|stocks?|more|additional|extra|hundred|thousand|million|dozen|of\s+(?:my|the|those|them|these)"
                       r"|(?-i:[A-Z$])))", re.I)
_COUPLE = re.compile(r"\b(?:a\s+)?(?:couple|pair)(?:\s+of)?\b", re.I)
_DOZEN = re.compile(r"\b(?:(?P<half>half\s+a)|an?|one)?\s*dozen\b(?:\s+of)?", re.I)
_SPOKEN_PRICE = re.compile(
    r"\b(?P<lead>limit|lmt|at|@|price|than|above|below|under|over|for|to|bid|offer)\s+(?P<whole>\d{1,4})\s+(?P<cents>\d{2})\b"
    r"(?!\s*(?:shares?|k\b|%|percent|dollars?|bucks))", re.I)
_DOLLARS_AND_CENTS = re.compile(r"\b(?P<whole>\d+)\s+dollars?\s+(?:and\s+)?(?P<cents>\d{1,2})\s+cents?\b", re.I)


# People writing English in a hurry use their own language's number words ("sell diez of my starbucks", "cinco
# more"): a word that is no English word and that text2num reads as a number in one of these languages is that number.
_FOREIGN = ("es", "pt", "fr", "it", "de")
_NOT_FOREIGN_NUMBERS = frozenset(["um", "un", "une", "uno", "una", "ein", "eine", "eins", "o", "e", "y", "et", "und"])
_WORD = re.compile(r"(?<![\w$.])[^\W\d_]{3,}(?![\w.])")


@lru_cache(maxsize=4096)
def _foreign_number(word: str) -> str | None:
    lowered = word.lower()
    if lowered in _NOT_FOREIGN_NUMBERS or is_english(lowered) or (word.isupper() and len(word) <= 5):
        return None  # "UNO", "DOS" in capitals may be tickers
    for language in _FOREIGN:
        number = alpha2digit(lowered, language, threshold=0)
        if number.isdigit():
            return number
    return None


def foreign_numbers(text: str) -> str:
    """'diez' -> 10, 'cinco' -> 5, 'zwanzig' -> 20: number words of a few other languages, one word at a time."""
    return _WORD.sub(lambda m: _foreign_number(m.group()) or m.group(), text)


def words_to_numbers(text: str) -> str:
    """'a hundred and fifty' -> 150, 'twenty-five' -> 25, 'a dozen' -> 12, 'a couple of' -> 2, 'diez' -> 10."""
    text = foreign_numbers(text)
    text = re.sub(r"\ba(\s+(?:hundred|thousand|million)\b)", r"one\1", text, flags=re.I)  # "a hundred and forty": 140, not "a 140"
    text = _ONE_AFTER.sub(lambda m: f"{m['before']} {_PROTECTED_ONE}", text)
    text = re.sub(r"\b(the\s+[a-z]+\s+)one\b(?!\s+(?:hundred|thousand|million|point|and|half))",
                  lambda m: m[1] + _PROTECTED_ONE, text, flags=re.I)  # "the silver one"
    text = _LONE_ONE.sub(_PROTECTED_ONE, text)
    text = re.sub(r"\bones\b", _PROTECTED_ONE + "s", text, flags=re.I)  # "the TradeSphere ones": a pronoun, never 1
    text = re.sub(r"\bcapital\s+one\b", f"capital {_PROTECTED_ONE}", text, flags=re.I)
    text = _DOZEN.sub(lambda m: " 6 " if m["half"] else " 12 ", text)
    text = _COUPLE.sub(" 2 ", text)
    text = re.sub(r"\b(the|these|those|both|all)\s+(two|three|four)\b(?!\s+(?:shares?|stocks?|hundred|thousand))",
                  lambda m: f"{m[1]} {_PROTECTED_NUMBER[m[2].lower()]}", text, flags=re.I)  # "the two in Velocity"
    text = re.sub(r"(?<![\w'])O(?![\w'])", _PROTECTED_O, text)
    text = alpha2digit(text, "en", threshold=0).replace(_PROTECTED_O, "O")
    text = re.sub(r"(?<![\d.])\bpoint\s+(\d+)\b", r"0.\1", text)
    # "two and a half grand" is 2.5 grand, "one and a half 1000" 1.5 1000 (a number and a half before a scale)
    text = re.sub(r"\b(\d+)\s+and\s+a\s+half\s+(grand|thousand|1000|k\b|million|hundred)", r"\1.5 \2", text, flags=re.I)  # "point five shares" is half a share, never five
    text = re.sub(r"\b(\d+)(?:st|nd|rd|th)(s?)\b", lambda m: _ORDINALS[m[1]] + m[2] if m[1] in _ORDINALS else m[0], text)
    text = _DOLLARS_AND_CENTS.sub(lambda m: f"${m['whole']}.{int(m['cents']):02d}", text)
    text = _SPOKEN_PRICE.sub(lambda m: f"{m['lead']} {m['whole']}.{m['cents']}", text)
    for word, mark in _PROTECTED_NUMBER.items():
        text = text.replace(mark, word)
    return text.replace(_PROTECTED_ONE, "one")


def to_decimal(number: str, scale: str | None = None) -> Decimal:
    """'1,500' -> 1500, '1.5' with 'k' -> 1500 (never 1.5E+3), '12,50' -> 12.50 (a decimal comma)."""
    number = number.replace(" ", "")
    if re.fullmatch(r"-?\d+,\d{2}", number):
        number = number.replace(",", ".")  # "12,50": a decimal comma; "1,500" stays a thousands separator
    value = Decimal(number.replace(",", "")) * SCALE.get((scale or "").lower(), 1)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()

