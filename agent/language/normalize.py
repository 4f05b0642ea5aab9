"""A message made readable before any slot is read: typos in ordinary words, trader shorthand, dictation.

- Ordinary words with a typo ("shars", "purchace", "velosity", "cancle") become the word they
  clearly are: one edit away for short words, two for long ones, and only toward the words the
  parser reads (a company name is never "corrected" into a keyword).
- Trader shorthand becomes plain words: BTO / STC, cxl, "bid 30 for 200 X" (a limit buy),
  "offer 50 X at 120" (a limit sell), "2k shares".
- Dictation: "A M D" spoken letter by letter becomes AMD; "by fifty shares" at the start is "buy";
  decimal commas ("12,50") become points.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from agent.language.companies import CompanyDirectory
from agent.language.english import is_english
from agent.language.numbers import words_to_numbers
from agent.language.structured import plain as plain_records
from agent.language.vocabulary import NUM

# The words the parser reads: a typo of one of these is repaired. Short words (<= 3 letters) are never touched.
KEY_WORDS = tuple(["shares", "share", "stock", "stocks", "purchase", "please", "sell", "selling", "buying", "cancel", "cancelled", "order", "orders", "limit", "market", "price", "quantity", "position", "portfolio", "balance", "tomorrow", "opening", "closing", "close", "broker", "brokers", "brokerage", "cheapest", "fastest", "quickest", "cheaper", "faster", "quicker", "lowest", "commission", "commissions", "fees", "account", "holdings", "dollar", "dollars", "thousand", "hundred", "million", "other", "velocity", "tradesphere", "sphere", "quote", "trading", "everything", "instead", "actually", "another", "remaining", "dump", "unload", "until", "cancelled", "working", "today", "morning", "current", "currently", "trade", "would", "could", "should", "thanks", "thank", "what's", "worth", "invest", "them", "those", "these", "half", "quarter", "third", "trailing", "trail", "stop", "stops", "profit", "bracket", "modify", "replace", "more", "many", "change"])
# Everyday words one letter away from a key word ("bell" is not "sell"): never repaired.
_ENGLISH = frozenset(["bump", "jump", "pump", "lump", "bell", "well", "tell", "shell", "yell", "fell", "spell", "hold", "sold", "told", "gold", "bold", "shore", "sure", "store", "score", "prize", "pride", "grade", "older", "elder", "camel", "panel", "lime", "stick", "stuck", "mock", "dock", "rock", "lock", "block", "sock", "marker", "basket", "losing", "posing", "clothes", "those", "whose", "chose", "dose", "rose", "hose", "nose", "pose", "lose", "toy", "what", "that", "when", "then", "than", "them", "they", "this", "these", "being", "bring", "feel", "feet", "free", "tree", "flee", "been", "seen", "need", "deed", "weed", "seed", "quite", "quota", "vote", "note", "wrote", "broken", "token", "spoken", "insect", "shared", "share", "sales", "sale", "cells", "sells", "buys", "brother", "other", "mother", "order", "more", "most", "post", "cost", "lost", "host", "wish", "with", "sort", "sore", "some", "same", "game", "name", "came", "fame", "think", "thought", "though", "through", "thing", "things", "thin", "than", "thank", "thanks", "tank", "sink", "link", "pink", "wink", "rink", "drink", "trace", "track", "stack", "steak", "stake", "shake", "share", "shape", "slice", "price", "pride", "prime", "crime", "close", "chose", "clone", "stone", "store", "stole", "tone", "tune", "dune", "done", "bone", "week", "weak", "peek", "seek", "sell", "sale", "tell", "till", "still", "will", "fill", "bill", "kill", "mill", "pill", "hill", "call", "ball", "fall", "hall", "mall", "tall", "wall", "buy", "guy", "bay", "day", "pay", "say", "way", "hay", "lay", "may", "ray", "there", "their", "where", "here", "were", "then", "when", "whom", "hole", "home", "hose", "time", "tile", "tide", "side", "wide", "wise", "rise", "rice", "nice", "mice", "dice", "once", "ones", "tone", "done", "gone", "none", "more", "mere", "here", "hear", "near", "dear", "year", "fear", "bear", "wear", "tear", "pear", "clear", "cheer", "sheer", "steer", "sheet", "sheep", "shop", "ship", "chip", "chop", "stop", "step", "stem", "stay", "star", "start", "smart", "sport", "short", "shirt", "skirt"])
_SHORTHAND = [
    # "por favor", "bitte", "gracias", "merci": please and thanks in the languages people mix into English
    (re.compile(r"\b(?:por\s+favou?r|per\s+favore|s'il\s+(?:vous|te)\s+pla[iî]t|svp|bitte(?:\s+sch[öo]n)?|prosz[ęe]|pozhalu[iy]?sta"
                r"|пожалуйста|onegai(?:shimasu)?|lütfen|lutfen)\b", re.I), "please"),
    (re.compile(r"\b(?:gracias|muchas\s+gracias|obrigad[oa]|merci(?:\s+beaucoup)?|danke(?:\s+sch[öo]n)?|grazie(?:\s+mille)?"
                r"|dzi[ęe]kuj[ęe]|dzi[ęe]ki|spasibo|спасибо|shukran|xie\s*xie|xièxie|arigato|cảm\s+ơn|cam\s+on|teşekkürler)\b", re.I), "thanks"),
    # "on my break, quick one - 12 abbott labs": a quick message, not the quick broker ("use the quick one" still is)
    (re.compile(r"(?<!\bthe\s)(?<!\bthat\s)(?<!\bthis\s)\b(?:a\s+)?quick\s+(?:one|question|q|thing)\s*[-—–:,.!]+", re.I), " "),
    # "sell Intel всё", "Pinterest 全部 sell", "Qualcomm 20주": all and shares in the speaker's own language
    (re.compile(r"(?:\bвсё\b|\bвсе\b|全部|\bwszystko\b|\btất\s+cả\b|전부|모두|全て|ぜんぶ)", re.I), " all "),
    (re.compile(r"(?<=\d)\s*(?:주|株|股)"), " shares"),
    # "First tell me what the fee would be, then go ahead with it: 40 shares of Cameco": the approval card shows the fee
    (re.compile(r"^\s*(?:first\s+)?(?:tell|show)\s+me\s+(?:what\s+)?the\s+(?:fees?|costs?|commissions?)\s+(?:would\s+be|will\s+be|is)?\s*,?\s*"
                r"(?:and\s+)?then\s+(?:go\s+ahead|place\s+it|do\s+it|proceed)(?:\s+with\s+it)?\s*[:,-]?\s*(?=\d)", re.I), "buy "),
    # "Q3 allocation: $5,000.00 to VTI and $2,500.00 to VXUS": money put into stocks
    (re.compile(r"^(?:[\w\s-]{0,20}?)\b(?:allocation|allocate|allot)\b\s*:?", re.I), "buy"),
    (re.compile(r"(?<=\d)\s+to\s+(?=[A-Z]{2,5}\b)"), " of "),
    # the trade verbs and words of Spanish and Portuguese mixed into English ("compra 5 micro soft", "vende metade da
    # minha sofi", "vende todo lo de target"): the English words
    (re.compile(r"\b(?:compra|compre|comprar|compro|comprame|cómprame)\b", re.I), "buy"),
    (re.compile(r"\b(?:vende|venda|vender|vendo|véndeme|vendeme)\b", re.I), "sell"),
    (re.compile(r"\b(?:(?:a\s+|la\s+)?metade|la\s+mitad|mitad)(?:\s+(?:da|de|do|dos|das|del))?\b", re.I), "half of"),
    (re.compile(r"\b(?:todo\s+lo\s+(?:de|del)|todas?\s+(?:as|las|mis|minhas)|todos\s+(?:os|los|mis|meus)|tudo\s+(?:de|da|do))\b", re.I),
     "all of"),
    (re.compile(r"\b(?:minha|minhas|meu|meus|mis)\b(?!-)", re.I), "my"),
    # "Hello there", "Warm regards, Betty", "Regards, Clarence": a greeting or a letter's signature, never a broker
    (re.compile(r"\b(?:hello|hi|hey|good\s+(?:morning|afternoon|evening))\s+there\b", re.I), "hello"),
    (re.compile(r"[,.!]?\s*\b(?i:(?:warm(?:est)?|kind(?:est)?|best|many)\s+regards|regards|sincerely(?:\s+yours)?|yours\s+(?:truly|sincerely|faithfully)"
                r"|best\s+wishes|cheers|many\s+thanks|thanks\s+(?:so\s+much|again|in\s+advance))\s*[,.!-]*\s*(?:[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)?\s*[.!]*\s*$"), "."),
    (re.compile(r"\best\.(?=\s+[a-z$\d])|\best(?=\s+all[\s-]in\b)", re.I), "estimate"), (re.compile(r"\bincl\.?(?=\s)", re.I), "including"),
    # "My granddaughter says I should make that one 30 shares instead": changing an order already placed is what the
    # speaker asks (an advice to buy or sell something new stays a story)
    (re.compile(r"(?:^|(?<=[.!?]\s))[^.!?]*?\b(?:says|said|thinks|suggests|suggested|reckons|told\s+me|tells\s+me)\s+(?:that\s+)?"
                r"(?:i|we)\s+(?:should|ought\s+to)\s+(?=(?:make|change|set|raise|lower|bump|move|increase|reduce)\s+(?:that|it|this|the)\b)",
                re.I), ""),
    # "profit target 125", "price target of 20": the take-profit exit of a bracket, never Target Corporation
    (re.compile(r"\b(?:profit|price|upside)\s+target\b|\btarget\s+(?:price|profit)\b(?=\s*(?:at|of|@|=|:|is)?\s*\$?\d)", re.I), "take profit"),
    # "cancel/replace the AAPL bid", "cxl/rpl": changing the order, not cancelling it
    (re.compile(r"\b(?:cancel|cxl)\s*(?:/|-|and|&)\s*(?:replace|rpl|rep)\b", re.I), "replace"),
    # "we're paying for the kitchen reno", "so she can sleep at night": a purpose, not part of the order
    (re.compile(r",?\s+so\s+(?:that\s+)?(?:i|we|she|he|they)\s+can\b[^.?!;,]*", re.I), " "),
    (re.compile(r"\b(?:has|have|needs?|got)\s+to\s+go\b|\bmust\s+go\b|\bgotta\s+go\b", re.I), "sell"),
    # "and by 15 moderna": the spoken or autocorrected 'buy' before a count, inside a message
    (re.compile(r"(?<=\band\s)by(?=\s+\d)|(?<=\bthen\s)by(?=\s+\d)|(?<=,\s)by(?=\s+\d)", re.I), "buy"),
    (re.compile(r"\b(?:of\s+)?ours\b", re.I), "of mine"), (re.compile(r"\bour\b", re.I), "my"),
    # "we're selling 5 of ours regardless": the speaker's own order said in the present
    (re.compile(r"\b(?:we'?re|we\s+are|i'?m|i\s+am)\s+(buying|selling)\b(?=\s+(?:\d|all|half|the|my))", re.I),
     lambda m: m[1][:-3] if m[1].lower() == "selling" else "buy"),
    # "drop the HD GTC": the good-till-cancelled order on Home Depot
    (re.compile(r"\b(the|my)\s+((?:\S+\s+){0,2}?)gtc\b(?!\s+(?:orders?|limit|stop|buy|sell|bid))", re.I), r"\1 \2GTC order"),
    (re.compile(r"\bbto\b", re.I), "buy"),
    (re.compile(r"\bstc\b", re.I), "sell"),
    (re.compile(r"\b(?:cxl|cxld|cncl|canx)\b", re.I), "cancel"),
    (re.compile(r"\bshs\b", re.I), "shares"),
    (re.compile(r"\bpx\b", re.I), "price"),
    (re.compile(r"\bw/", re.I), "with "),
    (re.compile(r"\b(?:ur)\b", re.I), "your"),
    (re.compile(r"\bu\b(?!\.)(?!\s+[A-Za-z]\b)", re.I), "you"),
    (re.compile(r"\bb4\b", re.I), "before"),
    (re.compile(r"\bqty\b", re.I), "quantity"),
    (re.compile(r"\b(?:velo|vel)\b", re.I), "velocity"),
    (re.compile(r"\binstead\s+of\s+(?:buying|selling|getting)\s+(?:a\s+|one\s+)?(?:whole\s+|full\s+)?shares?\b", re.I), " "),
    (re.compile(r"\bactions?\s+of\b", re.I), "shares of"), (re.compile(r"(?<=\d\s)actions?\b", re.I), "shares"),
    (re.compile(r"\bteh\b", re.I), "the"), (re.compile(r"\b(?:thm|thme|tem)\b", re.I), "them"),
    (re.compile(r"\bwud\b", re.I), "would"), (re.compile(r"\bcud\b", re.I), "could"),
    (re.compile(r"\bshud\b", re.I), "should"), (re.compile(r"\bgud\b", re.I), "good"),
    (re.compile(r"\b(?:comms?|commish|commiss?ions?)\b", re.I), "commissions"), (re.compile(r"(?<=\d\s)sh\b\.?", re.I), "shares"),
    (re.compile(r"(?<=\d)sh\b\.?", re.I), " shares"), (re.compile(r"\brn\b", re.I), "right now"),
    (re.compile(r"(?<=\w)\s+n\s+(?=[a-z]{2})"), " and "),
    (re.compile(r"\bts\b(?=\s+(?:vs|or|and|versus)\b)|(?<=\bvs\s)ts\b|(?<=\bversus\s)ts\b", re.I), "tradesphere"),
    (re.compile(r"\bb\s*of\s*a\b", re.I), "BofA"),
    (re.compile(r"\b(?:do|doing)\s+the\s+needful\b", re.I), " "),
    # "5 more of the one I just bought", "half of my earlier purchase": the last order's stock
    (re.compile(r"\b(?:the\s+(?:one|stock|shares|company)|what)\s+(?:that\s+)?(?:i|we)\s+(?:just\s+|recently\s+)?(?:bought|purchased|got)\b"
                r"|\bmy\s+(?:earlier|last|previous|recent|latest)\s+(?:purchase|buy|trade)\b", re.I), "it"),
    # "so I don't lose my shirt": a purpose, not part of the order
    (re.compile(r",?\s+so\s+(?:that\s+)?(?:i|we)\s+(?:don'?t|do\s+not|won'?t|can'?t|cannot|never)\b[^.?!;]*", re.I), " "),
    (re.compile(r"\b52[\s-]*(?:week|wk)s?\b", re.I), "year's"),
    # "change that order to 30 shares, keeping the same limit": what stays is not a change
    (re.compile(r",?\s*(?:and\s+)?(?:keep(?:ing)?|leave|leaving|with)\s+the\s+(?:same\s+)?(?:limit|price|stop)(?:\s+(?:price|as\s+(?:it\s+is|is|before)|unchanged|the\s+same))?\b", re.I), " "),
    # "75 KO limit-on-close, 68.40", "LOC 68.40": a limit order for the closing auction
    (re.compile(r"\b(?:limit[\s-]+on[\s-]+(?:the\s+)?close|loc)\b[\s,:]*(?:at\b|@)?\s*", re.I), " at the close limit "),
    (re.compile(r"\b(?:limit[\s-]+on[\s-]+(?:the\s+)?open|loo)\b[\s,:]*(?:at\b|@)?\s*", re.I), " at the open limit "),
    (re.compile(r"\b(?:and\s+)?leave\s+(?:the\s+)?other\s+(?:account|broker|one)(?:\s+alone)?\b", re.I), ""),
    (re.compile(r"\bon\s+(?:further\s+|second\s+)?(?:reflection|thought|consideration)\b", re.I), ""),
    # a price remark ("Honeywell was about $205") is not an amount to trade, unless it is a condition ("if it is at $50")
    (re.compile(r"\(?\s*(?:~|\b(?:around|about|roughly|near|approx(?:imately)?|approx\.)\s*)\s*\$\s*\d[\d,.]*(?<![,.])(?![\d,.]*\d)\s*\)?"
                r"(?!\s*(?:k\b|m\b|grand|worth|of\b|in\b|into\b|each))(?<!for\s)", re.I), " "),
    (re.compile(r"(?<!\bif\s)(?<!\bwhen\s)(?<!\bonce\s)\b(?:was|were|is|are|trading|trades|sits|sitting)\s+(?:at\s+)?"
                r"(?:about|around|roughly|near|like|still\s+around|still\s+about)\s+\$\s*\d[\d,.]*(?:\s+(?:a|per)\s+share)?", re.I), " "),
    (re.compile(r"\bthe\s+ts\b|\bon\s+ts\b|\bat\s+ts\b|\bvia\s+ts\b", re.I), lambda m: m.group().replace("ts", "tradesphere").replace("TS", "tradesphere")),
]
# "bid 30 for 200 SOFI" -> "buy 200 SOFI limit 30"; "offer 50 PFE at 30" -> "sell 50 PFE limit 30"
_BID = re.compile(rf"\bbid\s+(?:of\s+)?\$?(?P<p>{NUM})\s+(?:for|on)\s+(?P<q>{NUM}k?)\b", re.I)
_BID_AT = re.compile(rf"\bbid\s+(?:for\s+)?(?P<q>{NUM}k?)\s+(?P<what>(?:shares?\s+(?:of\s+)?)?[\w.&'-]+)\s+(?:at|@)\s*\$?(?P<p>{NUM})", re.I)
_OFFER = re.compile(rf"\boffer(?:ing)?\s+(?:my\s+|the\s+|our\s+)?(?P<q>{NUM}k?)\s+(?P<what>(?:shares?\s+(?:of\s+)?)?[\w.&'-]+)\s+(?:at|@)\s*\$?(?P<p>{NUM})", re.I)
_OFFER_PRICE_FIRST = re.compile(rf"\boffer\s+\$?(?P<p>{NUM})\s+(?:for|on)\s+(?P<q>{NUM}k?)\b", re.I)
_STORY_YEAR = re.compile(r"\b(?:in|since|back\s+in|from|during|of|until|till|by)\s+(?:19[5-9]\d|20[0-4]\d)\b"
                         r"(?!\s*(?:shares?|stocks?|dollars?|bucks|worth|of\b))", re.I)
# "my dad drove trucks for 31 years", "two weeks ago": a stretch of time, not a share count
_DURATION = re.compile(r"\b(?:for|over|about|almost|nearly|in|after|like)?\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<dash>-\s*)?(?P<unit>years?|yrs?|months?"
                       r"|weeks?|decades?|days?|hours?|hrs?|minutes?|mins?)\b(?:\s+(?:ago|old|now|later|from\s+now))?"
                       r"(?!\s+(?:worth|of\s+(?:shares|stock)))", re.I)
# "between your two brokers": both brokers, not a share count
_TWO_BROKERS = re.compile(r"\b(?:the|your|my|these|those|our)\s+(?:two|2)\s+(brokers?|brokerages?|accounts?|platforms?)\b", re.I)
_SPELLED_LETTERS = re.compile(r"\b(?:[A-Za-z]\.?\s+){1,4}[A-Za-z]\b\.?")
_HALF_SHARE = re.compile(r"\b(?:an?\s+)?half\s+(?:an?\s+)?shares?\b|\bhalf\s+of\s+(?:a|one)\s+share\b", re.I)
_DECIMAL_COMMA = re.compile(r"(?<![\d,])(\d+),(\d{1,2})(?!\d|,\d)")
_SPOKEN_BUY = re.compile(r"^(?:(?:um+|uh+|okay|ok|so|hey)\b[\s,]*)*(?:by|bye)\b(?=\s+(?:\d|[a-z]+\s+(?:shares?|of)\b|some|a\b|an\b))", re.I)
_SPOKEN_SELL = re.compile(r"^(?:(?:um+|uh+|okay|ok|so|hey)\b[\s,]*)*cell\b", re.I)


def normalize(text: str, directory: CompanyDirectory) -> str:
    """The message with quotes, shorthand, spelled letters and ordinary-word typos made plain."""
    text = plain_records(text or "")  # "ticker: ABNB, qty: 10", "buy --qty 30 SOFI", CSV rows, lists: one plain request a line
    text = re.sub(r"\s+", " ", (text or "").replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')).strip()
    text = _DECIMAL_COMMA.sub(r"\1.\2", text)
    text = _HALF_SHARE.sub("0.5 shares", text)
    text = _SPOKEN_BUY.sub(lambda m: m.group()[: -len(m.group().split()[-1])] + "buy", text)
    text = _SPOKEN_SELL.sub(lambda m: m.group()[:-4] + "sell", text)
    for pattern, plain in _SHORTHAND:
        text = pattern.sub(plain, text)
    text = _without_accents(text)  # "Über", "Nestlé": the names as the securities list spells them
    text = " ".join(_repaired(word, directory) for word in text.split(" "))
    text = words_to_numbers(text)
    text = _STORY_YEAR.sub(" ", text)
    text = _DURATION.sub(_duration_removed, text)
    text = _TWO_BROKERS.sub(r"both \1", text)
    text = re.sub(r"\binstead\s+of\s+\$?\d[\d,.]*(?:\s+shares?)?", " instead", text, flags=re.I)  # "35 shares instead of 20"
    text = _BID.sub(lambda m: f"buy {m['q']} at {m['p']} limit ", text)
    text = _BID_AT.sub(lambda m: f"buy {m['q']} {m['what']} limit {m['p']}", text)
    text = _OFFER.sub(lambda m: f"sell {m['q']} {m['what']} limit {m['p']}", text)
    text = _OFFER_PRICE_FIRST.sub(lambda m: f"sell {m['q']} at {m['p']} limit ", text)
    return _SPELLED_LETTERS.sub(lambda m: _joined_ticker(m.group(), directory), text)


def _without_accents(text: str) -> str:
    """Latin letters without their accents ('Über' -> 'Uber'); other scripts and symbols as they were."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _duration_removed(m: re.Match[str]) -> str:
    """' ' for a stretch of time; the text as it was when the number cannot count the unit: 'lmt 38.75 day' is a limit
    and a day order, not 38.75 days ('30-day' and '1 day' are still stretches of time)."""
    if m["dash"] is None and not m["unit"].lower().endswith("s") and Decimal(m["n"]) != 1:
        return m.group()
    return " "


def _joined_ticker(spoken: str, directory: CompanyDirectory) -> str:
    """'A M D' -> 'AMD' when the letters spell a known ticker; anything else stays as it was."""
    letters = re.findall(r"[A-Za-z]", spoken)
    joined = "".join(letters).upper()
    if len(letters) >= 2 and joined in directory.by_symbol and (spoken.isupper() or len(letters) >= 3):
        return joined + (" " if spoken.endswith(" ") else "")
    return spoken


@lru_cache(maxsize=4096)
def _closest_key_word(word: str) -> str | None:
    allowed = 1 if len(word) <= 7 else 2
    hits = process.extract(word, KEY_WORDS, scorer=OSA.distance, limit=2, score_cutoff=allowed)
    if not hits:
        return None
    if len(hits) > 1 and hits[1][1] == hits[0][1] and hits[1][0] != hits[0][0]:
        one, other = sorted((hits[0][0], hits[1][0]), key=len)
        if other != one + "s":
            return None  # two words equally close: leave it
        return one if hits[0][1] > 0 else None  # "stopp": 'stop' and 'stops' are one word
    return hits[0][0] if hits[0][1] > 0 else None


def _repaired(word: str, directory: CompanyDirectory) -> str:
    core = word.strip(".,!?;:\"()")
    lowered = core.lower()
    if lowered.endswith("s") and (lowered[:-1] in KEY_WORDS or lowered[:-2] in KEY_WORDS):
        return word  # "positions", "closes": a key word's plural or verb form is no typo
    if (len(core) < 4 or not core.isalpha() or lowered in KEY_WORDS or lowered in _ENGLISH or core.isupper()
            or directory.is_name(core) or is_english(lowered)):
        return word
    fixed = _closest_key_word(core.lower())
    if fixed is None:
        return word
    return word.replace(core, fixed)
