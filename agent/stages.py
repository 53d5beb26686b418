"""One function per stage of the analysis, each reading state and returning its update.

Stages call ``tools/`` for every number and the reasoner for every judgement; they record
their warnings, timings and reproducing code under their own name so that re-running a
stage replaces, rather than duplicates, what it said before.
"""

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, Protocol

from langgraph.config import get_stream_writer
from langgraph.graph import END
from langgraph.types import Command, interrupt

from causal_assistant.agent.context import AgentContext
from causal_assistant.agent.datastore import store_dataset
from causal_assistant.agent.partial import optional_bounds, proximal_update, unidentified
from causal_assistant.agent.reasoners.base import QuestionParse
from causal_assistant.agent.reasoners.critique import review_graph
from causal_assistant.agent.reasoners.explain import facts_from_state
from causal_assistant.agent.reasoners.offline import target_from
from causal_assistant.agent.state import AnalysisState, Stage, one_of, present
from causal_assistant.agent.study import (
    alternative_entry,
    check_entry,
    design_spec,
    estimate_entry,
    own_design,
)
from causal_assistant.tools.data.intake import (
    UNUSABLE_KINDS,
    DatasetProfile,
    load_code,
    profile_table,
    resolve_column,
)
from causal_assistant.tools.data.modeldata import check_outcome, treatment_kind
from causal_assistant.tools.designs import Design, DesignColumns, DesignEstimate
from causal_assistant.tools.designs.choice import GRAPH_DESIGNS, choose_design, detect_designs
from causal_assistant.tools.errors import ChoiceNeeded, InputError
from causal_assistant.tools.estimate.estimation import EstimationResult, estimate_effect
from causal_assistant.tools.estimate.estimators import TARGETS
from causal_assistant.tools.estimate.subgroups import effects_by_group
from causal_assistant.tools.model.critique import critique_graph
from causal_assistant.tools.model.graphs import CausalGraph, parse_graph, validate_graph
from causal_assistant.tools.model.instruments import InstrumentResult, suggest_instruments
from causal_assistant.tools.refute.refutation import refute_estimate
from causal_assistant.tools.results import ToolResult, WarningCode

StageRun = Callable[[AnalysisState], dict | Command]


class StageNode(Protocol):
    """A graph node as LangGraph's ``add_node`` types it: it may pass ``state`` by name,
    which a plain ``Callable`` type does not promise."""

    def __call__(self, state: AnalysisState) -> dict | Command: ...


def say(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def recorded(stage: Stage, result: ToolResult, started: float) -> dict:
    """The bookkeeping every stage adds: warnings, timing and reproducing code (state holds
    the stage's plain name: the checkpointer rebuilds no enum)."""
    name = stage.value
    return {
        "stage": name,
        "stage_warnings": {name: [w.model_dump(mode="json") for w in result.warnings]},
        "timings_s": {name: round(time.perf_counter() - started, 4)},
        "stage_code": {name: result.code},
    }


def guarded(stage: Stage, run: StageRun) -> StageNode:
    """Turn a user-fixable problem into a reply and a stop, never a crash."""

    def node(state: AnalysisState) -> dict | Command:
        try:
            return run(state)
        except InputError as exc:
            stopped = {
                "error": str(exc),
                "choices": getattr(exc, "choices", None),
                "stage": stage.value,
                "messages": say(str(exc)),
            }
            # a waiting node routes itself; the others stop by their edge to END
            return Command(goto=END, update=stopped) if stage.waits else stopped

    node.__name__ = stage.value
    return node


class Stages:
    def __init__(self, context: AgentContext) -> None:
        self.ctx = context

    def intake(self, state: AnalysisState) -> dict:
        started = time.perf_counter()
        source = Path(state["data_path"]).expanduser()
        if not source.is_file():
            raise InputError(f"No file at {source}; check the path.")
        limit = self.ctx.settings.max_upload_mb * 1024 * 1024
        if source.stat().st_size > limit:
            raise InputError(
                f"The file is {source.stat().st_size / 2**20:.1f} MB, over the "
                f"{self.ctx.settings.max_upload_mb} MB limit "
                "(CAUSAL_ASSISTANT_MAX_UPLOAD_MB); use a smaller extract or "
                "raise that limit."
            )
        stored, digest = store_dataset(source, self.ctx.settings.data_dir)
        state = {**state, "dataset": {"path": str(stored), "hash": digest}}
        profile = profile_table(self.ctx.frame(state))
        dataset = {
            "path": str(stored),
            "hash": digest,
            "name": source.name,
            "source_path": str(source.resolve()),
            "profile": profile.model_dump(mode="json"),
            "load_code": load_code(stored),
        }
        return {
            "dataset": dataset,
            "messages": say(profile.reading),
            **recorded(Stage.INTAKE, profile, started),
        }

    def question(self, state: AnalysisState) -> dict:
        started = time.perf_counter()
        columns = [c["name"] for c in state["dataset"]["profile"]["columns"]]
        treatment, outcome = state.get("treatment"), state.get("outcome")
        target = state.get("target")
        note, warnings = "named by the user", []
        target = target or (target_from(state["question"]) if state.get("question") else None)
        if not (treatment and outcome):
            parsed = self._parse(state)
            treatment, outcome = treatment or parsed.treatment, outcome or parsed.outcome
            target, note, warnings = target or parsed.target, parsed.note, parsed.warnings
        if not treatment or not outcome:
            raise_choice(treatment, outcome, parsed.candidates, columns)
        treatment, outcome = resolve_column(treatment, columns), resolve_column(outcome, columns)
        if treatment == outcome:
            raise InputError(
                f"Treatment and outcome are the same column ({treatment!r}); "
                "choose two different columns."
            )
        frame = self.ctx.frame(state)
        treatment_kind(frame[treatment], treatment)
        check_outcome(frame[outcome], outcome)
        target = (target or "ate").lower()
        if target not in ("ate", "att", "atc"):
            raise InputError(f"Unknown target {target!r}; use ate, att or atc.")
        result = ToolResult(
            reading=f"Treatment {treatment}, outcome {outcome}, target {target.upper()} ({note}).",
            warnings=warnings,
        )
        return {
            "treatment": treatment,
            "outcome": outcome,
            "target": target,
            "messages": say(result.reading),
            **recorded(Stage.QUESTION, result, started),
        }

    def _parse(self, state: AnalysisState) -> QuestionParse:
        profile = DatasetProfile.model_validate(state["dataset"]["profile"])
        question = state.get("question") or ""
        return self.ctx.reasoner.parse_question(question, profile, state.get("context"))

    def design(self, state: AnalysisState) -> dict:
        """Ask every registered design whether the data look like it, then choose: the
        user's word first, else the strongest evidence; say why."""
        started = time.perf_counter()
        profile = DatasetProfile.model_validate(state["dataset"]["profile"])
        graph = parse_graph(state["graph_text"]) if state.get("graph_text") else None
        request = state.get("design_request") or {}
        evidence, notes = detect_designs(
            self.ctx.frame(state),
            profile,
            state["treatment"],
            state["outcome"],
            state.get("context"),
            graph,
        )
        requested = request.get("kind")
        if state.get("method") and requested in (None, "auto"):
            # a named DoWhy estimator runs on the graph path
            evidence = [e for e in evidence if e.kind in GRAPH_DESIGNS]
        choice = choose_design(evidence, requested, DesignColumns(**request.get("columns", {})))
        if notes:
            choice.reading += " " + " ".join(notes)
        return {
            "study_design": {
                **choice.model_dump(mode="json", exclude={"warnings", "code"}),
                "assumptions": [],
            },
            "messages": say(choice.reading),
            **recorded(Stage.DESIGN, choice, started),
        }

    def modeling(self, state: AnalysisState) -> dict:
        """Propose a graph with a role and provenance for every column, or take the user's."""
        started = time.perf_counter()
        profile = DatasetProfile.model_validate(state["dataset"]["profile"])
        frame, seed = self.ctx.frame(state), state.get("seed", 0)
        treatment, outcome = state["treatment"], state["outcome"]
        if state.get("graph_text"):
            graph = parse_graph(state["graph_text"])
            validate_graph(graph, profile.names())
            for node in (treatment, outcome):
                if node not in graph.nodes:
                    raise InputError(f"The graph has no node {node!r}; add it with its edges.")
            result = ToolResult(
                reading=f"Using your graph: {len(graph.nodes)} variables, {len(graph.edges)} edges."
            )
            roles: list[dict] = []
        else:
            self._check_width(profile, treatment, outcome)
            proposed = self.ctx.reasoner.propose_graph(
                frame, profile, treatment, outcome, seed=seed, context=state.get("context")
            )
            graph, result = proposed.graph, proposed
            roles = [r.model_dump(mode="json") for r in proposed.roles]
        return {
            "graph": graph.model_dump(mode="json"),
            "roles": roles,
            "modeling": {"reading": result.reading, "cluster": getattr(result, "cluster", None)},
            "messages": say(result.reading),
            **recorded(Stage.MODELING, result, started),
        }

    def _check_width(self, profile: DatasetProfile, treatment: str, outcome: str) -> None:
        """Proposing a graph tests pairs of columns; past the cap it would run for hours."""
        cap = self.ctx.settings.max_model_variables
        usable = [
            c.name
            for c in profile.columns
            if c.kind not in UNUSABLE_KINDS and c.name not in (treatment, outcome)
        ]
        if len(usable) > cap:
            raise InputError(
                f"The data have {len(usable)} usable columns besides {treatment} and "
                f"{outcome}; proposing a graph handles at most {cap} "
                "(CAUSAL_ASSISTANT_MAX_MODEL_VARIABLES). Give your own graph over the "
                "columns that matter, or upload an extract with fewer columns."
            )

    def critique(self, state: AnalysisState) -> dict:
        """Check the current graph (proposed, supplied or just edited) against the data and
        look for instruments, so every assumption is tested before anyone approves it."""
        started = time.perf_counter()
        profile = DatasetProfile.model_validate(state["dataset"]["profile"])
        frame, graph = self.ctx.frame(state), CausalGraph.model_validate(state["graph"])
        treatment, outcome = state["treatment"], state["outcome"]
        critique = critique_graph(
            frame, profile, graph, treatment, outcome, seed=state.get("seed", 0)
        )
        review = review_graph(
            self.ctx.reasoner,
            frame,
            profile,
            graph,
            treatment,
            outcome,
            critique,
            state.get("seed", 0),
            state.get("context"),
        )
        graph = review.graph
        try:
            instruments = suggest_instruments(frame, graph, treatment, outcome, profile=profile)
        except InputError as exc:  # an optional screen must not stop the analysis
            instruments = InstrumentResult(reading=f"No instrument screen: {exc}")
        combined = ToolResult(
            reading=" ".join(
                r.reading
                for r in (critique, instruments, review)
                if r.reading and (r is not instruments or instruments.candidates)
            ),
            warnings=_unique_warnings(critique, instruments, review),
        )
        return {
            "graph": graph.model_dump(mode="json"),
            "critique": {
                "reading": combined.reading,
                "checks": critique.model_dump(mode="json"),
                "instruments": instruments.model_dump(mode="json"),
                "reasoner": review.summary(),
            },
            "messages": say(combined.reading),
            **recorded(Stage.CRITIQUE, combined, started),
        }

    def approve_graph(self, state: AnalysisState) -> Command:
        """Wait for the user to approve the graph, or take an edited one and critique it
        again before asking anew."""
        if state.get("auto_approve"):
            return Command(goto=Stage.IDENTIFICATION)
        answer = interrupt(waiting_question(Stage.APPROVE_GRAPH, state))
        if isinstance(answer, dict) and answer.get("graph"):
            graph = CausalGraph.model_validate(answer["graph"])
            columns = [c["name"] for c in state["dataset"]["profile"]["columns"]]
            validate_graph(graph, columns)
            note = answer.get("note") or "Graph updated; approve it when it matches what you know."
            return Command(
                goto=Stage.CRITIQUE,
                update={"graph": graph.model_dump(mode="json"), "messages": say(note)},
            )
        return Command(goto=Stage.IDENTIFICATION, update={"messages": say("Graph approved.")})

    def identification(self, state: AnalysisState) -> dict:
        started = time.perf_counter()
        if (design := own_design(state)) is not None:
            return self._design_identification(state, design, started)
        data, ident = self.ctx.identified(state)
        update = {
            "identification": ident.model_dump(mode="json"),
            "messages": say(ident.reading),
            **recorded(Stage.IDENTIFICATION, ident, started),
        }
        stage = Stage.IDENTIFICATION.value
        update["stage_warnings"] = {
            stage: update["stage_warnings"][stage]
            + [w.model_dump(mode="json") for w in data.result.warnings]
        }
        update["stage_code"] = {stage: data.result.code + ident.code}
        update = proximal_update(self.ctx, state, update)
        if ident.estimand == "none":  # not point-identified: bounds instead of a stop
            return unidentified(self.ctx, state, update)
        return {**update, "bounds": None}

    def _design_identification(self, state: AnalysisState, design: Design, started: float) -> dict:
        spec = design_spec(state)
        ident = design.identify(self.ctx.frame(state), spec)
        columns = ident.columns or spec.columns
        chosen = {
            **present(state.get("study_design"), "study_design"),
            "columns": columns.model_dump(mode="json"),
            "assumptions": [a.model_dump(mode="json") for a in ident.assumptions],
        }
        update = {
            "study_design": chosen,
            "identification": {
                "estimand": spec.kind.value if ident.identified else "none",
                "design_estimand": ident.estimand,
                "adjustment_set": columns.covariates,
                "instruments": columns.instruments,
                "frontdoor": [],
                "reading": ident.reading,
            },
            "messages": say(ident.reading),
            **recorded(Stage.IDENTIFICATION, ident, started),
        }
        if not ident.identified:
            update["error"] = ident.reading
        return update

    def estimation(self, state: AnalysisState) -> dict:
        started = time.perf_counter()
        design = own_design(state)
        if design is not None:
            target = state.get("target") or "ate"
            estimate = design.estimate(self.ctx.frame(state), design_spec(state))
            estimate.code = estimate.code or design.code(design_spec(state))
            alternatives = estimate.details.get("alternatives", [])
            picture = self._design_picture(state, design, estimate)
            message = say(estimate.reading)
            if picture:
                message[0]["images"] = [picture]
            return {
                "estimation": {
                    "estimate": estimate_entry(estimate, target),
                    "alternatives": [alternative_entry(a, target) for a in alternatives],
                    "n_rows": estimate.n_rows,
                    "reading": estimate.reading,
                    "design_estimate": estimate.model_dump(mode="json"),
                    "picture": picture,
                },
                "messages": message,
                **recorded(Stage.ESTIMATION, estimate, started),
            }
        data, ident = self.ctx.identified(state)
        result = estimate_effect(
            data,
            ident,
            target=one_of(state.get("target") or "ate", TARGETS, "target"),
            method=state.get("method"),
            seed=state.get("seed", 0),
        )
        if by := state.get("by"):
            result.by_group = effects_by_group(
                self.ctx.frame(state), data, ident.adjustment_set, by
            )
            result.reading += " " + result.by_group.reading
        return {
            "estimation": result.model_dump(mode="json"),
            "messages": say(result.reading),
            **recorded(Stage.ESTIMATION, result, started),
        }

    def refutation(self, state: AnalysisState) -> dict:
        started = time.perf_counter()
        design = own_design(state)
        if design is not None:
            return self._design_checks(state, design, started)
        data, ident = self.ctx.identified(state)
        estimate = EstimationResult.model_validate(state["estimation"])
        writer = get_stream_writer()
        result = refute_estimate(
            data,
            ident,
            estimate,
            seed=state.get("seed", 0),
            simulations=self.ctx.settings.refutation_simulations,
            budget_s=self.ctx.settings.refutation_budget_s,
            progress=lambda name, done: self._progress(writer, name, done),
            on_plan=lambda plan: writer({"plan": plan.model_dump(mode="json")}),
        )
        return {
            "refutation": result.model_dump(mode="json"),
            "hidden_bounds": optional_bounds(self.ctx, state),
            "messages": say(result.reading),
            **recorded(Stage.REFUTATION, result, started),
        }

    def _design_picture(self, state: AnalysisState, design, estimate: DesignEstimate) -> str | None:
        """The design's own picture (event study, RD plot), saved beside the stored data so
        the chat shows it with the estimate and the export copies it; None for designs
        without one or when it cannot be drawn (a picture must not cost the estimate)."""
        draw = getattr(design, "picture", None)
        if draw is None:
            return None
        try:
            png = draw(self.ctx.frame(state), design_spec(state), estimate)
        except (ValueError, RuntimeError, InputError):
            return None
        folder = self.ctx.settings.data_dir / "pictures"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{state['dataset']['hash'][:16]}-{design.kind}-{uuid.uuid4().hex[:8]}.png"
        path.write_bytes(png)
        return str(path)

    def _design_checks(self, state: AnalysisState, design, started: float) -> dict:
        """The design's own refutations (balance, first-stage strength, pre-trends, ...)."""
        estimate = DesignEstimate.model_validate(state["estimation"]["design_estimate"])
        spec = design_spec(state)
        checks = design.checks(self.ctx.frame(state), spec, estimate)
        counts = {s: sum(c.status == s for c in checks) for s in ("pass", "warn", "fail")}
        check_code = getattr(design, "check_code", None)  # the script's --refute section
        result = ToolResult(
            reading=f"The {design.kind} design's own checks: "
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            + ". "
            + " ".join(f"{c.name}: {c.reading}" for c in checks),
            code=check_code(spec) if check_code else "",
        )
        for check in checks:
            if check.status == "fail":
                result.warn(WarningCode.REFUTATION_FAILED, f"{check.name}: {check.reading}")
        return {
            "refutation": {
                "refutations": [check_entry(c) for c in checks],
                "reading": result.reading,
            },
            "messages": say(result.reading),
            **recorded(Stage.REFUTATION, result, started),
        }

    def _progress(self, writer: Callable[[dict], None], name: str, done: float) -> None:
        self.ctx.check_cancelled()  # a refuter's next step is where an abandoned run stops
        writer({"progress": {"refuter": name, "done": done}})

    def review_refutation(self, state: AnalysisState) -> Command:
        """A failed refuter stops an interactive run until the user decides what to do;
        headless runs keep the warning and go on."""
        failed = failed_refuters(state)
        if not failed or state.get("auto_approve"):
            return Command(goto=Stage.REPORT)
        answer = interrupt(waiting_question(Stage.REVIEW_REFUTATION, state))
        action = answer.get("action") if isinstance(answer, dict) else str(answer)
        if action == "respecify":
            return Command(
                goto=Stage.APPROVE_GRAPH,
                update={"messages": say("Back to the graph: edit it, then approve.")},
            )
        caveat = f"Accepted with a caveat: {', '.join(failed)} failed; the report says so."
        return Command(goto=Stage.REPORT, update={"messages": say(caveat)})

    def report(self, state: AnalysisState) -> dict:
        if not state.get("estimation"):  # bounds only
            bounds = present(state.get("bounds"), "bounds")
            text = f"{bounds['reading']} Say `export` for the report with the picture."
            return {"stage": Stage.REPORT.value, "messages": say(text)}
        refutation = (state.get("refutation") or {}).get("reading", "")
        facts = facts_from_state(state)
        explanation = facts and self.ctx.reasoner.explain(
            facts, state.get("question"), state.get("context")
        )
        text = (
            f"{state['estimation']['reading']} {refutation} "
            f"{explanation.text if explanation else ''} Say `export` for a script, "
            "notebook and report that reproduce every number, or `help` for what else "
            "I can do."
        )
        return {
            "stage": Stage.REPORT.value,
            "explanation": explanation.model_dump(mode="json") if explanation else None,
            "stage_warnings": {
                Stage.REPORT.value: [w.model_dump(mode="json") for w in explanation.warnings]
                if explanation
                else []
            },
            "messages": say(" ".join(text.split())),
        }


def _unique_warnings(*results) -> list:
    seen: dict[tuple[str, str], object] = {}
    for result in results:
        for warning in result.warnings:
            seen.setdefault((warning.code, warning.message), warning)
    return list(seen.values())


def failed_refuters(state: AnalysisState) -> list[str]:
    return [
        r["name"]
        for r in (state.get("refutation") or {}).get("refutations", [])
        if r["status"] == "fail"
    ]


def raise_choice(
    treatment: str | None,
    outcome: str | None,
    candidates: dict[str, list[str]],
    columns: list[str],
) -> NoReturn:
    """Ask which column takes each open role, naming the likeliest candidates."""
    open_roles = [
        role for role, value in (("treatment", treatment), ("outcome", outcome)) if not value
    ]
    choices = {
        role: [c for c in candidates.get(role) or candidates.get("mentioned") or [] if c in columns]
        or columns[:6]
        for role in open_roles
    }
    listed = "; ".join(f"{role}: {', '.join(names)}" for role, names in choices.items())
    raise ChoiceNeeded(
        f"Which column is the {' and which the '.join(open_roles)}? Likely candidates, "
        f"{listed}. Say 'effect of <treatment> on <outcome>' with the column names.",
        choices,
    )


def waiting_question(node: Stage, state: AnalysisState) -> dict:
    """What a waiting node asks; also rebuilt from state by ``Session.pending``."""
    if node == Stage.APPROVE_GRAPH:
        return {
            "kind": Stage.APPROVE_GRAPH.value,
            "graph": state["graph"],
            "question": "Does this graph match what you know? Approve it, or edit it "
            "(e.g. 'add edge age -> treat').",
        }
    return {
        "kind": Stage.REVIEW_REFUTATION.value,
        "failed": failed_refuters(state),
        "question": "A refutation failed. Re-specify the graph ('respecify'), try another "
        "estimator ('use matching'), or accept with a caveat ('accept')?",
        "choices": ["respecify", "use another estimator", "accept"],
    }
