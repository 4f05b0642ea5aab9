"""Word and pattern tables of the offline parser: what each kind of phrase looks like.

Only tables live here; the readers in `slots`, `numbers` and `companies` apply them.
"""

from __future__ import annotations

import re
from decimal import Decimal

from agent.language.intent import IntentKind


def split_words(text: str) -> list[str]:
    return text.split()


def keywords(*alternatives: str) -> re.Pattern[str]:
    """A case-insensitive pattern matching any of the alternatives as whole words."""
    return re.compile("|".join(rf"\b(?:{a})\b" for a in alternatives), re.I)


NUM = r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)"
SCALE = {"k": 1000, "thousand": 1000, "grand": 1000, "m": 1_000_000, "million": 1_000_000}
PREP = r"(?:through|thru|via|on|at|with|using|in|from|to|for|over)"
BROKER_TAIL = r"(?:\s+(?:brokers?|brokerage|app|platform))?"
GENERIC_SUFFIXES = {"broker", "brokers", "brokerage", "markets", "trading", "securities"}

SMALL = dict(zip(split_words("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                         "fifteen sixteen seventeen eighteen nineteen"), range(20), strict=True))
SMALL |= {w: 10 * i for i, w in enumerate(split_words("twenty thirty forty fifty sixty seventy eighty ninety"), start=2)}
# "one" is a pronoun after these words ("the cheaper one", "Capital One"), not a count.
ONE_AS_PRONOUN = set(split_words("capital the which that this each every any no some other another same discount quick "
                                  "fast cheap cheaper faster quicker cheapest fastest quickest speedy budget better second "
                                  "last first low-cost expensive slow slower right new"))

TIF = [
    ("gtc", keywords(r"good[\s-]*(?:'?til+|until|till)[\s-]*cancel+(?:l?ed)?", "gtc",
                     r"(?:until|till|til)\s+(?:i\s+|you\s+)?cancel\w*(?:\s+(?:it|them|the\s+order))?(?:\s+myself)?",
                     r"(?:until|till|til)\s+(?:it\s+(?:is\s+|gets\s+)?|it'?s\s+)?(?:filled|executed|done)"
                     r"(?:\s*,?\s*(?:or|and)\s+(?:until\s+)?(?:i|you)\s+cancel\w*(?:\s+it)?(?:\s+myself)?)?",
                     r"(?:remain|stay|stays|keep\s+it|leave\s+it)\s+(?:open|active|working|in\s+force|on\s+the\s+books)"
                     r"(?:\s+(?:until|till)\s+(?:it\s+is\s+)?(?:filled|executed|i\s+cancel\w*))?",
                     r"no\s+expiry|never\s+expires?|doesn'?t\s+expire|not\s+expire",
                     r"(?:leave|keep)\s+(?:the\s+order\s+|it\s+|that\s+)?(?:in\s+place|alive|up|sitting\s+there)(?:\s+(?:until|till)\s+it\s+fills)?",
                     r"however\s+long\s+(?:that|it)\s+takes|(?:until|till)\s+it\s+(?:fills|executes|goes\s+through)")),
    ("opg", keywords(
        r"(?:(?:tomorrow|tmrw|tmr)\s+)?(?:at|on|by)\s+(?:the\s+)?(?:market\s+)?open(?:ing)?(?:\s+bell)?"
        r"(?:\s+(?:tomorrow|tmrw|tmr))?",
        r"(?:when|once|as\s+soon\s+as)\s+(?:the\s+)?(?:market|exchange)\s+opens?(?:\s+(?:tomorrow|tmrw))?",
        r"(?:at|on|by|for)\s+(?:the\s+)?(?:tomorrow'?s?|tmrw'?s?|next|the\s+next|tomorrow\s+morning'?s?)\s+(?:market\s+)?open(?:ing)?"
        r"(?:\s+bell)?",
        r"first\s+thing(?:\s+(?:tomorrow|tmrw))?(?:\s+(?:morning|in\s+the\s+morning))?", r"market[\s-]on[\s-]open|opg|moo")),
    ("cls", keywords(
        r"(?:at|on|near|before|into|by)\s+(?:the\s+)?(?:market\s+)?clos(?:e|ing)(?:\s+bell)?(?:\s+(?:today|tomorrow))?",
        r"when\s+(?:the\s+)?market\s+closes", r"market[\s-]on[\s-]close|moc|cls")),
    ("day", keywords(r"(?:as\s+a\s+)?day\s+order|good\s+for\s+(?:the\s+)?day|for\s+the\s+day|today|right\s+now|immediately"
                     r"|right\s+away|straight\s+away")),
]
TOMORROW = keywords(r"(?:tomorrow|tmrw|tmr)(?:\s+morning)?")
MARKET_WORDS = keywords(r"(?:as\s+a\s+|at\s+)?(?:the\s+)?market(?:\s+price)?(?:\s+order)?",
                    r"at\s+(?:the\s+)?(?:current|best\s+available)\s+price", "mkt")

ALL_BROKERS = re.compile(
    rf"(?:\b(?:{PREP}|across)\s+)?(?:\b(?:both|all|each|every)\s+(?:of\s+)?(?:the\s+|my\s+)?"
    r"(?:(?:brokerage|broker|trading)\s+accounts?|brokers?|brokerages?|accounts?)\b|\b(?:on|at|with|via|using|across)\s+both\s*$|\beverywhere\b|\bacross\s+(?:the\s+)?brokers\b)", re.I)
OTHER_BROKER = re.compile(
    rf"\b{PREP}\s+the\s+other\s+one\b|(?:\b{PREP}\s+)?\bthe\s+other\s+(?:brokers?|brokerage|account)\b|\bother\s+brokers?\b",
    re.I)
CHOICES = [
    ("cheapest", keywords(r"(?:cheap(?:est|er)?|low(?:est|er)?[\s-](?:fees?|costs?|commissions?)|(?:least|less)\s+expensive"
                          r"|discount|budget|low[\s-]cost)(?:\s+(?:one|broker|brokerage|option|app|account))",
                          r"(?:cheap(?:est|er)|low(?:est|er)[\s-](?:fees?|costs?|commissions?)|(?:least|less)\s+expensive)",
                          r"(?:the\s+one\s+)?with\s+(?:the\s+)?(?:low(?:est|er)|small(?:est|er)|tiny|cheap(?:est|er))\s+"
                          r"(?:fees?|costs?|commissions?)",
                          r"(?:i\s+)?(?:care|worry)\s+(?:most\s+|more\s+)?about\s+(?:the\s+)?(?:fees?|costs?|commissions?)"
                          r"(?:,?\s+not\s+(?:the\s+)?speed)?",
                          r"(?:minimi[sz]e|save\s+on|keep\s+down)\s+(?:the\s+)?(?:fees?|costs?|commissions?)",
                          r"(?:where|wherever|whichever)\s+(?:the\s+)?(?:fees?|costs?|commissions?)\s+(?:are|is)\s+(?:the\s+)?(?:lowest|least|smallest|cheapest)",
                          r"(?:less|least|fewer|lowest|lower|smallest|smaller)\s+(?:in\s+)?(?:fees?|commissions?|costs?)",
                          r"charges?\s+(?:less|the\s+least)", r"more\s+cheap|most\s+cheap")),
    ("fastest", keywords(r"speed\s+(?:over|before|not|rather\s+than|>|beats|matters\s+more\s+than)\s+(?:the\s+)?(?:fees?|costs?|price|commissions?)",
                         r"(?:fees?|costs?|commissions?)\s+(?:don'?t|do\s+not)\s+matter",r"(?:fast(?:est|er)?|quick(?:est|er)?|speed(?:y|iest)|lowest\s+latency|rapid)"
                         r"(?:\s+(?:one|broker|brokerage|option|execution|fills?|app|account))",
                         r"(?:fast(?:est|er)|quick(?:est|er)|speediest|lowest\s+latency)",
                         r"(?:i\s+)?(?:care|worry)\s+(?:most\s+|more\s+)?about\s+(?:the\s+)?(?:speed|execution\s+speed|latency)"
                         r"(?:,?\s+not\s+(?:the\s+)?(?:fees?|costs?|commissions?))?",
                         r"more\s+(?:fast|quick(?:ly)?|rapid(?:ly)?|speedy)|most\s+(?:fast|quick(?:ly)?|rapid(?:ly)?)",
                         r"(?:prioriti[sz]e|optimi[sz]e\s+for|need|want)\s+(?:the\s+)?speed|speed\s+(?:matters|is\s+key|first)"
                         r"|speed\s+is\s+(?:very\s+|really\s+|so\s+|most\s+)?(?:important|everything|what\s+matters)"
                         r"|as\s+fast\s+as\s+possible|asap\s+execution")),
]

PORTION_WORDS = [
    (Decimal(1), re.compile(r"\b(?:every\s+(?:one|single\s+one|share)\s+of|each\s+(?:one\s+)?of|all|everything|entire"
                            r"|whole|the\s+rest|the\s+remainder|what'?s\s+left|the\s+remaining(?:\s+shares)?)\b(?:\s+of)?", re.I)),
    (Decimal("0.5"), re.compile(r"\b(?:a\s+|one\s+)?half\b(?:\s+of)?", re.I)),
]
FRACTION = re.compile(r"\b(a|one|two|three|1|2|3)\s+(thirds?|quarters?|fourths?|fifths?)\b(?:\s+of)?", re.I)
DENOMINATOR = {"third": 3, "quarter": 4, "fourth": 4, "fifth": 5}
PERCENT = re.compile(rf"(?P<n>-?{NUM})\s*(?:%|percent\b|pct\b)(?:\s+of)?", re.I)

PRICE = rf"\$?\s*(?P<p>-?{NUM})"
PER_SHARE = r"(?:\s*(?:per|a|/)\s*share|\s*each|\s*/sh)?"
LIMITS = [re.compile(p, re.I) for p in (
    rf"\b(?:(?:with|as|using)\s+)?(?:a\s+)?(?:limit|lmt)(?:\s+order)?(?:\s+price)?(?:\s+(?:of|at|@|=|is|to(?=\s*\$)))?\s*"
    rf"(?:of\s+)?{PRICE}(?!\d|[.,]\d)(?!\s*(?:shares?|stocks?|qzc[a-z])\b)",
    rf"(?:\bat\b|@)\s*{PRICE}{PER_SHARE}(?:\s+or\s+(?:better|less|lower|below|under|cheaper|more|higher|above))?"
    r"(?:\s+(?:limit|lmt)(?:\s+order)?)?",
    rf"\b(?:nothing|not|never)\s+(?:a\s+(?:penny|cent|dime|dollar)\s+|for\s+)?(?:above|over|higher\s+than|more\s+than|past)\s*{PRICE}{PER_SHARE}",
    rf"\b(?:nothing|not|never)\s+(?:a\s+(?:penny|cent|dime|dollar)\s+|for\s+)?(?:below|under|lower\s+than|less\s+than)\s*{PRICE}{PER_SHARE}",
    rf"\b(?:at\s+most|tops|at\s+least)\s*{PRICE}{PER_SHARE}",
    rf"\b(?:don'?t|do\s+not|never|not)\s+(?:pay|spend|go)\s+(?:more|over|above|higher)\s+(?:than\s+)?{PRICE}{PER_SHARE}",
    rf"\b(?:not|never|n't)\s+(?:\w+\s+){{0,4}}?(?:pay|spend)\s+(?:more|over|above|higher)\s+(?:than\s+)?{PRICE}{PER_SHARE}",
    rf"\b(?:obtain|get|fetch|receive)\s+{PRICE}{PER_SHARE}\s+or\s+(?:better|more|higher)\b",
    rf"\b(?:at|with|to|for|as)\s+(?:a|an)\s+{PRICE}\s+(?:limit|lmt)\b",
    r"(?<![\w.$])\$?(?P<p>\d+\.\d{1,4})\s+(?:lmt|limit)\b",
    rf"\b(?:don'?t|do\s+not|never|not)\s+(?:sell|take|accept|go)\s+(?:for\s+)?(?:less|under|below|lower)\s+(?:than\s+)?{PRICE}{PER_SHARE}",
    rf"\b(?:get|for|at)?\s*\$\s*(?P<p>-?{NUM}){PER_SHARE}\s+or\s+(?:better|more|higher|above|less|lower|below|cheaper)\b",
    rf"\b(?:get|for)\s+(?P<p>-?{NUM})\s*(?:dollars|bucks)?{PER_SHARE}\s+or\s+(?:better|more|higher|above|less|lower|below)\b",
    rf"\b(?:for\s+|at\s+|paying\s+)?(?:no|not)\s+(?:more|higher|less|lower)\s+than\s*{PRICE}{PER_SHARE}",
    rf"\b(?:max(?:imum)?|min(?:imum)?)\s+(?:price\s+)?(?:of\s+)?{PRICE}",
    rf"\b(?:for\s+|at\s+|paying\s+)?\$?\s*(?P<p>-?{NUM})\s*(?:per|a|/)\s*share\b",
    # an amendment: "change the limit on my AMD order to 150", "raise my bid up to 31"
    rf"\b(?:limit|lmt|bid|offer|price|px)(?:\s+price)?(?:\s+(?:on|for|of))?(?:\s+(?:my|the|that|this))?(?:\s+qzc[a-z])?"
    rf"(?:\s+(?:buy|sell))?(?:\s+orders?)?(?:\s+(?:up|down))?\s+(?:to|at|@|=)\s*(?:(?:like|about|around|say)\s+)?{PRICE}"
    r"(?!\d|[.,]\d)(?!\s*(?:shares?|stocks?|qzc[a-z])\b)",
)]
# "if it drops to 150", "once it's under 200", "if it rises above 300": a price the market must reach first.
# Whether that is a limit or a stop depends on the side: a buy below the market or a sell above it is a limit;
# a buy above it or a sell below it ("sell my TSLA if it drops below 300") is a stop.
TRIGGER = re.compile(
    r"\b(?:if|when|once|as\s+soon\s+as)\s+(?:it|it's|its|it\s+is|the\s+price(?:\s+is)?|the\s+stock|the\s+shares|they|they're"
    r"|that|price|\w+\s+(?P<sv>is|gets|goes\s+(?:down|up)|goes|drops|falls|dips|hits|rises|climbs|sinks|tanks))?\s*"
    r"(?P<verb>drops?|falls?|dips?|goes\s+(?:down|up)|gets|comes\s+down|hits|reaches|rises|climbs|trades|is|sinks|tanks"
    r"|jumps|spikes|breaks|moves)?"
    r"\s*(?:back\s+)?(?P<dir>down\s+to|up\s+to|to|below|under|beneath|at|above|over|past|less\s+than|more\s+than"
    r"|lower\s+than|higher\s+than|cheaper\s+than)?\s*\$?\s*(?P<p>-?" + NUM + r")(?:\s*(?:dollars|bucks|a\s+share|per\s+share))?",
    re.I)
TRIGGER_DOWN = re.compile(r"drop|fall|dip|down|sink|tank|below|under|beneath|less|lower|cheaper", re.I)
TRIGGER_UP = re.compile(r"rise|climb|jump|spike|up|above|over|past|more|higher|break", re.I)
STOP_WORDS = keywords(r"stop(?:[\s-]*loss)?(?:\s+order)?(?:\s+(?:at|of|@))?(?!\s+(?:\w+ing|it|that|this|me|him|her|them|there|by)\b)", r"trailing(?:\s+stop)?", r"stop[\s-]limit",
                      r"stp", r"sl")
# A protective stop was meant ("stop loss", "sl"), not a buy stop that enters on a breakout
STOP_LOSS_WORDS = keywords(r"stop[\s-]*loss(?:es)?", r"sl", r"protect(?:ive)?\s+stop", r"trailing(?:\s+stop)?", r"trl",
                           r"stop\s+(?:on|for)\s+(?:my|the|all|it|them|those)")
_STOP = r"(?:stop(?:[\s-]*loss)?|stp|sl)(?:\s+order)?"
# the words that may stand between a stop and its price: "stop loss on my 20 apple shares at 200", "trail my nvda by $5"
_ON_SHARES = (rf"(?:\s+(?:up|down|higher|lower))?(?:\s+(?:on|for|in))?(?:\s+(?:my|the|all|all\s+of\s+my|it|them|those|these))?(?:\s+(?P<q>{NUM})(?=\s+(?:qzc[a-z]|shares?|stocks?)\b))?"
              r"(?:\s+qzc[a-z])?(?:\s+(?:shares?|stocks?|position|holdings?|orders?))?,?(?:\s+(?:up|down|higher|lower))?"
              r"(?:\s+(?:at|of|by|@|=|to|is))?\s*(?:of\s+)?(?:(?:like|about|around|roughly|maybe|say)\s+)?")
_NOT_PERCENT = r"(?!\s*(?:%|percent|pct))"
# "stop loss at 200", "stop 165", "stp @ 88", "a stop of $52", "sl 210"; "stop on UBER @ 88", "stop loss on my apple at 200"
# A bracket in words, on a buy: "and sell it by itself if the price goes up to $90, or if it goes down to $55"
_UP = r"(?:goes\s+up|gets|rises|climbs|hits|reaches|jumps|is)\s+(?:up\s+)?(?:to|above|over|past)?"
_DOWN = r"(?:goes\s+down|falls|drops|dips|sinks|gets|hits|is)\s+(?:down\s+)?(?:to|below|under)?"
_EXIT = r"\b(?:sell|exit|get\s+out)\b[^.;?]{0,40}?\bif\s+(?:the\s+price|it|the\s+stock|they)\s+"
_OR = r"[\s,]+(?:or|and)\s+(?:if\s+)?(?:the\s+price\s+|it\s+|the\s+stock\s+|they\s+)?"
BRACKET_WORDS = [re.compile(p, re.I) for p in (
    rf"{_EXIT}{_UP}\s*\$?\s*(?P<tp>{NUM}){_OR}{_DOWN}\s*\$?\s*(?P<sl>{NUM})",
    rf"{_EXIT}{_DOWN}\s*\$?\s*(?P<sl>{NUM}){_OR}{_UP}\s*\$?\s*(?P<tp>{NUM})",
)]
# "stop-limit 215.00/216.50", "stop limit 200/199", "stp lmt 48 / 47.50": the stop, then the limit
STOP_LIMIT_PAIR = re.compile(rf"\b(?:stop|stp)[\s-]*(?:limit|lmt)(?:\s+order)?(?:\s+(?:at|of|@))?\s*\$?\s*(?P<s>{NUM})\s*/\s*\$?\s*(?P<l>{NUM})",
                             re.I)
STOP_AT = [re.compile(p, re.I) for p in (
    rf"\b{_STOP}(?:\s+price)?{_ON_SHARES}{PRICE}(?!\d|[.,]\d)(?!\s*(?:%|percent|pct|shares?|stocks?|qzc[a-z])\b)",
    rf"(?:\bat|@)\s*{PRICE}\s+(?:as\s+(?:a|the|my)\s+)?{_STOP}\b",
)]
# "trailing stop 5%", "trail by 5 percent", "5% trailing stop", "trl 3%"; in dollars: "trailing stop of $2", "trail $1.50"
_TRAIL = r"(?:trail(?:ing)?|trl)(?:\s+an?)?(?:[\s-]+(?:stop|stp))?(?:[\s-]*loss)?(?:\s+order)?"
_TRAILING = r"(?:trail(?:ing)?|trl)(?:[\s-]+(?:stop|stp))?(?:[\s-]*loss)?\b"
TRAIL_PERCENT = [re.compile(p, re.I) for p in (
    rf"\b{_TRAIL}{_ON_SHARES}(?P<n>{NUM})\s*(?:%|percent\b|pct\b)(?!\s*of\b)",
    rf"(?<![\w.])(?P<n>{NUM})\s*(?:%|percent\b|pct\b)\s*(?:a\s+)?{_TRAILING}",
)]
TRAIL_PRICE = [re.compile(p, re.I) for p in (
    rf"\b{_TRAIL}{_ON_SHARES}\$\s*(?P<p>{NUM})",
    rf"\b{_TRAIL}{_ON_SHARES}(?P<p>{NUM})\s*(?:dollars?|bucks|usd|points?)\b",
    rf"(?:\$\s*(?P<p>{NUM})|(?P<d>{NUM})\s*(?:dollars?|bucks))\s+(?:a\s+)?{_TRAILING}",
)]
TRAIL_WORD = keywords(_TRAIL)
# "take profit at 250", "tp 250", "profit target of $250", "target 250"
TAKE_PROFIT = [re.compile(p, re.I) for p in (
    rf"\b(?:take[\s-]*profits?|tp|profit[\s-]*(?:target|taker|take)|(?:price\s+)?target|take\s+(?:my\s+)?gains?|lock\s+in\s+"
    rf"(?:profits?|gains?))(?:\s+(?:price\s+)?(?:at|of|@|=|to|is))?\s*(?:of\s+)?{PRICE}",
    rf"\b(?:sell|exit|close)\s+(?:them|it|those|these|the\s+shares|(?:all\s+)?qzc[a-z])?\s*(?:for\s+(?:a\s+|the\s+)?profit"
    rf"|to\s+take\s+(?:a\s+|the\s+)?profits?)\s+(?:at|@)\s*{PRICE}",
)]
LIMIT_WORD = keywords(r"(?:limit|lmt)(?:\s+order)?")
WORTH_OF = r"\b(?:\s+worth)?(?:\s+(?:of|in))?"
NOTIONALS = [re.compile(p, re.I) for p in (
    rf"(?:\bfor\s+)?(?:\b(?:about|around|roughly)\s+)?\$\s*(?P<n>-?{NUM})\s*(?P<k>k|m|thousand|grand|million)?{WORTH_OF}",
    rf"(?:\bfor\s+)?(?P<n>-?{NUM})\s*(?P<k>k|m|thousand|million)?\s*(?P<u>dollars?|usd|bucks|grand){WORTH_OF}",
    rf"\busd\s*(?P<n>-?{NUM})\s*(?P<k>k|m)?\b(?:\s+(?:of|in))?",
    rf"(?P<n>-?{NUM})\s*(?P<k>k)?\s+worth\b(?:\s+(?:of|in))?",
    rf"(?<![\w.$])(?P<n>-?{NUM})\s*(?P<k>k|grand)\s+(?=(?:in|into|on)\b)",
)]
QUANTITY = re.compile(rf"(?<![\w.$])(?P<n>-?{NUM})(?P<k>k\b)?(?:\s+(?:shares?|shs?|stocks?|units?)\b)?", re.I)
ONE_SHARE = re.compile(r"\ba\s+share\b(?!s)", re.I)
# "if that's true, buy 50 Rivian": a condition on news or a rumour nobody here can check
UNKNOWABLE_CONDITION = re.compile(
    r"\b(?:if|assuming|provided)\s+(?:that'?s|that\s+is|it'?s|it\s+is|this\s+is|the\s+(?:rumou?r|news|story|tip)\s+is)\s+"
    r"(?:true|right|correct|real|confirmed|legit)\b|\bif\s+(?:the\s+)?(?:rumou?r|news|buyout|merger|deal|tip)\s+"
    r"(?:is\s+true|pans\s+out|goes\s+through|happens|checks\s+out)\b", re.I)

BUY = re.compile(r"(?<!best\s)\b(?:buy(?:ing|s)?(?!\s+power)(?!\s+(?:limit\s+|stop\s+|market\s+)?orders?\b)|(?<!\ba\s)(?<!\bthe\s)(?<!\bthis\s)(?<!\bmy\s)purchase|acquire|grab|pick\s+up|go\s+long(?:\s+on)?|(?<![\w\s])long|scoop\s+up"
                 r"|load\s+up\s+on|snag|yolo(?:\s+into)?|ape(?:\s+into|\s+in(?:to)?)?|put\s+me\s+(?:down\s+)?(?:in\s+)?for|sign\s+me\s+up\s+for|count\s+me\s+in\s+for|(?:put|place|make|submit|enter|open)\s+(?:in\s+)?(?:an?\s+)?(?:buy\s+)?order\s+(?:for|of|to\s+buy|(?=\d))"
                 r"|make\s+(?:a\s+)?buy(?:\s+of)?|(?:put|roll|move|reinvest|invest)\s+(?:it|that|them|the\s+(?:money|cash|proceeds))\s+(?:in|into|towards?)(?=\s+(?:\d|some))"
                 r"|(?:use|put|roll|move|reinvest|invest|spend)\s+(?:all\s+)?(?:of\s+)?(?:the|that|those|my|this)\s+(?:proceeds|money|cash|funds|profits?)"
                 r"\s+(?:(?:to\s+(?:buy|get|grab|pick\s+up)|for|on|in|into|towards?)\b)?)\b"
                 r"|\b(?:get|add|put|invest|throw|use|spend|take)\b(?:\s+(?:me|us)\b)?(?=\s+(?:another\s+|an?\s+extra\s+)?"
                 r"(?:-?\d|\$|some\b|a\s+few\b|a\s+bit\b|shares\b|one\b))"
                 r"(?!\s+\$?\s*\d[\d.,]*\s*(?:dollars\s+)?(?:or\s+(?:better|more|higher)|a\s+share|each|per\s+share))", re.I)
SELL = keywords(r"sell(?:ing|s)?(?!\s+(?:limit\s+|stop\s+|market\s+)?orders?\b)|dump|unload|offload|trim|liquidate|exit|close(?:\s+out)?|get\s+rid\s+of"
                r"|cash\s+out(?:\s+of)?|flatten|take\s+profits?(?:\s+on)?|ditch|dispose\s+of|get\s+out\s+of"
                r"|(?<![\w'])out\s+of(?=\s+(?:all\s+(?:of\s+)?)?(?:my|the|our|qzc[a-z])\b)|get\s+me\s+out(?:\s+of)?"
                r"|pare(?:\s+(?:back|down))?|scale\s+out(?:\s+of)?|lighten\s+up(?:\s+on)?")
CLOSING = keywords(r"liquidate|exit|close|get\s+rid\s+of|cash\s+out|flatten|dump|unload|offload|ditch|dispose\s+of"
                   r"|get\s+out\s+of|(?<![\w'])out\s+of(?=\s+(?:all\s+(?:of\s+)?)?(?:my|the|our|qzc[a-z])\b)|get\s+me\s+out(?:\s+of)?")
# "not buy", "don't want to sell": a verb that is denied is no verb
DENIED_VERB = keywords(r"(?:not|never|don'?t|do\s+not|no|without)\s+(?:to\s+|want\s+to\s+|wanna\s+)?(?:buy(?:ing)?|sell(?:ing)?|purchas\w*|trad\w*)")
# a verb in a wish or a plan, not an order: "I should just buy the stock", "I'm thinking about buying"
HYPOTHETICAL = keywords(r"(?:i|we)\s+(?:should|could|might|may)\s+(?:just\s+|maybe\s+|probably\s+)?(?:buy|sell)",
                        r"(?:thinking|thought|planning|plan|considering|wondering)\s+(?:about\s+|of\s+|on\s+)?(?:buying|selling|to\s+buy|to\s+sell)",
                        r"(?:was|were|am|i'?m)\s+going\s+to\s+(?:buy|sell)", r"maybe\s+(?:buy|sell)",
                        r"(?:i'?m|i\s+am)\s+not\s+(?:buying|selling)", r"(?:not|never)\s+(?:buying|selling)")

HELP = re.compile(
    r"^(?:help|help me|\?+|hi|hello|hey|hey there|menu|commands|options|examples?|usage|get started|start)[\s?!.]*$"
    r"|\bwhat can (?:you|i) do\b|\bwhat do you do\b|\bhow does (?:this|it) work\b"
    r"|\bhow (?:do|can) i (?:use|buy|sell|trade|place)\b|\bwhat (?:can|do) you (?:support|understand)\b|\bwhat commands\b",
    re.I)
NEGATION = re.compile(
    r"\b(?:don'?t|do not|dont|never(?!\s*mind)|no need to)\s+(?:\w+\s+){0,2}?(?:buy|sell|cancel|purchase|trade|place)\b"
    r"|^(?:never ?mind|forget (?:it|that|about it)|nvm)[\s.!]*$", re.I)
ADVICE = keywords(r"should (?:i|we)", r"is (?:it|this|now) (?:a )?(?:good|smart|wise|bad|right)", r"recommend\w*|advice|advise",
              r"suggest\w*|worth (?:buying|it)|good (?:buy|investment|stock)|what (?:stocks? )?should i",
              r"will \S+ go (?:up|down)|predict\w*|you think|your (?:pick|choice|call)|best (?:stocks?|ones?|picks?)",
              "something good")
# An order taken back at the end of the same message: "Sell 10 AAPL. Actually no.", "buy 5 Tesla. On second
# thought, don't.", "buy 10 apple... nah forget it". (A correction that names what to do instead is not this.)
RETRACTED = re.compile(
    r"(?:^|[.,;:!?…-]|\s)\s*(?:(?:actually|hmm+|um+|uh+|wait|oh|ok(?:ay)?|so|no|nah|well|on\s+second\s+thought(?:s)?|"
    r"second\s+thoughts),?\s*)*"
    r"(?:no+|nope|nah|don'?t(?:\s+do\s+(?:it|that))?|do\s+not|never\s*mind|nvm|forget\s+(?:it|that|about\s+it)|"
    r"scratch\s+that|cancel\s+that|hold\s+(?:on|off|that)|hang\s+on|not\s+yet|let\s+me\s+think(?:\s+about\s+it)?|"
    r"i\s+changed\s+my\s+mind|changed\s+my\s+mind|wait(?:\s+a\s+(?:sec|second|minute|moment))?)\W*$", re.I)
# "which broker should I use", "where should I place it": a question about routing, not advice on what to trade
ROUTING_ASKED = keywords(r"(?:which|what)\s+(?:broker|brokerage|one|platform|account|of\s+the\s+(?:two|brokers))\s+should\s+(?:i|we)",
                         r"where\s+should\s+(?:i|we)\s+(?:place|put|route|send|do|make)",
                         r"should\s+(?:i|we)\s+(?:use|go\s+with|pick|choose|route)\s+(?:it\s+|this\s+|that\s+)?(?:through\s+|on\s+|via\s+)?(?:the\s+)?(?:trade\s*sphere|velocity|ts|vb|broker)")
SHORT = re.compile(r"^(?:go\s+)?short\b|\bshort[\s-]sell", re.I)
# Options: "two call options on Tesla", "2 apple calls expiring friday", "buy puts on SPY"
OPTIONS = re.compile(r"\b(?:call|put)\s+options?\b|\boptions?\s+(?:contracts?|chain|on)\b|\b(?:calls|puts)\b(?!\s+(?:me|you|it))"
                     r"|\b(?:covered\s+call|iron\s+condor|straddle|strangle|leaps)\b|\bstrike\s+(?:price\s+)?(?:of\s+)?\$?\d", re.I)
# Order conditions these brokers do not offer: extended hours, all-or-none, fill-or-kill, immediate-or-cancel
UNSUPPORTED_CONDITIONS = [
    ("extended-hours trading", re.compile(r"(?:\+|\b(?:gtc|day)[\s/-]*)ext\b|\bext\.?\s+(?:hours?|session)\b|\bextended[\s-]+(?:hours?|session|trading)\b"
                                          r"|\bpre[\s-]?market\b"
                                          r"|\bafter[\s-]?hours\b|\bovernight\s+(?:session|trading)\b|\b24[\s/-]*(?:5|7|hour)\s+trading\b", re.I)),
    ("all-or-none orders", re.compile(r"\ball[\s-]+or[\s-]+none\b", re.I)),
    ("fill-or-kill orders", re.compile(r"\bfill[\s-]+or[\s-]+kill\b|\bfok\b", re.I)),
    ("immediate-or-cancel orders", re.compile(r"\bimmediate[\s-]+or[\s-]+cancel\b|\bioc\b", re.I)),
]
# The coins themselves, not the ETFs that hold them ("bitcoin ETF", "IBIT", "the ishares bitcoin trust" are stocks)
CRYPTO = re.compile(r"\b(?:bitcoins?|btc|ethereum|ether|eth|crypto(?:currency|currencies|s)?|dogecoin|doge|solana|xrp|litecoin"
                    r"|cardano|shiba\s+inu|stablecoins?|usdt|usdc)\b(?!\s+(?:etfs?|trusts?|funds?|miners?|mining|stocks?))"
                    r"(?<!ishares\sbitcoin)", re.I)
CANCEL = keywords(r"cancel\w*|revoke|withdraw|scrap|annul\w*|rescind|void", r"call\s+off",
                  r"scratch\s+(?:the|my|that)\s+(?:\w+\s+){0,2}?(?:orders?|buy|sell|limit|stop|bid)", r"kill\s+(?:my|the|that|all|every|it|them|those|these|order|one)\b", r"nix\s+(?:it|that|the|my)", r"pull\s+(?:my|the|that)\s+(?:\w+\s+){0,3}?(?:orders?|limit|stop|bid|offer|buy|sell)\b", r"pull\s+(?:it|that|them)\b",
                  r"take\s+(?:off|down)\s+(?:my|the|that)\s+(?:\w+\s+){0,3}?(?:orders?|limit|stop|bid|offer)\b",
                  r"forget\s+(?:about\s+)?(?:my|the|that)\s+(?:\w+\s+){0,3}?orders?\b", r"take\s+(?:it|that|them|the\s+order)\s+back", r"take\s+(?:my|the|that)\s+(?:\w+\s+){0,3}?(?:orders?|limit|stop|bid)\s+(?:off|down)\b",
                  r"(?:delete|remove|drop|trash|kill)\s+(?:it|that|this|them|those)\b",
                  r"(?:drop|remove|delete|trash|ditch)\s+(?:my|the|that|this)\s+(?:\w+\s+){0,3}?(?:orders?|limit|lmt|stop|stp|bid|offer|gtc)\b"
                  r"(?!\s+(?:to|by|down|up|lower|higher|\$|\d))", r"take\s+(?:it|that|the\s+order)\s+(?:off|down)",
                  r"(?:don'?t|do\s+not|dont|no\s+longer)\s+want\s+(?:that|the|this|my)\b.{0,40}\border\b",
              r"delete\s+(?:my\s+|the\s+|that\s+|all\s+)?orders?")
ORDER_ID = re.compile(r"(?:\border\s*(?:#|id|number|no\.?)?\s*:?\s*|#)(?P<ref>[A-Za-z0-9][\w-]*\d[\w-]*|\d+)"
                       r"|\b(?P<bare>(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]{6,}(?:-[A-Za-z0-9]+)*)\b", re.I)
COST_QUESTION = keywords(r"est|estimate\s+(?:the\s+)?(?:cost|fees?)|price\s+out|quote\s+me\s+(?:the\s+)?(?:cost|fees?|total)",
    r"how much (?:would|will|does|do|did|is|to|it)\b.*\b(?:cost|fees?|commissions?|charge|pay)",
    r"how much (?:in\s+)?(?:commissions?|fees?|comms?)\b(?=.*\d)",
    r"how much (?:would|will) (?:it|i|that|they)", r"how\s+(?:much|many)(?:\s+shares)?\s+(?:would|will|could|can|does|do)\b.*\b(?:get|buy|cover)\b(?:\s+(?:me|us|you))?", r"what (?:would|will|does|do)\b.*\b(?:cost|fees?|commissions?|charge)",
    r"which (?:broker|one|is|would)\b.*\b(?:cheap\w*|fees?|costs?|commissions?|expensive|charges?)",
    r"(?:cheap\w*|expensive)\b.*\bwhich", r"estimate\w*|is it cheaper|cheaper (?:to|on|at|with|through)|(?:what|who)(?:'s|s|\s+is)\s+cheaper",
    r"compar\w+\b.*\b(?:costs?|fees?|prices?)", r"(?:fees?|commissions?|costs?|comms?)\s+differen\w+|differen\w+\s+in\s+(?:the\s+)?(?:fees?|commissions?|costs?)", r"cost (?:of|to|for)|what if i|(?:fees?|commissions?)\s+(?:for|on|to)(?!\s+(?:this|that|it)\b)",
    r"(?:run|set)\s+me(?:\s+back)?|cost\s+me|what\s+(?:commissions?|fees?)|(?:commissions?|fees?)\s+(?:do\s+|will\s+|would\s+)?(?:i|we)\s+pay|(?:comm|commission|fees?)\s+on(?!\s+(?:this|that|it)\b)")
# "is the market open?", "what time does the market close", "trading hours": the market clock, not an order
MARKET_HOURS = keywords(
    r"(?:is|are)\s+(?:the\s+)?(?:stock\s+)?(?:markets?|exchange|nyse|wall\s+street)\s+(?:still\s+|even\s+|currently\s+)?(?:open|closed|trading)",
    r"(?:markets?|exchange|nyse)\s+(?:is|are)\s+(?:still\s+|currently\s+)?(?:open|closed)(?:\s+(?:now|right now|today|yet))?(?=\s*\?)",
    r"(?:market|trading|exchange)\s+hours", r"(?:market|exchange)\s+(?:open|opening|close|closing)\s+times?",
    r"when\s+(?:does|do|will|is)\s+(?:the\s+)?(?:stock\s+)?(?:markets?|exchange|nyse|trading|session)\s+(?:open|close|start|end|begin|finish)",
    r"what\s+time\s+(?:does|do|will|is)\s+(?:the\s+)?(?:stock\s+)?(?:markets?|exchange|nyse|trading|session|closing\s+bell|opening\s+bell)",
    r"how\s+long\s+(?:until|till|til|before)\s+(?:the\s+)?(?:markets?|exchange)\s+(?:opens?|closes?)",
    r"how(?:'s|\s+is)\s+the\s+(?:stock\s+)?market(?:\s+(?:doing|looking))?(?:\s+today)?(?=\s*\??\s*$)")
# "can I buy fractional shares on Velocity?", "what order types do you support?": what a broker allows
CAPABILITY = keywords(r"fractional\w*|fractions?\s+of\s+(?:a\s+)?shares?|partial\s+shares?|whole\s+shares?(?:\s+only)?",
                      r"(?:order|orders)\s+types?|types?\s+of\s+orders?|kinds?\s+of\s+orders?|what\s+orders?\s+can",
                      r"(?:support|allow|accept|offer)s?\s+(?:stop|trailing|bracket|limit|gtc|fractional)")
REPEAT = keywords("same|again|repeat|too|as well|also|likewise|copy|replicate|duplicate|mirror|clone")
LEAD = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|um+|uh+|yo|please|pls|plz|kindly|hmm+|well|and|then|also|now|alright|great|cool"
    r"|thanks|thx|actually)\b[\s,!.:-]*)*"
    r"(?:(?:(?:can|could|would|will)\s+(?:you|u)\s+(?:please\s+|pls\s+)?|i(?:'d|\s+would)\s+like\s+(?:you\s+)?to\s+"
    r"|i\s+want\s+(?:you\s+)?to\s+|i\s+wanna\s+|i\s+need\s+(?:you\s+)?to\s+|go\s+ahead\s+and\s+|let'?s\s+|let\s+me\s+"
    r"|i'?m\s+(?:looking|going|trying)\s+to\s+|please\s+|pls\s+|(?:is|would)\s+it\s+(?:be\s+)?possible\s+(?:for\s+you\s+)?to\s+"
    r"|(?:can|could|may)\s+i\s+(?:please\s+)?|do\s+you\s+mind\s+|you\s+can\s+|i\s+want\s+|i\s+need\s+))*", re.I)
QUESTION_START = re.compile(
    r"^(?:what|what's|whats|wats|how|which|where|who|when|why|is|are|am|(?:do|does|did)(?!\s+(?:the\s+(?:needful|same|trade|deal)|it|that|this|so)\b)|show|list|display|tell|check|view"
    r"|see|give\s+me|gimme|pull\s+up|bring\s+up|lemme\s+see)\b", re.I)
AMEND = re.compile(
    r"^(?:(?:no|nah|nope|oh|wait|sorry|ok|okay|hmm+|um+|uh+|actually|scratch that|on second thought|correction|fine|good|great"
    r"|perfect|cool|alright|right|yes|yeah)\b[\s,.!:-]*)*"
    r"(?:(?:please\s+|pls\s+)?(?:make|change|set|update|switch|adjust|bump|increase|decrease|reduce|lower|raise|modify"
    r"|amend)\s+(?:it|that|this|the\s+(?:order|quantity|qty|size|amount|number|shares|trade|limit|price))\b"
    r"|actually\b|instead\b)|^(?:no|nah|nope|wait|sorry|ok|okay|actually|correction)\b[\s,.!:-]+|\binstead[\s.!]*$", re.I)

# Changing an order that is still working: "change my Chipotle limit to 52", "move my stop up to 310"
REPLACE_VERB = keywords(r"change|modify|update|amend|edit|adjust|move|raise|lower|bump|increase|decrease|reduce|tighten|drop"
                        r"|loosen|revise|alter|replace|switch")
ORDER_PART = keywords(r"orders?|limit|lmt|stop|stp|trail(?:ing)?(?:\s+stop)?|bid|offer|price|px")

# Checked in this order on the lowercase text; the first that matches decides the kind of question.
INFO_KINDS = [
    (IntentKind.TOTAL_VALUE, keywords(
        r"total\b.*\b(?:value|worth|balance|portfolio|holdings|equity)", "net worth",
        r"(?:portfolios?|accounts?|holdings|everything|it all)\b.*\bworth", r"worth\b.*\b(?:in total|altogether|overall|combined)",
        r"(?:combined|overall|aggregate) (?:value|portfolio|balance)",
        r"how much (?:money )?(?:do i have|have i got) (?:in total|altogether|overall)",
        r"where\s+(?:am\s+i|do\s+i\s+stand|are\s+we|do\s+we\s+stand)(?:\s+at)?\s+(?:overall|in\s+total|altogether|across)")),
    (IntentKind.ACCOUNT, keywords(r"cash|buying power|balances?|funds|how much money",
                             r"account (?:info|details|summary|status|overview)", r"(?:pay|paid|spent|spend|spending)\b.*\bfees?")),
    (IntentKind.COMPARE_BROKERS, keywords(r"how (?:long|fast|quick(?:ly)?)|latency|speed",
                                          r"(?:more|most)\s+(?:quickly|rapidly|fast)|(?:quicker|faster)\s+(?:execution|fills?)")),
    (IntentKind.COMPARE_BROKERS, keywords(r"\bor\b.*\b(?:better|best)\b", r"(?:better|best)\s+(?:for|broker|one)",
                                     r"which\s+(?:broker|one)\s+(?:is|would\s+be)\s+(?:better|best)")),
    (IntentKind.ORDERS, keywords(r"orders?|trades|trade history|fills?|executions?|transactions?|queued|pending",
                            r"(?:still|anything)\s+open|waiting\s+to\s+(?:be\s+)?fill\w*|unfilled|working",
                            r"what (?:did|have) i (?:buy|sell|bought|sold)", r"did my .* (?:fill|go through|execute)")),
    (IntentKind.PORTFOLIO, keywords(r"where (?:is|are|do i (?:hold|have|keep)) (?:my|all my)", r"which (?:broker|account|one)\b.{0,20}\b(?:has|holds|is holding|hold) my",
                               r"\bheld\b"),),
    (IntentKind.PORTFOLIO, keywords(r"portfolios?|positions?|holdings?|what am i holding|my (?:stocks|shares)|how many",
                               r"what (?:do|did) i (?:own|hold|have)|do i (?:own|hold|have)|how am i doing",
                               r"how(?:'s|\s+is|\s+are)\s+my\s+(?!(?:orders?|cash|account|balance)\b)(?:\w+\s+){1,3}?(?:doing|looking|going|holding\s+up|performing)",
                               r"p&l|p/l|pnl|profits?|gains?|losses|unrealized", r"am i (?:up|down)|up or down",
                               r"average (?:cost|price)|avg (?:cost|price)|cost basis|what did i pay")),
    (IntentKind.COMPARE_BROKERS, keywords(r"compar\w*|brokers?|fees?|commissions?|charges?|slippage|profiles?|difference",
                                     r"fast(?:est|er)?|quick(?:est|er)?|cheap(?:est|er)?|expensive|vs\.?|versus")),
    (IntentKind.QUOTE, keywords(r"quotes?|prices?|trading at|going for|trading|valued at|current(?:ly)? (?:at|price)",
                           r"bid\W+(?:and\W+|/\W*|&\W*)?(?:the\s+)?ask(?:ing)?|bid-ask|bid/ask|spread\s+(?:on|for|of)",
                           r"news|headlines|(?:year's|day's|daily|yearly|annual)\s+(?:high|low|range)",
                           r"how much (?:is|are|does|do|costs?)", r"what(?:'s| is| are|s)? .+ at")),
    (IntentKind.ACCOUNT, keywords(r"accounts?")),
]

# Words trimmed from the edges of what is left, to find the stock: one set per kind of request.
COMMON_FILLER = frozenset(split_words(
    "a an the of my me us our some shares share stock stocks worth in on at for to from with via through thru using "
    "lemme gimme gonna wanna gotta tbh ngl lol idk kinda "
    "please pls plz thanks thank you thx ty now right today immediately asap and then also too just position positions "
    "holding holdings stake broker brokers brokerage account is are which whichever whatever go ahead i want wanna would "
    "like i'd id can could will kindly let's lets need quickly as well instead more another additional extra units unit "
    "few several bunch lot lots many any actually ok okay hey so yo back again - & , ? ! . has offers with put place set use choose pick prefer "
    "nah yeah yep nope mate cheers ta bro buddy dude pal boss sir madam maam ma'am yaar abeg oga bitte danke obrigado gracias kindly dear friend"))
PRONOUNS = frozenset(split_words("it them those these that this same they ones"))
FILLER = {
    IntentKind.ORDER: COMMON_FILLER,
    IntentKind.COST_COMPARISON: COMMON_FILLER | PRONOUNS | frozenset(split_words(
        "what what's whats how much would it cost costs be fees fee commission commissions estimate estimated compare "
        "comparing where between or than expensive less charge pay if does do did cheaper total vs versus comm comms "
        "difference differences two brokers")),
    IntentKind.CANCEL: COMMON_FILLER | PRONOUNS | frozenset(split_words(
        "cancel cancelled canceled revoke withdraw scrap kill pull delete order orders open pending queued working active "
        "limit market buy sell gtc day all every everything")),
    IntentKind.QUOTE: COMMON_FILLER | frozenset(split_words(
        "what what's whats wats how much is does do show give get gimme check tell see current currently price prices "
        "quote quotes trading traded trade going rn latest last per cost costs valued it's its stand standing")),
}
FILLER[IntentKind.ORDERS] = FILLER[IntentKind.QUOTE] | FILLER[IntentKind.CANCEL] | frozenset(split_words(
    "history recent list display view did fill filled go went through execute executed status have"))
FILLER[IntentKind.PORTFOLIO] = FILLER[IntentKind.ORDERS] | frozenset(split_words(
    "portfolio portfolios hold own held holding am doing many p&l pnl profit profits gains losses"))
RESIZE_FILLER = COMMON_FILLER | PRONOUNS | frozenset(split_words(
    "make change set update switch adjust bump increase decrease reduce lower raise modify amend order quantity qty size "
    "amount number trade limit price up down into no nah nope oh wait sorry hmm scratch correction second thought "
    "send go ahead place submit execute do confirm book then uh um fine good great alright cool perfect sure yes yeah one"))
REPEAT_FILLER = COMMON_FILLER | PRONOUNS | frozenset(split_words(
    "do place same thing trade order again repeat copy likewise there here make replicate duplicate mirror clone very "
    "quantity number amount size count but "
    "good great fine please that exact exactly identical dollar dollars"))
NOT_A_BROKER = COMMON_FILLER | PRONOUNS | frozenset(split_words(
    "cash market margin limit open close other each every both all fees fee commission commissions cost costs price "
    "speed execution phone computer earnings christmas weekend friday monday year month week tomorrow today present "
    "moment once least most two three both these those what whats what's available supported your yours my our their "
    "overall altogether total large"))


# "buy 25 Tapestry there", "put 100 shares of Intel in there": the broker just talked about; not "if it doesn't get
# there today", "hey there", "anything out there", "there is", "sitting there"
THERE = re.compile(r"(?<!\bget\s)(?<!\bgets\s)(?<!\bgot\s)(?<!\bgetting\s)(?<!\bgoes\s)(?<!\bgo\s)(?<!\breach\s)"
                   r"(?<!\breaches\s)(?<!\bhey\s)(?<!\bhi\s)(?<!\bout\s)(?<!\bsitting\s)(?<!\bsits\s)(?<!\bshopping\s)"
                   r"\bthere\b(?!\s+(?:is|are|was|were|will|won't|isn't|aren't)\b)(?!'s)", re.I)
