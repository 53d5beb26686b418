"""What the app keeps on disk is private, races cannot corrupt it, and a re-run's output
folder holds that run's files only (issue 13)."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from causal_assistant.agent.config import Settings
from causal_assistant.agent.datastore import store_dataset, write_private
from causal_assistant.agent.session import Session


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_and_uploads_are_for_this_user_only(isolated_home, training_csv):
    session = Session(Settings.from_env(llm_mode="off"))
    stored, _ = store_dataset(training_csv, session.settings.data_dir)
    assert _mode(isolated_home) == 0o700
    assert _mode(session.settings.checkpoint_path) == 0o600
    assert _mode(stored) == 0o600 and _mode(stored.parent) == 0o700
    upload = write_private(training_csv, isolated_home / "uploads" / "abc" / "mine.csv")
    assert _mode(upload) == 0o600 and _mode(upload.parent) == 0o700
    figure = session.save_figures(["iVBORw0KGgo="])[0]
    assert _mode(Path(figure).parent) == 0o700


def test_concurrent_copies_of_one_upload_do_not_collide(isolated_home, training_csv):
    data_dir = isolated_home / "data"
    results: list[Path] = []
    errors: list[BaseException] = []

    def store() -> None:
        try:
            results.append(write_private(training_csv, data_dir / "same" / "training.csv"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=store) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and len(results) == 8
    assert (data_dir / "same" / "training.csv").read_bytes() == training_csv.read_bytes()
    assert [p.name for p in (data_dir / "same").iterdir()] == ["training.csv"]  # no partials
    stored, _ = store_dataset(training_csv, data_dir)  # an existing target is fine
    assert store_dataset(training_csv, data_dir)[0] == stored


def test_a_failed_rerun_leaves_no_old_outputs_beside_its_error(training_csv, tmp_path):
    settings = Settings.from_env(llm_mode="off", refutation_budget_s=2)
    good = Session(settings)
    good.start(training_csv, treatment="treat", outcome="earnings_after", auto_approve=True)
    out = tmp_path / "out"
    good.export(out)
    assert (out / "analysis.py").exists() and (out / "report.md").exists()

    bad = Session(settings)
    state = bad.start(training_csv, treatment="treat", outcome="no_such_column", auto_approve=True)
    assert state.get("error")
    bad.export(out)
    assert sorted(p.name for p in out.iterdir()) == ["result.json"]
    assert not list(tmp_path.glob(".out.*"))  # the staging and old folders are gone

    # A folder with files of its own is not swapped away: only our outputs change.
    good.export(out)
    (out / "notes.txt").write_text("mine")
    bad.export(out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "result.json"]
