"""Intake: reading every supported format, column kinds, and one-line errors for bad files."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causal_assistant.tools.data.intake import (
    SUPPORTED_SUFFIXES,
    file_hash,
    load_code,
    load_table,
    profile_table,
    read_options,
    resolve_column,
)
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.results import WarningCode

N = 300


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """One column of every kind, plus missing values in 'income'."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "person_id": np.arange(1000, 1000 + N),
            "treat": rng.integers(0, 2, N),
            "age": rng.integers(18, 65, N),
            "income": rng.normal(30_000, 8_000, N).round(2),
            "city": rng.choice(["Paris", "Lyon", "Nice", "Metz"], N),
            "visit": pd.date_range("2021-03-01", periods=N, freq="D").strftime("%Y-%m-%d"),
            "country": "FR",
            "remark": [f"customer {i} said the service was fine but slow" for i in range(N)],
            "score": rng.normal(0, 1, N).round(4),
            "ticket": [f"T{i:06d}" for i in rng.permutation(N)],
        }
    )
    df.loc[:8, "income"] = np.nan
    return df


EXPECTED_KINDS = {
    "person_id": "identifier",
    "treat": "binary",
    "age": "count",
    "income": "continuous",
    "city": "categorical",
    "visit": "datetime",
    "country": "constant",
    "remark": "text",
    "score": "continuous",
    "ticket": "identifier",
}


def write(df: pd.DataFrame, path: Path, **kwargs) -> Path:
    suffix = path.suffix
    if suffix in (".parquet", ".pq"):
        df.to_parquet(path)
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    else:
        df.to_csv(path, index=False, **kwargs)
    return path


FORMATS = [
    ("data.csv", {}, ","),
    ("data.csv", {"sep": ";"}, ";"),
    ("data.txt", {"sep": "|"}, "|"),
    ("data.tsv", {"sep": "\t"}, "\t"),
    ("data.tab", {"sep": "\t"}, "\t"),
    ("data.parquet", {}, None),
    ("data.pq", {}, None),
    ("data.xlsx", {}, None),
]


@pytest.mark.parametrize(("name", "kwargs", "sep"), FORMATS)
def test_every_format_loads_with_the_same_kinds(frame, tmp_path, name, kwargs, sep):
    path = write(frame, tmp_path / name, **kwargs)
    reader, options = read_options(path)
    if sep is not None:
        assert (reader, options["sep"]) == ("read_csv", sep)
    df = load_table(path)
    assert list(df.columns) == list(frame.columns)
    assert len(df) == N
    profile = profile_table(df)
    assert {c.name: c.kind for c in profile.columns} == EXPECTED_KINDS


@pytest.mark.parametrize(("name", "kwargs", "sep"), FORMATS)
def test_load_code_reproduces_load_table(frame, tmp_path, name, kwargs, sep):
    path = write(frame, tmp_path / name, **kwargs)
    code = load_code(path)
    namespace = {"pd": pd, "DATA_PATH": str(path)}
    exec(code, namespace)
    pd.testing.assert_frame_equal(namespace["df"], load_table(path))
    assert "DATA_PATH" in code and str(path) not in code


def test_load_code_uses_the_given_variable(tmp_path, frame):
    path = write(frame, tmp_path / "d.csv")
    assert load_code(path, variable="SOURCE").startswith("df = pd.read_csv(SOURCE, sep=','")


def test_latin1_csv_falls_back_and_keeps_accents(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("ville;prix\nCréteil;1\nSaint-Étienne;2\nNîmes;3\n".encode("latin-1"))
    assert read_options(path)[1]["encoding"] == "latin-1"
    df = load_table(path)
    assert df["ville"].tolist() == ["Créteil", "Saint-Étienne", "Nîmes"]
    namespace = {"pd": pd, "DATA_PATH": path}
    exec(load_code(path), namespace)
    pd.testing.assert_frame_equal(namespace["df"], df)


def test_latin1_byte_late_in_a_large_file_is_found(tmp_path):
    path = tmp_path / "late.csv"
    body = "a,b\n" + "1,2\n" * 30_000 + "3,caf\xe9\n"
    path.write_bytes(body.encode("latin-1"))
    assert read_options(path)[1]["encoding"] == "latin-1"
    assert load_table(path)["b"].iloc[-1] == "café"


def test_utf8_bom_and_utf16_are_read(tmp_path):
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffx,y\n1,2\n3,4\n".encode())
    assert read_options(bom)[1]["encoding"] == "utf-8-sig"
    assert list(load_table(bom).columns) == ["x", "y"]
    wide = tmp_path / "excel_unicode.txt"
    wide.write_bytes("x\ty\n1\t2\n3\t4\n".encode("utf-16"))
    assert read_options(wide)[1] == {"sep": "\t", "encoding": "utf-16", "low_memory": False}
    assert load_table(wide)["y"].tolist() == [2, 4]


def test_whitespace_aligned_text_file(tmp_path):
    path = tmp_path / "aligned.txt"
    path.write_text("treat   age   re78\n1   37   9930.0\n0   22   3595.9\n1   30   24909.5\n")
    assert read_options(path)[1]["sep"] == r"\s+"
    assert load_table(path).shape == (3, 3)


def test_semicolon_files_with_decimal_commas(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("prix;quantité;ville\n1,5;3;Lyon\n2,25;4;Paris\n-0,5;5;Nice\n")
    assert read_options(path)[1]["decimal"] == ","
    df = load_table(path)
    assert df["prix"].tolist() == [1.5, 2.25, -0.5]
    namespace = {"pd": pd, "DATA_PATH": path}
    exec(load_code(path), namespace)
    pd.testing.assert_frame_equal(namespace["df"], df)


def test_single_column_csv_with_spaces_stays_one_column(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("full name\nAda Lovelace\nAlan Turing\n")
    assert load_table(path).columns.tolist() == ["full name"]


def test_quoted_commas_do_not_confuse_the_sniffer(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('name,amount\n"Smith, J",1\n"Doe, A",2\n"Roe, B",3\n')
    assert read_options(path)[1]["sep"] == ","
    assert load_table(path)["name"].tolist() == ["Smith, J", "Doe, A", "Roe, B"]


def test_numeric_excel_header_becomes_a_string(tmp_path):
    path = write(pd.DataFrame({"region": ["a", "b"], 2020: [1.0, 2.0]}), tmp_path / "y.xlsx")
    df = load_table(path)
    assert list(df.columns) == ["region", "2020"]
    namespace = {"pd": pd, "DATA_PATH": path}
    exec(load_code(path), namespace)
    pd.testing.assert_frame_equal(namespace["df"], df)


# --------------------------------------------------------------------------- profiling


def test_profile_values_missingness_and_reading(frame):
    profile = profile_table(frame)
    assert (profile.n_rows, profile.n_columns, profile.profiled_rows) == (N, 10, N)
    income = profile.column("income")
    assert income.missing_share == pytest.approx(9 / N)
    assert income.mean == pytest.approx(frame["income"].mean())
    assert income.std == pytest.approx(frame["income"].std())
    assert (income.min, income.max) == (frame["income"].min(), frame["income"].max())
    assert profile.column("city").levels[0] in {"Paris", "Lyon", "Nice", "Metz"}
    assert sorted(profile.column("city").levels) == ["Lyon", "Metz", "Nice", "Paris"]
    assert profile.column("city").mean is None
    assert sorted(profile.column("treat").levels) == ["0", "1"]
    assert profile.column("treat").mean == pytest.approx(frame["treat"].mean())
    assert profile.column("person_id").mean is None
    assert profile.names() == list(frame.columns)
    assert profile.reading.startswith("300 rows and 10 columns: 1 binary, 2 continuous, 1 count")
    assert "3% of values missing in 'income'" in profile.reading
    assert profile.warnings == []
    assert "describe" in profile.code


def test_reading_lists_the_worst_missing_columns():
    df = pd.DataFrame({"a": [1.0, None, None, 4.0], "b": [None, 2.0, 3.0, 4.0], "c": [1, 2, 3, 5]})
    reading = profile_table(df).reading
    assert "Values are missing in 2 columns, most in 'a' (50%), 'b' (25%)." in reading
    assert "No values are missing." in profile_table(df[["c"]]).reading


def test_profile_code_loads_from_the_source(tmp_path, frame):
    path = write(frame, tmp_path / "d.csv")
    profile = profile_table(load_table(path), source=path)
    assert load_code(path) in profile.code
    namespace = {"DATA_PATH": str(path)}
    exec(profile.code, namespace)
    assert namespace["df"].shape == frame.shape


def test_large_data_is_profiled_on_a_seeded_sample(frame):
    big = pd.concat([frame] * 10, ignore_index=True)
    first = profile_table(big, sample_rows=500, seed=3)
    again = profile_table(big, sample_rows=500, seed=3)
    assert first == again
    assert (first.n_rows, first.profiled_rows) == (3000, 500)
    assert [w.code for w in first.warnings] == [WarningCode.LARGE_DATA_SAMPLED]
    assert "500" in first.warnings[0].message and "3,000" in first.warnings[0].message
    assert "seeded sample of 500" in first.reading
    assert "sample(n=500, random_state=3)" in first.code


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1.5, 1.5, np.nan], "constant"),
        ([True, False, True], "binary"),
        (["yes", "no", "yes", None], "binary"),
        ([0.0, 1.0, 2.0, 3.0, 2.0, np.nan], "count"),
        ([-2, -1, 0, 1, 2, 2], "continuous"),
        ([0.5, 1.25, 2.0, 3.0], "continuous"),
        ([1, 2, 3, 4, 5, 6, 7, 8], "identifier"),
        ([3_100, 58_200, 12_750, 99_999, 40_000], "count"),
        (["a", "b", "c", "a", "b", "c"], "categorical"),
        (["12", "15", "12", "3"], "categorical"),
        (["1/2/2020", "3/4/2021", "12/31/2019", "6/6/2020"], "datetime"),
        (list(pd.date_range("2020-01-01", periods=5)), "datetime"),
        ([1, "two", 3.0, "two"], "categorical"),
    ],
)
def test_kind_rules(values, kind):
    assert profile_table(pd.DataFrame({"x": values})).columns[0].kind == kind


def test_id_named_columns_are_identifiers_even_with_float_dtype_or_gaps():
    rng = np.random.default_rng(0)
    ids = rng.choice(10**8, size=200, replace=False).astype(float)
    ids[:3] = np.nan
    df = pd.DataFrame({"customerId": ids, "uuid": [f"u{i}" for i in range(199)] + ["u0"]})
    assert [c.kind for c in profile_table(df).columns] == ["identifier", "identifier"]


def test_many_short_strings_stay_categorical_and_object_numbers_become_numeric():
    zips = [f"{7500 + i % 120:05d}" for i in range(1000)]
    df = pd.DataFrame({"zip": zips, "n": pd.Series([1, 2, 3, 4] * 250, dtype=object)})
    profile = profile_table(df)
    assert profile.column("zip").kind == "categorical"
    assert len(profile.column("zip").levels) == 20
    assert profile.column("n").kind == "count"
    assert profile.column("n").mean == pytest.approx(2.5)


def test_empty_frame_is_refused():
    with pytest.raises(InputError, match="no rows"):
        profile_table(pd.DataFrame({"a": []}))


# --------------------------------------------------------------------------- names and hashing


def test_resolve_column():
    columns = ["treatment", "Re 78", "age"]
    assert resolve_column("age", columns) == "age"
    assert resolve_column("re_78", columns) == "Re 78"
    assert resolve_column("AGE", columns) == "age"
    with pytest.raises(InputError) as caught:
        resolve_column("treatmnt", columns)
    assert str(caught.value) == (
        "Column 'treatmnt' is not in the data; did you mean 'treatment'? "
        "Columns: 'treatment', 'Re 78', 'age'."
    )
    with pytest.raises(InputError, match="matches several columns"):
        resolve_column("ab", ["a_b", "A B"])


def test_profile_column_lookup(frame):
    profile = profile_table(frame)
    assert profile.column("Person ID").name == "person_id"
    with pytest.raises(InputError, match="did you mean 'income'"):
        profile.column("incme")


def test_file_hash(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 1_000_000)
    assert file_hash(path) == hashlib.sha256(b"abc" * 1_000_000).hexdigest()


# --------------------------------------------------------------------------- bad input


def _bad_csv(text: str, name: str = "bad.csv"):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return make


def _bad_bytes(data: bytes, name: str):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return make


def _bad_excel(rows: list[list]):
    def make(tmp_path: Path) -> Path:
        import openpyxl

        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        path = tmp_path / "bad.xlsx"
        workbook.save(path)
        return path

    return make


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the signature of a legacy .xls workbook
BAD_INPUTS = {
    "missing": (lambda tmp_path: tmp_path / "nope.csv", "does not exist; check the path"),
    "folder": (lambda tmp_path: tmp_path, "is a folder"),
    "suffix": (_bad_csv("a,b\n1,2\n", "data.json"), "save it as one of .csv, .tsv"),
    "no suffix": (_bad_csv("a,b\n1,2\n", "data"), "has no extension"),
    "empty": (_bad_csv(""), "is empty; upload a file"),
    "blank lines only": (_bad_csv("\n\n\n"), "no columns to read"),
    "header only": (_bad_csv("a,b,c\n"), "header row but no data rows"),
    "binary junk": (
        _bad_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "x.csv"),
        "PNG picture",
    ),
    "ragged rows": (_bad_csv("a,b\n1,2\n3,4,5,6\n"), "as many fields as the header"),
    "blank name": (_bad_csv("a,,c\n1,2,3\n"), "Column 2 has no name"),
    "blank names": (_bad_csv("\n,b,\n1,2,3\n"), "Columns 1, 3 have no name"),
    "delimiters only": (_bad_csv(",,\n1,2,3\n"), "Columns 1, 2, 3 have no name"),
    "duplicate names": (_bad_csv("a,b,a\n1,2,3\n"), "repeats the column name 'a'"),
    "all missing": (_bad_csv("a,b\n,\n,\n"), "Every column in 'bad.csv' is empty"),
    "excel blank header": (_bad_excel([["a", None, "c"], [1, 2, 3]]), "Column 2 has no name"),
    "excel duplicates": (_bad_excel([["x", "x"], [1, 2]]), "repeats the column name 'x'"),
    "excel header only": (_bad_excel([["x", "y"]]), "no data rows"),
    "junk excel": (_bad_bytes(b"not a workbook", "x.xlsx"), "as Excel"),
    "junk xls": (_bad_bytes(b"not a workbook either", "x.xls"), "as Excel"),
    "xls without xlrd": (_bad_bytes(OLE2 + b"\x00" * 512, "old.xls"), "save the sheet as .xlsx"),
    "junk parquet": (_bad_bytes(b"PAR1 broken", "x.parquet"), "as Parquet"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_actionable_line(tmp_path, case):
    make, expected = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(InputError) as caught:
        load_table(path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and "Traceback" not in message
    assert ";" in message, "the message says what to do after the semicolon"


def test_duplicate_parquet_columns_are_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4]], names=["a", "a"]), path)
    with pytest.raises(InputError, match="repeats the column name 'a'"):
        load_table(path)


def test_oversized_file_names_sizes_and_the_setting(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 200_000)
    with pytest.raises(InputError) as caught:
        load_table(path, max_bytes=500 * 1024)
    assert str(caught.value) == (
        "The file is 781 KB, over the 500 KB limit (CAUSAL_ASSISTANT_MAX_UPLOAD_MB); "
        "use a smaller extract or raise that limit."
    )


def test_supported_suffixes_are_listed():
    assert set(SUPPORTED_SUFFIXES) == {
        ".csv",
        ".tsv",
        ".tab",
        ".txt",
        ".parquet",
        ".pq",
        ".xlsx",
        ".xls",
    }
