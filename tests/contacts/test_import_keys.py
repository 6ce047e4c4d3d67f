"""The import's compact maps (contacts/services/import_keys.py) against plain dicts."""

import random

import numpy as np

from contacts.services.import_keys import MISSING, KeyMap, earlier_lines


def test_key_map_answers_as_a_dict_through_its_merges():
    rng = random.Random(7)
    keys = rng.sample(range(10**14, 10**15), 20_000)
    reference: dict[int, int] = {}
    cmap = KeyMap()
    at = 0
    for size in (1, 3, 500, 1, 4_000, 2, 7_000, 8_493):  # uneven batches: runs merge unevenly
        batch = keys[at : at + size]
        at += size
        cmap.add(np.array(batch, dtype=np.int64), np.array([k % 1000 for k in batch], dtype=np.int64))
        reference.update((k, k % 1000) for k in batch)
    assert at == len(keys) == len(cmap) == len(reference)
    assert len(cmap._runs) <= 15  # a binary counter's worth of runs, not one per batch
    probes = keys[::7] + rng.sample(range(10**14), 3_000) + [0, 10**15 + 1, -5]
    found = cmap.lookup(np.array(probes, dtype=np.int64)).tolist()
    assert found == [reference.get(k, MISSING) for k in probes]


def test_an_empty_map_finds_nothing():
    assert KeyMap().lookup(np.array([1, 2], dtype=np.int64)).tolist() == [MISSING, MISSING]
    cmap = KeyMap()
    cmap.add(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert (len(cmap), cmap._runs) == (0, [])


def test_earlier_lines_within_a_chunk_and_across_chunks():
    seen = KeyMap()
    first = earlier_lines(seen, np.array([5, 7, 5, 9, 5], dtype=np.int64), np.array([2, 3, 4, 5, 6]))
    assert first.tolist() == [MISSING, MISSING, 2, MISSING, 2]
    second = earlier_lines(seen, np.array([9, 11, 11, 7], dtype=np.int64), np.array([7, 8, 9, 10]))
    assert second.tolist() == [5, MISSING, 8, 3]
    assert seen.lookup(np.array([5, 7, 9, 11, 12], dtype=np.int64)).tolist() == [2, 3, 5, 8, MISSING]


def test_negative_and_repeated_keys_as_reference_hashes_give_them():
    """Python's str hashes are negative half the time, and two references may share one: the map
    must find both kinds (which of two equal keys' values it returns is not specified)."""
    cmap = KeyMap()
    cmap.add(np.array([-(2**63), -7, 3, -7], dtype=np.int64), np.array([1, 2, 3, 4], dtype=np.int64))
    cmap.add(np.array([2**63 - 1, -7], dtype=np.int64), np.array([5, 6], dtype=np.int64))
    found = cmap.lookup(np.array([-(2**63), -7, 3, 2**63 - 1, -8, 0], dtype=np.int64)).tolist()
    assert found[0] == 1 and found[1] in (2, 4, 6) and found[2:] == [3, 5, MISSING, MISSING]
