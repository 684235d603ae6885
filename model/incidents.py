"""Incidents: compact records of disputes, service needs, petitions, pollution, building….

Open incidents live in an ``IncidentBook``: one numpy column per field, compacted once the
closed rows already streamed to the log make up a sixteenth of it (and after every run).
Closed incidents are streamed to an ``IncidentLog`` of small fixed-width chunks (about 40
bytes a record), so memory does not grow with open state over the horizon and a resident's
incident history can still be read back.

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
LOGGED = len(STATES)
"""Not a state: the mark of a closed row already streamed to the log and waiting for the book
to be compacted (``IncidentBook.compact``). Every phase of the day selects rows by state, so
these rows are invisible to the model; the book is compacted when they are many, and at the
end of every ``run``."""
SELF, ASSOCIATION, VILLAGE, GRID, TOWNSHIP, COUNTY = range(len(LEVELS))
PETITION_KIND_NAME = "petition"

FIELDS: dict[str, type] = {
    "id": np.int64,
    "kind": np.intp,
    "village": np.intp,
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
    """The open incidents, as columns: ``book.severity[i]`` is the severity of row i.

    Each column is a view of the first ``len(book)`` rows of a larger buffer whose capacity
    doubles when full, so a day's appends cost what they add, not what is already open (a
    saturated county keeps ~300k cases open; copying them on every append made the run
    quadratic in the incident rate). Views are re-exposed after every append and removal, so
    hold ``book.<field>`` only within one phase of a day.
    """

    MIN_CAPACITY = 1024

    def __init__(self) -> None:
        self._buffers = {name: np.zeros(self.MIN_CAPACITY, dtype=dtype) for name, dtype in FIELDS.items()}
        self._n = 0
        self._logged = 0  # rows marked LOGGED, waiting for ``compact``
        self.next_id = 0
        self._expose()

    def __len__(self) -> int:
        return self._n

    def _expose(self) -> None:
        for name, buffer in self._buffers.items():
            setattr(self, name, buffer[: self._n])

    def _reserve(self, rows: int) -> None:
        capacity = len(self._buffers["id"])
        if rows <= capacity:
            return
        capacity = max(2 * capacity, rows)
        for name, buffer in self._buffers.items():
            grown = np.zeros(capacity, dtype=buffer.dtype)
            grown[: self._n] = buffer[: self._n]
            self._buffers[name] = grown

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
        first = self._n
        self._reserve(first + n)
        for name, buffer in self._buffers.items():
            # Assignment casts and broadcasts ``value`` into the buffer in one step.
            buffer[first : first + n] = columns[name] if name in columns else defaults.get(name, 0)
        self._n = first + n
        self._expose()
        return np.arange(first, first + n)

    def logged(self) -> int:
        """Rows marked ``LOGGED``, which a compaction would remove."""
        return self._logged

    def mark_logged(self, rows: np.ndarray) -> None:
        """Mark closed rows already streamed to the log, for the next compaction to drop."""
        self.state[rows] = LOGGED
        self._logged += len(rows)

    def compact(self, min_share: float = 0.0) -> None:
        """Drop the rows already streamed to the log (order kept), if they are at least
        ``min_share`` of the book."""
        if self._logged and self._logged >= min_share * self._n:
            self.remove(self.state != LOGGED)

    def remove(self, keep: np.ndarray) -> None:
        """Keep only rows where ``keep`` is True (compacted in place, order kept)."""
        kept = keep.nonzero()[0]  # np.flatnonzero's wrapper costs more than the work (performance.md)
        for buffer in self._buffers.values():
            buffer[: len(kept)] = buffer[kept]
        self._n = len(kept)
        self._logged = int(np.count_nonzero(self._buffers["state"][: self._n] == LOGGED))
        capacity = len(self._buffers["id"])
        if capacity > 4 * max(self._n, self.MIN_CAPACITY):
            # Give memory back after a backlog clears, so the footprint follows what is open.
            for name, buffer in self._buffers.items():
                self._buffers[name] = buffer[: max(2 * self._n, self.MIN_CAPACITY)].copy()
        self._expose()


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
