"""Structured requests made plain: `key: value` fields, `--flags`, CSV rows, pipes and numbered or bulleted lists.

Developers and power users type orders the way they would write a config or a command line:

    ticker: ABNB, qty: 10, limit: 110          buy --qty 30 --limit 24 SOFI
    action=sell; ticker=T; qty=25; tif=close   SELL,MCD,8,LMT,320,GTC
    buy 20 XOM | bracket | tp: 130 | sl: 100   1. buy 10 AAPL  2. buy 5 MSFT on velocity

`plain` rewrites each such record as the sentence a person would say ("buy 10 ABNB limit 110") and joins several
records with "; " so the clause reader sees one order per part. Text that is not structured comes back unchanged.
A field this module does not know is left out of the sentence, never guessed at.
"""

from __future__ import annotations

import re

# Field names as typed -> the field they set.
_KEYS = {
    "symbol": "symbol", "ticker": "symbol", "stock": "symbol", "sym": "symbol", "name": "symbol", "security": "symbol",
    "qty": "qty", "quantity": "qty", "shares": "qty", "size": "qty", "count": "qty", "units": "qty",
    "side": "side", "action": "side", "direction": "side",
    "broker": "broker", "venue": "broker", "route": "broker", "account": "broker", "acct": "broker",
    "type": "type", "order_type": "type", "ordertype": "type", "ord_type": "type",
    "limit": "limit", "lmt": "limit", "limit_price": "limit", "px": "limit", "price": "limit", "lmt_px": "limit",
    "stop": "stop", "stop_price": "stop", "stp": "stop",
    "sl": "stop_loss", "stop_loss": "stop_loss", "stoploss": "stop_loss",
    "tp": "take_profit", "take_profit": "take_profit", "takeprofit": "take_profit", "target": "take_profit",
    "trail": "trail", "trail_pct": "trail", "pct": "trail", "trail_percent": "trail", "trailing": "trail",
    "trail_amt": "trail_dollars", "trail_price": "trail_dollars", "trail_dollars": "trail_dollars",
    "tif": "tif", "time_in_force": "tif", "duration": "tif", "timing": "tif", "when": "tif",
    "amount": "amount", "notional": "amount", "dollars": "amount", "usd": "amount", "value": "amount",
}
_TIF_WORDS = {"gtc": "good till cancelled", "day": "today", "opg": "at the open", "open": "at the open",
              "moo": "at the open", "cls": "at the close", "close": "at the close", "moc": "at the close",
              "loc": "at the close"}
# Keys that make a line a record even alone ("amend ford order: px=6"); "price:" or "name:" alone may be prose.
_STRONG = frozenset(["ticker", "symbol", "sym", "qty", "quantity", "tif", "time_in_force", "sl", "tp", "px", "lmt",
                     "limit_price", "stop_price", "take_profit", "stop_loss", "trail_pct", "trail_percent", "order_type",
                     "ordertype", "broker", "venue", "side", "notional", "pct"])
_KEY = "|".join(sorted(map(re.escape, _KEYS), key=len, reverse=True))
_PAIR = re.compile(rf"(?<![\w-])(?P<k>{_KEY})\s*(?:[:=]|->)\s*(?P<v>[^,;|\n]+?)\s*(?=[,;|\n]|$)", re.I)
_FLAG = re.compile(rf"(?<!\S)--(?P<k>{_KEY})(?:[\s=]+(?P<v>(?!--)[^\s,;|]+))?", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_CSV_ROW = re.compile(r"^[^\s,]+(?:,[^\s,]*){2,}$")


def plain(text: str) -> str:
    """`text` with its structured records written as plain requests, else `text` as it was."""
    return "; ".join(records(text))


def records(text: str) -> list[str]:
    """The requests of `text`, one a line (a list, CSV rows, key: value lines), each written plainly; or [text]."""
    if not text or not (_PAIR.search(text) or _FLAG.search(text) or "\n" in text.strip() or _CSV_ROW.match(text.strip())
                        or " | " in text):
        return [text]
    lines = [_BULLET.sub("", line).strip() for line in text.splitlines()]
    lines = _csv_with_header([line for line in lines if line])
    # "buy --qty 3 --broker vb NFLX; buy --qty 7 --broker vb DIS": commands one after another on a line
    lines = [part for line in lines for part in (
        re.split(r"\s*;\s*(?=(?:buy|sell|cancel)\b)", line, flags=re.I) if _FLAG.search(line) or _PAIR.search(line) else [line])]
    return [r for r in (_record(line) for line in lines) if r] or [text]


def _csv_with_header(lines: list[str]) -> list[str]:
    """'symbol,qty,side,broker' then 'JPM,10,buy,ts': each row as key: value pairs."""
    if len(lines) < 2 or "," not in lines[0]:
        return lines
    header = [h.strip().lower() for h in lines[0].split(",")]
    if not all(h in _KEYS for h in header):
        return lines
    rows = []
    for line in lines[1:]:
        values = [v.strip() for v in line.split(",")]
        rows.append(", ".join(f"{k}: {v}" for k, v in zip(header, values, strict=False) if v))
    return rows


_COST_WORD = re.compile(r"\s*(?:fees?|costs?|commissions?|comms?|est(?:imate)?|how\s+much)\s*\??\s*", re.I)


def _record(line: str) -> str:
    """One line: its size, side and stock said where they stood, its prices, timing and broker said after them."""
    if _CSV_ROW.match(line) and not _PAIR.search(line):
        return line.replace(",", " ")  # "SELL,MCD,8,LMT,320,GTC"
    pairs = [m for pattern in (_PAIR, _FLAG) for m in pattern.finditer(line)]
    if not (len(pairs) >= 2 or any(m["k"].lower() in _STRONG for m in pairs)):
        return line  # "my price: around 200" is a sentence, not a record
    heads: dict[str, str] = {}
    tail: list[str] = []

    def said(m: re.Match[str]) -> str:
        field, value = _KEYS[m["k"].lower()], (m["v"] or "").strip()
        head, details = _words(field, value)
        tail.extend(details)
        if head:
            heads[field] = head
        return " \x00 " if head else " "

    for pattern in (_PAIR, _FLAG):
        line = pattern.sub(said, line)
    line = re.sub(r"\s*(?:[|;,]|->)\s*", " ", line)
    if _COST_WORD.fullmatch(re.sub(r"\x00", " ", line)):  # "fee? --broker ts --qty 100 --sym KO": a cost question
        order = " ".join(heads[f] for f in ("qty", "amount", "symbol") if f in heads)
        return " ".join(filter(None, (f"how much would it cost to {heads.get('side', 'buy')} {order}", *tail))) + "?"
    if not re.sub(r"[\s\x00]", "", line):  # only fields: say them in the order a person would
        line = " ".join(heads[f] for f in ("side", "qty", "amount", "symbol") if f in heads)
    else:  # words and fields: each field where it stood
        values = iter(heads[f] for f in heads)
        line = re.sub("\x00", lambda _m: next(values, ""), line)
    line = re.sub(r"\s+", " ", line).strip()
    return " ".join(filter(None, (line, *tail)))


def _words(field: str, value: str) -> tuple[str, list[str]]:
    """What one field says: words for where it stood, and words said after the order."""
    low = value.lower()
    if field == "side":
        return ({"b": "buy", "long": "buy", "bto": "buy", "s": "sell", "stc": "sell", "exit": "sell"}.get(low, low), [])
    if field == "qty":
        if low in ("same", "same qty", "same quantity", "unchanged"):
            return "the same quantity", []
        if low in ("all", "everything", "max", "entire"):
            return "all of my", []
        return (f"{value} shares" if re.fullmatch(r"[\d,.]+", value) else value), []
    if field == "amount":
        return f"${value.lstrip('$')} of", []
    if field == "symbol":
        return value, []
    if field == "type":
        kind = low.replace("-", "_").replace(" ", "_")
        return "", [{"lmt": "limit", "mkt": "market", "stp": "stop"}.get(kind, kind.replace("_", " "))]
    if field == "tif":
        return "", [_TIF_WORDS.get(low, value)]
    if field == "broker":
        other = re.fullmatch(r"(?:the\s+)?other(?:\s+(?:one|broker))?", value, re.I)
        return "", ["on the other broker" if other else f"on {value}"]
    name = {"limit": "limit", "stop": "stop", "take_profit": "take profit", "stop_loss": "stop loss"}.get(field)
    if name:
        return "", [f"{name} {value}"]
    if field == "trail":
        return "", [f"trail {value.rstrip('%')}%"]
    if field == "trail_dollars":
        return "", [f"trail ${value.lstrip('$')}"]
    return "", []
