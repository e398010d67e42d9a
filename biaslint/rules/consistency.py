"""BIA3xx — consistency across a model (one scope: a class, a model function)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from biaslint.model import BiasSite, Finding
from biaslint.rules.registry import HIDDEN_KINDS, Context, constant, fmt, rule, short, weight_text

_VGG = """
import tensorflow as tf

class Net:
    def __init__(self, x):
        w1 = tf.Variable(tf.truncated_normal([3, 3, 3, 64], stddev=0.1))
        b1 = tf.Variable(tf.constant({conv}, shape=[64]))
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, [1, 1, 1, 1], 'SAME'), b1))
        flat = tf.reshape(h, [-1, 64])
        w2 = tf.Variable(tf.truncated_normal([64, 32], stddev=0.1))
        b2 = tf.Variable(tf.constant({fc}, shape=[32]))
        h2 = tf.nn.relu(tf.matmul(flat, w2) + b2)
        w3 = tf.Variable(tf.truncated_normal([32, 10], stddev=0.1))
        b3 = tf.Variable(tf.constant(0.0, shape=[10]))
        self.probs = tf.nn.softmax(tf.matmul(h2, w3) + b3)
"""


def _hidden_constants(sites: list[BiasSite]) -> dict[str, list[tuple[BiasSite, float]]]:
    out: dict[str, list[tuple[BiasSite, float]]] = {"conv": [], "dense": []}
    for s in sites:
        value = constant(s)
        if (
            value is not None
            and s.layer_kind in HIDDEN_KINDS
            and s.output_layer is False  # "hidden" is a claim: an unknown layer may be the head
            and s.gate is None
            and s.activation != "sigmoid"  # a sigmoid hidden layer is a gate
        ):
            out[s.layer_kind].append((s, value))
    return out


@rule(
    "BIA301",
    "different constants for different layer kinds",
    "info",
    value_rule=True,
    what="Flags a model whose hidden conv biases and hidden dense biases start at different "
    "constants — the seed case: conv 0.0, fully-connected 1.0. Output, gate, norm and "
    "embedding biases are left out.",
    why="This is AlexNet's heuristic (Krizhevsky et al. 2012 §5: biases of 1 in the hidden FC "
    "layers and some convs, to give ReLUs positive inputs), copied along into many files; VGG "
    "itself used zeros everywhere. Bias init usually matters far less than weight init "
    "(CS231n): one value, usually 0, is the common choice.",
    example="conv biases: tf.constant(0.0, shape=[n])\nfc biases:   tf.constant(1.0, shape=[4096])",
    instead="every hidden bias: tf.zeros([n])  # or keep 1.0 on purpose, with small fixed-std weights",
    sources=[
        "Krizhevsky, Sutskever, Hinton 2012 (AlexNet) §5",
        "Simonyan & Zisserman 2015 (VGG) §3.1",
        "CS231n, Neural Networks Part 2: bias initialisation",
    ],
    invalid=[_VGG.format(conv="0.0", fc="1.0")],
    valid=[_VGG.format(conv="0.0", fc="0.0"), _VGG.format(conv="0.1", fc="0.1")],
)
def kinds_differ(ctx: Context) -> Iterator[Finding]:
    for scope, sites in ctx.scopes().items():
        by_kind = _hidden_constants(sites)
        conv_values = {v for _, v in by_kind["conv"]}
        dense_values = {v for _, v in by_kind["dense"]}
        if not conv_values or not dense_values or conv_values & dense_values:
            continue
        first = next(s for s, _ in by_kind["dense"])
        conv_txt = "/".join(fmt(v) for v in sorted(conv_values))
        dense_txt = "/".join(fmt(v) for v in sorted(dense_values))
        logits = [
            s for s in sites if s.output_layer and s.activation == "softmax" and constant(s) is not None
        ]
        tail = (
            "; the softmax logits' value does not matter: softmax ignores a uniform shift" if logits else ""
        )
        yield ctx.finding(
            first,
            "BIA301",
            f"in {short(scope)}: conv biases start at {short(conv_txt, 12)}, fully-connected at "
            f"{short(dense_txt, 12)}",
            f"AlexNet's heuristic (AlexNet §5) copied along{weight_text(first)}; VGG used zeros "
            f"throughout (VGG §3.1) and bias init matters far less than weight init (CS231n){tail}",
        )


_ALEXNET = """
import tensorflow as tf

def net(x):
    w1 = tf.Variable(tf.truncated_normal([11, 11, 3, 96], stddev=0.01))
    b1 = tf.Variable(tf.constant({b1}, shape=[96]))
    h1 = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w1, [1, 4, 4, 1], 'SAME'), b1))
    w2 = tf.Variable(tf.truncated_normal([5, 5, 96, 256], stddev=0.01))
    b2 = tf.Variable(tf.constant({b2}, shape=[256]))
    return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h1, w2, [1, 1, 1, 1], 'SAME'), b2))
"""


@rule(
    "BIA302",
    "different constants within one layer kind",
    "info",
    value_rule=True,
    what="Flags a model whose hidden convs (or hidden dense layers) start at two or more "
    "distinct explicit constants.",
    why="Often deliberate (AlexNet: conv1/3 at 0, conv2/4/5 at 1; the TF CIFAR-10 tutorial mixes 0.0 "
    "and 0.1), sometimes a copy-paste slip; either way worth a comment in the code.",
    example="conv1 bias 0.0, conv2 bias 1.0, conv3 bias 0.0",
    instead="one value for every hidden conv (usually 0), or a comment saying why not",
    sources=["Krizhevsky, Sutskever, Hinton 2012 (AlexNet) §5", "TensorFlow CIFAR-10 tutorial (cifar10.py)"],
    invalid=[_ALEXNET.format(b1="0.0", b2="1.0")],
    valid=[_ALEXNET.format(b1="0.0", b2="0.0")],
)
def values_differ_within_kind(ctx: Context) -> Iterator[Finding]:
    for scope, sites in ctx.scopes().items():
        for kind, pairs in _hidden_constants(sites).items():
            values = Counter(v for _, v in pairs)
            if len(values) < 2:
                continue
            usual = values.most_common(1)[0][0]
            odd = next(s for s, v in pairs if v != usual)
            listing = ", ".join(f"{fmt(v)} x{n}" for v, n in sorted(values.items()))
            yield ctx.finding(
                odd,
                "BIA302",
                f"in {short(scope)}: {kind} biases start at different constants ({short(listing, 24)})",
                f"the hidden {kind} biases start at {listing}: deliberate in AlexNet (§5), often a slip "
                "elsewhere: say why in a comment or use one value",
            )


_BLANKET = """
import tensorflow as tf

def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))

def weight_variable(shape):
    return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

def model(x):
    W1 = weight_variable([784, 100])
    b1 = bias_variable([100])
    h1 = tf.nn.relu(tf.matmul(x, W1) + b1)
    W2 = weight_variable([100, 100])
    b2 = bias_variable([100])
    h2 = tf.nn.relu(tf.matmul(h1, W2) + b2)
    W3 = weight_variable([100, {n_out}])
    b3 = bias_variable([{n_out}])
    return tf.nn.{out}(tf.matmul(h2, W3) + b3)
"""


@rule(
    "BIA303",
    "one blanket constant everywhere",
    "warning",
    value_rule=True,
    what="Flags a helper such as `bias_variable(shape)` returning `tf.constant(0.1, shape=shape)` that "
    "initialises every layer of a model, the output layer included (the TF 'Deep MNIST for "
    "experts' lineage). Harmless for softmax logits; a warning when it reaches a sigmoid "
    "output or a gate.",
    why="The 0.1 was chosen to keep hidden ReLUs alive; on softmax logits it cancels out, but a "
    "sigmoid output then starts at p = 0.52 for every example and a gate starts half open.",
    example="def bias_variable(shape):\n    return tf.Variable(tf.constant(0.1, shape=shape))\n"
    "...\ny = tf.nn.sigmoid(tf.matmul(h, W_out) + bias_variable([1]))",
    instead="use the helper for hidden layers only; start the output bias at 0 (or at the log-odds of "
    "the class prior)",
    sources=[
        "TensorFlow tutorial 'Deep MNIST for experts' (bias_variable)",
        "Karpathy 2019, A Recipe for Training Neural Networks (init the final bias)",
    ],
    invalid=[_BLANKET.format(n_out=1, out="sigmoid"), _BLANKET.format(n_out=10, out="softmax")],
    valid=[
        _BLANKET.replace("bias_variable([{n_out}])", "tf.Variable(tf.zeros([{n_out}]))").format(
            n_out=10, out="softmax"
        )
    ],
)
def blanket_constant(ctx: Context) -> Iterator[Finding]:
    for scope, sites in ctx.scopes().items():
        groups: dict[tuple[str, float], list[BiasSite]] = {}
        for s in sites:
            helper, value = s.notes.get("helper"), constant(s)
            if helper and value is not None and value != 0:
                groups.setdefault((str(helper), value), []).append(s)
        others = {constant(s) for s in sites if not s.notes.get("helper")} - {None}
        for (helper, value), members in groups.items():
            if len(members) < 3 or others - {value}:
                continue  # "everywhere" only when no bias of the model starts elsewhere
            ends = [s for s in members if s.output_layer or s.gate or s.activation == "sigmoid"]
            if not ends:
                continue
            end = ends[0]
            risky = end.activation == "sigmoid" or end.gate is not None
            where = (
                "a sigmoid output"
                if end.activation == "sigmoid"
                else ("a gate" if end.gate else "the softmax logits")
            )
            effect = (
                "every example starts at the same non-neutral probability"
                if risky
                else "harmless there (softmax ignores a uniform shift)"
            )
            yield ctx.finding(
                end,
                "BIA303",
                f"{short(helper, 20)}() starts every bias in {short(scope, 20)} at {fmt(value)}, {where} too",
                f"{effect}; keep the helper for hidden layers (TF Deep MNIST tutorial lineage)",
                None if risky else ("info", "harmless here"),
            )
