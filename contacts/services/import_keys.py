"""Compact int64 → int64 maps for an import's million-row bookkeeping: which numbers the file has
already given (and on which line), which line became which prospect, which external references
the import created.

A dict of a million Python ints costs ~120 MB (a key object, a value object and a slot each) and
held a quarter of the 1M-row bench's memory. A `KeyMap` keeps 16 bytes an entry in numpy arrays,
as sorted runs merged like a binary counter (at most ~log2(n) runs, each entry moved ~log2(n)
times), and answers a whole chunk's look-ups in one vectorised call per run.
"""

from __future__ import annotations

import numpy as np

MISSING = -1  # what `lookup` gives for an absent key: values are lines and ids, never negative


class KeyMap:
    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, their values)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The value of each of `keys` (int64), MISSING where a key was never added."""
        found = np.full(len(keys), MISSING, dtype=np.int64)
        for run_keys, run_values in self._runs:
            at = np.searchsorted(run_keys, keys)
            at[at == len(run_keys)] = 0  # past the end: compared with run_keys[0], a miss
            hit = run_keys[at] == keys
            found[hit] = run_values[at[hit]]
        return found

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        """Add keys with their values (both int64, same length). A key added twice (two references
        with one hash) stays twice: `lookup` then gives one of its values, unspecified which, so
        maps that need the value add each key once (numbers, lines)."""
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], np.asarray(values, dtype=np.int64)[order]))
        self.size += len(keys)
        # Merge the newest run into the one before while that one is not much bigger: run sizes
        # then halve (at least) from the first to the last, so a look-up searches few runs.
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer_keys, newer_values = self._runs.pop()
            older_keys, older_values = self._runs.pop()
            merged = np.concatenate((older_keys, newer_keys))
            order = np.argsort(merged, kind="stable")
            self._runs.append((merged[order], np.concatenate((older_values, newer_values))[order]))


def earlier_lines(seen: KeyMap, keys: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """For each (key, line) of a chunk in file order: the line where the same key came first,
    in an earlier chunk (`seen`) or earlier in this chunk, or MISSING for a first occurrence.
    The first occurrences are then added to `seen`."""
    earlier = seen.lookup(keys)
    # np.unique's return_index is each distinct key's first position (it sorts stably).
    _, first_at, inverse = np.unique(keys, return_index=True, return_inverse=True)
    first = first_at[inverse]
    repeated = (first != np.arange(len(keys))) & (earlier == MISSING)
    earlier[repeated] = lines[first[repeated]]
    new = earlier == MISSING
    seen.add(keys[new], lines[new])
    return earlier
