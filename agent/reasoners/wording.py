"""Reading the treatment and the outcome from a question in ordinary words, offline.

Users ask "does the training programme raise earnings?" of a table whose columns are
``treat`` and ``earnings_after``, or "is log wage affected by schooling?" of ``lwage`` and
``educ``. Exact column names are the exception, so a phrase is matched to columns by their
words: camelCase and snake_case split, light stemming (training/trained/train), shared
prefixes for abbreviations (educ/education), a small table of synonyms (schooling and
education, wage and earnings), and a ``l``/``ln``/``log`` prefix read as a log. Which phrase
is the cause comes from the grammar (active, passive, "effect of X on Y", "Y because of X"),
never from which column is named first; when the wording leaves two readings, the caller
asks instead of guessing a direction.
"""

import re
from dataclasses import dataclass

from causal_assistant.tools.data import DatasetProfile

VERBS = (
    "cause|affect|raise|increase|reduce|lower|improve|change|influence|decrease|boost|hurt|"
    "harm|help|lift|cut|drive|shift|alter|impact|worsen|benefit|prevent|shorten|lengthen"
)
PAST = (
    "caused|affected|raised|increased|reduced|lowered|improved|changed|influenced|decreased|"
    "boosted|hurt|harmed|helped|lifted|cut|driven|shifted|altered|impacted|worsened|"
    "determined|explained|benefited|prevented|shortened|lengthened"
)
# (pattern, which named group is the cause): passive and inverted forms come first so that
# "is Y affected by X" never reads as "is <Y> affect <X>".
ROLE_PATTERNS: tuple[str, ...] = (
    rf"(?P<y>.+?)\s+(?:be|been|being|is|are|was|were|get|gets|got)?\s*(?:{PAST})\s+by\s+(?P<t>.+)",
    r"(?:effect|effects|impact|impacts|influence|consequences?)\s+(?:on|upon)\s+(?P<y>.+?)\s+"
    r"of\s+(?P<t>.+)",
    r"(?:effect|effects|impact|impacts|influence|consequences?|role)\s+of\s+(?P<t>.+?)\s+"
    r"(?:on|upon|for|in)\s+(?P<y>.+)",
    r"(?P<t>.+?)'s?\s+(?:effect|impact|influence)\s+(?:on|upon)\s+(?P<y>.+)",
    r"what\s+happens\s+to\s+(?P<y>.+?)\s+(?:when|if|after|once)\s+(?P<t>.+)",
    r"(?P<y>.+?)\s+(?:as a result of|because of|due to|in response to|caused by)\s+(?P<t>.+)",
    r"(?:does|do|did|is|are)\s+(?P<y>.+?)\s+(?:depend|depends|vary|varies|respond|responds)\s+"
    r"(?:on|with|to)\s+(?P<t>.+)",
    rf"(?:does|do|did|will|would|can|could|might|may|is|are|how\s+does|how\s+do|how\s+did|"
    rf"how\s+much\s+does|how\s+much\s+do|to\s+what\s+extent\s+does)\s+(?P<t>.+?)\s+"
    rf"(?:{VERBS}|lead\s+to|result\s+in|make\s+a\s+difference\s+to|matter\s+for)\s+(?P<y>.+)",
    rf"(?P<t>.+?)\s+(?:{VERBS})s?\s+(?P<y>.+)",
    r"(?P<t>.+?)\s+(?:leads|led)\s+to\s+(?P<y>.+)",
    r"(?:would|will|does|do|is|are)\s+(?P<y>.+?)\s+(?:be\s+)?(?:higher|lower|better|worse|"
    r"larger|smaller|different)\s+(?:if|with|without|when|after|had)\s+(?P<t>.+)",
)
STOPWORDS = frozenset(
    (
        "the a an of on in for to and or by with does do did is are was were be it its "
        "their there this that how much what which who whose whether any some people "
        "those someone effect impact really actually more less than when if at as from "
        "into per getting being having have has had we our my your they them can will "
        "would should could might may not no yes level levels rate rates amount variable "
        "column value values up down higher lower "
    ).split()
)
# Words that qualify a measurement (when, in what unit) rather than name it: they break
# ties between "prior earnings" and "earnings after", they never make a match on their own.
QUALIFIERS = frozenset(
    (
        "year years yrs yr usd dollars dollar pct percent num number total count score "
        "index indicator dummy flag var x mm cm km kg g lb lbs ml eur gbp "
    ).split()
)
LATER = frozenset(("after post follow followup later end final outcome future ").split())
EARLIER = frozenset(("before pre prior baseline base initial start past lag ").split())
SYNONYMS: tuple[tuple[str, ...], ...] = tuple(
    tuple(group.split())
    for group in (
        "treat treatment treated training programme program participation participant "
        "intervention enrolment enrollment enrolled",
        "education educ schooling school educated edu study studying",
        "wage earnings earn income salary pay wages re",
        "experience exper tenure",
        "smoke smoking smoker cigarette tobacco cigs",
        "birthweight bweight bwt birthwt",
        "exercise activity workout fitness",
        "mortality death died dead deaths",
        "sale sales revenue sold",
        "price cost prices",
        "advertising advert ads ad marketing campaign",
        "discount coupon promotion promo voucher",
        "purchase buy bought conversion converted order",
        "vaccine vaccinated vaccination vax jab immunisation immunization",
        "female woman women sex gender",
        "married marriage marital",
        "union unionised unionized unionization",
        "employment employed job work working employ",
        "unemployment unemployed jobless",
        "hours hour hrs",
        "rain rainfall precipitation",
        "fertilizer fertiliser",
        "yield harvest crop",
        "crime crimes offence offense arrest arrests",
        "police policing officer officers",
        "insurance insured coverage",
        "blood bp sbp hypertension",
        "weight bmi obesity wt",
        "test exam grade achievement mark",
        "class classroom classsize",
        "college university uni",
        "medication drug dose medicine pill",
        "recovery recovered cure cured",
        "click clicks ctr",
        "subsidy grant transfer cash",
        "minimum min minwage",
        "see saw seen seeing view viewed watched exposed exposure",
        "age aged",
    )
)
LOG_PREFIXES = ("log", "ln", "l")


def _stem(word: str) -> str:
    """A light stem, enough that training/trained/train and wages/wage meet."""
    for suffix in ("ations", "ation", "ings", "ing", "ment", "ers", "ies", "ied", "ed", "er"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return (base + "y") if suffix in ("ies", "ied") else base.rstrip("e")
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z") and len(word) > 4:
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return word.rstrip("e") if len(word) > 3 else word


_GROUP_OF: dict[str, int] = {_stem(w): i for i, group in enumerate(SYNONYMS) for w in group}
_LEXICON = set(_GROUP_OF)


def split_words(text: str) -> list[str]:
    """Lower-case words of a name or a phrase: camelCase, snake_case and digits split."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    spaced = re.sub(r"([A-Za-z])(\d)|(\d)([A-Za-z])", r"\1\3 \2\4", spaced)
    return re.findall(r"[a-z]+|\d+", spaced.lower())


def _unlog(word: str) -> list[str]:
    """``lwage`` -> ``log wage`` when the rest is a word we know."""
    for prefix in LOG_PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= 3 and _stem(rest) in _LEXICON:
            return ["log", rest]
    return [word]


def _concept(word: str) -> str:
    stem = _stem(word)
    return f"g{_GROUP_OF[stem]}" if stem in _GROUP_OF else stem


def _same(a: str, b: str) -> bool:
    """Two words name the same thing: equal concepts, or one abbreviates the other."""
    ca, cb = _concept(a), _concept(b)
    if ca == cb:
        return True
    if a.isdigit() or b.isdigit():
        return False
    short, long_ = sorted((_stem(a), _stem(b)), key=len)
    return len(short) >= 4 and long_.startswith(short)


@dataclass(frozen=True)
class ColumnWords:
    name: str
    content: tuple[str, ...]  # words that name the measurement
    qualifiers: tuple[str, ...]  # when / unit words
    kind: str
    described: tuple[str, ...] = ()  # naming words of the codebook's line for it

    @classmethod
    def of(cls, name: str, kind: str, description: str = "") -> "ColumnWords":
        words = [w for raw in split_words(name) for w in _unlog(raw)]
        content = tuple(w for w in words if w not in QUALIFIERS | LATER | EARLIER)
        qualifiers = tuple(w for w in words if w in QUALIFIERS | LATER | EARLIER)
        described = tuple(w for w in split_words(description) if w not in STOPWORDS)
        if described:
            qualifiers += tuple(w for w in described if w in LATER | EARLIER)
        return cls(name, content or tuple(words), qualifiers, kind, described)


def _content(phrase: str) -> list[str]:
    """The naming words of a phrase, plus each adjacent pair run together, so "birth
    weight" meets ``bweight``'s "birthweight" and "class size" meets ``classsize``."""
    words = [w for raw in split_words(phrase) for w in _unlog(raw)]
    kept = [w for w in words if w not in STOPWORDS]
    return kept + [a + b for a, b in zip(kept, kept[1:], strict=False)]


def match_score(column: ColumnWords, phrase_words: list[str]) -> float:
    """How well a phrase names a column: the share of the column's words it covers, plus a
    smaller credit for the share of the phrase the column explains (0 when nothing meets).
    A codebook line for the column counts when the name alone does not match."""
    by_name = _name_score(column, phrase_words)
    if by_name or not column.described:
        return by_name
    meets = [p for p in phrase_words if any(_same(p, w) for w in column.described)]
    return 0.9 * len(meets) / len(phrase_words) + 0.5 * bool(meets)


def _name_score(column: ColumnWords, phrase_words: list[str]) -> float:
    if not phrase_words or not column.content:
        return 0.0
    named = [q for q in column.qualifiers if any(_same(q, p) for p in phrase_words)]
    words = column.content + tuple(named)
    covered = [w for w in column.content if any(_same(w, p) for p in phrase_words)]
    if not covered:
        return 0.0
    covered += named
    explained = [p for p in phrase_words if any(_same(p, w) for w in words)]
    exact = " ".join(split_words(column.name)) in " ".join(split_words(" ".join(phrase_words)))
    return len(covered) / len(words) + 0.5 * len(explained) / len(phrase_words) + exact


USABLE_KINDS = ("binary", "continuous", "count", "categorical")


def _columns(profile: DatasetProfile, context: str | None = None) -> list[ColumnWords]:
    described = codebook_lines(context, profile.names())
    return [ColumnWords.of(c.name, str(c.kind), described.get(c.name, "")) for c in profile.columns]


def codebook_lines(context: str | None, names: list[str]) -> dict[str, str]:
    """``name: description`` (or ``name - description``) lines of a codebook, by column."""
    found: dict[str, str] = {}
    for line in (context or "").splitlines():
        match = re.match(
            r"\s*[-*`'\"]*\s*(?P<name>[^:=\u2013]+?)\s*[`'\"*]*\s*[:=\u2013-]\s*(?P<d>.+)", line
        )
        if match and match.group("name") in names:
            found[match.group("name")] = match.group("d")
    return found


def rank(phrase: str, columns: list[ColumnWords], role: str) -> list[tuple[float, str]]:
    """Columns a phrase may name, best first, with ties broken by the role: an outcome is
    measured later ("after", a later year), a treatment is more often yes/no."""
    words = _content(phrase)
    scored = []
    for column in columns:
        score = match_score(column, words)
        if score < 0.75:
            continue
        quals = set(column.qualifiers)
        if role == "outcome":
            score += 0.2 * bool(quals & LATER) - 0.2 * bool(quals & EARLIER)
        elif role == "treatment":
            score += 0.1 * (column.kind == "binary") - 0.1 * bool(quals & LATER)
        scored.append((round(score, 6), column.name))
    return sorted(scored, key=lambda s: (-s[0], s[1]))


@dataclass
class Reading:
    treatment: str | None
    outcome: str | None
    note: str
    candidates: dict[str, list[str]]


def _decided(ranked: list[tuple[float, str]]) -> str | None:
    """The best column when it clearly beats the runner-up."""
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[1][0] >= ranked[0][0] - 0.05:
        return None
    return ranked[0][1]


def likely_candidates(profile: DatasetProfile, role: str) -> list[str]:
    """Columns a role usually takes, for a question that names none: yes/no columns as
    treatments, continuous and count columns as outcomes."""
    preferred = ("binary",) if role == "treatment" else ("continuous", "count")
    first = [c.name for c in profile.columns if str(c.kind) in preferred]
    rest = [c.name for c in profile.columns if str(c.kind) in USABLE_KINDS and c.name not in first]
    return (first + rest)[:6]


def read_question(question: str, profile: DatasetProfile, context: str | None = None) -> Reading:
    """Treatment and outcome as the question words them, or the candidates to ask about;
    ``context`` (a codebook) lends each column the words of its description."""
    columns = [c for c in _columns(profile, context) if c.kind in USABLE_KINDS]
    text = " ".join(question.replace("?", " ").split())
    partial: tuple[re.Match, list, list] | None = None
    for pattern in ROLE_PATTERNS:
        match = re.search(pattern, text, flags=re.IGNORECASE)
        if not match:
            continue
        treat_ranked = rank(match.group("t"), columns, "treatment")
        out_ranked = rank(match.group("y"), columns, "outcome")
        if treat_ranked and out_ranked:
            return _worded(match, treat_ranked, out_ranked, profile)
        if partial is None and (treat_ranked or out_ranked):
            partial = (match, treat_ranked, out_ranked)
    if partial:
        return _worded(*partial, profile)
    return _without_direction(text, columns, profile)


def _worded(
    match: re.Match, treat_ranked: list, out_ranked: list, profile: DatasetProfile
) -> Reading:
    """The roles the wording settles; an open role gets the columns it usually takes."""
    treatment, outcome = _decided(treat_ranked), _decided(out_ranked)
    if treatment and treatment == outcome:
        treatment = outcome = None
    candidates = {
        role: [name for _, name in ranked][:6]
        or [c for c in likely_candidates(profile, role) if c not in (treatment, outcome)]
        for role, ranked in (("treatment", treat_ranked), ("outcome", out_ranked))
    }
    note = f"read from the wording {match.group(0).strip()!r}"
    return Reading(treatment, outcome, note, candidates)


def _without_direction(text: str, columns: list[ColumnWords], profile: DatasetProfile) -> Reading:
    """No causal wording: two named columns, one of them yes/no, read as treatment and
    outcome; anything else is asked."""
    named = _covering(text, columns)
    kinds = {c.name: c.kind for c in columns}
    if len(named) == 2 and [kinds[n] == "binary" for n in named].count(True) == 1:
        treatment = next(n for n in named if kinds[n] == "binary")
        outcome = next(n for n in named if n != treatment)
        note = "the question names two columns; the yes/no one is taken as the treatment"
        return Reading(treatment, outcome, note, {"treatment": named, "outcome": named})
    return Reading(
        None,
        None,
        "the question does not say which column is the cause and which the effect",
        {
            "treatment": named or likely_candidates(profile, "treatment"),
            "outcome": named or likely_candidates(profile, "outcome"),
        },
    )


def _covering(text: str, columns: list[ColumnWords]) -> list[str]:
    """The columns a text names, best first, each explaining a word no better column did
    (so "earnings_after" does not also count as naming "prior earnings")."""
    words = _content(text)
    by_name = {c.name: c for c in columns}
    named: list[str] = []
    explained: set[str] = set()
    for _, name in rank(text, columns, "any"):
        own = {p for p in words if any(_same(p, w) for w in by_name[name].content)}
        if own - explained:
            named.append(name)
            explained |= own
    return named


def looks_like_question(text: str) -> bool:
    """A chat message that asks a causal question (so it starts a new analysis)."""
    lowered = text.lower()
    return bool(
        re.search(r"\b(?:effect|impact|influence)s?\s+(?:of|on)\b", lowered)
        or re.search(rf"\b(?:does|do|did|will|would|is|are)\b.+\b(?:{VERBS}|{PAST})\b", lowered)
    )


def normalised(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def find_columns(text: str, columns: list[str]) -> list[str]:
    """Columns named in ``text`` (as whole words, ignoring case and punctuation), in the
    order they appear; a longer name wins over a shorter one it contains."""
    haystack = f" {normalised(text)} "
    hits: list[tuple[int, int, str]] = []
    for column in columns:
        needle = normalised(column)
        if needle:
            for match in re.finditer(rf"(?<= ){re.escape(needle)}(?= )", haystack):
                hits.append((match.start(), -len(needle), column))
    found: list[str] = []
    covered: set[int] = set()
    for start, neg_len, column in sorted(hits):
        span = set(range(start, start - neg_len))
        if not span & covered and column not in found:
            found.append(column)
            covered |= span
    return found
