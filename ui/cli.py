"""``causal-assistant``: the headless entry point (analyze) and the chat server (chat).

Thin by design: it parses arguments, runs an ``agent.Session`` and maps outcomes to exit
codes (0 done, 2 the user's input cannot be analysed, 1 our fault), with a one-line reason
on stderr and never a traceback for the user's mistakes.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# start-up is counted from here, before the package's own imports (pandas, networkx, ...)
STARTED = time.perf_counter()

from causal_assistant.tools.data.context import read_context  # noqa: E402
from causal_assistant.tools.errors import InputError  # noqa: E402
from causal_assistant.tools.model.graphs import read_graph  # noqa: E402
from causal_assistant.ui.guard import TOKEN_ENV, new_token, public_host_problem  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="causal-assistant", description="Does X cause Y, and by how much?"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", help="run a whole analysis headless")
    analyze.add_argument("data", help="CSV, TSV, Parquet or Excel file")
    analyze.add_argument("--question", help="the question in words")
    analyze.add_argument("--treatment", help="treatment column")
    analyze.add_argument("--outcome", help="outcome column")
    analyze.add_argument("--target", choices=["ate", "att", "atc"], help="effect to estimate")
    analyze.add_argument(
        "--method", help="estimator, e.g. matching or backdoor.propensity_score_weighting"
    )
    analyze.add_argument("--by", help="also give the effect within each group of this column")
    analyze.add_argument("--graph", help="causal graph file (.dot/.gml/edge list)")
    analyze.add_argument(
        "--context", help="text file describing the data (a codebook or a paragraph)"
    )
    analyze.add_argument(
        "--design",
        choices=["auto", "backdoor", "rct", "iv", "frontdoor", "did", "rdd"],
        default="auto",
        help="study design (default: detect it from the data, the context and the graph)",
    )
    analyze.add_argument(
        "--instrument", action="append", default=[], help="instrument column (repeatable)"
    )
    analyze.add_argument("--unit", help="unit column of a panel")
    analyze.add_argument("--time", help="time column of a panel")
    analyze.add_argument("--running", help="running variable of a discontinuity")
    analyze.add_argument("--cutoff", type=float, help="cutoff of the running variable")
    analyze.add_argument("--cluster", help="column to cluster standard errors by")
    analyze.add_argument(
        "--proxies",
        metavar="Z,W",
        help="proxies of a hidden confounder: a negative-control exposure Z and a "
        "negative-control outcome W (adds a proximal estimate)",
    )
    analyze.add_argument("--out", default="causal-output", help="output folder")
    analyze.add_argument("--seed", type=int, default=0)
    analyze.add_argument(
        "--llm",
        choices=["auto", "off"],
        default=None,
        help="use an LLM if configured (auto) or never (off)",
    )
    chat = commands.add_parser("chat", help="start the chat app (no browser is opened)")
    chat.add_argument("--host", default="127.0.0.1")
    chat.add_argument("--port", type=int, default=8000)
    return parser


def analyze(args: argparse.Namespace) -> int:
    from causal_assistant.tools.export.notebook_run import warm_runner

    warm_runner()  # the notebook's process starts up while the analysis runs
    from causal_assistant.agent.config import Settings
    from causal_assistant.agent.partial import parse_proxies
    from causal_assistant.agent.session import Session
    from causal_assistant.agent.views import AnalysisView

    overrides = {"llm_mode": args.llm} if args.llm else {}
    proxies = parse_proxies(args.proxies) if args.proxies else None
    graph_text = read_graph(args.graph).to_dot() if args.graph else None
    if not (args.question or (args.treatment and args.outcome)):
        raise InputError(
            "Say what to analyse: --question 'effect of X on Y', or --treatment and --outcome."
        )
    session = Session(Settings.from_env(**overrides))
    running = time.perf_counter()
    state = session.start(
        args.data,
        question=args.question,
        treatment=args.treatment,
        outcome=args.outcome,
        target=args.target,
        method=args.method,
        graph_text=graph_text,
        context=read_context(Path(args.context)) if args.context else None,
        seed=args.seed,
        auto_approve=True,
        design_request=_design_request(args),
        by=args.by,
        proxies=proxies,
    )
    view = AnalysisView.of(state)
    # the wall time outside the stages, as entries of its own beside them in result.json
    stages = sum(view.timings_s.values())
    overhead = {
        "startup": running - STARTED,
        "checkpoints": max(time.perf_counter() - running - stages, 0.0),
    }
    written = _export(session, Path(args.out), overhead)
    if view.error:
        flags = " ".join(f"--{role} COLUMN" for role in view.choices or {})
        raise InputError(view.error + (f" (or pass {flags})" if flags else ""))
    result = session.result()
    estimate = result["estimate"]
    if estimate is None:  # not point-identified: a range is the answer
        print(f"Not point-identified; bounds on the effect of {view.treatment} on {view.outcome}:")
        for bound in result["bounds"]:
            span = "empty" if bound["low"] is None else f"{bound['low']:.6g} to {bound['high']:.6g}"
            interval = (
                f" (95% interval {bound['ci_low']:.6g} to {bound['ci_high']:.6g})"
                if bound.get("ci_low") is not None and bound.get("ci_high") is not None
                else ""
            )
            print(f"  {bound['kind']}: {span}{interval}. {bound['sign']}")
            print(f"    assumes: {bound['assumptions']}")
    else:
        print(
            f"{estimate['estimand']} of {view.treatment} on {view.outcome}: "
            f"{estimate['value']:.6g} (95% interval {estimate['ci_low']:.6g} to "
            f"{estimate['ci_high']:.6g}) by {estimate['method']}"
        )
    if result.get("proximal"):
        p = result["proximal"]
        print(
            f"Proximal estimate (proxies {p['nc_exposure']}, {p['nc_outcome']}): "
            f"{p['value']:.6g} (95% interval {p['ci_low']:.6g} to {p['ci_high']:.6g})"
        )
    print(f"Wrote {', '.join(sorted(written))} to {Path(args.out).resolve()}")
    return 0


def _design_request(args: argparse.Namespace) -> dict:
    """The design flags as the agent's ``design_request`` (unset flags left out)."""
    columns = {
        "instruments": args.instrument,
        "unit": args.unit,
        "time": args.time,
        "running": args.running,
        "cutoff": args.cutoff,
        "cluster": args.cluster,
    }
    return {
        "kind": args.design,
        "columns": {k: v for k, v in columns.items() if v not in (None, [])},
    }


def _export(session, out: Path, timings: dict[str, float]) -> dict[str, Path]:
    try:
        return session.export(out, timings=timings, started=STARTED)
    except OSError as exc:
        raise InputError(
            f"Cannot write the results to {out}: {exc.strerror or exc}; "
            "choose another --out folder."
        ) from exc


def _wait_for_port(host: str, port: int, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.25)
    return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def chat(args: argparse.Namespace) -> int:
    """Run Chainlit headless with its app root under CAUSAL_ASSISTANT_HOME, so starting the
    chat writes no config files into the user's working directory.

    Without login (CHAINLIT_AUTH_SECRET) the app serves loopback only, and the address it
    prints carries a per-launch token the app requires (see ``ui.guard``).
    """
    from causal_assistant.agent.config import Settings

    settings = Settings.from_env()
    login = settings.login
    problem = public_host_problem(args.host, login)
    if problem:
        raise InputError(problem)
    from causal_assistant.agent.datastore import private_dir

    app_root = private_dir(settings.home / "chainlit")
    app = Path(__file__).with_name("app.py")
    env = {**os.environ, "CHAINLIT_APP_ROOT": str(app_root)}
    address = f"http://{_url_host(args.host)}:{args.port}/"
    if not login:  # the app answers only with this token, which only this address carries
        token = new_token()
        env[TOKEN_ENV] = token
        address += f"?token={token}"
    command = [
        sys.executable,
        "-m",
        "chainlit",
        "run",
        str(app),
        "--headless",
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    process = subprocess.Popen(command, env=env)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the cleanup below
    try:
        if not _wait_for_port(args.host, args.port, process, timeout=120):
            print(
                f"causal-assistant: the chat app did not start on {args.host}:{args.port}",
                file=sys.stderr,
            )
            return 1
        print(f"Causal Assistant is serving at {address}", flush=True)
        return process.wait()
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return analyze(args) if args.command == "analyze" else chat(args)
    except InputError as exc:
        print(f"causal-assistant: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # our fault: say so in one line, keep the trace for debugging
        # read directly: the settings may be what failed
        if os.environ.get("CAUSAL_ASSISTANT_DEBUG"):
            raise
        print(
            f"causal-assistant: internal error: {type(exc).__name__}: {exc} "
            "(set CAUSAL_ASSISTANT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
