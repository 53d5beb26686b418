"""The offline command language: what a chat message asks for, without an LLM.

Messages are matched against a small set of documented forms and keyword intents
("add edge age -> treat", "why did you adjust for income?", "use matching", "export"); what
matches nothing becomes an ``unknown`` intent, which the conversation answers with help
rather than silence. ``HELP`` is the user-facing list of these forms.
"""

import re

from pydantic import BaseModel

from causal_assistant.agent.reasoners.wording import looks_like_question
from causal_assistant.agent.state import Stage

HELP = """Things you can say (offline commands; with an LLM, plain words work too):
- `approve` — accept the proposed graph and continue
- `add edge A -> B`, `remove edge A -> B`, `reverse edge A -> B` — edit the graph
- `mark X unobserved`, `mark X post-treatment` — change what a variable is
- `why X?` / `why did you adjust for X?` — where an edge or a choice came from
- `use matching` (or weighting, stratification, regression, iv, frontdoor) — change estimator
- `this is a randomised trial`, `use instrument Z`, `use difference in differences with unit
  state and time year`, `use regression discontinuity with running score and cutoff 50`,
  `design backdoor` (or auto, rct, iv, frontdoor, did, rdd) — choose the study design
- `use proxies Z and W` — a negative-control exposure Z and outcome W of a hidden
  confounder: adds a proximal estimate
- `target att` (or ate, atc) — change which effect is estimated
- `effect by sex`, `how does the effect differ for women?` — the effect within each group,
  with intervals and a test that the groups' effects are equal
- `treatment X`, `outcome Y` — change the question
- `effect of X on Y` (or any causal question) — a new analysis of the same data
- `rerun estimation` / `go back to modeling` — repeat a stage
- `show graph|estimate|refutations|data|warnings` — see a result again
- `plot overlap`, `plot balance`, `plot distribution of X`, `table X by G` — look at the data
- `run:` followed by Python (or a ```python block) — run your own code in the sandbox
- `what if there is a hidden confounder?` / `what do you need to assume to get a sign?` —
  bounds under assumptions you can accept one by one, and the sensitivity analysis
- `run it` — run the code the LLM proposed (it never runs before you say so);
  `keep the code` — add it to the exported script, marked as the LLM's
- `accept` — keep an estimate whose refutation failed, with a caveat
- `export` — download analysis.py, analysis.ipynb and report.md
- `help` — this list"""

STAGE_WORDS: dict[str, Stage] = {
    **{stage.value: stage for stage in Stage if not stage.waits and stage != Stage.CRITIQUE},
    "data": Stage.INTAKE,
    "modelling": Stage.MODELING,
    "graph": Stage.MODELING,
    "estimate": Stage.ESTIMATION,
    "refuters": Stage.REFUTATION,
}
# Designs a chat message may name ("use X"); backdoor/front door/iv alone name estimators.
DESIGN_WORDS = (
    r"difference[- ]in[- ]differences?|diff[- ]in[- ]diffs?|did|regression discontinuity"
    r"|rdd|randomi[sz]ed (?:controlled )?(?:trial|experiment)|rct|instrumental variables?"
)
DESIGN_KINDS = {
    "diff": "did",
    "difference": "did",
    "did": "did",
    "regression": "rdd",
    "rdd": "rdd",
    "rd": "rdd",
    "randomised": "rct",
    "randomized": "rct",
    "experiment": "rct",
    "rct": "rct",
    "a/b": "rct",
    "instrumental": "iv",
    "iv": "iv",
    "backdoor": "backdoor",
    "frontdoor": "frontdoor",
    "front": "frontdoor",
    "auto": "auto",
}
DESIGN_COLUMN_WORDS = (
    r"(?P<role>unit|time|cluster|running|cutoff|instruments?)\s+(?P<name>[^\s,;]+)"
)
SHOW_WORDS = ("graph", "estimate", "refutations", "data", "warnings")
# A name is bare, or wrapped in one kind of quote; the quoted form may hold other quote
# characters and arrows ("it's" -> y, `a->b` -> y). The quote group is dropped from args.
NAME = r"""(?P<{0}_q>["'`]?)(?P<{0}>.+?)(?P={0}_q)"""
EDGE = rf"{NAME.format('cause')}\s*(?:->|→|-->|=>)\s*{NAME.format('effect')}"


class Intent(BaseModel):
    kind: str
    args: dict = {}


def _code_block(text: str) -> str | None:
    fenced = re.search(r"```(?:python|py)?\s*\n(?P<code>.*?)```", text, re.S)
    if fenced:
        return fenced.group("code")
    prefixed = re.match(r"\s*run\s*:\s*(?P<code>.+)", text, re.S | re.I)
    return prefixed.group("code") if prefixed else None


def parse_command(text: str) -> Intent:
    """Map a message to an intent; first match wins, so the specific forms come first."""
    code = _code_block(text)
    if code is not None:
        return Intent(kind="run_code", args={"code": code})
    message = text.strip().rstrip("?!. ").strip()
    lower = message.lower()
    patterns: list[tuple[str, str]] = [
        ("confirm_code", r"^(?:yes,?\s+)?run\s+(?:it|the\s+code|this|that)(?:\s+code)?$"),
        (
            "keep_code",
            r"^(?:keep|add|include)\s+(?:it|the(?:\s+llm'?s)?\s+code|this\s+code|that\s+code)"
            r"(?:\s+(?:in|to)\s+(?:the\s+)?(?:export|script|notebook))?$",
        ),
        ("edit", rf"^(?P<op>add|remove|delete|drop|reverse|flip)\s+(?:the\s+)?edge\s+{EDGE}$"),
        (
            "mark",
            rf"^mark\s+{NAME.format('node')}\s+(?:as\s+)?"
            r"(?P<what>unobserved|latent|post[- ]?treatment)$",
        ),
        (
            "proxies",
            r"^(?:use|mark)\s+(?:the\s+)?(?:proxies|negative\s+controls)\s+(?P<names>.+?)"
            r"(?:\s+as\s+proxies)?$",
        ),
        ("target", r"^(?:target|estimate the)\s+(?P<target>ate|att|atc)\b"),
        (
            "target",
            r"^(?:what(?:'s| is)\s+)?(?:the\s+)?effect\s+(?:among|on|for|in)\s+(?:the\s+)?"
            r"(?P<target>treated|untreated|those\s+who\s+(?:received|got|took|had)\s+it)$",
        ),
        (
            "design",
            r"^(?:this|it)(?:\s+is|\s+was|'s)\s+an?\s+(?P<kind>randomi[sz]ed(?:\s+controlled)?"
            r"\s+(?:trial|experiment)|experiment|rct|a/b test)$",
        ),
        (
            "design",
            r"^(?:use|try|switch to)\s+(?:the\s+|an?\s+)?instruments?\s+(?P<instruments>.+)$",
        ),
        (
            "design",
            rf"^(?:use|try|switch to)\s+(?:an?\s+|the\s+)?(?P<kind>{DESIGN_WORDS})"
            r"(?:\s+design)?(?P<rest>\s+with\b.*)?$",
        ),
        ("design", r"^(?:use\s+)?(?:the\s+)?design\s+(?P<kind>[\w-]+)$"),
        (
            "set_variable",
            rf"^(?:use\s+)?(?P<which>treatment|outcome)(?:\s+is\s+|\s*[=:]\s*|\s+)"
            rf"{NAME.format('column')}$",
        ),
        ("plot", rf"^(?:plot|show)\s+(?:the\s+)?distribution\s+of\s+{NAME.format('column')}$"),
        ("plot", r"^(?:plot|show)\s+(?:the\s+)?(?P<kind>overlap|balance)\b"),
        (
            "table",
            rf"^(?:table|tabulate|summari[sz]e)\s+{NAME.format('column')}\s+by\s+"
            rf"{NAME.format('group')}$",
        ),
        (
            "by_group",
            rf"^(?:(?:show|estimate|split)\s+)?(?:the\s+)?(?:effects?\s+|it\s+)?"
            rf"(?:by|within|across|for each)\s+{NAME.format('group')}$",
        ),
        (
            "by_group",
            r"^(?:how\s+)?(?:does|do|is|would|will)\s+(?:the\s+)?(?:effect|impact|it)\s+"
            r"(?:differ|vary|change|look)\s+(?:for|by|among|across|between|in|with)\s+"
            r"(?P<group>.+)$",
        ),
        (
            "by_group",
            r"^(?:what(?:'s| is)\s+)?(?:the\s+)?effect\s+(?:for|among|in)\s+"
            r"(?P<group>(?:wom[ae]n|m[ae]n|females?|males?|girls?|boys?)\b.*)$",
        ),
        ("why", r"^(?:why|how come)\b(?P<subject>.*)$"),
        ("rerun", r"^(?:re-?run|redo|repeat|go back to|back to)\s+(?:the\s+)?(?P<stage>\w+)"),
        (
            "show",
            rf"^(?:show|display|what(?:'s| is) the)\s+(?:the\s+)?(?P<what>"
            rf"{'|'.join(SHOW_WORDS)})",
        ),
        ("use", r"^(?:use|try|switch to)\s+(?P<method>[\w.\- ]+)$"),
    ]
    for kind, pattern in patterns:
        match = re.match(pattern, message, re.I)
        if match:
            return Intent(
                kind=kind,
                args={
                    k: v.strip()
                    for k, v in match.groupdict().items()
                    if v is not None and not k.endswith("_q")
                },
            )
    words = set(re.findall(r"[a-z]+", lower))
    if lower in (
        "approve",
        "approved",
        "yes",
        "ok",
        "okay",
        "looks good",
        "lgtm",
        "continue",
        "go ahead",
        "proceed",
    ) or lower.startswith("approve"):
        return Intent(kind="approve")
    if words & {"accept", "caveat"}:
        return Intent(kind="accept")
    if words & {"export", "download", "script", "notebook"}:
        return Intent(kind="export")
    if lower in ("help", "commands", "what can you do", "?") or lower.startswith("help"):
        return Intent(kind="help")
    if _asks_about_hidden_confounding(words, lower):
        return Intent(kind="bounds")
    if looks_like_question(message):
        return Intent(kind="ask", args={"question": message})
    return Intent(kind="unknown", args={"text": text})


REF_QUOTES = ("", "`", '"', "'")


def node_ref(name: str) -> str | None:
    """How to write ``name`` in an edge command so that ``parse_command`` reads it back
    exactly (bare, else in the first quote that works): the chat's graph element builds
    its clicks into the same typed commands. None when no spelling survives (a name with
    surrounding spaces, say); such a node is shown but not clickable."""
    for quote in REF_QUOTES:
        ref = f"{quote}{name}{quote}"
        readings = (
            (edge_command("add", ref, "x"), {"op": "add", "cause": name, "effect": "x"}),
            (edge_command("add", "x", ref), {"op": "add", "cause": "x", "effect": name}),
        )
        if all(parse_command(text).args == expected for text, expected in readings):
            return ref
    return None


def edge_command(op: str, cause_ref: str, effect_ref: str) -> str:
    """The typed form of an edge edit, from two ``node_ref`` spellings (the element in
    ``ui/public/elements/CausalGraph.jsx`` writes the same string)."""
    return f"{op} edge {cause_ref} -> {effect_ref}"


def design_request(args: dict) -> dict:
    """A ``design`` intent's arguments as the agent's ``design_request``."""
    named = args.get("kind", "").lower()
    first = re.split(r"[\s_-]+", named)[0] if named else ""
    kind = "iv" if args.get("instruments") else DESIGN_KINDS.get(first, named)
    columns: dict = {}
    for match in re.finditer(DESIGN_COLUMN_WORDS, args.get("rest", ""), re.I):
        role, name = match["role"].lower(), match["name"].strip("'\"`")
        if role.startswith("instrument"):
            columns.setdefault("instruments", []).append(name)
        else:
            columns[role] = float(name) if role == "cutoff" else name
    if args.get("instruments"):
        columns["instruments"] = [
            n.strip(" '\"`") for n in re.split(r",|\band\b", args["instruments"]) if n.strip()
        ]
    return {"kind": kind, "columns": columns}


def _asks_about_hidden_confounding(words: set[str], lower: str) -> bool:
    """ "What if there is a hidden confounder?", "what do you need to assume to get a
    sign?", "show the bounds", "how sensitive is it?"."""
    hidden = words & {"hidden", "unmeasured", "unobserved", "latent", "omitted", "unknown"}
    confounding = any(w.startswith("confound") for w in words)
    return bool(
        (hidden and (confounding or "variable" in words or "cause" in words))
        or (confounding and "measure" in lower)
        or words & {"bounds", "bound", "sensitivity", "sensitive"}
        or ("assume" in words and "sign" in words)
    )


def stage_for(word: str) -> Stage | None:
    return STAGE_WORDS.get(word.lower().strip())
