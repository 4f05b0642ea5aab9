"""The symbol directory: tickers, names and aliases resolve exactly; anything else is UnknownSymbol with suggestions."""

from __future__ import annotations

import pytest

from brokers.errors import UnknownSymbol
from brokers.symbols import SymbolDirectory, get_directory


@pytest.mark.parametrize(("text", "symbol"), [
    ("Apple", "AAPL"), ("apple inc", "AAPL"), ("Apple Inc.", "AAPL"), ("AAPL", "AAPL"), ("aapl", "AAPL"),
    ("$AAPL", "AAPL"), ("  aapl  ", "AAPL"), ("Alphabet", "GOOGL"), ("Google", "GOOGL"), ("google", "GOOGL"),
    ("Berkshire", "BRK.B"), ("Berkshire Hathaway", "BRK.B"), ("BRK-B", "BRK.B"), ("BRKB", "BRK.B"), ("brk.b", "BRK.B"),
    ("BRK/B", "BRK.B"), ("BRK.A", "BRK.A"), ("Microsoft", "MSFT"), ("Coca-Cola", "KO"), ("coke", "KO"), ("Ford", "F"),
])
def test_names_tickers_and_aliases_resolve(text, symbol):
    assert get_directory().resolve(text).symbol == symbol


def test_unknown_names_get_suggestions_but_never_a_guess():
    with pytest.raises(UnknownSymbol) as err:
        get_directory().resolve("Appel")
    assert err.value.suggestions[0] == "AAPL (Apple Inc.)" and len(err.value.suggestions) <= 3
    assert str(err.value) == f"Unknown symbol or company 'Appel'. Did you mean: {', '.join(err.value.suggestions)}?"
    with pytest.raises(UnknownSymbol) as nothing_close:
        get_directory().resolve("QQQQQZZZ")
    assert nothing_close.value.suggestions == [] and "Did you mean" not in str(nothing_close.value)


@pytest.mark.parametrize("lookalike", ["\u0391APL", "\u0410APL", "ＡＡＰＬ", "AAPL\u200b", "Аpple"])
def test_unicode_lookalikes_never_resolve(lookalike):
    """A Greek or Cyrillic A, full-width letters, a zero-width space: never the real ticker."""
    with pytest.raises(UnknownSymbol):
        get_directory().resolve(lookalike)


@pytest.mark.parametrize("text", ["A" * 5000, "apple " * 1000, "", "   "], ids=["5000-letters", "6000-words", "empty", "blank"])
def test_huge_or_empty_input_errors_with_a_short_message(text):
    with pytest.raises(UnknownSymbol) as err:
        get_directory().resolve(text)
    assert len(str(err.value)) < 120


def test_the_bundled_table():
    directory = get_directory()
    assert len(directory.securities) >= 300 and directory is get_directory()
    assert SymbolDirectory.from_csv().securities.keys() == directory.securities.keys()
    for symbol, security in directory.securities.items():
        assert symbol == security.symbol and security.reference_price > 0 and security.name and security.sector
        assert directory.resolve(symbol) is security  # every ticker resolves to itself
    assert "AAPL" in directory and "ZZZZZ" not in directory
    assert SymbolDirectory.looks_like_ticker("BRK.B") and not SymbolDirectory.looks_like_ticker("apple")
