"""Load the user's table and describe its columns.

Intake is the first stage: question mapping, graph proposals and estimator choice all work
from the column kinds decided here, and every unusable file has to stop here with one
sentence the user can act on instead of a pandas traceback. The exact pandas call used to
read a file is also rendered as code, so an exported script loads the data identically.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pandas.api import types as ptypes
from pydantic import BaseModel

from causal_assistant.tools.errors import InputError, ProseError
from causal_assistant.tools.results import ToolResult, WarningCode

ColumnKind = Literal[
    "binary", "continuous", "count", "categorical", "datetime", "identifier", "constant", "text"
]
KIND_ORDER: tuple[str, ...] = get_args(ColumnKind)
# Kinds that cannot enter a causal graph: no variation, no meaning as a number, or a label.
UNUSABLE_KINDS: tuple[str, ...] = ("identifier", "constant", "text", "datetime")

SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".tab",
    ".txt",
    ".parquet",
    ".pq",
    ".xlsx",
    ".xls",
)
_TAB_SUFFIXES = (".tsv", ".tab")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_EXCEL_SUFFIXES = (".xlsx", ".xls")
# Excel header cells can be numbers (years, codes); every later stage indexes by str.
_EXCEL_RENAME = ".rename(columns=str)"

_SNIFF_BYTES = 32 * 1024
_CANDIDATE_DELIMITERS = ",;\t|"
_WHITESPACE_SEP = r"\s+"
_DECIMAL_COMMA = re.compile(r"(?:^|;)\s*-?\d+,\d+\s*(?:;|$)", re.MULTILINE)

_MAX_LEVELS = 20
_FEW_LEVELS = 50
_FEW_LEVELS_SHARE = 0.05
_ID_NAME_UNIQUE_SHARE = 0.95
_DATE_SHARE = 0.9
_CHECK_SAMPLE = 1000
_ID_TOKENS = {"id", "uuid", "guid", "pid", "hhid", "idcode", "ident"}
# Units that rows are grouped in: an integer code for one of these is a label, not a number.
_GROUP_TOKENS = {
    "state", "village", "school", "district", "county", "household", "hh", "firm",
    "company", "cluster", "community", "municipality", "province", "country", "city",
    "clinic", "hospital", "site", "center", "centre", "classroom", "team", "family",
    "neighborhood", "neighbourhood", "zip", "tract", "commune", "person", "individual",
    "worker", "student", "patient", "subject",
}  # fmt: skip
# Integer codes under these names label categories (1 = married, 2 = divorced, ...).
_CODE_TOKENS = {
    "marital", "marst", "status", "race", "ethnic", "ethnicity", "religion", "relig",
    "occupation", "occ", "industry", "ind", "sector", "type", "code", "cat", "category",
    "group", "party", "region", "language", "method", "mode", "reason", "source", "major",
    "nationality", "origin", "class", "kind", "brand",
}  # fmt: skip
# Integers under these names are amounts or counts, whatever their range.
_COUNT_TOKENS = {
    "n", "num", "number", "count", "cnt", "age", "year", "years", "yrs", "educ", "edu",
    "schooling", "grade", "size", "kids", "kid", "child", "children", "rooms", "days",
    "hours", "hrs", "weeks", "months", "times", "visits", "score", "rating", "rank",
    "level", "wave", "period", "dose", "amount", "qty", "quantity", "members", "persons",
    "people", "siblings", "sibs", "floors", "cigs", "drinks", "exper", "experience",
    "time", "round", "month", "day", "week", "quarter", "total",
}  # fmt: skip
_MAX_CODE_LEVELS = 20
# A column named only by one of these, whose values repeat, is the period of a panel or of
# repeated cross-sections: its levels are period fixed effects, not a quantity.
TIME_TOKENS = {"year", "yr", "wave", "period", "time", "month", "quarter", "week", "round"}
_MAX_PERIODS = 60
_MAX_BARE_CODE = 9
_MIN_GROUPS = 10
_GROUP_REPEAT_SHARE = 0.5
_DATE_RE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d"
    r"|\d\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)
_READ_ERRORS = (
    pd.errors.ParserError,
    ValueError,
    OSError,
    KeyError,
    zipfile.BadZipFile,
    csv.Error,
)


class ColumnProfile(BaseModel):
    """What later stages need to know about one column without touching the rows."""

    name: str
    kind: ColumnKind
    dtype: str
    missing_share: float
    n_unique: int
    levels: list[str] = []
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    # an id or unit code whose values repeat (village, state, person in a panel): it groups
    # rows, so it is the natural cluster for standard errors, never a numeric cause
    grouping: bool = False


class DatasetProfile(ToolResult):
    """Schema summary of a table; this, not the DataFrame, is what the agent keeps in state."""

    n_rows: int
    n_columns: int
    columns: list[ColumnProfile]
    profiled_rows: int

    def column(self, name: str) -> ColumnProfile:
        """The profile of ``name``, forgiving case/space/underscore slips like resolve_column."""
        resolved = resolve_column(name, self.names())
        return next(c for c in self.columns if c.name == resolved)

    def names(self) -> list[str]:
        return [c.name for c in self.columns]


# --------------------------------------------------------------------------- reading


ROW_INDEX_ATTR = "row_labels_dropped"  # set by load_table, read by profile_table


def read_options(path: Path) -> tuple[str, dict]:
    """The pandas reader and keyword arguments for this file.

    Decided once from the file itself so that ``load_table`` and the exported script's
    ``load_code`` make the very same call.
    """
    path = Path(path)
    suffix = _checked_suffix(path)
    if suffix in _PARQUET_SUFFIXES:
        return "read_parquet", {}
    if suffix in _EXCEL_SUFFIXES:
        return "read_excel", _row_index_option(_read(path, suffix, lambda: _excel_header(path)))
    encoding, clean = _text_encoding(path)
    sample = _text_sample(path, encoding)
    # A .tsv without a single tab was saved with another delimiter: trust the content.
    tabbed = suffix in _TAB_SUFFIXES and "\t" in sample
    sep = "\t" if tabbed else _sniff_delimiter(sample, suffix in (".txt", *_TAB_SUFFIXES))
    options = {"sep": sep, "encoding": encoding, "low_memory": False}
    if not clean:
        options["encoding_errors"] = "replace"  # a few stray bytes in a UTF-8 file
    if sep == ";" and _DECIMAL_COMMA.search(sample):
        options["decimal"] = ","  # European exports: '1,5;2,25' means 1.5 and 2.25
    return "read_csv", {**options, **_row_index_option(_csv_header(path, sep, encoding))}


def _row_index_option(header: list) -> dict:
    """pandas and R write the row index as a first column with an empty header cell; only
    that cell blank means row labels, which are read as the index, not as data."""
    names = ["" if pd.isna(cell) else str(cell).strip() for cell in header]
    if len(names) > 1 and not names[0] and all(names[1:]):
        return {"index_col": 0}
    return {}


MAX_COLUMNS = 300
MAX_CELLS = 30_000_000
# The smallest an .xlsx cell can be in its sheet's XML (<c r="A1"><v>1</v></c>), so the
# uncompressed size bounds the cells however the sheet's own dimension tag is forged.
_XLSX_CELL_BYTES = 20


def load_table(
    path: str | Path,
    *,
    max_bytes: int | None = None,
    max_columns: int = MAX_COLUMNS,
    max_cells: int = MAX_CELLS,
) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet/Excel file, refusing anything unusable with one clear line.

    The size limits are checked before the table is read (header, Parquet metadata, a
    count of lines, the Excel archive's directory), so a small file that unpacks into a
    huge table is refused before it takes the memory.
    """
    path = Path(path)
    suffix = _checked_suffix(path)
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"'{path.name}' is empty; upload a file with a header row and data.")
    if max_bytes is not None and size > max_bytes:
        raise InputError(
            f"The file is {_size_text(size)}, over the {_size_text(max_bytes)} limit "
            "(CAUSAL_ASSISTANT_MAX_UPLOAD_MB); use a smaller extract or raise that limit."
        )
    reader, kwargs = read_options(path)
    if reader == "read_csv":
        header = _csv_header(path, kwargs["sep"], kwargs["encoding"])
    elif reader == "read_excel":
        header = _read(path, suffix, lambda: _excel_header(path))
    else:
        header = _read(path, suffix, lambda: pq.read_schema(path).names)
    _check_header(header[1:] if "index_col" in kwargs else header)
    _check_size(path, reader, len(header), max_columns, max_cells)
    df = _read(path, suffix, lambda: getattr(pd, reader)(path, **kwargs))
    if suffix in _EXCEL_SUFFIXES:
        df = df.rename(columns=str)
    if "index_col" in kwargs:
        df = _drop_row_labels(df, path)
    _check_content(df, path)
    if reader == "read_csv":
        _check_delimiter(df, path)
        _check_prose(df, path)
    # +-inf cannot enter any estimate; as missing values they are counted and dropped
    # (prepare_frame does the same, so an exported script that reads the raw file agrees).
    numeric = df.select_dtypes(include="number").columns
    if len(numeric) and bool(np.isinf(df[numeric].to_numpy(dtype=float, na_value=np.nan)).any()):
        df[numeric] = df[numeric].replace([np.inf, -np.inf], np.nan)
    return df


def _check_size(path: Path, reader: str, n_columns: int, max_columns: int, max_cells: int) -> None:
    """Refuse a table over the column or cell limit from what the file says of itself."""
    if n_columns > max_columns:
        raise InputError(
            f"'{path.name}' has {n_columns:,} columns, over the limit of {max_columns:,} "
            "(CAUSAL_ASSISTANT_MAX_COLUMNS); keep the columns your question needs and upload "
            "that extract."
        )
    if reader == "read_parquet":
        rows = _read(path, path.suffix.lower(), lambda: pq.read_metadata(path).num_rows)
        where = "by its metadata"
    elif reader == "read_excel":
        rows = _xlsx_cell_bound(path) // max(n_columns, 1)
        where = "unpacked"
    else:
        rows = _line_count(path)
        where = "by its line count"
    if rows * n_columns > max_cells:
        raise InputError(
            f"'{path.name}' holds {rows:,} rows × {n_columns:,} columns {where}, over the "
            f"limit of {max_cells:,} cells (CAUSAL_ASSISTANT_MAX_CELLS); upload a sample or "
            "fewer columns."
        )


def _line_count(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _xlsx_cell_bound(path: Path) -> int:
    """The most cells an .xlsx can hold, from its sheets' uncompressed sizes (0 for .xls)."""
    if not zipfile.is_zipfile(path):
        return 0
    with zipfile.ZipFile(path) as archive:
        sheets = [i for i in archive.infolist() if i.filename.startswith("xl/worksheets/")]
        return sum(info.file_size for info in sheets) // _XLSX_CELL_BYTES


def _drop_row_labels(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    if not df.index.is_unique:
        raise InputError(
            f"The first column of '{path.name}' has no name and its values repeat, so it is "
            "not a row index; give it a name in the header row."
        )
    df = df.reset_index(drop=True)
    df.attrs[ROW_INDEX_ATTR] = True
    return df


def load_code(path: Path, variable: str = "DATA_PATH") -> str:
    """The one line ``load_table`` runs, as code reading the file named by ``variable``.

    It assumes ``import pandas as pd`` and binds ``df``.
    """
    reader, kwargs = read_options(Path(path))
    args = "".join(f", {key}={value!r}" for key, value in kwargs.items())
    rename = _EXCEL_RENAME if Path(path).suffix.lower() in _EXCEL_SUFFIXES else ""
    relabel = ".reset_index(drop=True)" if "index_col" in kwargs else ""
    return f"df = pd.{reader}({variable}{args}){rename}{relabel}"


def file_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes: the dataset's identity in serialisable agent state."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checked_suffix(path: Path) -> str:
    if not path.exists():
        raise InputError(f"File '{path}' does not exist; check the path and try again.")
    if not path.is_file():
        raise InputError(f"'{path}' is a folder, not a file; give the path of a data file.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "no extension"
        raise InputError(
            f"'{path.name}' has {shown}, which is not a supported table format; "
            f"save it as one of {', '.join(SUPPORTED_SUFFIXES)}."
        )
    return suffix


def _text_encoding(path: Path) -> tuple[str, bool]:
    """The encoding, and whether the whole file decodes with it (streamed).

    UTF-8 when it all decodes, else Latin-1, which never fails; but a file that starts
    with the UTF-8 byte-order mark says it is UTF-8, and read as Latin-1 its mark would
    turn into 'ï»¿' in front of the first column name, so it stays UTF-8 with the few
    undecodable bytes replaced.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", True
        bomless = _bomless_utf16(head)
        if bomless:
            return bomless, True
        if _looks_binary(head):
            raise InputError(
                f"'{path.name}' is not a text table (it holds {_binary_kind(head)}); "
                "upload the data itself as CSV, TSV, Parquet or Excel."
            )
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            block = head
            while block:
                decoder.decode(block)
                block = handle.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            if head.startswith(codecs.BOM_UTF8):
                return "utf-8-sig", False
            return "latin-1", True
    return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), True


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark (some Windows exports): mostly-ASCII text has a NUL
    in every other byte, which would otherwise look like binary data."""
    head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, text, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) > 0.9 * len(zeros) and 0 not in text:
            try:
                head.decode(encoding)
            except UnicodeDecodeError:
                continue
            return encoding
    return None


def _looks_binary(head: bytes) -> bool:
    control = sum(byte < 9 or 13 < byte < 32 for byte in head)
    return b"\x00" in head or control > 0.05 * len(head)


_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"PK\x03\x04", "a ZIP archive, such as a Word or Excel file"),
)


def _binary_kind(head: bytes) -> str:
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), "binary data")


def _check_prose(df: pd.DataFrame, path: Path) -> None:
    """Prose split at its commas is not a table: no numbers anywhere, and header "names"
    that are runs of words rather than names."""
    if len(df.select_dtypes(include="number").columns):
        return
    words = [len(str(name).split()) for name in df.columns]
    cells = df.head(50).astype(str).to_numpy().ravel()
    wordy_cells = sum(len(cell.split()) >= 5 for cell in cells) >= 0.5 * max(len(cells), 1)
    if (max(words) >= 5 and sum(words) / len(words) >= 3) or (len(df.columns) == 1 and wordy_cells):
        raise ProseError(
            f"'{path.name}' reads as prose (sentences, not columns of values); upload the "
            "data table itself (CSV, TSV, Parquet or Excel) and give a description as context."
        )


def _text_sample(path: Path, encoding: str) -> str:
    """The first few KB, cut at a line end: a cut-off last line breaks delimiter consistency."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(_SNIFF_BYTES)
    if len(sample) == _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]
    return sample


def _sniff_delimiter(sample: str, whitespace_allowed: bool) -> str:
    """Pick among , ; tab |; aligned columns separated by spaces are common in .txt files."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    widths = {len(line.split()) for line in lines}
    if whitespace_allowed and len(lines) > 1 and len(widths) == 1 and widths.pop() > 1:
        return _WHITESPACE_SEP
    return ","


def _csv_header(path: Path, sep: str, encoding: str) -> list[str]:
    """The header cells as written; pandas would rename blanks and duplicates silently."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        if sep == _WHITESPACE_SEP:
            return next((line.split() for line in handle if line.strip()), [])
        try:
            rows = csv.reader(handle, delimiter=sep)
            return next((row for row in rows if len(row) > 1 or (row and row[0].strip())), [])
        except csv.Error as exc:
            raise InputError(
                f"Could not read the header row of '{path.name}' ({exc}); "
                "check its quotes and delimiter."
            ) from None


def _excel_header(path: Path) -> list:
    first = pd.read_excel(path, header=None, nrows=1)
    return [] if first.empty else first.iloc[0].tolist()


def _check_header(cells: list) -> None:
    names = ["" if pd.isna(cell) else str(cell) for cell in cells]
    blank = [str(i + 1) for i, name in enumerate(names) if not name.strip()]
    if blank:
        which = f"Column {blank[0]} has" if len(blank) == 1 else f"Columns {', '.join(blank)} have"
        raise InputError(
            f"{which} no name in the header row; put the column names in the first row "
            "and give every column a name (or delete the unnamed column)."
        )
    duplicated = [name for name, count in Counter(names).items() if count > 1]
    if duplicated:
        listed = ", ".join(f"'{name}'" for name in duplicated)
        raise InputError(
            f"The header row repeats the column name {listed}; "
            "rename the copies so every column has its own name."
        )


def _read(path: Path, suffix: str, call: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Run a pandas read, turning the reader's many failure types into one readable line."""
    try:
        return call()
    except pd.errors.EmptyDataError:
        raise InputError(
            f"'{path.name}' has no columns to read; upload a file with a header row and data."
        ) from None
    except ImportError:
        raise InputError(
            f"Reading '{suffix}' files needs an optional package that is not installed; "
            "save the sheet as .xlsx or CSV and upload that."
        ) from None
    except _READ_ERRORS as exc:
        detail = _first_line(exc)
        if suffix in _PARQUET_SUFFIXES + _EXCEL_SUFFIXES:
            raise InputError(
                f"Could not read '{path.name}' as {_format_name(suffix)} ({detail}); "
                "export it again from the program that made it, or save it as CSV."
            ) from None
        raise InputError(
            f"Could not read '{path.name}' as a delimited text table ({detail}); check that "
            "every row has as many fields as the header and that quotes are balanced."
        ) from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _format_name(suffix: str) -> str:
    return "Parquet" if suffix in _PARQUET_SUFFIXES else "Excel"


def _check_content(df: pd.DataFrame, path: Path) -> None:
    if df.shape[1] == 0:
        raise InputError(f"'{path.name}' has no columns; upload a file with a header row and data.")
    if len(df) == 0:
        raise InputError(
            f"'{path.name}' has a header row but no data rows; upload the file with its data."
        )
    if bool(df.isna().all().all()):
        raise InputError(
            f"Every column in '{path.name}' is empty; check that you exported the right "
            "file or sheet."
        )


def _check_delimiter(df: pd.DataFrame, path: Path) -> None:
    """One column whose name holds a separator-like character was split on nothing."""
    if df.shape[1] == 1 and re.search(r"[,;|:\t]", str(df.columns[0])):
        raise InputError(
            f"'{path.name}' was read as a single column named '{str(df.columns[0])[:60]}', "
            "so its fields are separated by a character I do not recognise; save it with "
            "commas, semicolons, tabs or '|' between the fields."
        )


def _size_text(n_bytes: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{n_bytes} bytes"


# --------------------------------------------------------------------------- columns


def resolve_column(name: str, columns: Sequence[str]) -> str:
    """The column the user meant: exact, else the one match ignoring case, spaces and '_'."""
    columns = [str(c) for c in columns]
    if name in columns:
        return name
    key = _name_key(name)
    matches = [c for c in columns if _name_key(c) == key]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(
            f"Column '{name}' matches several columns ({_quoted(matches)}); use the exact name."
        )
    close = difflib.get_close_matches(name, columns, n=3, cutoff=0.6)
    hint = f"did you mean {_quoted(close, ' or ')}? " if close else ""
    raise InputError(f"Column '{name}' is not in the data; {hint}Columns: {_quoted(columns)}.")


def _name_key(name: str) -> str:
    return re.sub(r"[\s_]+", "", name).casefold()


def _quoted(names: Sequence[str], sep: str = ", ", limit: int = 30) -> str:
    shown = sep.join(f"'{n}'" for n in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


# --------------------------------------------------------------------------- profiling


def profile_table(
    df: pd.DataFrame, *, sample_rows: int = 200_000, seed: int = 0, source: Path | None = None
) -> DatasetProfile:
    """Classify every column and summarise missingness.

    Large tables are profiled on a seeded sample (reported, so the numbers are
    reproducible); ``source`` is the file the frame came from, used to render the code.
    """
    if df.shape[1] == 0 or len(df) == 0:
        raise InputError("The table has no rows or no columns; load a file with data in it.")
    sampled = len(df) > sample_rows
    data = df.sample(n=sample_rows, random_state=seed) if sampled else df
    profile = DatasetProfile(
        n_rows=len(df),
        n_columns=df.shape[1],
        columns=[_profile_column(str(name), data.iloc[:, i]) for i, name in enumerate(df.columns)],
        profiled_rows=len(data),
    )
    profile.reading = _reading(profile)
    if df.attrs.get(ROW_INDEX_ATTR):
        profile.reading += (
            " The unnamed first column holds row labels; it is read as the row index, not as data."
        )
    profile.code = _profile_code(source, sample_rows if sampled else None, seed)
    if sampled:
        profile.warn(
            WarningCode.LARGE_DATA_SAMPLED,
            f"Column types and summaries come from a seeded random sample of {len(data):,} "
            f"of the {len(df):,} rows (seed {seed}); estimation uses every row.",
        )
    return profile


def _profile_column(name: str, column: pd.Series) -> ColumnProfile:
    present = _analysable(column.dropna())
    n_unique = int(present.nunique())
    kind = _kind(name, present, len(column), n_unique)
    profile = ColumnProfile(
        name=name,
        kind=kind,
        dtype=str(column.dtype),
        missing_share=float(column.isna().mean()),
        n_unique=n_unique,
        grouping=groups_rows(name, kind, n_unique, len(present)),
    )
    if kind in ("binary", "categorical"):
        counts = present.value_counts().head(_MAX_LEVELS)
        profile.levels = [str(level) for level in counts.index]
    if kind in ("binary", "count", "continuous") and ptypes.is_numeric_dtype(present):
        values = present.to_numpy(dtype=float, na_value=np.nan)
        values = values[np.isfinite(values)]
        if values.size:
            profile.mean, profile.min, profile.max = _finite(
                values.mean(), values.min(), values.max()
            )
            profile.std = _finite(values.std(ddof=1))[0] if values.size > 1 else None
    return profile


def _analysable(present: pd.Series) -> pd.Series:
    """Numbers stored as objects become numeric; unhashable cells (lists, dicts) become str."""
    if ptypes.is_object_dtype(present):
        inferred = pd.api.types.infer_dtype(present, skipna=True)
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return pd.to_numeric(present)
        if inferred == "boolean":
            return present.astype(bool)
        try:
            present.nunique()
        except TypeError:
            return present.astype(str)
    return present


def _finite(*values: float) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _kind(name: str, present: pd.Series, n_rows: int, n_unique: int) -> ColumnKind:
    """Decide a column's kind; the order of the checks is the precedence."""
    if n_unique <= 1:
        return "constant"
    if n_unique == 2:
        return "binary"
    if ptypes.is_datetime64_any_dtype(present):
        return "datetime"
    unique_per_row = n_unique == n_rows
    id_name = _id_like_name(name) and n_unique > _ID_NAME_UNIQUE_SHARE * len(present)
    if ptypes.is_numeric_dtype(present):
        if not _integral(present):
            return "continuous"
        dense = _dense_integers(present)
        if id_name or (unique_per_row and ptypes.is_integer_dtype(present) and dense):
            return "identifier"
        coded = coded_kind(name, present, n_unique)
        if coded:
            return coded
        return "count" if present.min() >= 0 else "continuous"
    text = present.astype(str)
    if _dates(text):
        return "datetime"
    free_text = _free_text(text)
    if (unique_per_row or id_name) and not free_text:
        return "identifier"
    few = n_unique <= _FEW_LEVELS or n_unique < _FEW_LEVELS_SHARE * len(present)
    return "text" if free_text and not few else "categorical"


def _name_tokens(name: str) -> set[str]:
    return {t.lower() for t in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)}


def _id_like_name(name: str) -> bool:
    return bool(_name_tokens(name) & _ID_TOKENS)


def coded_kind(name: str, present: pd.Series, n_unique: int) -> ColumnKind | None:
    """The kind of an integer column whose numbers are labels, or None for a real number.

    An id or unit code that repeats (person ids in a panel, village or state codes) is an
    identifier when it has many values and a categorical with few; a code with few levels
    (marital status 1-6, region 1-4) is categorical when its name says it is a code, or
    when it runs from 1 to at most 9 under a name that is not a count ("children"). A
    repeating period ("year" in a panel) is categorical too: period fixed effects.
    """
    tokens = _name_tokens(name)
    repeats = n_unique <= _GROUP_REPEAT_SHARE * len(present)
    if tokens and tokens <= TIME_TOKENS and repeats and 2 < n_unique <= _MAX_PERIODS:
        return "categorical"
    if tokens & _ID_TOKENS and repeats:
        return "identifier" if n_unique > _FEW_LEVELS else "categorical"
    if tokens & _COUNT_TOKENS:
        return None
    if tokens & _GROUP_TOKENS and repeats and n_unique >= _MIN_GROUPS:
        return "identifier" if n_unique > _FEW_LEVELS else "categorical"
    if n_unique > _MAX_CODE_LEVELS:
        return None
    if tokens & _CODE_TOKENS:
        return "categorical"
    low, high = float(present.min()), float(present.max())
    if low >= 1 and high <= _MAX_BARE_CODE and n_unique >= 3:
        return "categorical"
    return None


def groups_rows(name: str, kind: str, n_unique: int, n_rows: int) -> bool:
    """An id or unit column whose values repeat enough to cluster standard errors by."""
    tokens = _name_tokens(name)
    if kind not in ("identifier", "categorical") or not tokens & (_ID_TOKENS | _GROUP_TOKENS):
        return False
    if tokens & _COUNT_TOKENS and not tokens & _ID_TOKENS:
        return False
    return _MIN_GROUPS <= n_unique <= _GROUP_REPEAT_SHARE * n_rows


def categorical_codes(df: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """The numeric columns among ``names`` that intake types as categories (codes)."""
    found = []
    for name in names:
        values = df[name].dropna()
        if not ptypes.is_numeric_dtype(values) or ptypes.is_bool_dtype(values):
            continue
        n_unique = int(values.nunique())
        if n_unique > 2 and _integral(values) and coded_kind(name, values, n_unique):
            found.append(name)
    return found


def _integral(values: pd.Series) -> bool:
    if ptypes.is_integer_dtype(values):
        return True
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))


def _dense_integers(values: pd.Series) -> bool:
    """Row numbers and issued IDs fill their range; measured integers (income) rarely do."""
    span = float(values.max()) - float(values.min()) + 1
    return span <= 2 * len(values)


def _sample(text: pd.Series) -> pd.Series:
    return text.sample(n=_CHECK_SAMPLE, random_state=0) if len(text) > _CHECK_SAMPLE else text


def _dates(text: pd.Series) -> bool:
    """Strings that look like and parse as dates; the pattern keeps '12' or 'March' out."""
    sample = _sample(text)
    if sample.str.contains(_DATE_RE).mean() <= _DATE_SHARE:
        return False
    try:
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):
        return False
    return bool(parsed.notna().mean() > _DATE_SHARE)


def _free_text(text: pd.Series) -> bool:
    sample = _sample(text)
    return bool(sample.str.len().median() >= 20 and sample.str.contains(r"\s").mean() >= 0.5)


def _reading(profile: DatasetProfile) -> str:
    counts: Counter[str] = Counter(c.kind for c in profile.columns)
    kinds = ", ".join(f"{counts[kind]} {kind}" for kind in KIND_ORDER if counts[kind])
    rows = f"{profile.n_rows:,} rows"
    if profile.profiled_rows < profile.n_rows:
        rows += f" (profiled on a seeded sample of {profile.profiled_rows:,})"
    plural = "s" if profile.n_columns != 1 else ""
    first = f"{rows} and {profile.n_columns:,} column{plural}: {kinds}."
    missing = sorted(
        (c for c in profile.columns if c.missing_share > 0), key=lambda c: -c.missing_share
    )
    if not missing:
        return f"{first} No values are missing."
    if len(missing) == 1:
        only = missing[0]
        return f"{first} {_percent(only.missing_share)} of values missing in '{only.name}'."
    top = ", ".join(f"'{c.name}' ({_percent(c.missing_share)})" for c in missing[:3])
    return f"{first} Values are missing in {len(missing)} columns, most in {top}."


def _percent(share: float) -> str:
    if share < 0.01:
        return "<1%"
    if 0.99 < share < 1:
        return ">99%"
    return f"{share:.0%}"


def _profile_code(source: Path | None, sample_rows: int | None, seed: int) -> str:
    lines = ["import pandas as pd", ""]
    if source is not None:
        lines.append(load_code(source))
    frame = "df"
    if sample_rows is not None:
        lines.append(f"profiled = df.sample(n={sample_rows}, random_state={seed})")
        frame = "profiled"
    lines += [
        f"print({frame}.describe(include='all').T)",
        f"print({frame}.isna().mean().sort_values(ascending=False))",
    ]
    return "\n".join(lines)
