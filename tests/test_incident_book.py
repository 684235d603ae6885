"""The open book's growable buffers behave like plain appended and filtered columns."""

import numpy as np

from model.incidents import FIELDS, OPEN, IncidentBook


def test_book_matches_plain_columns_through_growth_and_compaction():
    # A reference kept as Python lists: the buffers, their doubling and in-place compaction
    # must give exactly the columns a naive append / filter would.
    rng = np.random.default_rng(7)
    book, ref_village, ref_id = IncidentBook(), [], []
    for day in range(60):
        n = int(rng.integers(0, 400))
        village = rng.integers(0, 50, n)
        rows = book.add(village=village, kind=np.zeros(n), created=np.full(n, day))
        assert list(rows) == list(range(len(ref_id), len(ref_id) + n))
        ref_id += list(range(book.next_id - n, book.next_id))
        ref_village += list(village)
        keep = rng.random(len(book)) > 0.3
        book.remove(keep)
        ref_id = [i for i, k in zip(ref_id, keep, strict=True) if k]
        ref_village = [v for v, k in zip(ref_village, keep, strict=True) if k]
        assert len(book) == len(ref_id)
        assert book.id.tolist() == ref_id
        assert book.village.tolist() == ref_village
        assert all(len(getattr(book, name)) == len(book) for name in FIELDS)
        assert (book.state == OPEN).all()


def test_buffers_shrink_after_a_backlog_clears():
    # Memory follows what is open (issue 4: flat in the horizon), not the largest backlog seen.
    book = IncidentBook()
    book.add(village=np.zeros(100_000), kind=np.zeros(100_000))
    big = book._buffers["id"].nbytes
    book.remove(np.arange(len(book)) < 10)
    assert book._buffers["id"].nbytes <= big / 4
    assert book.id.tolist() == list(range(10))
