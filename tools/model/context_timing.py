"""When columns were measured, as the user's description of the data says.

A codebook or a paragraph ("death was recorded after follow-up", "income measured at
baseline") settles timing better than a column's name, and the modeller uses it first:
measured after the outcome keeps a column out altogether, after the treatment keeps it
out of the adjustment, before the treatment makes it a candidate common cause. The text is
untrusted: it is only matched against column names and a few timing phrases, and the
sentence that decided is quoted back (clipped) as the evidence.
"""

import re
from collections.abc import Sequence
from typing import Literal

ContextTiming = Literal["pre", "post", "after_outcome"]
MAX_QUOTE = 120
_SENTENCES = re.compile(r"(?<=[.;!?])\s+|\n+")
_AFTER = r"(?:after|following|later than|once)"
_BEFORE = r"(?:before|prior to|ahead of)"
_FOLLOW_UP = (
    r"(?:the\s+)?(?:end\s+of\s+(?:the\s+)?(?:follow[- ]?up|study|trial)|follow[- ]?up|outcome)"
)
_START = (
    r"(?:the\s+)?(?:[a-z-]+\s+){0,2}?(?:treatment|intervention|programme|program|"
    r"randomi[sz]ation|assignment|enrol?ment|exposure)"
)
_PRE = re.compile(
    rf"\b(?:at|from)\s+(?:baseline|enrol?ment|intake|entry|screening|birth)\b|\bbaseline\b"
    rf"|\bpre[- ]?(?:treatment|period|randomi[sz]ation)\b|\b{_BEFORE}\s+{_START}\b",
    re.IGNORECASE,
)
_POST = re.compile(
    rf"\b{_AFTER}\s+{_START}\b|\bpost[- ]?(?:treatment|intervention|randomi[sz]ation)\b"
    rf"|\b(?:at|during)\s+(?:the\s+)?follow[- ]?up\b",
    re.IGNORECASE,
)
_AFTER_OUTCOME = re.compile(rf"\b{_AFTER}\s+{_FOLLOW_UP}\b", re.IGNORECASE)


def _mentions(sentence: str, name: str) -> bool:
    """Whether ``sentence`` names the column (as written, or with spaces for _ and .)."""
    spoken = re.escape(name).replace(r"\_", "[_ ]").replace(r"\.", "[. ]")
    return re.search(rf"(?<![\w]){spoken}(?![\w])", sentence, re.IGNORECASE) is not None


def _spoken_as(sentence: str, name: str, word: str) -> str:
    """``sentence`` with a column's name replaced by ``word``, so 'recorded after re78'
    reads as 'recorded after the outcome'."""
    spoken = re.escape(name).replace(r"\_", "[_ ]").replace(r"\.", "[. ]")
    return re.sub(rf"(?<![\w]){spoken}(?![\w])", word, sentence, flags=re.IGNORECASE)


def timing_from_context(
    context: str | None, names: Sequence[str], treatment: str, outcome: str
) -> dict[str, tuple[ContextTiming, str]]:
    """Column -> (timing, why) for each column a sentence of ``context`` places in time;
    a later sentence about the same column does not overrule an earlier one."""
    found: dict[str, tuple[ContextTiming, str]] = {}
    if not context:
        return found
    for sentence in _SENTENCES.split(context):
        text = sentence.strip()
        if not text:
            continue
        mentioned = [n for n in names if n not in (treatment, outcome) and _mentions(text, n)]
        if not mentioned:
            continue
        plain = _spoken_as(_spoken_as(text, outcome, "the outcome"), treatment, "the treatment")
        timing: ContextTiming | None = None
        if _AFTER_OUTCOME.search(plain):
            timing = "after_outcome"
        elif _POST.search(plain):
            timing = "post"
        elif _PRE.search(plain):
            timing = "pre"
        if timing is None:
            continue
        quote = text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"
        for name in mentioned:
            found.setdefault(name, (timing, f"the data description says: “{quote}”"))
    return found
