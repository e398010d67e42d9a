"""BIA5xx — output layers."""

from __future__ import annotations

import math
from collections.abc import Iterator

from biaslint.model import Finding
from biaslint.rules.registry import Context, constant, fmt, rule

_HEAD = """
import torch.nn as nn
from torchvision.ops import sigmoid_focal_loss

class ClassificationHead(nn.Module):
    def __init__(self, channels, num_classes, prior=0.01):
        super().__init__()
        self.cls_logits = nn.Conv2d(channels, num_classes, 3, padding=1)
        nn.init.normal_(self.cls_logits.weight, std=0.01)
        nn.init.constant_(self.cls_logits.bias, {bias})

    def forward(self, x):
        return self.cls_logits(x)

def loss(head, x, targets):
    return sigmoid_focal_loss(head(x), targets)
"""


@rule(
    "BIA501",
    "imbalanced sigmoid/BCE/focal head left at bias 0",
    "info",
    value_rule=True,
    what="Flags a sigmoid output layer whose bias starts at 0 in a file that trains it with a "
    "focal/BCE loss and shows class imbalance (`pos_weight`, a `prior`, focal loss).",
    why="With a rare positive class, a 0 bias predicts p = 0.5 for everything: the first steps are "
    "spent learning the base rate and the many easy negatives swamp the loss. Lin et al. (2017) "
    "start the bias at b = -log((1 - π) / π), π = 0.01 → -4.6; Karpathy's recipe: init the final "
    "bias to the base rate.",
    example="nn.init.constant_(self.cls_logits.bias, 0)",
    instead="nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior) / prior))",
    sources=[
        "Lin et al. 2017 (focal loss, RetinaNet) §4.1",
        "Karpathy 2019, A Recipe for Training Neural Networks",
    ],
    invalid=[_HEAD.format(bias="0.0")],
    valid=[
        _HEAD.format(bias="-math.log((1 - prior) / prior)").replace(
            "import torch.nn", "import math\nimport torch.nn"
        )
    ],
)
def imbalanced_head(ctx: Context) -> Iterator[Finding]:
    hints = ctx.model.hints
    if not (hints.get("imbalance") and hints.get("sigmoid_loss")):
        return
    for s in ctx.biases:
        value = constant(s)
        zero_default = s.init_kind == "default" and s.framework in ("keras", "tf_layers", "slim")
        if s.output_layer and s.activation == "sigmoid" and (value == 0 or zero_default):
            yield ctx.finding(
                s,
                "BIA501",
                "sigmoid head starts at bias 0 (p = 0.5) on imbalanced data",
                "start at b = -log((1 - π) / π) for the positive rate π, e.g. -4.6 for π = 0.01 "
                "(focal loss, Lin et al. 2017; Karpathy's recipe)",
            )


@rule(
    "BIA502",
    "positive constant on a sigmoid logit",
    "warning",
    value_rule=True,
    what="Flags a sigmoid output layer whose bias starts at a positive constant (softmax logits are "
    "never flagged: softmax ignores a uniform shift).",
    why="A bias of 1.0 makes every example start at p = 0.73: a confident, wrong prior for most "
    "binary or multi-label tasks, usually a copied hidden-layer default.",
    example="out = tf.nn.sigmoid(tf.matmul(h, W) + tf.Variable(tf.constant(1.0, shape=[1])))",
    instead="start at 0, or at the log-odds of the positive rate",
    sources=["Karpathy 2019, A Recipe for Training Neural Networks (init the final bias)"],
    invalid=[
        "import tensorflow as tf\n\ndef head(h):\n"
        "    W = tf.Variable(tf.truncated_normal([64, 1], stddev=0.1))\n"
        "    b = tf.Variable(tf.constant(1.0, shape=[1]))\n    return tf.nn.sigmoid(tf.matmul(h, W) + b)\n"
    ],
    valid=[
        "import tensorflow as tf\n\ndef head(h):\n"
        "    W = tf.Variable(tf.truncated_normal([64, 10], stddev=0.1))\n"
        "    b = tf.Variable(tf.constant(1.0, shape=[10]))\n    return tf.nn.softmax(tf.matmul(h, W) + b)\n"
    ],
)
def positive_sigmoid_logit(ctx: Context) -> Iterator[Finding]:
    for s in ctx.biases:
        value = constant(s)
        if (
            value is not None
            and value > 0
            and s.output_layer
            and s.activation == "sigmoid"
            and s.gate is None
        ):
            p = 1 / (1 + math.exp(-min(value, 50)))
            yield ctx.finding(
                s,
                "BIA502",
                f"sigmoid output bias starts at {fmt(value)}: every example starts at p = {p:.2f}",
                "start at 0 or at the log-odds of the positive rate (Karpathy's recipe)",
            )
