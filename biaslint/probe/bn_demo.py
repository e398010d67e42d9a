"""BIA201's demonstration, in NumPy: a bias straight into batch norm is cancelled by it.

Batch norm subtracts the per-channel mean of its input over the batch, so a per-channel constant
added before it (the layer's bias) is subtracted again: the normalised output does not depend on
the bias, and the bias gets no gradient. This needs no training and no framework: one layer, one
batch of digits, the output and the bias gradient for bias 0 and for bias 1, in float64 so that
what is left is rounding only. (Mathematically both are exactly 0; shown, not assumed.)
"""

from __future__ import annotations

import numpy as np

from biaslint.probe import data

EPS = 1e-5  # batch norm's epsilon, as in PyTorch and Keras
BATCH = 128
_KINDS = {"conv": "conv", "dense": "dense", "linear": "dense", "fc": "dense"}


def demo(kind: str, seed: int = 0) -> dict[str, float]:
    """``max_output_change``: the largest change of the normalised output when the bias goes from
    0 to 1; ``bias_grad_norm``: the larger norm of the bias gradient (of a random linear read-out's
    squared output) at the two values. ``kind``: "conv" (3x3, 1 -> 8 channels) or "dense"
    (64 -> 32 units), weights drawn as PyTorch's default does, U(+-1/sqrt(fan_in))."""
    layer = _KINDS.get(kind.lower())
    if layer is None:
        raise ValueError(f"bn_demo: unknown layer kind {kind!r} (conv or dense)")
    rng = np.random.RandomState(seed)
    x_train = data.digits()[0].astype(np.float64)
    x = x_train[rng.choice(len(x_train), BATCH, replace=False)]
    if layer == "conv":  # im2col: (batch, 6, 6, 9) patches of a 3x3 "valid" convolution
        x = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2)).reshape(BATCH, 6, 6, 9)
        fan_in, units = 9, 8
    else:
        x = x.reshape(BATCH, 64)
        fan_in, units = 64, 32
    bound = 1 / np.sqrt(fan_in)
    weight = rng.uniform(-bound, bound, size=(fan_in, units))
    n_features = int(np.prod(x.shape[1:-1], dtype=np.int64)) * units
    readout = rng.standard_normal((n_features, 4)) / np.sqrt(n_features)

    outputs, grads = [], []
    for value in (0.0, 1.0):
        z = x @ weight + value
        outputs.append(normalise(z))
        grads.append(float(np.linalg.norm(loss_grad(z, readout).sum(axis=tuple(range(z.ndim - 1))))))
    return {
        "max_output_change": float(np.abs(outputs[1] - outputs[0]).max()),
        "bias_grad_norm": max(grads),
    }


def normalise(z: np.ndarray) -> np.ndarray:
    """Batch norm in training mode (scale 1, offset 0) of ``z`` (batch, ..., channels), over every
    axis but the last."""
    axes = tuple(range(z.ndim - 1))
    return (z - z.mean(axis=axes)) / np.sqrt(z.var(axis=axes) + EPS)


def loss(z: np.ndarray, readout: np.ndarray) -> float:
    """mean((normalise(z) @ readout)^2): a scalar that depends on every normalised output."""
    return float(((normalise(z).reshape(len(z), -1) @ readout) ** 2).mean())


def loss_grad(z: np.ndarray, readout: np.ndarray) -> np.ndarray:
    """d loss / d z, by batch norm's backward pass. A bias is a per-channel constant added to
    ``z``, so its gradient is this summed over every axis but the channels'."""
    axes = tuple(range(z.ndim - 1))
    std = np.sqrt(z.var(axis=axes) + EPS)
    y = (z - z.mean(axis=axes)) / std
    out = y.reshape(len(y), -1) @ readout
    grad_y = (2 * out @ readout.T / out.size).reshape(y.shape)
    return (grad_y - grad_y.mean(axis=axes) - y * (grad_y * y).mean(axis=axes)) / std
