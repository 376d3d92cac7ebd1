"""Key digests seen in earlier chunks: answers match a plain set whatever the order of adds and merges."""

from __future__ import annotations

import numpy as np

from sfmc_nb.engine import seen as seen_module
from sfmc_nb.engine.seen import SeenKeys


def test_seen_keys_answer_as_a_set_would_through_every_merge(monkeypatch):
    monkeypatch.setattr(seen_module, "MAX_RUN", 2000)   # small runs: merges and the cap both happen
    rng = np.random.default_rng(7)
    seen, plain = SeenKeys(), set()
    for _ in range(60):   # repeats within a chunk, across chunks and across runs
        found = rng.integers(0, 5000, size=300, dtype=np.uint64)
        assert seen.seen(found).tolist() == [d in plain for d in found.tolist()]
        seen.add(found)
        plain.update(found.tolist())
    runs = seen._runs
    assert 1 < len(runs) < 20 and all(len(r) <= 2000 for r in runs)
    assert all(bool((r[1:] > r[:-1]).all()) for r in runs)   # each run sorted, no repeats within it
    assert set().union(*(r.tolist() for r in runs)) == plain
    before = [len(r) for r in runs]
    seen.add(np.empty(0, dtype=np.uint64))   # an empty chunk adds no run
    assert [len(r) for r in seen._runs] == before
