"""A catalogue of bad and awkward inputs, generated on the fly (no stored blobs).

Each case is one small function that writes a file into a folder and returns its path and
the fragment the user must see: for a refused input, a piece of the one-line reason; for an
accepted one, the warning code the result must carry ("" when it should simply work). The
tests in ``test_bad_inputs.py`` run every case through the CLI and through the chat, so a
new failure mode is one function and one ``Case`` line here. ``CASES`` is what the README
counts.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

Made = tuple[Path, str]
Maker = Callable[[Path], Made]
ROWS = 300
FORMULA_NAMES = ("=cmd|' /C calc'!A0", "+1", "@SUM(A1:A9)", "-2+3")


def frame(
    n: int = ROWS, seed: int = 0, effect: float = 2.0, separated: bool = False, **names: str
) -> pd.DataFrame:
    """A well-behaved dataset: two confounders, a binary treatment, a linear outcome.

    ``names`` renames the default columns t, y, x1, x2, so awkward names ride on data
    that is otherwise easy to analyse and any failure is the name's fault. ``separated``
    makes the treatment a function of x1 alone (no overlap at all).
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * x1 - 0.5 * x2)))).astype(int)
    if separated:
        t = (x1 > 0).astype(int)
    y = effect * t + x1 + 0.5 * x2 + rng.normal(scale=0.5, size=n)
    df = pd.DataFrame({"x1": x1.round(4), "x2": x2.round(4), "t": t, "y": y.round(4)})
    return df.rename(columns={key: value for key, value in names.items()})


def _csv(folder: Path, df: pd.DataFrame, name: str = "data.csv", **kwargs: object) -> Path:
    path = folder / name
    df.to_csv(path, index=False, **kwargs)
    return path


def _text(folder: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- unreadable files


def empty_file(folder: Path) -> Made:
    return _text(folder, ""), "is empty"


def blank_lines_only(folder: Path) -> Made:
    return _text(folder, "\n\n  \n"), "no columns to read"


def header_only(folder: Path) -> Made:
    return _text(folder, "x1,x2,t,y\n"), "header row but no data rows"


def binary_junk(folder: Path) -> Made:
    rng = np.random.default_rng(0)
    path = folder / "data.csv"
    path.write_bytes(rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    return path, "binary data"


def renamed_zip(folder: Path) -> Made:
    """An .xlsx that is really something else (here a CSV)."""
    path = folder / "data.xlsx"
    frame(20).to_csv(path, index=False)
    return path, "as Excel"


def unsupported_suffix(folder: Path) -> Made:
    return _csv(folder, frame(), "data.json"), "not a supported table format"


def ragged_rows(folder: Path) -> Made:
    text = "x1,x2,t,y\n1,2,0,3\n1,2,1,3,9,9\n" + "1,2,0,3\n" * 20
    return _text(folder, text), "as many fields as the header"


def unbalanced_quote(folder: Path) -> Made:
    text = 'x1,x2,t,y\n1,"2,0,3\n' + "1,2,1,3\n" * 20
    return _text(folder, text), "quotes"


def over_size_limit(folder: Path) -> Made:
    """Over 1 MB, with CAUSAL_ASSISTANT_MAX_UPLOAD_MB=1 set by the case."""
    return _csv(folder, frame(50_000)), "CAUSAL_ASSISTANT_MAX_UPLOAD_MB"


# --------------------------------------------------------------------------- delimiters, encodings


def commas_in_a_tsv(folder: Path) -> Made:
    """A comma-separated file saved as .tsv: the suffix lies about the delimiter."""
    return _csv(folder, frame(), "data.tsv"), ""


def semicolons_and_decimal_commas(folder: Path) -> Made:
    return _csv(folder, frame(), sep=";", decimal=","), ""


def colon_delimited(folder: Path) -> Made:
    """No supported delimiter at all: read as one column, which must be said plainly."""
    return _csv(folder, frame(), sep=":"), "single column"


def latin1(folder: Path) -> Made:
    df = frame(**{"x1": "âge", "x2": "région"})
    df["région"] = np.where(df["région"] > 0, "Zürich", "Genève")
    return _csv(folder, df, encoding="latin-1"), ""


def utf16_with_bom(folder: Path) -> Made:
    return _csv(folder, frame(**{"x1": "âge"}), encoding="utf-16"), ""


def utf16_without_bom(folder: Path) -> Made:
    text = frame(**{"x1": "âge"}).to_csv(index=False)
    return _text(folder, text, encoding="utf-16-le"), ""


def utf8_bom_cp1252_quotes(folder: Path) -> Made:
    """Windows 'smart quotes' (cp1252 bytes) after a UTF-8 byte-order mark; the treatment
    comes first, so a mark read as Latin-1 ('ï»¿t') would lose it."""
    df = frame()[["t", "x1", "x2", "y"]]
    df["note"] = np.where(df["x1"] > 0, "\u201chigh\u201d", "low")
    path = folder / "data.csv"
    path.write_bytes(codecs.BOM_UTF8 + df.to_csv(index=False).encode("cp1252"))
    return path, ""


# --------------------------------------------------------------------------- column names


def duplicate_names(folder: Path) -> Made:
    return _text(folder, "x1,t,x1,y\n" + "1,0,2,3\n1,1,2,4\n" * 20), "repeats the column name"


def blank_name(folder: Path) -> Made:
    return _text(folder, "x1,,t,y\n" + "1,5,0,3\n1,6,1,4\n" * 20), "has no name"


def names_with_spaces(folder: Path) -> Made:
    df = frame(x1="prior earnings", x2=" age at entry ", t="got training", y="earnings after")
    return _csv(folder, df), ""


def unicode_names(folder: Path) -> Made:
    return _csv(folder, frame(x1="âge", x2="收入 💰", t="治疗", y="résultat")), ""


def quotes_in_names(folder: Path) -> Made:
    return _csv(folder, frame(x1='he said "hi"', x2="it's", t="`t`", y="y'")), ""


def formula_names(folder: Path) -> Made:
    """Spreadsheet-injection names must stay plain names everywhere."""
    df = frame(x1=FORMULA_NAMES[0], x2=FORMULA_NAMES[1], t=FORMULA_NAMES[2], y=FORMULA_NAMES[3])
    return _csv(folder, df), ""


def dotted_and_numeric_names(folder: Path) -> Made:
    return _csv(folder, frame(x1="1st.visit", x2="x.2", t="t.0", y="2y")), ""


# --------------------------------------------------------------------------- values


def all_missing(folder: Path) -> Made:
    return _text(folder, "x1,x2,t,y\n" + ",,,\n" * 30), "Every column"


def all_missing_covariate(folder: Path) -> Made:
    df = frame()
    df["empty"] = np.nan
    return _csv(folder, df), "excluded_column"


def all_missing_treatment(folder: Path) -> Made:
    df = frame()
    df["t"] = np.nan
    return _csv(folder, df), "no values"


def mostly_missing_outcome(folder: Path) -> Made:
    df = frame()
    df.loc[df.index % 3 == 0, "y"] = np.nan
    return _csv(folder, df), "missing_values_dropped"


def infinite_values(folder: Path) -> Made:
    df = frame()
    df.loc[:4, "x1"] = np.inf
    df.loc[5:9, "y"] = -np.inf
    return _csv(folder, df), "missing_values_dropped"


def constant_treatment(folder: Path) -> Made:
    df = frame()
    df["t"] = 1
    return _csv(folder, df), "single value"


def three_level_text_treatment(folder: Path) -> Made:
    df = frame()
    df["t"] = np.array(["a", "b", "c"])[np.arange(len(df)) % 3]
    return _csv(folder, df), "categories"


def text_outcome(folder: Path) -> Made:
    df = frame()
    df["y"] = np.array(["low", "mid", "high", "very high"])[np.arange(len(df)) % 4]
    return _csv(folder, df), "is text"


def yes_no_outcome(folder: Path) -> Made:
    df = frame()
    df["y"] = np.where(df["y"] > df["y"].median(), "yes", "no")
    return _csv(folder, df), "recode"


def stray_text_in_outcome(folder: Path) -> Made:
    df = frame().astype({"y": object})
    df.loc[7, "y"] = "n/a (lost)"
    return _csv(folder, df), "n/a (lost)"


def same_treatment_and_outcome(folder: Path) -> Made:
    return _csv(folder, frame()), "same column"


def tiny_sample(folder: Path) -> Made:
    return _csv(folder, frame(5, seed=3)), "small_sample"


def perfect_separation(folder: Path) -> Made:
    """A treatment that is a step function of a covariate has no overlap at all: the one
    comparison the data allow is at the step, so it is read as a sharp discontinuity."""
    return _csv(folder, frame(separated=True)), "design_detected"


def collinear_covariates(folder: Path) -> Made:
    df = frame()
    df["x2"] = 2 * df["x1"]
    return _csv(folder, df), ""


def thousands_of_levels(folder: Path) -> Made:
    n = 3000
    df = frame(n)
    df["zip"] = [f"Z{i % 2500:05d}" for i in range(n)]
    return _csv(folder, df), ""


def thousands_of_levels_in_the_graph(folder: Path) -> Made:
    """The same zip code, but the user's graph makes it a confounder to adjust for."""
    path, _ = thousands_of_levels(folder)
    return path, "categories"


def formula_cells(folder: Path) -> Made:
    """Cells that a spreadsheet would run as formulas are just text levels here."""
    df = frame()
    df["source"] = np.array(list(FORMULA_NAMES))[np.arange(len(df)) % len(FORMULA_NAMES)]
    return _csv(folder, df), ""


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, which columns to ask about, and what must happen.

    ``expect`` is "error" (exit 2, one line containing the fragment, same text in the
    chat) or "ok" (exit 0 and, when the fragment is not empty, that warning code).
    ``graph`` is an edge list given with the data (``--graph``), when the case needs one.
    ``known_bug`` names a bug in code these tests may not fix; the tests mark the case
    xfail(strict=True) with it, so the fix turns the case green by failing loudly.
    """

    make: Maker
    expect: Literal["error", "ok"]
    treatment: str = "t"
    outcome: str = "y"
    env: dict[str, str] = field(default_factory=dict)
    graph: str = ""
    known_bug: str = ""

    @property
    def name(self) -> str:
        return self.make.__name__


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case(empty_file, "error"),
        Case(blank_lines_only, "error"),
        Case(header_only, "error"),
        Case(binary_junk, "error"),
        Case(renamed_zip, "error"),
        Case(unsupported_suffix, "error"),
        Case(ragged_rows, "error"),
        Case(unbalanced_quote, "error"),
        Case(over_size_limit, "error", env={"CAUSAL_ASSISTANT_MAX_UPLOAD_MB": "1"}),
        Case(commas_in_a_tsv, "ok"),
        Case(semicolons_and_decimal_commas, "ok"),
        Case(colon_delimited, "error"),
        Case(latin1, "ok", treatment="t", outcome="y"),
        Case(utf16_with_bom, "ok"),
        Case(utf16_without_bom, "ok"),
        Case(utf8_bom_cp1252_quotes, "ok"),
        Case(duplicate_names, "error"),
        Case(blank_name, "error"),
        Case(names_with_spaces, "ok", treatment="got training", outcome="earnings after"),
        Case(unicode_names, "ok", treatment="治疗", outcome="résultat"),
        Case(quotes_in_names, "ok", treatment="`t`", outcome="y'"),
        Case(formula_names, "ok", treatment=FORMULA_NAMES[2], outcome=FORMULA_NAMES[3]),
        Case(dotted_and_numeric_names, "ok", treatment="t.0", outcome="2y"),
        Case(all_missing, "error"),
        Case(all_missing_covariate, "ok"),
        Case(all_missing_treatment, "error"),
        Case(mostly_missing_outcome, "ok"),
        Case(infinite_values, "ok"),
        Case(constant_treatment, "error"),
        Case(three_level_text_treatment, "error"),
        Case(text_outcome, "error"),
        Case(yes_no_outcome, "error"),
        Case(stray_text_in_outcome, "error"),
        Case(same_treatment_and_outcome, "error", treatment="y", outcome="y"),
        Case(tiny_sample, "ok"),
        Case(perfect_separation, "ok"),
        Case(collinear_covariates, "ok"),
        Case(thousands_of_levels, "ok"),
        Case(
            thousands_of_levels_in_the_graph,
            "error",
            graph="zip -> t\nzip -> y\nx1 -> t\nx1 -> y\nx2 -> t\nx2 -> y\nt -> y\n",
        ),
        Case(formula_cells, "ok"),
    )
}
