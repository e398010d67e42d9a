"""The probe's bundled digits: ``data.digits()`` reads ``digits.npz`` shipped in the package and
must give exactly the arrays that ``sklearn.datasets.load_digits()`` gave, without importing sklearn."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from biaslint.probe import data


def _old_digits(binary: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``data.digits`` as it was when it read scikit-learn's copy."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    if binary:
        y = (y == 0).astype(np.int64)
    order = np.random.RandomState(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def test_bundled_file_is_small_uint8_digits() -> None:
    resource = resources.files("biaslint.probe") / "digits.npz"
    assert resource.is_file()
    with resource.open("rb") as f, np.load(f) as npz:
        assert sorted(npz.files) == ["images", "target"]
        images, target = npz["images"], npz["target"]
    assert images.dtype == np.uint8 and images.shape == (1797, 8, 8)
    assert target.dtype == np.uint8 and target.shape == (1797,)
    assert images.min() == 0 and images.max() == 16
    assert sorted(np.unique(target).tolist()) == list(range(10))
    assert len(resource.read_bytes()) < 100_000


@pytest.mark.parametrize("binary", [False, True])
def test_shapes_dtypes_and_split(binary: bool) -> None:
    x_tr, y_tr, x_te, y_te = data.digits(binary=binary)
    assert x_tr.shape == (1400, 8, 8) and x_te.shape == (397, 8, 8)
    assert y_tr.shape == (1400,) and y_te.shape == (397,)
    assert x_tr.dtype == x_te.dtype == np.float32
    assert y_tr.dtype == y_te.dtype == np.int64
    assert x_tr.min() >= 0.0 and x_tr.max() <= 1.0
    labels = set(np.concatenate([y_tr, y_te]).tolist())
    assert labels == ({0, 1} if binary else set(range(10)))


@pytest.mark.parametrize("binary", [False, True])
def test_identical_to_sklearn_load_digits(binary: bool) -> None:
    pytest.importorskip("sklearn")
    new = data.digits(binary=binary)
    old = _old_digits(binary)
    for got, want in zip(new, old):
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_digits_does_not_import_sklearn() -> None:
    code = (
        "import sys; from biaslint.probe import data; data.digits(); data.digits(binary=True); "
        "assert 'sklearn' not in sys.modules, 'sklearn imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
