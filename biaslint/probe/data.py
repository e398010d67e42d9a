"""Data for the probe: only what ships inside packages or is generated. Nothing is downloaded.

``digits.npz`` (next to this module) holds the 8x8 handwritten digits that scikit-learn bundles as
``sklearn.datasets.load_digits``: 1797 images with values 0..16 (uint8 ``images``, shape
(1797, 8, 8)) and labels 0..9 (uint8 ``target``). They are the test set of the UCI "Optical
Recognition of Handwritten Digits" data set (E. Alpaydin, C. Kaynak, 1998;
https://doi.org/10.24432/C50P49), licensed under Creative Commons Attribution 4.0 (CC BY 4.0,
https://creativecommons.org/licenses/by/4.0/). The file was generated from scikit-learn's copy
by ``_regenerate()`` below, unchanged apart from the dtype.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

_DIGITS_FILE = "digits.npz"


@lru_cache(maxsize=4)
def digits(binary: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 8x8 digits: (x_train, y_train, x_test, y_test), x in [0, 1], shape (n, 8, 8).
    ``binary``: the label is "is it a 0?" (about 10% positives), for sigmoid heads.

    Read from ``digits.npz`` shipped next to this module (see ``_regenerate``), not from
    scikit-learn: importing sklearn cost ~1.6 s in every probe worker. The arrays are identical
    to what ``sklearn.datasets.load_digits()`` gave before (``tests/test_probe_data.py``)."""
    with (resources.files("biaslint.probe") / _DIGITS_FILE).open("rb") as f, np.load(f) as npz:
        images = npz["images"]  # (1797, 8, 8) uint8, 0..16
        target = npz["target"]  # (1797,) uint8, 0..9
    x = (images.astype(np.float64) / 16.0).astype(np.float32)
    y = target.astype(np.int64)
    if binary:
        y = (y == 0).astype(np.int64)
    order = np.random.RandomState(0).permutation(len(x))  # one fixed split for every run
    x, y = x[order], y[order]
    n_train = 1400
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _regenerate(path: str | None = None) -> str:  # pragma: no cover - maintenance only
    """Rewrite ``digits.npz`` from scikit-learn's bundled copy; never called at import.

    Run once by hand (needs scikit-learn)::

        python -c "from biaslint.probe import data; print(data._regenerate())"
    """
    import os

    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images)
    target = np.asarray(bunch.target)
    assert images.shape == (1797, 8, 8) and target.shape == (1797,)
    assert images.min() >= 0 and images.max() <= 16 and np.array_equal(images, np.round(images))
    assert target.min() >= 0 and target.max() <= 9
    if path is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), _DIGITS_FILE)
    np.savez_compressed(path, images=images.astype(np.uint8), target=target.astype(np.uint8))
    return path


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
