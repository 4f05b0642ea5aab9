"""Symbol directory: company names and common aliases to tickers, with suggestions for a miss.

Resolution is exact (ticker, ticker spelling variants, name, alias); fuzzy matching (rapidfuzz)
only suggests, it never picks a ticker on its own: a trade must not go to a guessed company.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from brokers.errors import UnknownSymbol

SECURITIES_FILE = Path(__file__).parent / "data" / "securities.csv"
_NAME_SUFFIXES = re.compile(
    r"\b(inc|incorporated|corp|corporation|co|company|ltd|plc|holdings?|group|the|class [abc]|n\.?v|s\.?a|etf|trust|fund)\b\.?"
)
_TICKER = re.compile(r"^[A-Z]{1,5}([.][A-Z])?$")


@dataclass(frozen=True)
class Security:
    """One row of the bundled reference table."""

    symbol: str
    name: str
    kind: str
    sector: str
    reference_price: Decimal
    aliases: tuple[str, ...]


def _normalize_name(text: str) -> str:
    text = text.lower().replace("&", " and ").replace("-", " ").replace("'", "").replace(",", " ")
    text = _NAME_SUFFIXES.sub(" ", text)
    return " ".join(re.sub(r"[^a-z0-9. ]", " ", text).split())


class SymbolDirectory:
    """Looks up securities by ticker, company name or alias."""

    def __init__(self, securities: list[Security]):
        self.securities = {s.symbol: s for s in securities}
        self._by_name: dict[str, str] = {}
        # Exact names and aliases win over their normalized forms: "google" is GOOGL's alias, even
        # though GOOG's "google class c" normalizes to "google" once the share class is dropped.
        for keys in (lambda s: (s.name.lower(), *s.aliases), lambda s: (_normalize_name(s.name), *map(_normalize_name, s.aliases))):
            for sec in securities:
                for key in keys(sec):
                    if key:
                        self._by_name.setdefault(key, sec.symbol)
        self._choices = {**{s: s for s in self.securities}, **{n: sym for n, sym in self._by_name.items()}}

    @classmethod
    def from_csv(cls, path: Path = SECURITIES_FILE) -> SymbolDirectory:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [
                Security(
                    symbol=row["symbol"].strip().upper(),
                    name=row["name"].strip(),
                    kind=row["kind"].strip(),
                    sector=row["sector"].strip(),
                    reference_price=Decimal(row["reference_price"]),
                    aliases=tuple(a.strip().lower() for a in (row.get("aliases") or "").split("|") if a.strip()),
                )
                for row in csv.DictReader(handle)
            ]
        return cls(rows)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.securities

    def get(self, symbol: str) -> Security:
        return self.securities[symbol]

    def resolve(self, text: str) -> Security:
        """The security `text` names exactly, or UnknownSymbol with close matches."""
        raw = str(text).strip()
        if not raw or len(raw) > 80 or not raw.isascii():
            # Non-ASCII look-alikes ("ΑAPL" with a Greek alpha) must never resolve to the real ticker.
            raise UnknownSymbol(raw, self.suggest(unicodedata.normalize("NFKD", raw)) if raw and len(raw) <= 80 else [])
        candidate = raw.removeprefix("$").strip().upper().replace("-", ".").replace("/", ".")
        if candidate in self.securities:
            return self.securities[candidate]
        if len(candidate) >= 4 and candidate.replace(".", "")[:-1] + "." + candidate[-1] in self.securities:
            return self.securities[candidate.replace(".", "")[:-1] + "." + candidate[-1]]  # BRKB -> BRK.B
        for key in (raw.lower(), _normalize_name(raw)):
            if key in self._by_name:
                return self.securities[self._by_name[key]]
        raise UnknownSymbol(raw, self.suggest(raw))

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """Up to `limit` 'TICKER (Name)' strings that look like `text`."""
        query = _normalize_name(text) or text.lower()
        if not query:
            return []
        matches = process.extract(query, self._choices.keys(), scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=60)
        seen: list[str] = []
        for choice, _score, _ in matches:
            symbol = self._choices[choice]
            label = f"{symbol} ({self.securities[symbol].name})"
            if label not in seen:
                seen.append(label)
        return seen[:limit]

    @staticmethod
    def looks_like_ticker(text: str) -> bool:
        return bool(_TICKER.match(text))


@lru_cache(maxsize=1)
def get_directory() -> SymbolDirectory:
    return SymbolDirectory.from_csv()
