"""Incidents: compact records of disputes, service needs, petitions, pollution, building….

Open incidents live in an ``IncidentBook``: one numpy column per field, compacted at the end
of each day. Closed incidents are streamed to an ``IncidentLog`` of small fixed-width chunks
(about 40 bytes a record), so memory does not grow with open state over the horizon and a
resident's incident history can still be read back.

States: every record is, at any time, in exactly one of OPEN (known or still hidden, at some
level of the ladder), DEFERRED (placated by a promise, due to return worse), RESOLVED,
INTERCEPTED (a petition stopped without fixing the grievance, 000) or CONCEALED (kept off the
books, 000; an audit may reopen it).
"""

from __future__ import annotations

import numpy as np

from model.scenario import LEVELS

OPEN, DEFERRED, RESOLVED, INTERCEPTED, CONCEALED = range(5)
STATES = ("open", "deferred", "resolved", "intercepted", "concealed")
SELF, ASSOCIATION, VILLAGE, GRID, TOWNSHIP, COUNTY = range(len(LEVELS))
PETITION_KIND_NAME = "petition"

FIELDS: dict[str, type] = {
    "id": np.int64,
    "kind": np.int16,
    "village": np.int32,
    "resident": np.int64,
    "people": np.int32,  # >1 for a collective petition 群体性上访
    "severity": np.float64,
    "created": np.int32,
    "level": np.int8,
    "state": np.int8,
    "known": np.bool_,  # reported or discovered; hidden cases still hurt
    "hours_needed": np.float64,
    "hours_done": np.float64,
    "money": np.float64,
    "arrived": np.int32,  # day it reached its current level (queue order)
    "ready": np.int32,  # first day it can be worked on (referral delay, promise due)
    "deferrals": np.int8,  # promises made on it so far
    "petition": np.int8,  # 0 no, 1 ordinary, 2 skip-level 越级上访
    "collective": np.bool_,
    "on_books": np.bool_,  # counted in reports (False once concealed)
    "concealed_day": np.int32,
    "unit_arrived": np.int32,  # day it entered the books of its current unit (timeliness)
    "satisfied": np.int8,  # -1 until resolved, then 0 / 1
    "peak_level": np.int8,  # highest rung reached so far
    "mediated": np.bool_,  # a neighbour point or association tried to mediate it
}

LOG_DTYPE = np.dtype(
    [
        ("id", np.int64),
        ("resident", np.int64),
        ("village", np.int32),
        ("created", np.int32),
        ("closed", np.int32),
        ("kind", np.int16),
        ("state", np.int8),
        ("level", np.int8),
        ("petition", np.int8),
        ("collective", np.bool_),
        ("people", np.int32),
        ("satisfied", np.int8),
        ("deferrals", np.int8),
    ]
)


class IncidentBook:
    """The open incidents, as columns: ``book.severity[i]`` is the severity of row i."""

    def __init__(self) -> None:
        for name, dtype in FIELDS.items():
            setattr(self, name, np.zeros(0, dtype=dtype))
        self.next_id = 0

    def __len__(self) -> int:
        return len(self.id)

    def add(self, **columns: np.ndarray) -> np.ndarray:
        """Append records; unspecified fields take neutral defaults. Returns the new rows."""
        n = len(next(iter(columns.values())))
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        defaults = {
            "id": np.arange(self.next_id, self.next_id + n),
            "people": 1,
            "state": OPEN,
            "known": True,
            "hours_done": 0.0,
            "deferrals": 0,
            "petition": 0,
            "collective": False,
            "on_books": True,
            "concealed_day": -1,
            "unit_arrived": -1,
            "satisfied": -1,
        }
        self.next_id += n
        first = len(self)
        for name, dtype in FIELDS.items():
            value = columns[name] if name in columns else defaults.get(name, 0)
            # Assigning into a fresh column casts and broadcasts ``value`` in one step, several
            # times cheaper than asarray + broadcast_to + concatenate for a day's few records.
            column = np.empty(first + n, dtype=dtype)
            column[:first] = getattr(self, name)
            column[first:] = value
            setattr(self, name, column)
        return np.arange(first, first + n)

    def remove(self, keep: np.ndarray) -> None:
        """Keep only rows where ``keep`` is True."""
        for name in FIELDS:
            setattr(self, name, getattr(self, name)[keep])


class IncidentLog:
    """Closed incidents, in chunks; ``for_resident`` reads one resident's history back."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.chunks: list[np.ndarray] = []
        self.count_by_state = np.zeros(len(STATES), dtype=np.int64)

    def append(self, book: IncidentBook, rows: np.ndarray, day: int, satisfied: np.ndarray | None = None) -> None:
        if len(rows) == 0:
            return
        np.add.at(self.count_by_state, book.state[rows], 1)
        if not self.keep:
            return
        rec = np.empty(len(rows), dtype=LOG_DTYPE)
        for name in (
            "id",
            "resident",
            "village",
            "created",
            "kind",
            "state",
            "level",
            "petition",
            "deferrals",
            "collective",
            "people",
        ):
            rec[name] = getattr(book, name)[rows]
        rec["closed"] = day
        rec["satisfied"] = -1 if satisfied is None else satisfied
        self.chunks.append(rec)

    def records(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=LOG_DTYPE)

    def for_resident(self, rid: int) -> np.ndarray:
        return (
            np.concatenate([c[c["resident"] == rid] for c in self.chunks])
            if self.chunks
            else np.zeros(0, dtype=LOG_DTYPE)
        )

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.chunks)
