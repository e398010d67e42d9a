"""Data for the probe: only what ships inside packages or is generated. Nothing is downloaded."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def digits(binary: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: (x_train, y_train, x_test, y_test), x in [0, 1],
    shape (n, 8, 8). ``binary``: the label is "is it a 0?" (about 10% positives), for sigmoid heads."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn, read from disk

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    if binary:
        y = (y == 0).astype(np.int64)
    order = np.random.RandomState(0).permutation(len(x))  # one fixed split for every run
    x, y = x[order], y[order]
    n_train = 1400
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def batch_indices(n: int, batch_size: int, steps: int, seed: int) -> np.ndarray:
    """(steps, batch_size) sample indices; the same for every arm of a seed."""
    rng = np.random.RandomState(10_000 + seed)
    return np.stack([rng.choice(n, batch_size, replace=False) for _ in range(steps)])


def adding_problem(n: int, seq_len: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter & Schmidhuber's adding problem: (n, T, 2) inputs, target = sum of the two marked
    values. Solving it needs memory across the whole sequence, which is what the forget gate
    bias is about."""
    rng = np.random.RandomState(20_000 + seed)
    values = rng.uniform(0, 1, size=(n, seq_len)).astype(np.float32)
    marks = np.zeros((n, seq_len), dtype=np.float32)
    first = rng.randint(0, seq_len // 2, size=n)
    second = rng.randint(seq_len // 2, seq_len, size=n)
    marks[np.arange(n), first] = 1.0
    marks[np.arange(n), second] = 1.0
    x = np.stack([values, marks], axis=-1)
    y = (values * marks).sum(axis=1).astype(np.float32)
    return x, y
