"""PyTorch backend of the probe: builds and trains the surrogates of ``spec.py`` on the CPU.

Pairing: every arm of a seed gets the same weights and sees the same batches. All layers are
constructed first under ``torch.manual_seed(seed)`` (so PyTorch's own default inits, biases
included, are the same in every arm), then weights are re-initialised from a generator seeded
from ``seed``, and only then are the biases set, each layer from its own generator, so a bias
init in one layer never shifts the random stream of another layer or of the weights.
The global RNG state is left as it was (``torch.random.fork_rng``).

Batch norm is evaluated with the statistics of the evaluation batch (the whole test set), at
init as after training, so that ``loss_init`` is not an artefact of untrained running
statistics; the running statistics are restored afterwards.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Optional, Union

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "the PyTorch probe backend needs torch; install it with: pip install 'biaslint[probe]'",
        name="torch",
    ) from exc

import numpy as np

from biaslint.probe import data
from biaslint.probe.spec import Arm, ArmRun, BiasInit, Budget, Surrogate

__all__ = ["TorchBackend", "bias_parameters", "build"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
WeightLayer = Union[nn.Conv2d, nn.Linear]

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_N_CLASSES = 10  # the digits
#: the stddev of a standard normal truncated to [-2, 2]: Keras divides by it so that a truncated
#: VarianceScaling draw has the variance asked for
_TRUNCATED_STD = 0.87962566103423978


# --------------------------------------------------------------------------- inits


def _init_weight(w: torch.Tensor, init: tuple[str, Optional[float]], gen: torch.Generator) -> None:
    kind, value = init
    kind = kind.lower()
    if kind == "default":
        return
    if kind in ("truncated_normal", "trunc_normal"):
        s = _needs(value, kind)
        nn.init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s, generator=gen)
    elif kind == "normal":
        nn.init.normal_(w, 0.0, _needs(value, kind), generator=gen)
    elif kind == "uniform":
        s = _needs(value, kind)
        nn.init.uniform_(w, -s, s, generator=gen)
    elif kind in ("he_normal", "kaiming_normal"):
        nn.init.kaiming_normal_(w, nonlinearity="relu", generator=gen)
    elif kind in ("he_uniform", "kaiming_uniform"):
        nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=gen)
    elif kind in ("glorot_uniform", "xavier_uniform"):
        nn.init.xavier_uniform_(w, generator=gen)
    elif kind in ("glorot_normal", "xavier_normal"):
        nn.init.xavier_normal_(w, generator=gen)
    elif kind == "lecun_normal":
        nn.init.kaiming_normal_(w, nonlinearity="linear", generator=gen)
    elif kind == "lecun_uniform":
        nn.init.kaiming_uniform_(w, nonlinearity="linear", generator=gen)
    elif kind == "variance_scaling":  # fan-in mode, truncated normal, as Keras draws it
        fan_in = nn.init._calculate_fan_in_and_fan_out(w)[0]
        s = math.sqrt((1.0 if value is None else value) / max(fan_in, 1)) / _TRUNCATED_STD
        nn.init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s, generator=gen)
    elif kind == "orthogonal":
        nn.init.orthogonal_(w, generator=gen)
    elif kind in ("zeros", "constant", "ones"):
        nn.init.constant_(w, _constant(kind, value))
    else:
        raise ValueError(f"unknown weight init {kind!r}")


def _init_bias(
    b: Optional[torch.Tensor], init: BiasInit, gen: torch.Generator, reset_to: Optional[float] = None
) -> None:
    """Set ``b`` in place. ``("default", None)`` keeps it, unless ``reset_to`` gives the bound of
    PyTorch's own default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) to draw it again. No bias: no-op."""
    if b is None:
        return
    kind, value = init
    kind = kind.lower()
    if kind == "default":
        if reset_to is not None:
            nn.init.uniform_(b, -reset_to, reset_to, generator=gen)
    elif kind in ("zeros", "constant", "ones"):
        nn.init.constant_(b, _constant(kind, value))
    elif kind == "normal":
        nn.init.normal_(b, 0.0, _needs(value, kind), generator=gen)
    elif kind in ("truncated_normal", "trunc_normal"):
        s = _needs(value, kind)
        nn.init.trunc_normal_(b, std=s, a=-2 * s, b=2 * s, generator=gen)
    elif kind == "uniform":
        s = _needs(value, kind)
        nn.init.uniform_(b, -s, s, generator=gen)
    else:
        raise ValueError(f"unknown bias init {kind!r}")


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


def _bias_generator(seed: int, index: int) -> torch.Generator:
    """One generator per (seed, layer), independent of the weights' stream and of other layers."""
    return torch.Generator().manual_seed(1_000_003 * (seed + 1) + 7_919 * (index + 2))


# --------------------------------------------------------------------------- surrogates


class SurrogateNet(nn.Module):
    """The digits surrogate: ``body`` is the whole stack. ``hidden_layers[i]`` is the conv/linear
    of ``surrogate.hidden[i]``; ``output_layer`` the final linear."""

    def __init__(self, modules: Sequence[nn.Module], hidden_layers: Sequence[WeightLayer]) -> None:
        super().__init__()
        self.body = nn.Sequential(*modules)
        self.hidden_layers: list[WeightLayer] = list(hidden_layers)  # a plain list: not registered twice

    @property
    def output_layer(self) -> nn.Linear:
        last = self.body[-1]
        assert isinstance(last, nn.Linear)
        return last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class LSTMNet(nn.Module):
    """LSTM over the sequence, a linear head on the last step."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1]).squeeze(-1)


def _activation(name: str, width: int, conv: bool) -> list[nn.Module]:
    name = name.lower()
    if name == "relu":
        return [nn.ReLU()]
    if name == "batchnorm":
        return [nn.BatchNorm2d(width) if conv else nn.BatchNorm1d(width), nn.ReLU()]
    if name == "sigmoid":
        return [nn.Sigmoid()]
    if name == "tanh":
        return [nn.Tanh()]
    if name in ("none", "linear", "identity"):
        return []
    if name in ("leaky_relu", "leakyrelu"):
        return [nn.LeakyReLU()]
    if name == "elu":
        return [nn.ELU()]
    if name == "gelu":
        return [nn.GELU()]
    if name in ("swish", "silu"):
        return [nn.SiLU()]
    raise ValueError(f"unknown activation {name!r}")


def _construct_digits(surrogate: Surrogate) -> SurrogateNet:
    n_out = 1 if surrogate.output_activation == "sigmoid" else _N_CLASSES
    modules: list[nn.Module] = []
    hidden: list[WeightLayer] = []
    flat = surrogate.task == "digits_mlp"
    channels, size, features, n_conv = 1, 8, 64, 0
    for layer in surrogate.hidden:
        layer_module: WeightLayer
        if layer.kind == "conv":
            if flat:
                raise ValueError(f"{surrogate.task}: a conv layer after the flattening")
            layer_module = nn.Conv2d(channels, layer.width, 3, padding=1)
            modules += [layer_module, *_activation(layer.activation, layer.width, conv=True)]
            channels, n_conv = layer.width, n_conv + 1
            if n_conv % 2 == 0 and size > 2:
                modules.append(nn.MaxPool2d(2))
                size //= 2
        elif layer.kind == "dense":
            if not flat:
                modules.append(nn.Flatten())
                features, flat = channels * size * size, True
            layer_module = nn.Linear(features, layer.width)
            modules += [layer_module, *_activation(layer.activation, layer.width, conv=False)]
            features = layer.width
        else:
            raise ValueError(f"unknown layer kind {layer.kind!r}")
        hidden.append(layer_module)
    if not flat:
        modules.append(nn.Flatten())
        features = channels * size * size
    return SurrogateNet([*modules, nn.Linear(features, n_out)], hidden)


def _check_trainable(surrogate: Surrogate) -> None:
    if surrogate.task not in ("digits_cnn", "digits_mlp", "adding_lstm"):
        raise ValueError(f"task {surrogate.task!r} is not trained by run(); see probe/bn_demo.py")


def build(surrogate: Surrogate, arm: Arm, seed: int) -> nn.Module:
    """The initialised network of ``arm``: a ``SurrogateNet`` (digits) or an ``LSTMNet``.

    ``surrogate.weight_init`` applies to every conv/linear weight, the output layer's included,
    and for the LSTM to its input and recurrent matrices and the head. ``arm.forget_bias=None``
    keeps PyTorch's default LSTM biases; a value zeroes both bias vectors but for the forget slice
    of ``bias_ih_l0``."""
    _check_trainable(surrogate)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # PyTorch's default inits, drawn at construction, shared by all arms
        net: nn.Module
        net = (
            LSTMNet(surrogate.hidden_size)
            if surrogate.task == "adding_lstm"
            else _construct_digits(surrogate)
        )
    net = net.to(dtype=torch.float32)
    weights = torch.Generator().manual_seed(2_000_003 * (seed + 1) + 1)  # not the construction stream
    with torch.no_grad():
        if isinstance(net, LSTMNet):
            lstm = dict(net.lstm.named_parameters())
            for w in (lstm["weight_ih_l0"], lstm["weight_hh_l0"], net.head.weight):
                _init_weight(w, surrogate.weight_init, weights)
            if arm.forget_bias is not None:  # None: PyTorch's default biases
                h = surrogate.hidden_size
                lstm["bias_hh_l0"].zero_()
                lstm["bias_ih_l0"].zero_()
                lstm["bias_ih_l0"][h : 2 * h] = arm.forget_bias  # gate order i, f, g, o
            _init_bias(net.head.bias, arm.bias_for(-1), _bias_generator(seed, -1))
            return net
        assert isinstance(net, SurrogateNet)
        for i, layer in enumerate(net.hidden_layers):
            fan_in = nn.init._calculate_fan_in_and_fan_out(layer.weight)[0]
            _init_weight(layer.weight, surrogate.weight_for(i, fan_in), weights)
        _init_weight(net.output_layer.weight, surrogate.weight_init, weights)
        for i, layer in enumerate(net.hidden_layers):
            _init_bias(layer.bias, arm.bias_for(i), _bias_generator(seed, i))
        _init_bias(net.output_layer.bias, arm.bias_for(-1), _bias_generator(seed, -1))
    return net


# --------------------------------------------------------------------------- tasks


@dataclass
class _Problem:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    loss: LossFn
    accuracy: Optional[Callable[[torch.Tensor, torch.Tensor], float]]


def _binary_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float(((logits > 0).to(y.dtype) == y).float().mean())  # sigmoid(logit) > 0.5


def _class_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == y).float().mean())


@lru_cache(maxsize=16)
def _adding_problem(seq_len: int, seed: int, n_train: int = 1000, n_test: int = 200) -> _Problem:
    x, y = data.adding_problem(n_train + n_test, seq_len, seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return _Problem(xt[:n_train], yt[:n_train], xt[n_train:], yt[n_train:], nn.MSELoss(), None)


# --------------------------------------------------------------------------- training


class _ReluMonitor:
    """Forward hooks on ``nn.ReLU`` modules recording, per call, which units were ever > 0.

    A unit is a channel after a conv (dimension 1) and a feature after a linear (last dimension);
    each call of a ReLU module counts as a layer of its own (modules reused in ``forward``)."""

    def __init__(self, net: nn.Module) -> None:
        self.alive: list[torch.Tensor] = []
        self._last_kind = "conv"
        self._handles: list[Any] = []
        for module in net.modules():
            if isinstance(module, nn.ReLU):
                self._handles.append(module.register_forward_hook(self._on_relu))
            elif isinstance(module, _CONVS):
                self._handles.append(module.register_forward_hook(self._on_layer("conv")))
            elif isinstance(module, nn.Linear):
                self._handles.append(module.register_forward_hook(self._on_layer("dense")))

    def _on_layer(self, kind: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            self._last_kind = kind

        return hook

    def _on_relu(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        t = output.detach() > 0
        if t.dim() <= 1:
            alive = t.reshape(-1)
        elif self._last_kind == "conv" and t.dim() >= 3:
            alive = t.transpose(0, 1).reshape(t.shape[1], -1).any(dim=1)
        else:
            alive = t.reshape(-1, t.shape[-1]).any(dim=0)
        self.alive.append(alive)

    def dead_fraction(self) -> Optional[float]:
        total = sum(a.numel() for a in self.alive)
        if not total:
            return None
        return sum(int((~a).sum()) for a in self.alive) / total

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()


@contextmanager
def _evaluating(net: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout), except batch norm, which normalises with the batch's statistics;
    running statistics and training flags are restored on exit."""
    flags = [(m, m.training) for m in net.modules()]
    norms: list[nn.Module] = [m for m in net.modules() if isinstance(m, _BATCH_NORMS)]
    saved = [[b.clone() for b in m.buffers(recurse=False)] for m in norms]
    net.eval()
    for m in norms:
        m.train()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, buffers in zip(norms, saved):
            for b, old in zip(m.buffers(recurse=False), buffers):
                b.copy_(old)
        for m, flag in flags:
            m.training = flag


def _evaluate(net: nn.Module, problem: _Problem) -> tuple[float, float]:
    """(loss, accuracy) on the test set; accuracy is nan for regression."""
    with _evaluating(net):
        out = net(problem.x_test)
        loss = float(problem.loss(out, problem.y_test))
        acc = problem.accuracy(out, problem.y_test) if problem.accuracy else math.nan
    return loss, acc


def _global_grad_norm(params: Sequence[nn.Parameter]) -> float:
    grads = [p.grad.detach().reshape(-1) for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.cat(grads)))


def _optimiser(kind: str, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """SGD with momentum 0.9, or Adam: the fused CPU kernels where this torch has them (the
    optimiser step is then ~3x faster, which matters on models this small), else the default."""
    options: dict[str, Any] = {"lr": lr} if kind == "adam" else {"lr": lr, "momentum": 0.9}
    make = torch.optim.Adam if kind == "adam" else torch.optim.SGD
    try:
        return make(params, fused=True, **options)
    except (RuntimeError, TypeError, ValueError):  # an older torch: no fused CPU kernel
        return make(params, **options)


@contextmanager
def _num_threads(n: Optional[int]) -> Iterator[None]:
    """``torch.set_num_threads(n)`` for the duration of a call only; ``None`` leaves it alone."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _train(
    net: nn.Module, problem: _Problem, optimiser: torch.optim.Optimizer, seed: int, budget: Budget
) -> ArmRun:
    monitor = _ReluMonitor(net)
    try:
        loss_init, _ = _evaluate(net, problem)
    finally:
        monitor.close()
    dead = monitor.dead_fraction()
    n_train = problem.x_train.shape[0]
    batches = torch.from_numpy(
        data.batch_indices(n_train, min(budget.batch_size, n_train), budget.steps, seed).astype(np.int64)
    )
    params = [p for p in net.parameters() if p.requires_grad]
    curve: list[float] = []
    grad_norm = math.nan
    log_every = max(1, budget.log_every)
    net.train()
    for step in range(budget.steps):
        index = batches[step]
        optimiser.zero_grad(set_to_none=True)
        loss = problem.loss(net(problem.x_train[index]), problem.y_train[index])
        loss.backward()
        if step == 0:
            grad_norm = _global_grad_norm(params)
        if step % log_every == 0:
            curve.append(float(loss.detach()))
        optimiser.step()
    loss_final, acc = _evaluate(net, problem)
    return ArmRun(
        loss_init=loss_init,
        loss_final=loss_final,
        accuracy=None if problem.accuracy is None else acc,
        dead_relu_frac=dead,
        grad_norm=grad_norm,
        curve=curve,
    )


# --------------------------------------------------------------------------- real models

_VARIANT_KEYS = ("all", "conv", "dense", "output")  # applied in this order: later keys win


def _weight_layers(
    model: nn.Module, example: Optional[torch.Tensor] = None
) -> list[tuple[str, nn.Module, str]]:
    """(qualified module name, module, "conv"|"dense"|"output") of every conv/linear, in call
    order when ``example`` is given (a forward pass of ``model`` on it), else in registration
    order. The output layer is the last one: the last called, or else the last registered."""
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, (*_CONVS, nn.Linear))]
    if example is not None and named:
        called: list[nn.Module] = []

        def record(module: nn.Module, inputs: Any, output: Any) -> None:
            if module in called:  # a module called more than once is ranked by its last call
                called.remove(module)
            called.append(module)

        handles = [m.register_forward_hook(record) for _, m in named]
        try:
            with _evaluating(model):
                model(example)
        finally:
            for h in handles:
                h.remove()
        if called:  # layers never called come first (in registration order): never the output
            rank = {id(m): k for k, m in enumerate(called)}
            named.sort(key=lambda nm: rank.get(id(nm[1]), -1))
    out: list[tuple[str, nn.Module, str]] = []
    for k, (name, module) in enumerate(named):
        kind = "output" if k == len(named) - 1 else ("conv" if isinstance(module, _CONVS) else "dense")
        out.append((name, module, kind))
    return out


def bias_parameters(model: nn.Module, input_shape: Optional[tuple[int, ...]] = None) -> list[tuple[str, str]]:
    """(qualified parameter name, "conv"|"dense"|"output") of every conv/linear bias of ``model``.
    With ``input_shape``, layers are ordered by a forward pass on a copy (more reliable for the
    output layer than registration order); ``model`` itself is not touched."""
    if input_shape is not None:
        copy_ = copy.deepcopy(model).to(device="cpu", dtype=torch.float32)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            layers = _weight_layers(copy_, torch.randn((2, *input_shape)))
    else:
        layers = _weight_layers(model)
    return [(f"{name}.bias" if name else "bias", kind) for name, m, kind in layers if _bias(m) is not None]


def _bias(module: nn.Module) -> Optional[torch.Tensor]:
    bias = getattr(module, "bias", None)
    return bias if isinstance(bias, torch.Tensor) else None


def _default_bias_bound(module: nn.Module) -> float:
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor):
        return 0.0
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


# --------------------------------------------------------------------------- the backend


class TorchBackend:
    """``threads``: torch's intra-op threads while a call runs, restored when it returns (so the
    process-wide setting is not changed); ``None`` leaves torch's setting alone. The default is 1:
    on models this small a second thread gains nothing measurable, and when the cores are busy
    (another probe worker, a test run) OpenMP oversubscription makes a run 5-8x slower. The
    save/restore is not safe against concurrent calls from several Python threads: parallelise
    over processes."""

    name = "torch"

    def __init__(self, threads: Optional[int] = 1) -> None:
        self.threads = threads

    def run(self, surrogate: Surrogate, arm: Arm, seed: int, budget: Budget) -> ArmRun:
        return self.run_many(surrogate, [(arm, seed, budget)])[0]

    def run_many(self, surrogate: Surrogate, runs: Sequence[tuple[Arm, int, Budget]]) -> list[ArmRun]:
        """Digits surrogates: the runs that share a budget (the rate aside) are trained side by
        side as one stacked network (``torch_stacked``), several times faster than one by one.
        The LSTM runs one by one."""
        from biaslint.probe import torch_stacked

        with _num_threads(self.threads):
            if surrogate.task == "adding_lstm":
                return [self._run_lstm(surrogate, arm, seed, budget) for arm, seed, budget in runs]
            _check_trainable(surrogate)
            groups: dict[Budget, list[int]] = {}
            for k, (_, _, budget) in enumerate(runs):
                groups.setdefault(replace(budget, lr=None), []).append(k)
            results: dict[int, ArmRun] = {}
            for budget, ks in groups.items():
                members = [torch_stacked.Member(runs[k][0], runs[k][1], surrogate.lr(runs[k][2])) for k in ks]
                results.update(zip(ks, torch_stacked.train(surrogate, members, budget)))
        return [results[k] for k in range(len(runs))]

    def _run_lstm(self, surrogate: Surrogate, arm: Arm, seed: int, budget: Budget) -> ArmRun:
        net = build(surrogate, arm, seed)
        problem = _adding_problem(surrogate.seq_len, seed)
        # Adam, not SGD: plain SGD barely moves an LSTM on the adding problem in a few hundred
        # steps, so the forget-bias arms would all look alike.
        optimiser = _optimiser("adam", list(net.parameters()), surrogate.lr(budget))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return _train(net, problem, optimiser, seed, budget)

    def run_model(
        self,
        model: nn.Module,
        input_shape: tuple[int, ...],
        variant: dict[str, BiasInit],
        seed: int,
        budget: Budget,
        n_samples: int = 512,
    ) -> ArmRun:
        """Train a copy of ``model`` (never ``model`` itself) to memorise ``n_samples`` random
        inputs of shape ``(n,) + input_shape`` with random labels, after setting its biases from
        ``variant``: keys "conv" and "dense" (hidden conv/linear layers), "output" (the last conv
        or linear called in ``forward``) and "all" (every conv/linear bias); "all" is applied
        first, so the others override it. Unnamed layers keep their biases. ``("default", None)``
        redraws PyTorch's own default U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Every variant of a seed
        starts from the model's weights and sees the same data, batches and dropout masks.

        Dead ReLU units are counted on ``nn.ReLU`` modules only (not ``F.relu``). The loss is
        cross-entropy over the output's dimension 1, or binary cross-entropy if it has size 1."""
        unknown = set(variant) - set(_VARIANT_KEYS)
        if unknown:
            raise ValueError(f"unknown bias selection {sorted(unknown)}; use {', '.join(_VARIANT_KEYS)}")
        net = copy.deepcopy(model).to(device="cpu", dtype=torch.float32)
        with _num_threads(self.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            x = torch.randn((n_samples, *input_shape), generator=gen)
            layers = _weight_layers(net, x[: min(n_samples, 8)])  # also materialises lazy modules
            with _evaluating(net):
                out = net(x[:2])
            if not isinstance(out, torch.Tensor) or out.dim() < 2:
                raise TypeError("run_model needs a model returning a tensor of shape (batch, n_out, ...)")
            n_out = out.shape[1]
            if n_out == 1:
                y = torch.randint(0, 2, (n_samples, *out.shape[1:]), generator=gen).float()
                loss_fn: LossFn = nn.BCEWithLogitsLoss()
                accuracy: Callable[[torch.Tensor, torch.Tensor], float] = _binary_accuracy
            else:
                y = torch.randint(0, n_out, (n_samples, *out.shape[2:]), generator=gen)
                loss_fn, accuracy = nn.CrossEntropyLoss(), _class_accuracy
            with torch.no_grad():
                for key in _VARIANT_KEYS:
                    if key not in variant:
                        continue
                    for k, (_, module, kind) in enumerate(layers):
                        bias = _bias(module)
                        if bias is not None and key in ("all", kind):
                            _init_bias(
                                bias,
                                variant[key],
                                _bias_generator(seed, k),
                                reset_to=_default_bias_bound(module),
                            )
            problem = _Problem(x, y, x, y, loss_fn, accuracy)
            params = [p for p in net.parameters() if p.requires_grad]
            optimiser = _optimiser("sgd", params, budget.lr if budget.lr is not None else 0.05)
            return _train(net, problem, optimiser, seed, budget)

    @staticmethod
    def bias_parameters(
        model: nn.Module, input_shape: Optional[tuple[int, ...]] = None
    ) -> list[tuple[str, str]]:
        return bias_parameters(model, input_shape)
