"""BIA1xx — the value of one bias."""

from __future__ import annotations

import math
from collections.abc import Iterator

from biaslint.model import Finding
from biaslint.rules.registry import (
    HIDDEN_KINDS,
    RELU_FAMILY,
    Context,
    constant,
    fmt,
    is_hidden,
    rule,
    weight_text,
)

_TF1_FC = """
import tensorflow as tf

def fc(x, n_in, n_out):
    w = tf.Variable(tf.truncated_normal([n_in, n_out], stddev=0.1))
    b = tf.Variable(tf.constant({value}, shape=[n_out]))
    return tf.nn.relu(tf.matmul(x, w) + b)

def model(x):
    h = fc(x, 784, 256)
    return tf.matmul(h, tf.Variable(tf.zeros([256, 10]))) + tf.Variable(tf.zeros([10]))
"""


@rule(
    "BIA101",
    "large positive constant before ReLU",
    "warning",
    value_rule=True,
    what="Flags a hidden conv or dense bias initialised to a constant of at least 0.5 (by default) "
    "whose output feeds a ReLU-family activation.",
    why="AlexNet (Krizhevsky et al. 2012, §5) set some biases to 1 on purpose, to give ReLUs "
    "positive inputs under small fixed-stddev weights; VGG, He et al. and every framework "
    "default start at ~0. With fan-in-scaled weights a bias of 1 mostly raises the starting "
    "loss; with small fixed-stddev weights it can rescue a deep net. Either way it is a "
    "deliberate choice that should be visible.",
    example="b = tf.Variable(tf.constant(1.0, shape=[4096]))\nh = tf.nn.relu(tf.matmul(x, w) + b)",
    instead="b = tf.Variable(tf.zeros([4096]))  # and a fan-in-scaled (He) weight init",
    sources=[
        "Krizhevsky, Sutskever, Hinton 2012 (AlexNet) §5",
        "Simonyan & Zisserman 2015 (VGG) §3.1",
        "He et al. 2015 §2.2",
        "CS231n, Neural Networks Part 2: bias initialisation",
    ],
    invalid=[
        _TF1_FC.format(value="1.0"),
        "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc1 = nn.Linear(784, 256)\n"
        "        nn.init.constant_(self.fc1.bias, 1.0)\n        self.fc2 = nn.Linear(256, 10)\n\n"
        "    def forward(self, x):\n        return self.fc2(nn.functional.relu(self.fc1(x)))\n",
    ],
    valid=[_TF1_FC.format(value="0.0"), _TF1_FC.format(value="0.1")],
)
def large_constant_before_relu(ctx: Context) -> Iterator[Finding]:
    limit = ctx.settings.large_constant
    for s in ctx.biases:
        value = constant(s)
        if value is None or not (limit <= value < ctx.settings.absurd_constant):
            continue
        if s.layer_kind in HIDDEN_KINDS and is_hidden(s) and s.activation in RELU_FAMILY:
            yield ctx.finding(
                s,
                "BIA101",
                f"{s.layer_kind} bias starts at {fmt(value)} before ReLU{weight_text(s)}",
                "AlexNet's heuristic to keep ReLUs active under small fixed-std weights; VGG, He init "
                "and framework defaults use 0 (AlexNet §5, CS231n)",
            )


@rule(
    "BIA102",
    "negative constant before ReLU",
    "warning",
    value_rule=True,
    what="Flags a hidden conv or dense bias initialised to a negative constant whose output "
    "feeds a ReLU-family activation.",
    why="A negative bias shifts every pre-activation below zero at the start: many units output 0 "
    "and get no gradient (dying ReLU). Negative starts are right for gates and priors, not "
    "for hidden ReLU layers.",
    example="nn.init.constant_(self.fc1.bias, -1.0)  # fc1 feeds F.relu",
    instead="nn.init.zeros_(self.fc1.bias)",
    sources=["CS231n, Neural Networks Part 2: bias initialisation", "He et al. 2015 §2.2"],
    invalid=[_TF1_FC.format(value="-1.0")],
    valid=[
        _TF1_FC.format(value="0.0"),
        "import torch.nn as nn\n\nclass Head(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.gate = nn.Linear(64, 64)\n"
        "        nn.init.constant_(self.gate.bias, -2.0)\n\n"
        "    def forward(self, x):\n        return x * nn.functional.sigmoid(self.gate(x))\n",
    ],
)
def negative_before_relu(ctx: Context) -> Iterator[Finding]:
    for s in ctx.biases:
        value = constant(s)
        if value is None or value >= 0 or -value >= ctx.settings.absurd_constant:
            continue
        if s.layer_kind in HIDDEN_KINDS and is_hidden(s) and s.activation in RELU_FAMILY:
            yield ctx.finding(
                s,
                "BIA102",
                f"{s.layer_kind} bias starts at {fmt(value)} before ReLU{weight_text(s)}",
                "units start inactive and may never recover (dying ReLU); use 0 (CS231n)",
            )


_RANDOM_BIAS = """
import tensorflow as tf

weights = {{'h1': tf.Variable(tf.random_normal([784, 256]))}}
biases = {{'b1': tf.Variable({init})}}

def net(x):
    return tf.nn.relu(tf.add(tf.matmul(x, weights['h1']), biases['b1']))
"""


@rule(
    "BIA103",
    "random bias with large spread",
    "warning",
    value_rule=True,
    what="Flags a bias drawn from a normal, truncated normal or uniform distribution with a "
    "stddev (or half-width) of at least 0.1 by default — e.g. `tf.random_normal([n])`, whose "
    "stddev is 1.0.",
    why="The weights already break the symmetry between units; random biases only add noise to "
    "the starting point (and a stddev of 1 is large next to typical activations).",
    example="b1 = tf.Variable(tf.random_normal([256]))",
    instead="b1 = tf.Variable(tf.zeros([256]))",
    sources=["CS231n, Neural Networks Part 2: bias initialisation"],
    invalid=[
        _RANDOM_BIAS.format(init="tf.random_normal([256])"),
        _RANDOM_BIAS.format(init="tf.random_uniform([256], -0.5, 0.5)"),
    ],
    valid=[
        _RANDOM_BIAS.format(init="tf.zeros([256])"),
        _RANDOM_BIAS.format(init="tf.random_normal([256], stddev=0.01)"),
    ],
)
def random_spread(ctx: Context) -> Iterator[Finding]:
    limit = ctx.settings.random_spread
    for s in ctx.biases:
        if (
            s.init_kind in ("normal", "truncated_normal", "uniform")
            and s.init_value is not None
            and s.init_value >= limit
            and s.layer_kind != "norm"
            and s.shape != ()  # a scalar offset (a 1-D regression's b) breaks no symmetry either
        ):
            what = "half-width" if s.init_kind == "uniform" else "stddev"
            yield ctx.finding(
                s,
                "BIA103",
                f"{s.layer_kind} bias drawn from {s.init_kind} with {what} {fmt(s.init_value)}"
                f"{weight_text(s)}",
                "the weights already break symmetry, random biases only add noise; start at zeros (CS231n)",
            )


@rule(
    "BIA104",
    "TF1 bias variable without an initializer",
    "warning",
    value_rule=True,
    what="Flags `tf.get_variable('b...', [n])` with no `initializer`.",
    why="Without one, the variable takes the enclosing variable scope's initializer or "
    "glorot_uniform — a random bias, rarely what was meant.",
    example="b = tf.get_variable('biases', [64])",
    instead="b = tf.get_variable('biases', [64], initializer=tf.zeros_initializer())",
    sources=["TensorFlow 1.x docs: tf.get_variable (default initializer glorot_uniform)"],
    invalid=[
        "import tensorflow as tf\n\ndef dense(x, n_in, n_out):\n"
        "    w = tf.get_variable('weights', [n_in, n_out])\n"
        "    b = tf.get_variable('biases', [n_out])\n"
        "    return tf.nn.relu(tf.matmul(x, w) + b)\n"
    ],
    valid=[
        "import tensorflow as tf\n\ndef dense(x, n_in, n_out):\n"
        "    w = tf.get_variable('weights', [n_in, n_out])\n"
        "    b = tf.get_variable('biases', [n_out], initializer=tf.zeros_initializer())\n"
        "    return tf.nn.relu(tf.matmul(x, w) + b)\n"
    ],
)
def get_variable_without_initializer(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        if (
            s.api == "tensorflow.get_variable"
            and s.init_kind == "default"
            and not s.reinit
            and not s.notes.get("maybe_lookup")  # AUTO_REUSE or a run-time reuse flag
        ):
            yield ctx.finding(
                s,
                "BIA104",
                "tf.get_variable bias without an initializer",
                "it inherits the scope's initializer or glorot_uniform, a random bias; pass "
                "initializer=tf.zeros_initializer() (TF docs)",
            )


@rule(
    "BIA105",
    "non-finite or absurd constant",
    "error",
    value_rule=True,
    what="Flags a bias constant that is inf, nan, or at least 100 in magnitude (by default).",
    why="Such a start saturates every unit it feeds or makes the loss non-finite on the first step.",
    example="nn.init.constant_(self.fc.bias, float('inf'))",
    instead="nn.init.zeros_(self.fc.bias)",
    sources=["IEEE 754; any first training step"],
    invalid=[_TF1_FC.format(value="1e4"), _TF1_FC.format(value="float('nan')")],
    valid=[_TF1_FC.format(value="0.0")],
)
def absurd_constant(ctx: Context) -> Iterator[Finding]:
    for s in ctx.biases:
        value = constant(s)
        if value is None or s.trainable is False:  # a frozen constant is a mask, not a start
            continue
        if math.isnan(value) or math.isinf(value) or abs(value) >= ctx.settings.absurd_constant:
            yield ctx.finding(
                s,
                "BIA105",
                f"{s.layer_kind} bias starts at {fmt(value)}: non-finite or absurdly large",
                "it saturates the units or breaks the first step; use a small finite value, usually 0",
            )
