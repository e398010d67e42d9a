"""TensorFlow backend of the probe: builds and trains the surrogates of ``spec.py`` with tf.keras
(Keras 3 on the TensorFlow backend) on the CPU.

Pairing: every arm of a seed gets the same weights and sees the same batches. Every initializer
gets its own integer seed derived from (seed, layer index, what it initialises); Keras 3
initializers with an integer seed are stateless, so a bias init can never shift the random
stream of a weight or of another layer.

Speed: the network of a surrogate is built and its training loop traced once (per learning
rate); each ``run`` then re-assigns the initial values of the arm and seed, resets the optimiser
and runs all steps in one ``tf.function`` call (the loop is a ``tf.while_loop``).

Batch norm is evaluated with the statistics of the evaluation batch (the whole test set), at
init as after training, as the PyTorch backend does, so that ``loss_init`` and the dead-ReLU
count are not artefacts of untrained moving statistics; the moving statistics are restored
afterwards.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Optional

import keras
import numpy as np
import tensorflow as tf

from biaslint.probe import data
from biaslint.probe.spec import Arm, ArmRun, BiasInit, Budget, Surrogate

if keras.backend.backend() != "tensorflow":  # pragma: no cover - Keras set to another backend earlier
    raise ImportError(
        "the TensorFlow probe backend needs Keras on the TensorFlow backend, "
        f"not {keras.backend.backend()!r} (unset KERAS_BACKEND)",
        name="tensorflow",
    )

tf.get_logger().setLevel("ERROR")

__all__ = ["TFBackend", "bias_parameters", "build"]

Tensor = Any  # tf.Tensor; TensorFlow ships no type stubs
LossFn = Callable[[Tensor, Tensor], Tensor]
AccuracyFn = Callable[[Tensor, Tensor], Tensor]

_N_CLASSES = 10  # the digits
_OUTPUT = -1  # the output layer's index in ``Arm.biases``
_LSTM = 1000  # the LSTM's index in the seed derivation
_KERNEL, _BIAS, _RECURRENT = 0, 1, 2


# --------------------------------------------------------------------------- determinism


@lru_cache(maxsize=1)
def _deterministic() -> bool:
    """Turn on TensorFlow's op determinism once per process (a global switch, so only when a
    probe actually runs). Returns whether it is on."""
    try:
        tf.config.experimental.enable_op_determinism()
    except (AttributeError, RuntimeError):  # pragma: no cover - old TensorFlow
        return False
    return True


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """``keras.utils.set_random_seed(seed)`` (Python, NumPy, TensorFlow) for a run; Python's and
    NumPy's global states are put back afterwards. Every initializer has a seed of its own anyway:
    this covers whatever else draws (a user model's dropout, a clone's initializers)."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _derive(seed: int, index: int, what: int) -> int:
    """An initializer seed of its own for (run seed, layer index, kernel/bias/recurrent)."""
    state = np.random.SeedSequence([seed, index + 2, what]).generate_state(1)[0]
    return int(state % (2**31 - 1))


# --------------------------------------------------------------------------- inits


def _needs(value: Optional[float], kind: str) -> float:
    if value is None:
        raise ValueError(f"init {kind!r} needs a scale")
    return float(value)


def _constant(kind: str, value: Optional[float]) -> float:
    if value is not None:
        return float(value)
    if kind == "constant":
        raise ValueError("init 'constant' needs a value")
    return 1.0 if kind == "ones" else 0.0


def weight_initializer(init: tuple[str, Optional[float]], seed: int) -> keras.initializers.Initializer:
    """The Keras initializer of a kernel for ``Surrogate.weight_init`` (same vocabulary as the
    PyTorch backend); ``default`` is Keras's own default, Glorot uniform."""
    kind, value = init
    kind = kind.lower()
    ki = keras.initializers
    if kind in ("truncated_normal", "trunc_normal"):
        return ki.TruncatedNormal(stddev=_needs(value, kind), seed=seed)
    if kind == "normal":
        return ki.RandomNormal(stddev=_needs(value, kind), seed=seed)
    if kind == "uniform":
        s = _needs(value, kind)
        return ki.RandomUniform(-s, s, seed=seed)
    named: dict[str, Callable[..., keras.initializers.Initializer]] = {
        "default": ki.GlorotUniform,
        "glorot_uniform": ki.GlorotUniform,
        "xavier_uniform": ki.GlorotUniform,
        "glorot_normal": ki.GlorotNormal,
        "xavier_normal": ki.GlorotNormal,
        "he_normal": ki.HeNormal,
        "kaiming_normal": ki.HeNormal,
        "he_uniform": ki.HeUniform,
        "kaiming_uniform": ki.HeUniform,
        "lecun_normal": ki.LecunNormal,
        "lecun_uniform": ki.LecunUniform,
        "orthogonal": ki.Orthogonal,
    }
    if kind in named:
        return named[kind](seed=seed)
    if kind == "variance_scaling":
        scale = 1.0 if value is None else float(value)
        return ki.VarianceScaling(scale, "fan_in", "truncated_normal", seed=seed)
    if kind in ("zeros", "constant", "ones"):
        return ki.Constant(_constant(kind, value))
    raise ValueError(f"unknown weight init {kind!r}")


def bias_initializer(init: BiasInit, seed: int) -> keras.initializers.Initializer:
    """The Keras initializer of a bias; ``("default", None)`` is Keras's default, zeros."""
    kind, value = init
    kind = kind.lower()
    ki = keras.initializers
    if kind == "default":
        return ki.Zeros()
    if kind in ("zeros", "constant", "ones"):
        return ki.Constant(_constant(kind, value))
    if kind == "normal":
        return ki.RandomNormal(stddev=_needs(value, kind), seed=seed)
    if kind in ("truncated_normal", "trunc_normal"):
        return ki.TruncatedNormal(stddev=_needs(value, kind), seed=seed)
    if kind == "uniform":
        s = _needs(value, kind)
        return ki.RandomUniform(-s, s, seed=seed)
    raise ValueError(f"unknown bias init {kind!r}")


class ForgetGateBias(keras.initializers.Initializer):
    """An LSTM bias of zeros with ``value`` on the forget gate: Keras's gate order is i, f, c, o,
    so the forget slice of the (4H,) bias is [H:2H]."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Tensor:
        (n,) = shape
        h = n // 4
        values = np.zeros(n, dtype=np.float32)
        values[h : 2 * h] = self.value
        return tf.constant(values, dtype=dtype or "float32")

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


# --------------------------------------------------------------------------- surrogates

#: (layer name, attribute) -> initializer; the attribute is "kernel", "bias" or "recurrent_kernel"
Inits = dict[tuple[str, str], keras.initializers.Initializer]


def _hidden_name(i: int) -> str:
    return f"hidden{i}"


class FanInScaled(keras.initializers.Initializer):
    """Hidden layer ``index``'s kernel init, its fixed stddev scaled to the kernel's actual
    fan-in (``Surrogate.weight_for``) once the shape is known."""

    def __init__(self, surrogate: Surrogate, index: int, seed: int) -> None:
        self.surrogate, self.index, self.seed = surrogate, index, seed

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> Any:
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else int(shape[0])
        init = weight_initializer(self.surrogate.weight_for(self.index, fan_in), self.seed)
        return init(shape, dtype=dtype)


def _initializers(surrogate: Surrogate, arm: Arm, seed: int) -> Inits:
    """Every initializer of the surrogate's parameters for ``arm`` and ``seed``: the kernels depend
    on ``seed`` (and the layer) only, never on the arm."""
    winit = surrogate.weight_init
    inits: Inits = {}
    if surrogate.task == "adding_lstm":
        inits["lstm", "kernel"] = weight_initializer(winit, _derive(seed, _LSTM, _KERNEL))
        if winit[0].lower() in ("default", "glorot_uniform"):  # Keras's LSTM default
            recurrent = keras.initializers.Orthogonal(seed=_derive(seed, _LSTM, _RECURRENT))
        else:
            recurrent = weight_initializer(winit, _derive(seed, _LSTM, _RECURRENT))
        inits["lstm", "recurrent_kernel"] = recurrent
        # None: Keras's default, unit_forget_bias=True (1 on the forget gate, 0 elsewhere)
        inits["lstm", "bias"] = ForgetGateBias(1.0 if arm.forget_bias is None else arm.forget_bias)
    else:
        for i in range(len(surrogate.hidden)):
            inits[_hidden_name(i), "kernel"] = FanInScaled(surrogate, i, _derive(seed, i, _KERNEL))
            inits[_hidden_name(i), "bias"] = bias_initializer(arm.bias_for(i), _derive(seed, i, _BIAS))
    inits["output", "kernel"] = weight_initializer(winit, _derive(seed, _OUTPUT, _KERNEL))
    inits["output", "bias"] = bias_initializer(arm.bias_for(_OUTPUT), _derive(seed, _OUTPUT, _BIAS))
    return inits


def _activation_layers(name: str, prefix: str) -> list[keras.layers.Layer]:
    """Activations as layers of their own, so that ReLU outputs can be inspected."""
    name = name.lower()
    if name == "relu":
        return [keras.layers.ReLU(name=f"{prefix}_relu")]
    if name == "batchnorm":
        return [
            keras.layers.BatchNormalization(name=f"{prefix}_bn"),
            keras.layers.ReLU(name=f"{prefix}_relu"),
        ]
    if name in ("none", "linear", "identity"):
        return []
    aliases = {"leakyrelu": "leaky_relu", "swish": "silu"}
    try:
        fn = keras.activations.get(aliases.get(name, name))
    except ValueError:
        raise ValueError(f"unknown activation {name!r}") from None
    return [keras.layers.Activation(fn, name=f"{prefix}_{name}")]


def _construct(surrogate: Surrogate, inits: Inits) -> tuple[keras.Model, keras.Model]:
    """The surrogate as a functional model, and the same network with the outputs of its hidden
    ReLU layers as further outputs (the evaluation model)."""
    layers = keras.layers
    if surrogate.task == "adding_lstm":
        inputs = keras.Input((surrogate.seq_len, 2), name="sequence")
        h = layers.LSTM(
            surrogate.hidden_size,
            unit_forget_bias=False,
            kernel_initializer=inits["lstm", "kernel"],
            recurrent_initializer=inits["lstm", "recurrent_kernel"],
            bias_initializer=inits["lstm", "bias"],
            name="lstm",
        )(inputs)
        out = layers.Dense(
            1,
            kernel_initializer=inits["output", "kernel"],
            bias_initializer=inits["output", "bias"],
            name="output",
        )(h)
        model = keras.Model(inputs, out, name="adding_lstm")
        return model, keras.Model(inputs, [out], name="evaluation")
    if surrogate.task not in ("digits_cnn", "digits_mlp"):
        raise ValueError(f"task {surrogate.task!r} is not trained by run(); see probe/bn_demo.py")
    flat = surrogate.task == "digits_mlp"
    inputs = keras.Input((64,) if flat else (8, 8, 1), name="digits")
    x = inputs
    size, n_conv = 8, 0
    relus = []
    for i, layer in enumerate(surrogate.hidden):
        name = _hidden_name(i)
        kw = {
            "kernel_initializer": inits[name, "kernel"],
            "bias_initializer": inits[name, "bias"],
            "name": name,
        }
        if layer.kind == "conv":
            if flat:
                raise ValueError(f"{surrogate.task}: a conv layer after the flattening")
            x = layers.Conv2D(layer.width, 3, padding="same", **kw)(x)
        elif layer.kind == "dense":
            if not flat:
                x = layers.Flatten(name=f"flatten{i}")(x)
                flat = True
            x = layers.Dense(layer.width, **kw)(x)
        else:
            raise ValueError(f"unknown layer kind {layer.kind!r}")
        for act in _activation_layers(layer.activation, name):
            x = act(x)
            if isinstance(act, layers.ReLU):
                relus.append(x)
        if layer.kind == "conv":
            n_conv += 1
            if n_conv % 2 == 0 and size > 2:
                x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
                size //= 2
    if not flat:
        x = layers.Flatten(name="flatten")(x)
    n_out = 1 if surrogate.output_activation == "sigmoid" else _N_CLASSES
    out = layers.Dense(
        n_out,
        kernel_initializer=inits["output", "kernel"],
        bias_initializer=inits["output", "bias"],
        name="output",
    )(x)
    model = keras.Model(inputs, out, name=surrogate.task)
    return model, keras.Model(inputs, [out, *relus], name="evaluation")


def build(surrogate: Surrogate, arm: Arm, seed: int) -> keras.Model:
    """The initialised network of ``arm`` (a new model each call): hidden layers are named
    ``hidden0``, ``hidden1``...; the output layer ``output``; the LSTM ``lstm``."""
    model, _ = _construct(surrogate, _initializers(surrogate, arm, seed))
    return model


# --------------------------------------------------------------------------- tasks


@dataclass
class _Problem:
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    loss: LossFn
    accuracy: Optional[AccuracyFn]


def _sparse_ce(y: Tensor, logits: Tensor) -> Tensor:
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))


def _sparse_ce_probs(y: Tensor, probs: Tensor) -> Tensor:
    return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probs))


def _binary_ce(y: Tensor, logits: Tensor) -> Tensor:
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))


def _binary_ce_probs(y: Tensor, probs: Tensor) -> Tensor:
    return tf.reduce_mean(keras.losses.binary_crossentropy(y[..., None], probs[..., None]))


def _mse(y: Tensor, pred: Tensor) -> Tensor:
    return tf.reduce_mean(tf.square(pred[:, 0] - y))


def _class_accuracy(y: Tensor, out: Tensor) -> Tensor:
    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(out, axis=-1, output_type=y.dtype), y), tf.float32))


def _binary_accuracy(threshold: float) -> AccuracyFn:
    def accuracy(y: Tensor, out: Tensor) -> Tensor:
        return tf.reduce_mean(tf.cast(tf.equal(tf.cast(out > threshold, tf.float32), y), tf.float32))

    return accuracy


@lru_cache(maxsize=4)
def _digits_problem(task: str, binary: bool) -> _Problem:
    x_tr, y_tr, x_te, y_te = data.digits(binary=binary)
    shape = (-1, 8, 8, 1) if task == "digits_cnn" else (-1, 64)
    xs = [tf.constant(x.reshape(shape), tf.float32) for x in (x_tr, x_te)]
    if binary:
        ys = [tf.constant(y[:, None], tf.float32) for y in (y_tr, y_te)]
        return _Problem(xs[0], ys[0], xs[1], ys[1], _binary_ce, _binary_accuracy(0.0))
    ys = [tf.constant(y, tf.int32) for y in (y_tr, y_te)]
    return _Problem(xs[0], ys[0], xs[1], ys[1], _sparse_ce, _class_accuracy)


@lru_cache(maxsize=16)
def _adding_problem(seq_len: int, seed: int, n_train: int = 1000, n_test: int = 200) -> _Problem:
    """The same sequences as the PyTorch backend: one draw of n_train + n_test, split."""
    x, y = data.adding_problem(n_train + n_test, seq_len, seed)
    xt, yt = tf.constant(x), tf.constant(y)
    return _Problem(xt[:n_train], yt[:n_train], xt[n_train:], yt[n_train:], _mse, None)


# --------------------------------------------------------------------------- training


def _all_layers(model: keras.Layer) -> Iterator[keras.Layer]:
    """The layers of ``model`` depth first (nested models and RNN cells included)."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)
        cell = getattr(layer, "cell", None)
        if cell is not None:
            yield cell


def _batch_norms(model: keras.Model) -> list[keras.layers.Layer]:
    return [la for la in _all_layers(model) if isinstance(la, keras.layers.BatchNormalization)]


def _batch_statistics_call(norm: keras.layers.BatchNormalization) -> Callable[..., Tensor]:
    """``norm.call`` with ``training=True`` whatever it is given."""
    call = type(norm).call

    def forced(inputs: Tensor, training: Optional[bool] = None, mask: Optional[Tensor] = None) -> Tensor:
        return call(norm, inputs, training=True, mask=mask)

    return forced


@contextmanager
def _evaluating(model: keras.Model) -> Iterator[None]:
    """Inside, call ``model`` with ``training=False`` (no dropout, no noise, no augmentation),
    except that its batch norms normalise with the statistics of the batch; their moving
    statistics are restored on exit. Calls must be eager (the switch is an instance attribute)."""
    norms = _batch_norms(model)
    saved = [[v.numpy() for v in n.non_trainable_variables] for n in norms]
    for n in norms:
        n.call = _batch_statistics_call(n)
    try:
        yield
    finally:
        for n, values in zip(norms, saved):
            del n.call
            for v, old in zip(n.non_trainable_variables, values):
                v.assign(old)


def _dead_fraction(outputs: Sequence[np.ndarray], channel_axes: Sequence[int]) -> Optional[float]:
    """Fraction of units 0 on every input: a unit is a channel (conv) or a feature (dense)."""
    dead = total = 0
    for out, axis in zip(outputs, channel_axes):
        axis = axis % out.ndim
        alive = np.moveaxis(out, axis, 0).reshape(out.shape[axis], -1).max(axis=1) > 0
        dead += int((~alive).sum())
        total += alive.size
    return dead / total if total else None


class _Trainer:
    """A model, its loss and optimiser, its training steps and its evaluation, all traced once.

    ``evaluation`` maps the inputs to ``[output, *ReLU outputs]`` (the ReLU outputs of hidden
    layers, for the dead-unit count; ``relu_axes`` gives each one's channel axis)."""

    def __init__(
        self,
        model: keras.Model,
        evaluation: Callable[..., Any],
        relu_axes: Sequence[int],
        problem: _Problem,
        optimizer: keras.optimizers.Optimizer,
    ) -> None:
        self.model = model
        self.relu_axes = list(relu_axes)
        self.problem = problem
        self.optimizer = optimizer
        self.variables = model.trainable_variables
        optimizer.build(self.variables)
        self._first_step = tf.function(self._first_step_fn)
        self._steps = tf.function(self._steps_fn, reduce_retracing=True)
        # traced inside ``_evaluating`` (batch norm on the batch's statistics), so it stays that way
        self._evaluate = tf.function(lambda x: tf.nest.flatten(evaluation(x, training=False)))

    def reset_optimizer(self, learning_rate: float) -> None:
        """Zero the slots (momentum, Adam's moments) and the step count; set the learning rate."""
        for v in self.optimizer.variables:
            v.assign(tf.zeros(v.shape, v.dtype))
        self.optimizer.learning_rate = learning_rate

    def _step(self, x: Tensor, y: Tensor, index: Tensor) -> tuple[Tensor, list[Tensor]]:
        with tf.GradientTape() as tape:
            loss = self.problem.loss(tf.gather(y, index), self.model(tf.gather(x, index), training=True))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply(grads, self.variables)
        return loss, grads

    def _first_step_fn(self, x: Tensor, y: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
        """Step 0: its training loss and the global norm of its gradients."""
        loss, grads = self._step(x, y, index)
        return loss, tf.linalg.global_norm(grads)

    def _steps_fn(self, x: Tensor, y: Tensor, batches: Tensor) -> Tensor:
        """The other steps in one ``tf.while_loop``: their training losses."""
        steps = tf.shape(batches)[0]
        losses = tf.TensorArray(tf.float32, size=steps)
        for step in tf.range(steps):
            loss, _ = self._step(x, y, batches[step])
            losses = losses.write(step, loss)
        return losses.stack()

    def evaluate(self) -> tuple[float, Optional[float], Optional[float]]:
        """(loss, accuracy, dead ReLU fraction) on the test set."""
        p = self.problem
        with _evaluating(self.model):
            out, *relus = self._evaluate(p.x_test)
            loss = float(p.loss(p.y_test, out))
            acc = None if p.accuracy is None else float(p.accuracy(p.y_test, out))
        dead = _dead_fraction([r.numpy() for r in relus], self.relu_axes)
        return loss, acc, dead

    def run(self, seed: int, budget: Budget) -> ArmRun:
        loss_init, _, dead = self.evaluate()
        p = self.problem
        n_train = int(p.x_train.shape[0])
        losses: list[float] = []
        grad_norm = math.nan
        if budget.steps > 0:
            batches = data.batch_indices(n_train, min(budget.batch_size, n_train), budget.steps, seed)
            batches_t = tf.constant(batches, tf.int32)
            loss0, norm0 = self._first_step(p.x_train, p.y_train, batches_t[0])
            losses.append(float(loss0))
            grad_norm = float(norm0)
            if budget.steps > 1:
                losses.extend(float(v) for v in self._steps(p.x_train, p.y_train, batches_t[1:]).numpy())
        loss_final, acc, _ = self.evaluate()
        return ArmRun(
            loss_init=loss_init,
            loss_final=loss_final,
            accuracy=acc,
            dead_relu_frac=dead,
            grad_norm=grad_norm,
            curve=losses[:: max(1, budget.log_every)],
        )


class _SurrogateNet:
    """A surrogate's network and trainer, built once and re-initialised for each arm and seed."""

    def __init__(self, surrogate: Surrogate, learning_rate: float) -> None:
        self.surrogate = surrogate
        template = _initializers(surrogate, Arm("template", ()), 0)
        model, evaluation = _construct(surrogate, template)
        self.initial = [v.numpy() for v in model.weights]  # batch norm's gamma, beta and statistics
        if surrogate.task == "adding_lstm":
            problem = _adding_problem(surrogate.seq_len, 0)
            # Adam, not SGD: plain SGD barely moves an LSTM on the adding problem in a few hundred
            # steps (the loss stays at the variance of the target), so every forget-bias arm would
            # look alike. The same choice as the PyTorch backend.
            optimizer: keras.optimizers.Optimizer = keras.optimizers.Adam(learning_rate)
        else:
            problem = _digits_problem(surrogate.task, surrogate.output_activation == "sigmoid")
            optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
        self.learning_rate = float(optimizer.learning_rate.numpy())
        axes = [-1] * (len(evaluation.outputs) - 1)  # channels last
        self.trainer = _Trainer(model, evaluation, axes, problem, optimizer)

    def reset(self, arm: Arm, seed: int) -> None:
        model = self.trainer.model
        for v, value in zip(model.weights, self.initial):
            v.assign(value)
        for (name, attr), init in _initializers(self.surrogate, arm, seed).items():
            layer = model.get_layer(name)
            owner = layer.cell if name == "lstm" else layer
            variable = getattr(owner, attr)
            variable.assign(init(tuple(variable.shape), dtype=variable.dtype))
        self.trainer.reset_optimizer(self.learning_rate)
        if self.surrogate.task == "adding_lstm":
            self.trainer.problem = _adding_problem(self.surrogate.seq_len, seed)


# --------------------------------------------------------------------------- real models

_VARIANT_KEYS = ("all", "conv", "dense", "output")  # applied in this order: later keys win


_CONV_BASES = frozenset({"BaseConv", "BaseConvTranspose", "BaseDepthwiseConv", "BaseSeparableConv"})


def _is_conv(layer: keras.layers.Layer) -> bool:
    """Conv1D/2D/3D, their transposes, depthwise and separable convs (not ConvLSTM)."""
    return any(c.__name__ in _CONV_BASES and c.__module__.startswith("keras") for c in type(layer).__mro__)


def _is_dense(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense))


def _weight_layers(model: keras.Model) -> list[tuple[keras.layers.Layer, str]]:
    """(layer, "conv"|"dense"|"output") of every conv/dense layer, in order; the output layer is
    the last of them."""
    found = [la for la in _all_layers(model) if _is_conv(la) or _is_dense(la)]
    return [
        (la, "output" if k == len(found) - 1 else ("conv" if _is_conv(la) else "dense"))
        for k, la in enumerate(found)
    ]


def _has_bias(layer: keras.layers.Layer) -> bool:
    if layer.built:
        return getattr(layer, "bias", None) is not None
    return bool(getattr(layer, "use_bias", getattr(layer, "bias_axes", None)))  # EinsumDense: bias_axes


def bias_parameters(
    model: keras.Model, input_shape: Optional[tuple[int, ...]] = None
) -> list[tuple[str, str]]:
    """(layer name, "conv"|"dense"|"output") of every conv/dense layer with a bias, built or not.
    ``input_shape`` is accepted for parity with the PyTorch backend and not needed: a Keras layer
    knows whether it has a bias before it is built."""
    return [(la.name, kind) for la, kind in _weight_layers(model) if _has_bias(la)]


def _is_relu(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return not layer.negative_slope and not layer.threshold
    fn = getattr(layer, "activation", None)
    return getattr(fn, "__name__", None) == "relu"


def _evaluation_model(
    model: keras.Model, input_shape: tuple[int, ...]
) -> tuple[Callable[..., Any], list[int]]:
    """``model`` with the outputs of its hidden ReLU layers (separate ReLU / Activation("relu")
    layers, or layers with ``activation="relu"``) as further outputs, for a Sequential or
    functional model, and each ReLU output's channel axis. For a subclassed model (whose
    intermediate outputs are out of reach) just the model's output, and no axes."""
    outputs: list[Any] = []
    axes: list[int] = []
    channel_axis = -1
    last = model.layers[-1] if model.layers else None

    def visit(layer: keras.layers.Layer, output: Any) -> None:
        nonlocal channel_axis
        if getattr(layer, "data_format", None) is not None:
            channel_axis = 1 if layer.data_format == "channels_first" else -1
        if layer is not last and _is_relu(layer):
            outputs.append(output)
            axes.append(channel_axis if len(output.shape) > 2 else -1)

    try:
        if isinstance(model, keras.Sequential):
            inputs = keras.Input(input_shape)
            x = inputs
            for layer in model.layers:
                x = layer(x)
                visit(layer, x)
        else:
            inputs = model.inputs
            x = model.outputs[0]
            for layer in model.layers:
                if not isinstance(layer, keras.layers.InputLayer):
                    visit(layer, layer.output)
        return keras.Model(inputs, [x, *outputs]), axes
    except (AttributeError, ValueError, TypeError):  # subclassed, or outputs not reachable

        def output_only(x: Tensor, training: bool = False) -> list[Tensor]:
            return [model(x, training=training)]

        return output_only, []


def _copy_of(model: keras.Model, example: np.ndarray) -> tuple[keras.Model, Callable[[], None]]:
    """A copy of ``model`` with its weights, and what undoes the training of the copy. A model
    Keras cannot clone (subclassed, without ``from_config``) is trained itself, and its weights
    are restored afterwards (the second item)."""
    try:
        clone = keras.models.clone_model(model)
    except (TypeError, ValueError, NotImplementedError):
        if not model.weights:
            model(example)  # builds it: the weights it gets are new anyway
        saved = [v.numpy() for v in model.weights]

        def restore() -> None:
            for v, value in zip(model.weights, saved):
                v.assign(value)

        return model, restore
    if not clone.weights:
        clone(example)
    if model.weights:
        clone.set_weights(model.get_weights())
    return clone, lambda: None


def _ends_in(model: keras.Model) -> str:
    """The name of the last layer's activation ("softmax", "sigmoid", "linear"...)."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(last, keras.layers.Softmax):
        return "softmax"
    fn = getattr(last, "activation", None)
    return str(getattr(fn, "__name__", "linear"))


# --------------------------------------------------------------------------- the backend


class TFBackend:
    name = "tensorflow"

    def __init__(self) -> None:
        self._nets: dict[tuple[Surrogate, float], _SurrogateNet] = {}

    def _net(self, surrogate: Surrogate, learning_rate: float) -> _SurrogateNet:
        key = (surrogate, learning_rate)
        if key not in self._nets:
            if len(self._nets) >= 8:  # keep a few traced networks, drop the oldest
                del self._nets[next(iter(self._nets))]
            self._nets[key] = _SurrogateNet(surrogate, learning_rate)
        return self._nets[key]

    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: Budget) -> ArmRun:
        _deterministic()
        lr = surrogate.lr(budget)
        net = self._net(surrogate, lr)
        with _seeded(seed):
            net.reset(arm, seed)
            return net.trainer.run(seed, budget)

    def run_many(self, surrogate: Surrogate, runs: Sequence[tuple[Arm, int, Budget]]) -> list[ArmRun]:
        """One after the other: each run is already one traced ``tf.function`` call."""
        return [self.run(surrogate, arm, seed, budget) for arm, seed, budget in runs]

    def run_model(
        self,
        model: keras.Model,
        input_shape: tuple[int, ...],
        variant: dict[str, BiasInit],
        seed: int,
        budget: Budget,
        n_samples: int = 512,
    ) -> ArmRun:
        """Train a clone of ``model`` (never ``model`` itself) to memorise ``n_samples`` random
        inputs of shape ``(n,) + input_shape`` with random labels, after setting its biases from
        ``variant``: keys "conv" and "dense" (hidden conv/dense layers), "output" (the last
        conv/dense layer) and "all" (every conv/dense bias); "all" is applied first, so the others
        override it. Unnamed layers keep their biases; ``("default", None)`` is Keras's zeros.
        Every variant of a seed starts from the model's weights and sees the same data and batches.

        The loss is cross-entropy over the last axis (from probabilities if the model ends in a
        softmax), or binary cross-entropy with 0/1 targets if the last axis has size 1 or the
        model ends in a sigmoid; loss and accuracy are measured on the training inputs. Dead ReLU
        units are counted for Sequential and functional models (None for subclassed ones)."""
        unknown = set(variant) - set(_VARIANT_KEYS)
        if unknown:
            raise ValueError(f"unknown bias selection {sorted(unknown)}; use {', '.join(_VARIANT_KEYS)}")
        _deterministic()
        rng = np.random.RandomState(seed)
        x = rng.randn(n_samples, *input_shape).astype(np.float32)
        with _seeded(seed):
            clone, restore = _copy_of(model, x[:2])
            try:
                return self._run_copy(clone, input_shape, variant, seed, budget, x, rng)
            finally:
                restore()

    def _run_copy(
        self,
        clone: keras.Model,
        input_shape: tuple[int, ...],
        variant: dict[str, BiasInit],
        seed: int,
        budget: Budget,
        x: np.ndarray,
        rng: np.random.RandomState,
    ) -> ArmRun:
        n_samples = len(x)
        out = np.asarray(clone(x[:2], training=False))
        if out.ndim < 2:
            raise TypeError("run_model needs a model returning a tensor of shape (batch, ..., n_out)")
        n_out = out.shape[-1]
        ends_in = _ends_in(clone)
        loss_fn: LossFn
        accuracy: AccuracyFn
        if n_out == 1 or ends_in == "sigmoid":
            y = tf.constant(rng.randint(0, 2, size=(n_samples, *out.shape[1:])), tf.float32)
            probs = ends_in == "sigmoid"
            loss_fn = _binary_ce_probs if probs else _binary_ce
            accuracy = _binary_accuracy(0.5 if probs else 0.0)
        else:
            y = tf.constant(rng.randint(0, n_out, size=(n_samples, *out.shape[1:-1])), tf.int32)
            loss_fn = _sparse_ce_probs if ends_in == "softmax" else _sparse_ce
            accuracy = _class_accuracy
        layers = _weight_layers(clone)
        for key in _VARIANT_KEYS:
            if key not in variant:
                continue
            for k, (layer, kind) in enumerate(layers):
                bias = getattr(layer, "bias", None)
                if bias is not None and key in ("all", kind):
                    init = bias_initializer(variant[key], _derive(seed, k, _BIAS))
                    bias.assign(init(tuple(bias.shape), dtype=bias.dtype))
        evaluation, axes = _evaluation_model(clone, input_shape)
        xt = tf.constant(x)
        problem = _Problem(xt, y, xt, y, loss_fn, accuracy)
        optimizer = keras.optimizers.SGD(
            learning_rate=budget.lr if budget.lr is not None else 0.05, momentum=0.9
        )
        return _Trainer(clone, evaluation, axes, problem, optimizer).run(seed, budget)

    @staticmethod
    def bias_parameters(
        model: keras.Model, input_shape: Optional[tuple[int, ...]] = None
    ) -> list[tuple[str, str]]:
        return bias_parameters(model, input_shape)
