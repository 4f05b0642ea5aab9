"""Companies and tickers found anywhere in a message, by scanning word n-grams against the symbol directory.

The directory is the brokers' bundled reference table, read here as data (the agent never imports
the broker engine): tickers, company names without their legal suffixes, and the aliases people
use ("coke", "j&j", "google"). Exact matches are found wherever they stand; a word that matches no
company may be a typo of one, and `closest` picks a company only when it clearly beats the next
candidate (rapidfuzz, a dominance margin), so a close call asks back instead of guessing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

SECURITIES_FILE = Path(__file__).resolve().parents[2] / "brokers" / "data" / "securities.csv"
MAX_WORDS = 6

_LEGAL = re.compile(
    r"\b(?:inc|incorporated|corp|corporation|co|company|companies|ltd|limited|plc|holdings?|group|the|class [abc]|n\.?v"
    r"|s\.?a|etf|trust|fund|lp|l\.p|oyj|a/s)\b\.?")
# A name stripped of its legal words that is one everyday word names nothing by itself ("News Corp" is not "news").
_BARE_TOO_COMMON = frozenset(["news", "american", "general", "united", "international", "first", "global", "national", "public", "southern", "western", "northern", "eastern", "royal", "digital", "best", "dollar", "live", "block", "match", "square", "ball", "pool", "gap", "target", "progressive", "ally", "circle", "carrier", "charter", "quest", "dover", "monster", "simon"])
_TOKEN = re.compile(r"\$?[A-Za-z0-9](?:[A-Za-z0-9&'’.+/-]*[A-Za-z0-9])?")

# Single words that name a company but are also everyday words: they count only where a stock is expected
# ("buy 60 shares of target", "3 gold"), never inside a story ("my target is", "chase the price").
_EVERYDAY = frozenset(["target", "gold", "silver", "oil", "block", "square", "chase", "united", "circle", "carrier", "charter", "spectrum", "progressive", "parker", "russell", "quest", "dover", "monster", "simon", "polo", "coach", "plug", "snap", "zoom", "ball", "align", "affirm", "ally", "intuitive", "vertex", "vulcan", "zebra", "ross", "hartford", "tyson", "trane", "lam", "arm", "ark", "marsh", "williams", "dominion", "duke", "edwards", "regions", "citizens", "southwest", "norwegian", "strategy", "apollo", "riot", "lucid", "celsius", "paramount", "motorola", "delta", "dow", "nasdaq", "bitcoin", "biotech", "semiconductors", "match", "crown", "ge", "gm", "hp", "ti", "bd", "ea", "ups", "ice", "yum", "att", "fis", "kla", "j", "c", "d", "f", "o", "t", "v", "a", "cliffs", "discover", "the", "dow", "small", "caps", "mid", "cap", "junk", "bonds", "investment", "grade", "corporate", "bonds", "high", "yield", "world", "stock", "developed", "markets", "emerging", "markets", "oil", "crude", "oil", "total", "world"])

# Tickers that are everyday words: typed in lowercase (or in a shouted message) they are words, not tickers.
_WORD_TICKERS = frozenset(["bro", "fam", "yo", "gg", "lfg", "moon", "ape", "a", "all", "are", "ball", "cat", "cost", "d", "dash", "deck", "ed", "el", "et", "f", "fast", "gild", "hal", "has", "hood", "hum", "ice", "it", "j", "job", "key", "keys", "kim", "len", "lin", "low", "luv", "ma", "mar", "met", "mo", "mos", "mp", "ms", "mu", "net", "now", "nu", "o", "on", "peg", "pm", "pool", "ppl", "rf", "rl", "so", "spot", "shop", "snow", "snap", "t", "tap", "team", "tel", "tt", "v", "well", "amp", "app", "arm", "bk", "c", "cf", "ci", "cl", "cb", "de", "dd", "ea", "fe", "ge", "gd", "gm", "hd", "hon", "ip", "ir", "mco", "ni", "pg", "ph", "psa", "rsp", "sw", "d", "o", "a", "it"])
# words that stay words before another ("sell all state farm" is no Allstate)
_NOT_A_PIECE = frozenset(["all", "my", "the", "of", "and", "or", "to", "for", "at", "in", "on", "a", "an", "buy", "sell", "by"])
_SHORTHAND_TICKERS = frozenset({"lmt", "mkt", "stp"})
# Brokerages that are also listed companies: "buy 10 AAPL on robinhood" names a broker we do not have.
BROKERAGES = frozenset({"HOOD", "SCHW", "IBKR", "SOFI"})
_BROKER_PREPOSITION = re.compile(r"\b(?:through|thru|via|using|on|at|with)\s+(?:the\s+|my\s+)?$", re.I)
# Upper-case words in ordinary messages that are not meant as tickers.
_COUNT_BEFORE = re.compile(r"\b\d[\d,.]*\s*(?:shares?\s+(?:of\s+)?)?$", re.I)
_TICKET_AFTER = re.compile(r"\s*(?:with\b|w/|at\b|@|lmt\b|limit\b|mkt\b|market\b|via\b|and\s+\d|\$)", re.I)
# "trailing stop 2 dollars on sofi": a stop is put on a stock, so the brokerage named after it is the stock
_STOP_BEFORE = re.compile(r"\b(?:stop|stp|trail\w*|trl)\b[^,.;:!?]*$", re.I)
_NOT_TICKERS = frozenset(["AI", "IT", "ON", "NOW", "ALL", "ARE", "SO", "O", "AM", "US", "I", "A", "OK", "ETF", "ETFS", "GTC", "MOC", "MOO", "OPG", "CLS", "MKT", "BTO", "STC", "STO", "BTC", "ASAP", "USD", "NYSE", "EST", "PST", "AM", "PM", "CXL", "DAY", "IOC", "FOK", "TS", "VB", "ID", "PNL", "PL", "TIF", "AH", "LOL", "BTW", "FYI", "IRA", "US", "USA", "CEO", "EPS", "ATH"])


@dataclass(frozen=True)
class Company:
    symbol: str
    name: str


@dataclass(frozen=True)
class Mention:
    """A company found in a message: where it stands, what was typed, and whether it was a typo."""

    company: Company
    start: int
    end: int
    typed: str
    fuzzy: bool = False


def key(text: str) -> str:
    """The form names are compared in: lowercase, '&' as 'and', no apostrophes or hyphens."""
    text = text.lower().replace("’", "'").replace("&", " and ").replace("-", " ").replace("'", "")
    text = " ".join(re.sub(r"[^a-z0-9.+/ ]", " ", text).split())
    return re.sub(r"\b([a-z]) (?=[a-z]\b)", r"\1", text)  # "j p morgan" -> "jp morgan"


class CompanyDirectory:
    """Tickers, names and aliases of every security the brokers know."""

    def __init__(self, companies: list[tuple[Company, list[str]]]):
        self.by_symbol = {c.symbol: c for c, _ in companies}
        self.names: dict[str, str] = {}
        for company, aliases in companies:  # aliases first: "google" is GOOGL's, whatever GOOG's name strips to
            for alias in aliases:
                self.names.setdefault(key(alias), company.symbol)
        aliased = set(self.names)
        shared: dict[str, list[str]] = {}
        for company, _ in companies:
            full = key(company.name)
            self.names.setdefault(full, company.symbol)
            bare = " ".join(key(_LEGAL.sub(" ", company.name.lower().replace(",", " "))).split())
            if bare and bare not in _WORD_TICKERS and bare not in _BARE_TOO_COMMON:
                self.names.setdefault(bare, company.symbol)
                shared.setdefault(bare, []).append(company.symbol)
        self.share_classes = {bare: tuple(symbols) for bare, symbols in shared.items()
                              if len(symbols) > 1 and bare not in aliased}
        """A bare name several share classes have and no alias gives to one ('fox': FOX and FOXA; 'alphabet' is
        GOOGL's alias): the name alone does not say which class."""
        self._fuzzy_choices = {n: s for n, s in self.names.items() if len(n.replace(" ", "")) >= 4}
        # one-word names said in two or three pieces ("air bnb", "door dash", "cloud flare", "so fi"): a dictation habit
        self._pieces = {n: s for n, s in self.names.items() if " " not in n and len(n) >= 4 and not n.isdigit()}

    @classmethod
    def from_csv(cls, path: Path = SECURITIES_FILE) -> CompanyDirectory:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return cls([
            (Company(row["symbol"].strip().upper(), row["name"].strip()),
             [a.strip() for a in (row.get("aliases") or "").split("|") if a.strip()])
            for row in rows
        ])

    def classes_of(self, mention: Mention, shouting: bool) -> tuple[Company, ...]:
        """The share classes a mention leaves open: typed as the name ('Fox', 'fox'), not as one class's ticker
        ('FOX', '$FOX')."""
        if mention.typed.startswith("$") or (mention.typed.isupper() and not shouting):
            return ()
        return tuple(self.by_symbol[s] for s in self.share_classes.get(key(mention.typed), ()))

    def is_name(self, text: str) -> bool:
        return self.symbol_of(text) is not None

    def symbol_of(self, text: str) -> str | None:
        """The ticker `text` names exactly (a ticker, a name or an alias), else None."""
        ticker = text.upper().lstrip("$")
        return ticker if ticker in self.by_symbol else self.names.get(key(text))

    # ---------------------------------------------------------------------------------- scanning

    def scan(self, text: str, shouting: bool) -> list[Mention]:
        """Every company named exactly in `text`, longest phrase first, never overlapping."""
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        found: list[Mention] = []
        used: set[int] = set()
        for size in range(min(MAX_WORDS, len(tokens)), 0, -1):
            for i in range(len(tokens) - size + 1):
                if any(j in used for j in range(i, i + size)):
                    continue
                span = tokens[i : i + size]
                start, end = span[0][0], span[-1][1]
                typed = text[start:end]
                symbol = self._match(typed, size, shouting, text, start, end)
                if symbol in BROKERAGES and _BROKER_PREPOSITION.search(text[:start]) and not _STOP_BEFORE.search(text[:start]):
                    continue  # a brokerage named as where to trade, not what to trade
                if symbol:
                    found.append(Mention(self.by_symbol[symbol], start, end, typed))
                    used.update(range(i, i + size))
        return sorted(found, key=lambda m: m.start)

    def _match(self, typed: str, size: int, shouting: bool, text: str, start: int, end: int) -> str | None:
        if size == 1:
            ticker = self._ticker(typed, shouting, text, start, end)
            if ticker:
                return ticker
        candidates = [key(typed), re.sub(r"\s*'?s$", "", key(typed.replace("’", "'").removesuffix("'s")))]
        for candidate in dict.fromkeys(c for c in candidates if c):
            symbol = self.names.get(candidate)
            if symbol is None:
                continue
            if candidate in _EVERYDAY and not _stock_expected(text, start, end):
                continue
            if size == 1 and candidate.upper() == symbol and candidate in _WORD_TICKERS and not typed.isupper():
                continue
            return symbol
        if 2 <= size <= 3 and key(typed).split()[0] not in _NOT_A_PIECE:
            joined = key(typed).replace(" ", "")
            symbol = self._pieces.get(joined)
            if symbol is not None and (joined not in _EVERYDAY or _stock_expected(text, start, end)):
                return symbol
        return None

    def _ticker(self, typed: str, shouting: bool, text: str, start: int, end: int) -> str | None:
        dollar = typed.startswith("$")
        bare = typed.lstrip("$")
        candidate = bare.upper().replace("-", ".").replace("/", ".")
        if candidate not in self.by_symbol:
            return None
        if dollar:
            return candidate
        if bare == "LMT" and re.match(r"\s*\$?\d", text[end:]):
            return None  # "LMT 45": a limit price
        if shouting and bare.lower() in _WORD_TICKERS:
            bare = bare.lower()
        if bare.isupper() and not shouting:
            if bare in _NOT_TICKERS and _COUNT_BEFORE.search(text[:start]) and _TICKET_AFTER.match(text[end:]):
                return candidate  # "Buy 10 NOW w/ limit 650": ServiceNow on an order ticket, not "now"
            if bare in _NOT_TICKERS or (len(bare) == 1 and not _stock_expected(text, start, end)):
                return None
            return candidate
        if bare.lower() in _SHORTHAND_TICKERS:
            return None  # "lmt 45" is a limit, not Lockheed Martin (LMT in capitals still is)
        if bare.lower() in _WORD_TICKERS or len(bare) < 3:
            # "buy 10 cost"? "what would it cost": an everyday word is a ticker only right after a count or a verb
            return candidate if _WORD_TICKER_BEFORE.search(text[:start]) and bare.lower() not in (
                "a", "i", "it", "on", "all", "are", "so", "now") else None
        if shouting and bare in _NOT_TICKERS:
            return None
        return candidate

    # ---------------------------------------------------------------------------------- typos

    def scan_typos(self, text: str, found: list[Mention], is_word) -> list[Mention]:
        """Misspelt names standing where a stock is expected beside the ones found exactly ("sell all my honeywel and
        3m", "trailing stop 8% on my qualcom"): one word of five letters or more, not an English word (`is_word`), that
        clearly means one company."""
        taken = [(m.start, m.end) for m in found]
        extra = []
        for m in _TOKEN.finditer(text):
            word = m.group()
            if (len(word) < 5 or not word.isalpha() or word.isupper() or is_word(word.lower())
                    or any(a < m.end() and m.start() < b for a, b in taken) or not _stock_expected(text, m.start(), m.end())
                    or self.symbol_of(word) is not None):
                continue  # an exact name the scan passed over ("on robinhood": a brokerage, not HOOD) stays passed over
            best, _close = self.closest(word)
            if best is not None:
                extra.append(Mention(best, m.start(), m.end(), word, fuzzy=True))
        return extra

    def closest(self, typed: str) -> tuple[Company | None, list[Company]]:
        """The company a misspelt name clearly means, else (None, the close candidates to ask about)."""
        query = key(typed)
        if len(query.replace(" ", "")) < 4:
            return None, []
        hits = process.extract(query, self._fuzzy_choices.keys(), scorer=fuzz.ratio, limit=8, score_cutoff=70)
        scored: dict[str, float] = {}
        for choice, score, _ in hits:
            symbol = self._fuzzy_choices[choice]
            distance = OSA.distance(query, choice)
            allowed = 1 if len(query) <= 5 else 2 if len(query) <= 9 else 3
            if distance <= allowed:
                scored[symbol] = max(scored.get(symbol, 0), score - 4 * distance)
        if not scored:
            return None, []
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])
        best = self.by_symbol[ranked[0][0]]
        if len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= 8:
            return best, []
        return None, [self.by_symbol[s] for s, _ in ranked[:3]]


# What may stand right before a stock in an order or question, and right after it.
_BEFORE_STOCK = re.compile(
    r"(?:\d|\d+k|\$|\b(?:shares?|of|in|into|some|buy|sell|purchase|grab|get|dump|unload|quote|price|is|on|about|more|all|my"
    r"|half|the|what's|whats|eyeing|watching|trim|add|long|short|bto|stc|into|for|and|&|plus|with|limit|lmt|,))\s*$", re.I)
_AFTER_STOCK = re.compile(r"^\s*(?:shares?|stock|position|order|\?|$|at\b|on\b|@|limit|lmt|for\b|trading|\d)", re.I)


_WORD_TICKER_BEFORE = re.compile(r"(?:\d\s*|\$|\beach\s+(?:of\s+|in\s+|into\s+)?|\bshares?\s+of\s+|\b(?:buy|sell|quote|ticker|symbol)\s+"
                                 r"|\b(?:stop|stp|trl|trail\w*)(?:[\s-]+(?:limit|lmt|loss|stop))?\s+(?:\$?\d[\d.]*\s*%?\s+)?(?:on|for)\s+"
                                 r"(?:my\s+|the\s+|our\s+)?)$", re.I)


def _stock_expected(text: str, start: int, end: int) -> bool:
    """True where the grammar puts a stock: after a count, 'shares of', a verb; before 'shares' or a price."""
    return bool(_BEFORE_STOCK.search(text[:start]) or _AFTER_STOCK.match(text[end:]))


@lru_cache(maxsize=1)
def directory() -> CompanyDirectory:
    return CompanyDirectory.from_csv()
