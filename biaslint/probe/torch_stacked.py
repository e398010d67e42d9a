"""Many runs of one digits surrogate trained as one network (PyTorch).

A probe trains the same small network many times: every arm, from every seed, at every rate the
pilot tries. Each run alone is a few thousand tiny operations per step, so its time goes to
Python and dispatch overhead, not arithmetic. Here the M runs ("members") of one surrogate
become one stacked network: convolutions are grouped (``groups=M``), dense layers are batched
matrix products, batch norm normalises M x C channels at once, and the loss is the sum of the
members' own mean losses. No operation mixes members, so each member's gradient, and therefore
its whole training run, is what it would be alone (up to float rounding): the members are
still independent runs, only computed side by side.

Each member is built by ``torch_backend.build`` (same weights, biases and generators as a run
alone) and then copied into the stack, so the architecture is defined once, there. Members have
their own batches (from their seed), their own learning rate and their own momentum buffers
(plain SGD with momentum 0.9, written out so the rate can differ per member).

Layouts: "conv" activations are (batch, M x channels, h, w), members' channels side by side;
"dense" activations are (M, batch, features).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from biaslint.probe import data
from biaslint.probe.spec import Arm, ArmRun, Budget, Surrogate

MOMENTUM = 0.9
_ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.MaxPool2d)


@dataclass(frozen=True)
class Member:
    arm: Arm
    seed: int
    lr: float


def _leaf(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([t.detach() for t in tensors]).requires_grad_(True)


class Stack:
    """The members' ``SurrogateNet.body`` modules, zipped layer by layer into stacked operations."""

    def __init__(self, bodies: Sequence[nn.Sequential]) -> None:
        self.m = len(bodies)
        self.layers: list[tuple[nn.Module, Optional[torch.Tensor], Optional[torch.Tensor]]] = []
        for modules in zip(*bodies):
            first = modules[0]
            weight = bias = None
            if isinstance(first, (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d)):
                if first.weight is not None:
                    weight = _leaf([m.weight for m in modules])
                if first.bias is not None:
                    bias = _leaf([m.bias for m in modules])
            elif not isinstance(first, (*_ELEMENTWISE, nn.Flatten)):
                raise TypeError(f"cannot stack {type(first).__name__}")
            self.layers.append((first, weight, bias))
        self.params = [p for _, w, b in self.layers for p in (w, b) if p is not None]

    def forward(
        self, x: torch.Tensor, conv_layout: bool, alive: Optional[list[torch.Tensor]] = None
    ) -> torch.Tensor:
        """``x`` in the input's layout; returns (M, batch, n_out). ``alive`` collects, per ReLU,
        an (M, units) mask of the units that are > 0 on some input."""
        m = self.m
        for module, weight, bias in self.layers:
            if isinstance(module, nn.Conv2d):
                assert weight is not None
                x = F.conv2d(
                    x,
                    weight.reshape(-1, *weight.shape[2:]),
                    None if bias is None else bias.reshape(-1),
                    module.stride,
                    module.padding,
                    module.dilation,
                    groups=m,
                )
            elif isinstance(module, nn.Linear):
                assert weight is not None
                wt = weight.transpose(1, 2)
                x = torch.bmm(x, wt) if bias is None else torch.baddbmm(bias.unsqueeze(1), x, wt)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                # always the batch's statistics: training, and evaluation as the backend does it
                flat = None if weight is None else weight.reshape(-1)
                shift = None if bias is None else bias.reshape(-1)
                if conv_layout:
                    x = F.batch_norm(x, None, None, flat, shift, True, 0.0, module.eps)
                else:
                    batch = x.shape[1]
                    y = x.transpose(0, 1).reshape(batch, -1)
                    y = F.batch_norm(y, None, None, flat, shift, True, 0.0, module.eps)
                    x = y.reshape(batch, m, -1).transpose(0, 1)
            elif isinstance(module, nn.Flatten):
                if conv_layout:
                    x = x.reshape(x.shape[0], m, -1).transpose(0, 1)
                    conv_layout = False
            else:
                x = module(x)
                if alive is not None and isinstance(module, nn.ReLU):
                    alive.append(_alive(x.detach() > 0, m, conv_layout))
        assert not conv_layout, "the output layer is dense"
        return x


def _alive(positive: torch.Tensor, m: int, conv_layout: bool) -> torch.Tensor:
    if conv_layout:  # a unit is a channel: (batch, M x C, h, w) -> (M, C)
        return positive.flatten(2).any(dim=2).any(dim=0).reshape(m, -1)
    return positive.any(dim=1)  # a unit is a feature


class _Task:
    """The digits task for M members: inputs in the stack's input layout, per-member losses."""

    def __init__(self, surrogate: Surrogate, m: int) -> None:
        self.conv = surrogate.task == "digits_cnn"
        self.binary = surrogate.output_activation == "sigmoid"
        self.m = m
        x_tr, y_tr, x_te, y_te = data.digits(binary=self.binary)
        self.x_train = torch.from_numpy(np.ascontiguousarray(x_tr)).reshape(len(x_tr), -1)
        self.x_test = torch.from_numpy(np.ascontiguousarray(x_te)).reshape(len(x_te), -1)
        self.y_train, self.y_test = torch.from_numpy(y_tr), torch.from_numpy(y_te)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """(M, batch, 64) flat digits -> the input layout."""
        if not self.conv:
            return x
        m, batch = x.shape[:2]
        # channels last: oneDNN's grouped convolutions and pooling run about twice as fast in it
        images = x.transpose(0, 1).reshape(batch, m, 8, 8)
        return images.contiguous(memory_format=torch.channels_last)

    def losses(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(M, batch, n_out) outputs, (M, batch) labels -> (M,) mean losses."""
        m, batch = y.shape
        if self.binary:
            flat = F.binary_cross_entropy_with_logits(
                out.reshape(-1), y.reshape(-1).to(out.dtype), reduction="none"
            )
        else:
            flat = F.cross_entropy(out.reshape(m * batch, -1), y.reshape(-1), reduction="none")
        return flat.reshape(m, batch).mean(dim=1)

    def accuracy(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pred = (out.squeeze(-1) > 0).to(y.dtype) if self.binary else out.argmax(dim=-1)
        return (pred == y).float().mean(dim=1)

    def evaluate(
        self, stack: Stack, alive: Optional[list[torch.Tensor]] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Held-out (loss, accuracy) per member, with the test set's own batch statistics."""
        m = self.m
        with torch.no_grad():
            x = self.inputs(self.x_test.unsqueeze(0).expand(m, -1, -1))
            out = stack.forward(x, self.conv, alive)
            y = self.y_test.unsqueeze(0).expand(m, -1)
            return self.losses(out, y), self.accuracy(out, y)


def train(surrogate: Surrogate, members: Sequence[Member], budget: Budget) -> list[ArmRun]:
    """One ``ArmRun`` per member, as ``TorchBackend.run`` would give it alone."""
    from biaslint.probe.torch_backend import SurrogateNet, build

    bodies: list[nn.Sequential] = []
    for member in members:
        net = build(surrogate, member.arm, member.seed)
        assert isinstance(net, SurrogateNet), "digits surrogates only"
        bodies.append(net.body)
    stack = Stack(bodies)
    m = len(members)
    task = _Task(surrogate, m)

    alive: list[torch.Tensor] = []
    loss_init, _ = task.evaluate(stack, alive)
    dead = _dead_fractions(alive, m)

    n_train = task.x_train.shape[0]
    batch = min(budget.batch_size, n_train)
    index = torch.from_numpy(
        np.stack([data.batch_indices(n_train, batch, budget.steps, mb.seed) for mb in members]).astype(
            np.int64
        )
    )  # (M, steps, batch)
    rates = [
        torch.tensor([mb.lr for mb in members]).reshape(-1, *([1] * (p.dim() - 1))) for p in stack.params
    ]
    momentum = [torch.zeros_like(p) for p in stack.params]
    log_every = max(1, budget.log_every)
    curves: list[list[float]] = [[] for _ in members]
    grad_norm = torch.full((m,), math.nan)
    for step in range(budget.steps):
        rows = index[:, step]  # (M, batch)
        losses = task.losses(stack.forward(task.inputs(task.x_train[rows]), task.conv), task.y_train[rows])
        for p in stack.params:
            p.grad = None
        losses.sum().backward()  # no operation mixes members: each gets its own loss's gradient
        with torch.no_grad():
            if step == 0:
                grad_norm = (
                    torch.stack(
                        [p.grad.reshape(m, -1).pow(2).sum(dim=1) for p in stack.params if p.grad is not None]
                    )
                    .sum(dim=0)
                    .sqrt()
                )
            if step % log_every == 0:
                for curve, value in zip(curves, losses.detach().tolist()):
                    curve.append(value)
            for p, buf, lr in zip(stack.params, momentum, rates):
                assert p.grad is not None
                buf.mul_(MOMENTUM).add_(p.grad)  # torch.optim.SGD(momentum=0.9), dampening 0
                p.sub_(lr * buf)
    loss_final, accuracy = task.evaluate(stack)
    return [
        ArmRun(
            loss_init=float(loss_init[k]),
            loss_final=float(loss_final[k]),
            accuracy=float(accuracy[k]),
            dead_relu_frac=None if dead is None else dead[k],
            grad_norm=float(grad_norm[k]),
            curve=curves[k],
        )
        for k in range(m)
    ]


def _dead_fractions(alive: list[torch.Tensor], m: int) -> Optional[list[float]]:
    if not alive:
        return None
    total = sum(a.shape[1] for a in alive)
    return [sum(int((~a[k]).sum()) for a in alive) / total for k in range(m)]
