"""The code version recorded with every output: package version + hash of the model source."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def source_hash() -> str:
    """Hash of every .py file of the model package: changes whenever the model's code does."""
    digest = hashlib.sha256()
    for path in sorted(MODEL_DIR.rglob("*.py")):
        digest.update(path.relative_to(MODEL_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def code_version() -> str:
    try:
        version = metadata.version("grassroots-governance")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return f"{version}+{source_hash()}"
