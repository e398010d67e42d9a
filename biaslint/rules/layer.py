"""BIA2xx — the bias in its layer."""

from __future__ import annotations

from collections.abc import Iterator

from biaslint.model import Finding
from biaslint.rules.registry import HIDDEN_KINDS, Context, rule

_TORCH_STEM = """
import torch.nn as nn
import torch.nn.functional as F

class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3, padding=1{bias})
        self.bn = nn.BatchNorm2d(64)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))
"""


@rule(
    "BIA201",
    "bias directly before batch normalisation",
    "info",
    what="Flags a conv or dense layer with a bias whose output goes straight into BatchNorm or InstanceNorm.",
    why="The norm subtracts the per-channel mean, which cancels any constant added before it: the "
    "bias gets ~0 gradient and only costs memory and time. (LayerNorm/GroupNorm normalise over "
    "other axes and do not cancel it; an activation in between also keeps it useful.)",
    example="self.conv = nn.Conv2d(3, 64, 3)\nself.bn = nn.BatchNorm2d(64)  # forward: bn(conv(x))",
    instead="self.conv = nn.Conv2d(3, 64, 3, bias=False)  # Keras: use_bias=False",
    sources=[
        "Ioffe & Szegedy 2015 §3.2",
        "PyTorch performance tuning guide: disable bias for convolutions directly followed by a batch norm",
    ],
    invalid=[_TORCH_STEM.format(bias="")],
    valid=[_TORCH_STEM.format(bias=", bias=False")],
)
def bias_before_batchnorm(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        if (
            s.layer_kind in HIDDEN_KINDS
            and s.activation == "batchnorm"
            and not s.reinit
            and s.init_kind not in ("none", "other")
            and not s.loaded
        ):
            flag = {"torch": "bias=False", "keras": "use_bias=False", "tf_layers": "use_bias=False"}.get(
                s.framework, "drop the bias"
            )
            yield ctx.finding(
                s,
                "BIA201",
                f"{s.layer_kind} bias feeds batch norm, which cancels it",
                f"the norm's mean subtraction removes any per-channel constant: {flag} saves the "
                "parameter (Ioffe & Szegedy 2015 §3.2)",
            )


_TF1_SHAPE = """
import tensorflow as tf

def conv(x):
    w = tf.Variable(tf.truncated_normal([3, 3, 512, 256], stddev=0.01))
    b = tf.Variable(tf.zeros({shape}))
    return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], 'SAME'), b))
"""


@rule(
    "BIA202",
    "bias shape does not match the layer",
    "error",
    what="Flags a bias whose length differs from the output size of the kernel or matmul it is "
    "added to (kernel `[3, 3, 512, 256]` with bias `[512]`), or an `[n, 1]`-style shape that "
    "broadcasts silently.",
    why="A wrong length fails at graph construction at best; an `[n, 1]` bias added to `[batch, n]` "
    "broadcasts into an `[n, n]` tensor and trains something else than intended.",
    example="w = tf.Variable(tf.truncated_normal([3, 3, 512, 256]))\nb = tf.Variable(tf.zeros([512]))",
    instead="b = tf.Variable(tf.zeros([256]))  # the kernel's last dimension",
    sources=["TensorFlow docs: tf.nn.bias_add (bias must match the last dimension of value)"],
    invalid=[_TF1_SHAPE.format(shape="[512]"), _TF1_SHAPE.format(shape="[256, 1]")],
    valid=[_TF1_SHAPE.format(shape="[256]")],
)
def shape_mismatch(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        shape = s.shape
        if not shape or s.reinit or s.framework not in ("tf1", "torch", "keras"):
            continue
        if len(shape) == 2 and shape[1] == 1 and shape[0] not in (None, 1):
            yield ctx.finding(
                s,
                "BIA202",
                f"bias shape {list(shape)} broadcasts against [batch, {shape[0]}] into a square tensor",
                f"adding a [{shape[0]}, 1] column to [batch, {shape[0]}] outputs broadcasts instead of "
                f"failing; use shape [{shape[0]}]",
            )
            continue
        kernel = s.kernel_shape
        if len(shape) != 1 or shape[0] is None or not kernel or kernel[-1] is None:
            continue
        op = str(s.notes.get("kernel_op", ""))
        out = kernel[-2] if "transpose" in op and len(kernel) >= 2 else kernel[-1]
        if out is not None and shape[0] != out:
            yield ctx.finding(
                s,
                "BIA202",
                f"bias has length {shape[0]} but its kernel {list(kernel)} has {out} outputs",
                f"the add fails at run time, or broadcasts wrongly; use shape [{out}]",
            )


_TF1_DTYPE = """
import numpy as np
import tensorflow as tf

def fc(x):
    w = tf.Variable(tf.truncated_normal([128, 10], stddev=0.05))
    b = tf.Variable({init})
    return tf.matmul(x, w) + b
"""


@rule(
    "BIA203",
    "bias dtype does not match",
    "error",
    what="Flags a bias created with an integer dtype (`tf.constant(0, shape=[n])` is int32), a "
    "float64 array (NumPy's default) next to float32 weights, or an explicit dtype that "
    "differs from the kernel's.",
    why="TF1 refuses to add int32 or float64 to a float32 tensor (a TypeError at graph build); in "
    "other setups the bias silently forces a cast of every activation.",
    example="b = tf.Variable(tf.constant(0, shape=[10]))  # int32",
    instead="b = tf.Variable(tf.constant(0.0, shape=[10]))",
    sources=["TensorFlow docs: tf.constant infers int32 from Python ints; NumPy defaults to float64"],
    invalid=[_TF1_DTYPE.format(init="tf.constant(0, shape=[10])"), _TF1_DTYPE.format(init="np.zeros(10)")],
    valid=[
        _TF1_DTYPE.format(init="tf.constant(0.0, shape=[10])"),
        _TF1_DTYPE.format(init="np.zeros(10, dtype=np.float32)"),
    ],
)
def dtype_mismatch(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        dtype = s.dtype
        if dtype is None or s.reinit:
            continue
        kernel_dtype = s.notes.get("kernel_dtype")
        if dtype.startswith(("int", "uint", "bool")):
            yield ctx.finding(
                s,
                "BIA203",
                f"bias dtype is {dtype} (an integer literal)",
                "layers compute in float32: write 0.0, or pass dtype=tf.float32",
            )
        elif kernel_dtype and dtype != kernel_dtype and dtype.startswith("float"):
            yield ctx.finding(
                s,
                "BIA203",
                f"bias dtype {dtype} differs from its kernel's {kernel_dtype}",
                "the add fails on mixed float types; create the bias with the kernel's dtype",
            )
        elif dtype == "float64" and kernel_dtype is None and s.framework == "tf1":
            yield ctx.finding(
                s,
                "BIA203",
                "bias is float64 (a NumPy default) while TF1 layers compute in float32",
                "the add fails on mixed float types; pass dtype=np.float32 or tf.float32",
            )


@rule(
    "BIA204",
    "frozen bias, trainable kernel",
    "info",
    what="Flags a bias created with `trainable=False` (or set `requires_grad = False`) while its "
    "layer's kernel keeps training.",
    why="Freezing only the bias is unusual; it is often a leftover of freezing a pretrained layer "
    "where the kernel was meant to be frozen too.",
    example="b = tf.Variable(tf.zeros([64]), trainable=False)\nw = tf.Variable(..., trainable=True)",
    instead="Freeze the whole layer, or neither.",
    sources=["TensorFlow docs: tf.Variable(trainable=...); PyTorch docs: requires_grad"],
    invalid=[
        "import tensorflow as tf\n\ndef fc(x):\n"
        "    w = tf.Variable(tf.truncated_normal([128, 64], stddev=0.05))\n"
        "    b = tf.Variable(tf.zeros([64]), trainable=False)\n"
        "    return tf.nn.relu(tf.matmul(x, w) + b)\n"
    ],
    valid=[
        "import tensorflow as tf\n\ndef fc(x):\n"
        "    w = tf.Variable(tf.truncated_normal([128, 64], stddev=0.05), trainable=False)\n"
        "    b = tf.Variable(tf.zeros([64]), trainable=False)\n"
        "    return tf.nn.relu(tf.matmul(x, w) + b)\n"
    ],
)
def frozen_bias(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        if s.trainable is False and s.notes.get("kernel_trainable") is True and s.layer_kind in HIDDEN_KINDS:
            yield ctx.finding(
                s,
                "BIA204",
                f"{s.layer_kind} bias is frozen while its kernel trains",
                "a half-frozen layer is usually a slip: freeze the whole layer or neither",
            )


@rule(
    "BIA205",
    "bias created but never applied, or applied twice",
    "warning",
    what="Flags a bias variable that nothing ever uses, and a layer that already has its own bias "
    "(`nn.Linear` default, `use_bias=True`) whose output gets a second explicit bias added.",
    why="An unused bias is dead weight that often hides a bug (the wrong variable added); a second "
    "bias is redundant — two parameters doing one job.",
    example="self.fc = nn.Linear(64, 10)\nself.b = nn.Parameter(torch.zeros(10))\n"
    "...\nreturn self.fc(x) + self.b",
    instead="self.fc = nn.Linear(64, 10)  # its own bias is enough\n...\nreturn self.fc(x)",
    sources=["PyTorch docs: nn.Linear(bias=True) learns an additive bias"],
    invalid=[
        "import torch\nimport torch.nn as nn\n\nclass Head(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(64, 10)\n"
        "        self.b = nn.Parameter(torch.zeros(10))\n\n    def forward(self, x):\n"
        "        return self.fc(x) + self.b\n",
        "import tensorflow as tf\n\ndef fc(x):\n"
        "    w = tf.Variable(tf.truncated_normal([128, 64], stddev=0.05))\n"
        "    b = tf.Variable(tf.zeros([64]))\n"
        "    return tf.nn.relu(tf.matmul(x, w))\n",
    ],
    valid=[
        "import torch\nimport torch.nn as nn\n\nclass Head(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(64, 10, bias=False)\n"
        "        self.b = nn.Parameter(torch.zeros(10))\n\n    def forward(self, x):\n"
        "        return self.fc(x) + self.b\n"
    ],
)
def unused_or_double_bias(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        if s.extra_bias and not s.reinit and s.init_kind not in ("none", "other"):
            yield ctx.finding(
                s,
                "BIA205",
                f"this {s.layer_kind} layer has its own bias and its output gets a second one",
                "two biases in a row are one bias with twice the parameters; drop one of them",
            )
        elif s.notes.get("used") is False and s.consumers == 0 and not s.reinit and s.notes.get("local"):
            yield ctx.finding(
                s,
                "BIA205",
                "bias variable is created but never used",
                "add it to the layer output or remove it",
            )


@rule(
    "BIA206",
    "in-place init of a parameter that requires grad",
    "error",
    needs_bias_evidence=False,
    what="Flags an in-place call on a bias Parameter or a view of it (`m.bias.zero_()`, "
    "`self.lstm.bias_hh_l0.chunk(4)[1].fill_(1)`) outside `torch.no_grad()` and not through "
    "`.data` or an `nn.init` function.",
    why="PyTorch raises `RuntimeError: a leaf Variable that requires grad is being used in an "
    "in-place operation` when the model is built.",
    example="self.fc.bias.fill_(0.1)",
    instead="with torch.no_grad():\n    self.fc.bias.fill_(0.1)\n# or: nn.init.constant_(self.fc.bias, 0.1)",
    sources=[
        "PyTorch docs: autograd mechanics, in-place operations on leaf tensors",
        "PyTorch docs: torch.nn.init (functions run under no_grad)",
    ],
    invalid=[
        "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(8, 8)\n"
        "        self.fc.bias.fill_(0.1)\n\n    def forward(self, x):\n        return self.fc(x)\n"
    ],
    valid=[
        "import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(8, 8)\n        with torch.no_grad():\n"
        "            self.fc.bias.fill_(0.1)\n        self.fc.bias.data.fill_(0.1)\n"
        "        nn.init.constant_(self.fc.bias, 0.1)\n\n"
        "    def forward(self, x):\n        return self.fc(x)\n"
    ],
)
def inplace_on_leaf(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        if (
            s.framework == "torch"
            and s.reinit
            and s.in_no_grad is False
            and s.api.startswith("torch.Tensor.")
        ):
            method = s.api.rsplit(".", 1)[1]
            # certain only for a parameter we saw created (a layer's, an nn.Parameter) and
            # code whose grad mode is visible (a constructor, the module)
            certain = s.evidence != "name" or s.notes.get("ref_line") is not None
            if certain and s.notes.get("grad_context") == "known":
                yield ctx.finding(
                    s,
                    "BIA206",
                    f"in-place {method}() on a bias that requires grad raises a RuntimeError",
                    "autograd refuses in-place changes to a leaf that requires grad; wrap it in "
                    "`with torch.no_grad():` or use nn.init",
                )
            else:  # a helper whose callers are not visible may run under no_grad
                yield ctx.finding(
                    s,
                    "BIA206",
                    f"in-place {method}() on a bias that requires grad",
                    "raises a RuntimeError unless every caller runs it under torch.no_grad(); use "
                    "nn.init or wrap it",
                    ("warning", "callers not visible"),
                )
