"""Every weight init of the surrogates' vocabulary (``spec.WEIGHT_KINDS``) is built by both
backends, with the same spread: a probe on either backend starts from the same distribution."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pytest

from biaslint.probe.spec import WEIGHT_KINDS, Arm, Layer, Surrogate

FAN_IN, UNITS = 64, 512
#: (kind, value) -> the weights' expected standard deviation for a 64-input layer
EXPECTED: dict[tuple[str, Optional[float]], float] = {
    ("normal", 0.05): 0.05,
    ("truncated_normal", 0.1): 0.1 * 0.8796,  # truncated at 2 stddev
    ("uniform", 0.1): 0.1 / math.sqrt(3),
    ("he_normal", None): math.sqrt(2 / FAN_IN),
    ("he_uniform", None): math.sqrt(2 / FAN_IN),
    ("glorot_uniform", None): math.sqrt(2 / (FAN_IN + UNITS)),
    ("glorot_normal", None): math.sqrt(2 / (FAN_IN + UNITS)),
    ("lecun_normal", None): math.sqrt(1 / FAN_IN),
    ("lecun_uniform", None): math.sqrt(1 / FAN_IN),
    ("orthogonal", None): math.sqrt(1 / UNITS),  # rows of an orthogonal 512 x 64: unit norm columns
    ("variance_scaling", 2.0): math.sqrt(2 / FAN_IN),
    ("variance_scaling", 1.0): math.sqrt(1 / FAN_IN),
    ("zeros", None): 0.0,
    ("constant", 0.5): 0.0,
}


def test_every_kind_has_an_expectation() -> None:
    assert {k for k, _ in EXPECTED} == WEIGHT_KINDS - {"default", "ones"}


def _surrogate(init: tuple[str, Optional[float]]) -> Surrogate:
    return Surrogate("digits_mlp", (Layer("dense", UNITS, "relu"),), init)


ARM = Arm("a", ((0, ("zeros", 0.0)), (-1, ("zeros", 0.0))))


def _torch_weights(init: tuple[str, Optional[float]]) -> np.ndarray:
    pytest.importorskip("torch")
    from biaslint.probe.torch_backend import build

    return build(_surrogate(init), ARM, 0).hidden_layers[0].weight.detach().numpy()


def _tf_weights(init: tuple[str, Optional[float]]) -> np.ndarray:
    pytest.importorskip("tensorflow")
    from biaslint.probe import tf_backend

    return np.asarray(tf_backend.weight_initializer(init, 0)((FAN_IN, UNITS)))


@pytest.mark.parametrize("init", sorted(EXPECTED, key=str))
@pytest.mark.parametrize("weights", [_torch_weights, _tf_weights], ids=["torch", "tensorflow"])
def test_spread(init: tuple[str, Optional[float]], weights) -> None:  # type: ignore[no-untyped-def]
    w = weights(init)
    assert w.size == FAN_IN * UNITS
    expected = EXPECTED[init]
    if expected == 0.0:
        assert np.allclose(w, init[1] or 0.0)
    else:
        assert float(w.std()) == pytest.approx(expected, rel=0.06)
