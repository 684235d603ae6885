"""The code version recorded with every output: package version + hash of the model source."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent


SIMULATION_SUBPACKAGES = ("sweep", "analysis", "dashboard")
"""Tooling around the model: editing a figure or the run store does not change what a run
computes, so these are left out of the version hash."""


@lru_cache(maxsize=1)
def source_hash() -> str:
    """Hash of the simulation's own source (model/*.py): changes whenever what a run computes can."""
    digest = hashlib.sha256()
    for path in sorted(MODEL_DIR.glob("*.py")):
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
