"""Datasets on disk, referenced from state by content hash.

Uploads are copied under ``CAUSAL_ASSISTANT_HOME/data/<hash>/`` so a conversation resumed
after a restart (or on another replica) still finds its data, and frames are cached per
hash so the stages of one run read the file once.
"""

import os
import shutil
import tempfile
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

import pandas as pd

from causal_assistant.tools.data.intake import MAX_CELLS, MAX_COLUMNS, file_hash, load_table


def private_dir(path: Path) -> Path:
    """Create ``path`` (and any missing parents) readable by this user only (0700).

    State, checkpoints and uploads hold other people's data; a folder that already
    existed is left as it was unless it is the one asked for and ours.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
    if path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def write_private(source: Path, target: Path) -> Path:
    """Copy ``source`` to ``target`` as a 0600 file, through a unique temporary name in
    the same folder, so concurrent copies of one file never share a partial file and an
    existing target is replaced whole."""
    private_dir(target.parent)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as data:
            shutil.copyfileobj(data, out, 1 << 20)
        os.replace(partial, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(partial)
        raise
    return target


def store_dataset(path: str | Path, data_dir: Path) -> tuple[Path, str]:
    """Copy a dataset into the store (once per content) and return its stored path and hash."""
    source = Path(path)
    digest = file_hash(source)
    target = data_dir / digest[:16] / source.name
    if not target.exists():
        write_private(source, target)
    return target, digest


@lru_cache(maxsize=8)
def _cached_frame(path: str, digest: str, limits: tuple[int | None, int, int]) -> pd.DataFrame:
    max_bytes, max_columns, max_cells = limits
    return load_table(path, max_bytes=max_bytes, max_columns=max_columns, max_cells=max_cells)


def load_frame(
    path: str,
    digest: str,
    max_bytes: int | None = None,
    max_columns: int = MAX_COLUMNS,
    max_cells: int = MAX_CELLS,
) -> pd.DataFrame:
    """The dataset as a DataFrame; callers get a copy so the cached frame stays pristine."""
    return _cached_frame(path, digest, (max_bytes, max_columns, max_cells)).copy()


def save_figures(folder: Path, pngs_base64: list[str]) -> list[str]:
    """Keep sandbox figures as files in ``folder``; state holds only their paths."""
    import base64
    import uuid

    private_dir(folder)
    paths = []
    for png in pngs_base64:
        path = folder / f"{uuid.uuid4().hex[:12]}.png"
        path.write_bytes(base64.b64decode(png))
        paths.append(str(path))
    return paths
