"""The LLM-backed reasoner: structured answers from any OpenAI-compatible endpoint.

- Only metadata leaves the machine (column names, kinds, missing shares, summaries) unless
  the analyst turned ``send_rows`` on, and all of it travels as JSON inside a marked
  untrusted-data block: column names and cells are attacker-controlled text, so the model
  is told they are data and nothing it answers is ever run; answers are only checked.
- Every answer is checked against the dataset (``validation``). A rejected answer is asked
  for again with the problems fed back, up to ``llm_retries`` answers per call in all;
  then the fallback reasoner answers and the result carries an LLM_FALLBACK warning.
  Endpoint failures (timeout, rate limit, server error) fall back at once, because
  retrying them is how retry storms start.
- Structured-output methods are tried in the configured order; a server that refuses one
  (llama.cpp refuses json_schema with HTTP 400) is not asked that way again this session.
- The graph is voted on by several expert perspectives and then compared with the data:
  conflicts are kept visible as GRAPH_DATA_CONFLICT warnings, never silently dropped.
"""

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from string import Template
from typing import Any, TypeVar, cast

import openai
import pandas as pd
from langchain_core.exceptions import ModelError, ModelTimeoutError, OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from causal_assistant import prompts
from causal_assistant.agent.chat_model import make_chat_model
from causal_assistant.agent.config import Settings
from causal_assistant.agent.reasoners.base import (
    DomainProposals,
    Explanation,
    GraphCritique,
    QuestionParse,
    Reasoner,
)
from causal_assistant.agent.reasoners.explain import fill, template_problems
from causal_assistant.agent.reasoners.validation import (
    AnswerError,
    CritiqueAnswer,
    EdgeVote,
    ExplanationAnswer,
    GraphAnswer,
    ProposalsAnswer,
    QuestionAnswer,
    RoleVote,
    check_critique,
    check_graph,
    check_proposals,
    check_question,
    data_conflicts,
    quoted,
)
from causal_assistant.tools.data import ColumnProfile, DatasetProfile
from causal_assistant.tools.identify import structural_role
from causal_assistant.tools.model import CausalGraph, CritiqueResult, Edge, find_cycle
from causal_assistant.tools.model.modeling import (
    ModelingResult,
    Role,
    RoleName,
    exclusion_reason,
    propose_graph,
)
from causal_assistant.tools.results import AnalysisWarning, WarningCode

MAX_SAMPLE_ROWS = 20
MAX_LEVELS_SHOWN = 10
MAX_TEXT = 160
MAX_ERROR_TEXT = 300
MIN_MEAN_CONFIDENCE = 0.5
# A 400 naming one of these is a server without that structured-output method, not a bad request.
_METHOD_REFUSAL = re.compile(
    r"response_format|json_schema|json_object|tool|function", re.IGNORECASE
)

Answer = TypeVar("Answer", bound=BaseModel)
Checked = TypeVar("Checked")
Votes = list[tuple[str, EdgeVote]]


class LLMUnavailable(Exception):
    """No usable answer from the LLM; the message says why, for the fallback warning."""


class LLMReasoner:
    name = "llm"

    def __init__(
        self, settings: Settings, fallback: Reasoner, chat_model: BaseChatModel | None = None
    ) -> None:
        self.settings = settings
        self.fallback = fallback
        self.chat_model = chat_model or make_chat_model(settings)
        self.methods = list(settings.structured_methods)

    # ----------------------------------------------------------------------- reasoner API

    def parse_question(
        self, question: str, profile: DatasetProfile, context: str | None = None
    ) -> QuestionParse:
        task = render_prompt(
            "question",
            question=json.dumps(question, ensure_ascii=False),
            data=data_block(self._payload(profile, context)),
        )
        try:
            answer, notes = self._ask(QuestionAnswer, task, lambda a: check_question(a, profile))
        except LLMUnavailable as exc:
            parsed = self.fallback.parse_question(question, profile, context)
            warning = _fallback_warning("read the question", exc)
            return parsed.model_copy(
                update={
                    "note": f"{parsed.note} ({warning.message})",
                    "warnings": [*parsed.warnings, warning],
                }
            )
        return QuestionParse(
            treatment=answer.treatment,
            outcome=answer.outcome,
            target=answer.target,
            source="llm",
            note="; ".join([answer.rationale, *notes]),
        )

    def propose_graph(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
    ) -> ModelingResult:
        payload = self._payload(profile, context, df, seed)
        task = render_prompt(
            "graph", treatment=quoted(treatment), outcome=quoted(outcome), data=data_block(payload)
        )
        try:
            answer, notes = self._ask(
                GraphAnswer, task, lambda a: check_graph(a, profile, treatment, outcome)
            )
        except LLMUnavailable as exc:
            result = self.fallback.propose_graph(df, profile, treatment, outcome, seed, context)
            result.warnings.append(_fallback_warning("propose a usable graph", exc))
            return result
        result = _assemble(answer, profile, treatment, outcome, notes)
        data = propose_graph(df, profile, treatment, outcome, seed=seed, context=context)
        _screen_bad_controls(result, data)
        conflicts = data_conflicts(result.graph, data, df, profile, treatment, outcome, seed)
        result.warnings += conflicts
        if conflicts:
            result.reading += (
                f" The data disagree with it in {len(conflicts)} place(s); see the warnings."
            )
        return result

    def critique_graph(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        graph: CausalGraph,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
        data_critique: CritiqueResult | None = None,
    ) -> GraphCritique:
        """The LLM's critique, made without seeing the data critique so that the two can
        disagree; ``data_critique`` is only handed on to the fallback."""
        payload = {**self._payload(profile, context, df, seed), "graph": _graph_payload(graph)}
        task = render_prompt(
            "critique",
            treatment=quoted(treatment),
            outcome=quoted(outcome),
            data=data_block(payload),
        )
        try:
            critique, notes = self._ask(
                CritiqueAnswer,
                task,
                lambda a: check_critique(a, profile, graph, treatment, outcome),
            )
        except LLMUnavailable as exc:
            result = self.fallback.critique_graph(
                df, profile, graph, treatment, outcome, seed, context, data_critique
            )
            result.warnings.append(_fallback_warning("critique the graph", exc))
            return result
        critique.reading = (
            f"LLM critique: {len(critique.points)} point(s) about the graph and "
            f"{len(critique.latents)} unmeasured common cause(s) named."
            + "".join(f" Note: {n}." for n in notes)
        )
        return critique

    def propose_checks(
        self,
        df: pd.DataFrame,
        profile: DatasetProfile,
        graph: CausalGraph,
        treatment: str,
        outcome: str,
        seed: int = 0,
        context: str | None = None,
    ) -> DomainProposals:
        payload = {**self._payload(profile, context, df, seed), "graph": _graph_payload(graph)}
        task = render_prompt(
            "checks", treatment=quoted(treatment), outcome=quoted(outcome), data=data_block(payload)
        )
        try:
            proposals, notes = self._ask(
                ProposalsAnswer, task, lambda a: check_proposals(a, profile, treatment, outcome)
            )
        except LLMUnavailable as exc:
            result = self.fallback.propose_checks(
                df, profile, graph, treatment, outcome, seed, context
            )
            result.warnings.append(
                _fallback_warning("propose instruments or negative controls", exc)
            )
            return result
        proposals.reading = (
            f"The LLM proposed {len(proposals.proposals)} instrument(s) or negative "
            "control(s) from domain knowledge." + "".join(f" Note: {n}." for n in notes)
        )
        return proposals

    def explain(self, facts: dict, question: str | None, context: str | None = None) -> Explanation:
        """A template from the LLM, refused if it holds a digit, filled from ``facts``."""
        payload = {
            **{k: facts[k] for k in ("treatment", "outcome", "estimand", "level")},
            "direction": "positive" if facts["estimate"] > 0 else "negative or zero",
            "interval_includes_zero": _includes_zero(facts),
            **({"description": context} if context else {}),
        }
        task = render_prompt(
            "explain",
            question=json.dumps(question or "", ensure_ascii=False),
            data=data_block(payload),
        )

        def check(answer: ExplanationAnswer) -> str:
            problems = template_problems(answer.template)
            if problems:
                raise AnswerError(problems)
            return answer.template

        try:
            template = self._ask(ExplanationAnswer, task, check)
        except LLMUnavailable as exc:
            result = self.fallback.explain(facts, question, context)
            result.warnings.append(_fallback_warning("explain the result", exc))
            return result
        return Explanation(template=template, text=fill(template, facts), source="llm")

    def _payload(
        self,
        profile: DatasetProfile,
        context: str | None,
        df: pd.DataFrame | None = None,
        seed: int = 0,
    ) -> dict:
        """What leaves the machine: metadata, sampled rows only when allowed, and the
        analyst's description, all of it inside the untrusted data block."""
        payload = _metadata(profile, self.settings.send_rows)
        if self.settings.send_rows and df is not None:
            payload["sample_rows"] = _sample_rows(df, seed)
        if context:
            payload["description"] = context
        return payload

    # ----------------------------------------------------------------------- asking

    def _ask(self, schema: type[Answer], task: str, check: Callable[[Answer], Checked]) -> Checked:
        """A checked answer, or ``LLMUnavailable`` once the budget of answers is spent.

        A method refusal is not an answer, so it does not count against the budget; it is
        bounded anyway because each refused method is dropped for the session.
        """
        schema_text = json.dumps(schema.model_json_schema(), ensure_ascii=False)
        base: list[BaseMessage] = [
            SystemMessage(prompts.load("system")),
            HumanMessage(f"{task}\n\n{render_prompt('answer_format', schema=schema_text)}"),
        ]
        messages, answers, last = base, 0, "no answer"
        while answers < max(1, self.settings.llm_retries):
            method = self._method()
            try:
                return check(self._structured(schema, method, messages))
            except AnswerError as exc:
                answers += 1
                last = str(exc)
                problems = "\n".join(f"- {p}" for p in exc.problems)
                messages = [*base, HumanMessage(render_prompt("retry", problems=problems))]
            except (ModelError, openai.APIError) as exc:
                if not _refuses_method(exc):
                    raise LLMUnavailable(_describe(exc)) from exc
                if method in self.methods:  # another thread may have dropped it already
                    self.methods.remove(method)
        raise LLMUnavailable(f"{answers} answer(s) rejected, the last because {last}")

    def _method(self) -> str:
        if not self.methods:
            raise LLMUnavailable(
                "the endpoint refused every structured-output method "
                f"({', '.join(self.settings.structured_methods)})"
            )
        return self.methods[0]

    def _structured(self, schema: type[Answer], method: str, messages: list[BaseMessage]) -> Answer:
        """The parsed answer; every way the output can be malformed becomes AnswerError.

        langchain-openai reports malformed output differently per method: json_schema
        raises pydantic's ValidationError, json_mode an OutputParserException or a
        ``parsing_error``, function_calling just returns no parsed value.
        """
        runnable = self.chat_model.with_structured_output(schema, method=method, include_raw=True)
        try:
            # include_raw=True returns {raw, parsed, parsing_error}; the stubs say a model
            output = cast(dict[str, Any], runnable.invoke(messages))
        except (ValidationError, OutputParserException) as exc:
            raise AnswerError([f"the answer did not fit the JSON Schema: {_clip(exc)}"]) from exc
        if output["parsed"] is not None:
            return output["parsed"]
        raw = output["raw"]
        broken = getattr(raw, "invalid_tool_calls", None)
        detail = output["parsing_error"] or (broken[0].get("error") if broken else None)
        raise AnswerError(
            [f"the answer did not fit the JSON Schema: {_clip(detail or 'it held no JSON object')}"]
        )


# --------------------------------------------------------------------------- messages


def render_prompt(name: str, **values: str) -> str:
    """Fill a prompt file; Template leaves ``$`` in substituted (untrusted) values alone."""
    return Template(prompts.load(name)).substitute(values)


def data_block(payload: dict) -> str:
    """Untrusted data as JSON between markers tagged with a hash of the content, so no
    column name can forge the closing marker (it would change the tag)."""
    text = json.dumps(payload, ensure_ascii=False)
    tag = hashlib.sha256(text.encode()).hexdigest()[:12]
    return render_prompt("data_block", tag=tag, payload=text)


def _metadata(profile: DatasetProfile, with_levels: bool) -> dict:
    """Column names, kinds and summaries; category levels are cell values, so they go only
    where the user allowed rows to leave the machine."""
    return {"n_rows": profile.n_rows, "columns": [_column(c, with_levels) for c in profile.columns]}


def _column(column: ColumnProfile, with_levels: bool) -> dict:
    info: dict = {
        "name": column.name,
        "kind": column.kind,
        "missing_share": round(column.missing_share, 3),
        "distinct_values": column.n_unique,
    }
    for stat in ("mean", "std", "min", "max"):
        value = getattr(column, stat)
        if value is not None:
            info[stat] = float(f"{value:.4g}")
    if with_levels and column.levels:
        info["most_common_levels"] = [_clip(level) for level in column.levels[:MAX_LEVELS_SHOWN]]
    return info


def _sample_rows(df: pd.DataFrame, seed: int) -> list[dict]:
    """At most MAX_SAMPLE_ROWS seeded rows, only when the analyst allowed rows to leave."""
    sample = df.sample(n=min(MAX_SAMPLE_ROWS, len(df)), random_state=seed)
    records = json.loads(sample.to_json(orient="records", date_format="iso", default_handler=str))
    return [{k: _clip(v) if isinstance(v, str) else v for k, v in r.items()} for r in records]


def _clip(value: object, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _graph_payload(graph: CausalGraph) -> dict:
    return {
        "edges": [[e.cause, e.effect] for e in graph.edges],
        "unobserved": graph.unobserved,
        "post_treatment": graph.post_treatment,
    }


def _includes_zero(facts: dict) -> bool | None:
    low, high = facts.get("ci_low"), facts.get("ci_high")
    return None if low is None or high is None else low <= 0 <= high


def _refuses_method(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 400 and bool(_METHOD_REFUSAL.search(str(exc)))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ModelTimeoutError | openai.APITimeoutError):
        return "no answer within the time limit"
    status = getattr(exc, "status_code", None)
    where = f"HTTP {status}: " if status else ""
    return f"the endpoint failed ({where}{_clip(exc, MAX_ERROR_TEXT)})"


def _fallback_warning(task: str, exc: LLMUnavailable) -> AnalysisWarning:
    return AnalysisWarning(
        code=WarningCode.LLM_FALLBACK,
        message=f"The LLM could not {task} ({exc}); the offline reasoner answered instead.",
    )


# --------------------------------------------------------------------------- voting


def _assemble(
    answer: GraphAnswer, profile: DatasetProfile, treatment: str, outcome: str, notes: Sequence[str]
) -> ModelingResult:
    """The graph the experts agree on: an edge is kept when more than half of them assert
    it with a mean confidence of at least one half; its note records the vote and why."""
    experts = [p.expert for p in answer.perspectives]
    tallies = _tally_edges(answer)
    kept = {pair: votes for pair, votes in tallies.items() if _wins(votes, len(experts))}
    edges = [Edge(cause=treatment, effect=outcome, source="user", note="the effect asked about")]
    edges += [
        Edge(cause=c, effect=e, source="llm", note=_edge_note(votes, len(experts)))
        for (c, e), votes in kept.items()
    ]
    graph, dropped = _break_cycles(CausalGraph(nodes=[treatment, outcome], edges=edges), kept)
    result = ModelingResult(graph=graph, roles=[])
    result.roles = _roles(result, answer, profile, treatment, outcome)
    result.reading = " ".join(
        [
            f"{len(experts)} expert perspectives from the LLM ({', '.join(experts)}) voted on "
            f"{len(tallies)} edges; {len(kept) - len(dropped)} won a majority and form the graph.",
            *dropped,
            *(f"Note: {n}." for n in notes),
        ]
    )
    return result


def _screen_bad_controls(result: ModelingResult, data: ModelingResult) -> None:
    """The offline screens hold for the LLM's graph too: a column the data-based proposal
    keeps out (it defines the treatment, copies the outcome, was measured after it, is an
    id) leaves the graph, so it cannot enter the adjustment set, with the screen's reason
    and warning code. The grouping the proposal clusters by is kept as the cluster."""
    result.cluster = data.cluster
    for role in data.roles:
        if role.role not in ("excluded", "cluster") or role.name not in result.graph.nodes:
            continue
        code = next(
            (w.code for w in data.warnings if repr(role.name) in w.message),
            WarningCode.EXCLUDED_COLUMN,
        )
        result.graph = result.graph.model_copy(
            update={
                "nodes": [n for n in result.graph.nodes if n != role.name],
                "edges": [e for e in result.graph.edges if role.name not in (e.cause, e.effect)],
            }
        )
        result.roles = [
            Role(
                name=r.name,
                role=role.role,
                source=role.source,
                evidence=f"the LLM's graph used it, but {role.evidence}",
            )
            if r.name == role.name
            else r
            for r in result.roles
        ]
        result.warn(
            code,
            f"{quoted(role.name)} taken out of the LLM's graph and the adjustment: "
            f"{role.evidence}.",
        )


def _tally_edges(answer: GraphAnswer) -> dict[tuple[str, str], Votes]:
    """Each expert's most confident vote per edge, so repeating an edge adds no weight."""
    tallies: dict[tuple[str, str], dict[int, tuple[str, EdgeVote]]] = defaultdict(dict)
    for index, perspective in enumerate(answer.perspectives):
        for vote in perspective.edges:
            ballots = tallies[(vote.cause, vote.effect)]
            if index not in ballots or vote.confidence > ballots[index][1].confidence:
                ballots[index] = (perspective.expert, vote)
    return {pair: list(ballots.values()) for pair, ballots in tallies.items()}


def _mean_confidence(votes: Votes) -> float:
    return sum(v.confidence for _, v in votes) / len(votes)


def _wins(votes: Votes, n_experts: int) -> bool:
    return 2 * len(votes) > n_experts and _mean_confidence(votes) >= MIN_MEAN_CONFIDENCE


def _edge_note(votes: Votes, n_experts: int) -> str:
    reasons = "; ".join(f"{expert}: {_clip(vote.rationale)}" for expert, vote in votes)
    return (
        f"LLM, {len(votes)} of {n_experts} experts (mean confidence "
        f"{_mean_confidence(votes):.2f}). {reasons}"
    )


def _break_cycles(
    graph: CausalGraph, kept: dict[tuple[str, str], Votes]
) -> tuple[CausalGraph, list[str]]:
    """Each expert's edges are acyclic, but their majority need not be: drop the weakest
    voted edge on each cycle and say so."""
    dropped = []
    while cycle := find_cycle(graph):
        pairs = [p for p in zip(cycle, cycle[1:], strict=False) if p in kept]
        weakest = min(pairs, key=lambda p: (len(kept[p]), _mean_confidence(kept[p])))
        graph = graph.model_copy(
            update={"edges": [e for e in graph.edges if (e.cause, e.effect) != weakest]}
        )
        dropped.append(
            f"{quoted(weakest[0])} -> {quoted(weakest[1])} was dropped to break "
            f"the cycle {' -> '.join(map(quoted, cycle))}."
        )
    return graph, dropped


def _roles(
    result: ModelingResult,
    answer: GraphAnswer,
    profile: DatasetProfile,
    treatment: str,
    outcome: str,
) -> list[Role]:
    """A role for every column, read off the agreed graph so roles and edges agree; the
    experts' own role votes are kept as the evidence."""
    network = result.graph.to_networkx()
    votes: dict[str, list[tuple[str, RoleVote]]] = defaultdict(list)
    for perspective in answer.perspectives:
        for vote in perspective.roles:
            votes[vote.name].append((perspective.expert, vote))
    roles = [
        Role(name=treatment, role="treatment", source="user", evidence="chosen as treatment"),
        Role(name=outcome, role="outcome", source="user", evidence="chosen as outcome"),
    ]
    for name in profile.names():
        if name in (treatment, outcome):
            continue
        reason = exclusion_reason(profile, name)
        if reason:
            roles.append(Role(name=name, role="excluded", source="heuristic", evidence=reason))
            result.warn(WarningCode.EXCLUDED_COLUMN, f"{name!r} left out: {reason}.")
        elif name not in network:
            roles.append(
                Role(
                    name=name,
                    role="excluded",
                    source="llm",
                    evidence=_role_evidence(
                        "no edge to or from it won the experts' vote", votes[name]
                    ),
                )
            )
        else:
            role = cast(RoleName, structural_role(network, name, treatment, outcome))
            roles.append(
                Role(
                    name=name,
                    role=role,
                    source="llm",
                    evidence=_role_evidence(
                        f"{role} by the edges the experts agreed on", votes[name]
                    ),
                )
            )
    return roles


def _role_evidence(summary: str, votes: list[tuple[str, RoleVote]]) -> str:
    said = "; ".join(
        f"{expert}: {vote.role} ({vote.confidence:.1f}), {_clip(vote.rationale)}"
        for expert, vote in votes
    )
    return f"{summary}. {said}".strip()
