"""The offline command language: what a chat message asks for, without an LLM.

Messages are matched against a small set of documented forms and keyword intents
("add edge age -> treat", "why did you adjust for income?", "use matching", "export"); what
matches nothing becomes an ``unknown`` intent, which the conversation answers with help
rather than silence. ``HELP`` is the user-facing list of these forms.
"""

import re

from pydantic import BaseModel

from causal_assistant.agent.reasoners.wording import looks_like_question

HELP = """Things you can say (offline commands; with an LLM, plain words work too):
- `approve` — accept the proposed graph and continue
- `add edge A -> B`, `remove edge A -> B`, `reverse edge A -> B` — edit the graph
- `mark X unobserved`, `mark X post-treatment` — change what a variable is
- `why X?` / `why did you adjust for X?` — where an edge or a choice came from
- `use matching` (or weighting, stratification, regression, iv, frontdoor) — change estimator
- `target att` (or ate, atc) — change which effect is estimated
- `treatment X`, `outcome Y` — change the question
- `effect of X on Y` (or any causal question) — a new analysis of the same data
- `rerun estimation` / `go back to modeling` — repeat a stage
- `show graph|estimate|refutations|data|warnings` — see a result again
- `plot overlap`, `plot balance`, `plot distribution of X`, `table X by G` — look at the data
- `run:` followed by Python (or a ```python block) — run your own code in the sandbox
- `run it` — run the code the LLM proposed (it never runs before you say so);
  `keep the code` — add it to the exported script, marked as the LLM's
- `accept` — keep an estimate whose refutation failed, with a caveat
- `export` — download analysis.py, analysis.ipynb and report.md
- `help` — this list"""

STAGE_WORDS = {
    "intake": "intake",
    "data": "intake",
    "question": "question",
    "modeling": "modeling",
    "modelling": "modeling",
    "graph": "modeling",
    "identification": "identification",
    "estimation": "estimation",
    "estimate": "estimation",
    "refutation": "refutation",
    "refuters": "refutation",
    "report": "report",
}
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
        ("target", r"^(?:target|estimate the)\s+(?P<target>ate|att|atc)\b"),
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
    if looks_like_question(message):
        return Intent(kind="ask", args={"question": message})
    return Intent(kind="unknown", args={"text": text})


def stage_for(word: str) -> str | None:
    return STAGE_WORDS.get(word.lower().strip())
