"""Assemble the exported script, its helper module and the notebook from the stage code.

The helper module (``causal_helpers.py``, beside the script) holds the source of
``causal_assistant.tools.portable`` and the other portable modules copied verbatim, plus
any function a stage's snippet defines; the script holds the calls, the ``code`` snippets
the tools returned, one section per stage (model, identify, estimate, refute, ...), so it
reads top to bottom as the analysis ran and recomputes the numbers the user saw with the
same code. A PEP 723 header pins the libraries it imports to the versions that produced
the numbers, so ``uv run analysis.py`` or ``pipx run analysis.py`` can run it as it is.
"""

import ast
import importlib
import inspect
import pprint
import re
import sys
from importlib import metadata
from types import ModuleType

import nbformat
from pydantic import BaseModel

from causal_assistant.tools.export.notebook_run import SKIP_TAG
from causal_assistant.tools.text import escape_markdown

HELPER_MODULE = "causal_helpers"
# Names the stage code uses by convention, and the import that binds each.
CONVENTIONAL_IMPORTS = {
    "pd": "import pandas as pd",
    "np": "import numpy as np",
    "nx": "import networkx as nx",
    "plt": "import matplotlib.pyplot as plt",
    "json": "import json",
}
# Under a section the export leaves unrun (the script's ``--OPTION`` sections).
NOT_RUN_NOTE = (
    "\n\n*Not run when this notebook was exported, so it has no saved output: it repeats "
    "every check the analysis had just run (report.md holds their table). Run the cell to "
    "recompute them.*"
)
# pandas reads these formats through a library it does not require.
READER_DEPENDENCIES = {"read_parquet": "pyarrow", "read_excel": "openpyxl"}


class ScriptStage(BaseModel):
    """One section of the script and one cell of the notebook."""

    name: str  # model, identify, estimate, refute, ... (the section's heading)
    about: str  # what the section does, in a line
    code: str
    option: str | None = None  # the script runs it only when given --OPTION


class ScriptPlan(BaseModel):
    title: str
    data_file: str  # the data's file name beside the script, or its path when not shipped
    data_beside: bool = True  # False: too large to ship, so the path is a required argument
    load_code: str  # binds ``df`` from ``DATA_PATH``
    stages: list[ScriptStage]
    custom_code: list[str] = []  # code the user ran in the sandbox, in order
    modules: list[str] = ["causal_assistant.tools.portable"]
    constants: dict[str, object] = {}  # written as ``NAME = repr(value)`` at the top


def _module_imports(module: ModuleType) -> list[str]:
    """The module's own top-level imports, except imports from this package."""
    tree = ast.parse(inspect.getsource(module))
    lines = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "causal_assistant"
            ):
                continue
            lines.append(ast.unparse(node))
    return lines


def _ordered(imports: list[str]) -> list[str]:
    """Standard-library imports first, then the rest, each group sorted, as isort would."""

    def top(line: str) -> str:
        return line.split()[1].split(".")[0]

    unique = sorted(set(imports), key=lambda line: (top(line), line))
    return [i for i in unique if top(i) in sys.stdlib_module_names] + [
        i for i in unique if top(i) not in sys.stdlib_module_names
    ]


def _library(module_names: list[str]) -> tuple[list[str], list[str]]:
    """The portable modules' imports, and their functions' sources in dependency order."""
    modules = [importlib.import_module(name) for name in module_names]
    imports = [line for m in modules for line in _module_imports(m)]
    return imports, [inspect.getsource(fn) for m in modules for fn in m.PORTABLE_FUNCTIONS]


def library_code(module_names: list[str]) -> str:
    """Imports and function sources of the portable modules, in dependency order."""
    imports, functions = _library(module_names)
    return "\n".join(_ordered(imports)) + "\n\n\n" + "\n\n".join(functions)


REPORT_LINES = (
    "print(f\"estimate: {numbers['value']!r}\")\n"
    "print(f\"95% interval: {numbers['ci_low']!r} to {numbers['ci_high']!r} "
    "({numbers['ci_method']})\")\n"
)


class _Split(BaseModel):
    """A snippet taken apart: its imports, the functions it defines, and its statements."""

    imports: list[str]
    functions: dict[str, str]
    statements: str


def _split(code: str, functions: bool = True) -> _Split:
    """Imports (and, with ``functions``, function definitions) leave the statements: the
    functions go to the helper module, and an import left inside ``main()`` would make its
    name local there (``import pandas as pd`` would break the data loading before it).
    The user's own code keeps its functions where it wrote them."""
    tree = ast.parse(code)
    lines = code.splitlines(keepends=True)
    kinds = (ast.Import, ast.ImportFrom, *((ast.FunctionDef,) if functions else ()))
    moved = [n for n in tree.body if isinstance(n, kinds)]
    spans = [
        range(
            min([n.lineno, *(d.lineno for d in getattr(n, "decorator_list", []))]) - 1,
            n.end_lineno or n.lineno,
        )
        for n in moved
    ]
    drop = {i for span in spans for i in span}
    return _Split(
        imports=[ast.unparse(n) for n in moved if not isinstance(n, ast.FunctionDef)],
        functions={
            n.name: "".join(lines[span.start : span.stop])
            for n, span in zip(moved, spans, strict=True)
            if isinstance(n, ast.FunctionDef)
        },
        statements="".join(line for i, line in enumerate(lines) if i not in drop),
    )


def _bound_names(import_line: str) -> set[str]:
    node = ast.parse(import_line).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def _used_names(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


class _Layout(BaseModel):
    """What goes where: the helper module's text, and the script's imports."""

    helpers: str
    imports: list[str]


def _layout(plan: ScriptPlan) -> _Layout:
    parts = [_split(code) for code in [plan.load_code, *(s.code for s in plan.stages)]]
    custom = [_split(code, functions=False) for code in plan.custom_code]
    hoisted = {name: src for part in parts for name, src in part.functions.items()}
    imports, functions = _library([*plan.modules, "causal_assistant.tools.export.portable_report"])
    defined = {
        n.name
        for src in functions
        for n in ast.parse(src).body
        if isinstance(n, ast.FunctionDef | ast.ClassDef)
    }
    extra = [src.rstrip() + "\n" for name, src in hoisted.items() if name not in defined]
    snippet_imports = list(dict.fromkeys(i for p in [*parts, *custom] for i in p.imports))
    extra_used = _used_names("\n".join(extra)) if extra else set()
    helper_imports = [i for i in snippet_imports if _bound_names(i) & extra_used]
    helpers = (
        f'"""Functions behind analysis.py: {_docstring_safe(plan.title)}.\n\n'
        "Generated by Causal Assistant from the code that produced the reported numbers;\n"
        'analysis.py imports them from here."""\n\n'
        + "\n".join(_ordered([*imports, *helper_imports]))
        + "\n\n\n"
        + "\n\n".join([*functions, *extra])
    )
    statements = "\n".join(p.statements for p in [*parts, *custom])
    used = _used_names(statements)
    names = sorted((defined | set(hoisted)) & used)
    script_imports = [i for i in snippet_imports if _bound_names(i) & used]
    bound = {n for i in script_imports for n in _bound_names(i)}
    script_imports += [
        line for alias, line in CONVENTIONAL_IMPORTS.items() if alias in used - bound
    ]
    if names:
        script_imports.append(
            f"from {HELPER_MODULE} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
        )
    return _Layout(helpers=helpers, imports=list(dict.fromkeys(script_imports)))


def dependencies(plan: ScriptPlan, helpers: str, imports: list[str]) -> list[str]:
    """The third-party distributions the script and its helpers import, pinned to the
    installed versions (those that produced the numbers)."""
    modules = {
        ((node.module or "") if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for tree in (ast.parse(helpers), ast.parse("\n".join(imports)))
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
        for alias in node.names
    }
    wanted = modules - set(sys.stdlib_module_names) - {HELPER_MODULE}
    owners = _owners(wanted)
    names = {owners.get(module, module) for module in wanted}
    names |= {dist for call, dist in READER_DEPENDENCIES.items() if call in plan.load_code}
    return sorted(f"{name}=={metadata.version(name)}" for name in names)


def _owners(modules: set[str]) -> dict[str, str]:
    """The installed distribution that provides each top-level module: what
    ``metadata.packages_distributions`` finds, read from each distribution's
    ``top_level.txt`` or else its RECORD's raw lines, for the wanted modules only (the
    standard function parses every RECORD into path objects: six times slower)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        top = dist.read_text("top_level.txt")
        provided = (
            set(top.split())
            if top
            else {
                line.split(",", 1)[0].split("/", 1)[0].removesuffix(".py")
                for line in (dist.read_text("RECORD") or "").splitlines()
            }
        )
        for module in modules & provided:
            found.setdefault(module, dist.metadata["Name"])
    return found


def render_helpers(plan: ScriptPlan) -> str:
    return _layout(plan).helpers


def render_script(plan: ScriptPlan) -> str:
    layout = _layout(plan)
    pins = dependencies(plan, layout.helpers, layout.imports)
    header = (
        "# /// script\n"
        f'# requires-python = ">={sys.version_info.major}.{sys.version_info.minor}"\n'
        "# dependencies = [\n" + "".join(f'#     "{pin}",\n' for pin in pins) + "# ]\n# ///\n"
    )
    options = [s.option for s in plan.stages if s.option]
    usage = " ".join(f"[--{o}]" for o in options)
    data_arg = "[DATA_PATH]" if plan.data_beside else "DATA_PATH"
    doc = (
        f'"""{_docstring_safe(plan.title)}\n\nGenerated by Causal Assistant. Run '
        f"`python analysis.py {data_arg} {usage}`\n(or `uv run analysis.py`, which installs "
        "the pinned libraries above); it recomputes\nthe numbers the analysis reported.\n"
        f"The functions it calls are in {HELPER_MODULE}.py, beside it.\n"
        + (
            f"DATA_PATH defaults to {_docstring_safe(plan.data_file)} beside this script.\n"
            if plan.data_beside
            else "The data was too large to ship beside this script: DATA_PATH is required.\n"
        )
        + '"""\n'
    )
    data = (
        "    parser.add_argument('data', nargs='?', default=str(HERE / "
        f"{plan.data_file!r}),\n                        help='the data file')\n"
        if plan.data_beside
        else "    parser.add_argument('data', help="
        # argparse formats help with %, so a % in the path is doubled
        f"{'the data file (the analysis read ' + plan.data_file.replace('%', '%%') + ')'!r})\n"
    )
    flags = "".join(
        f"    parser.add_argument('--{s.option}', action='store_true', help={s.about!r})\n"
        for s in plan.stages
        if s.option
    )
    body = "".join(_section(number, stage) for number, stage in enumerate(plan.stages, start=1))
    main = (
        "def main():\n"
        "    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])\n"
        + data
        + flags
        + "    args = parser.parse_args()\n"
        "    DATA_PATH = args.data\n"
        + _indent(_split(plan.load_code).statements, 4)
        + body
        + "".join(
            "\n    # code you ran in the chat\n"
            + _indent(_split(code, functions=False).statements, 4)
            for code in plan.custom_code
        )
        + "    return numbers\n"
    )
    return (
        header
        + doc
        + "\nimport argparse\nfrom pathlib import Path\n\n"
        + "".join(f"{line}\n" for line in layout.imports)
        + "\nHERE = Path(__file__).resolve().parent\n"
        + _constants(plan)
        + "\n\n"
        + main
        + "\n\nif __name__ == '__main__':\n    main()\n"
    )


def _section(number: int, stage: ScriptStage) -> str:
    code = _split(stage.code).statements
    title = f"\n    # {number}. {stage.name.capitalize()}: {stage.about}\n"
    if stage.option:
        return title + f"    if args.{stage.option}:\n" + _indent(code, 8)
    return title + _indent(code, 4)


def _constants(plan: ScriptPlan) -> str:
    return "".join(
        f"{name} = {pprint.pformat(value, width=88, sort_dicts=False)}\n"
        for name, value in plan.constants.items()
    )


def render_notebook(plan: ScriptPlan) -> nbformat.NotebookNode:
    layout = _layout(plan)
    data_path = (
        f"DATA_PATH = {plan.data_file!r}  # beside this notebook\n"
        if plan.data_beside
        else f"DATA_PATH = {plan.data_file!r}  # too large to ship: point this at your copy\n"
    )
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {escape_markdown(plan.title)}\n\nGenerated by Causal Assistant; "
            "every cell is the code that produced the reported numbers, with the "
            f"functions it calls in `{HELPER_MODULE}.py` beside this notebook."
        ),
        nbformat.v4.new_code_cell(
            "\n".join(layout.imports)
            + "\n\n"
            + _constants(plan)
            + data_path
            + _split(plan.load_code).statements
            + "\ndf.head()"
        ),
    ]
    for number, stage in enumerate(plan.stages, start=1):
        heading = f"## {number}. {stage.name.capitalize()}\n\n{escape_markdown(stage.about)}"
        code = nbformat.v4.new_code_cell(_split(stage.code).statements.strip("\n"))
        if stage.option:  # what the script runs only on request is left unrun at export
            heading += NOT_RUN_NOTE
            code.metadata["tags"] = [SKIP_TAG]
        cells += [nbformat.v4.new_markdown_cell(heading), code]
    cells += [
        nbformat.v4.new_code_cell(_split(code, functions=False).statements.strip("\n"))
        for code in plan.custom_code
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def _docstring_safe(text: str) -> str:
    """Column names reach the docstring; quotes and backslashes there could end it early
    and turn the rest of a hostile name into code, so they are dropped."""
    return re.sub(r'["\\\n\r]', "", text)


def _indent(code: str, spaces: int) -> str:
    pad = " " * spaces
    return (
        "".join(
            pad + line if line.strip() else line
            for line in code.rstrip("\n").splitlines(keepends=True)
        )
        + "\n"
    )
