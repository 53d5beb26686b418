"""Datasets on disk, referenced from state by content hash.

Uploads are copied under ``CAUSAL_ASSISTANT_HOME/data/<hash>/`` so a conversation resumed
after a restart (or on another replica) still finds its data, and frames are cached per
hash so the stages of one run read the file once.
"""

import shutil
from functools import lru_cache
from pathlib import Path

import pandas as pd

from causal_assistant.tools.data.intake import file_hash, load_table


def store_dataset(path: str | Path, data_dir: Path) -> tuple[Path, str]:
    """Copy a dataset into the store (once per content) and return its stored path and hash."""
    source = Path(path)
    digest = file_hash(source)
    target = data_dir / digest[:16] / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        shutil.copyfile(source, partial)
        partial.replace(target)
    return target, digest


@lru_cache(maxsize=8)
def _cached_frame(path: str, digest: str, max_bytes: int | None) -> pd.DataFrame:
    return load_table(path, max_bytes=max_bytes)


def load_frame(path: str, digest: str, max_bytes: int | None = None) -> pd.DataFrame:
    """The dataset as a DataFrame; callers get a copy so the cached frame stays pristine."""
    return _cached_frame(path, digest, max_bytes).copy()
