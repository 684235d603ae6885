"""Atomic file writes: write a temporary file beside the target, fsync, rename into place.

A reader (or a resumed sweep) sees either the old file or the whole new one, never half.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from typing import Any

import pandas as pd

TEMPORARY_PATTERN = ".*.tmp"
"""Glob of the temporary files written here (``.<name>.<random>.tmp``): a process killed
mid-write leaves one behind; readers skip dot-files, and a cleanup can remove them."""


NEW_FILE_MODE = 0o666
"""The mode ``open()`` asks for; the kernel takes the umask (and a folder's default ACL) off
it, so results on a shared cluster are as readable as any file the user writes."""

_NAME_ATTEMPTS = 100
"""Random names tried before giving up (tempfile.TMP_MAX is 10,000; 32 random bits rarely
collide once)."""


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new file beside ``path``, opened for writing, with the mode a plain ``open()`` gives.

    Not ``tempfile.mkstemp``: it creates files 0600 whatever the umask, and the rename
    carries that mode to the result, which collaborators could then not read. The umask is
    not read and re-applied by hand either: setting it to read it is not thread-safe, and
    the kernel also honours default ACLs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_NAME_ATTEMPTS):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_text(path, frame.to_csv(index=False))


def atomic_save_figure(figure: Any, path: Path, **savefig: Any) -> None:
    """A matplotlib figure, rendered in memory in the format its suffix names, then written."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip("."), **savefig)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    fd, tmp = _temporary_beside(path)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_temporaries(folder: Path) -> None:
    """Delete the temporary files a killed writer left in ``folder``. Only safe while nobody
    is writing there."""
    for tmp in folder.glob(TEMPORARY_PATTERN):
        tmp.unlink(missing_ok=True)
