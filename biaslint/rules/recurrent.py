"""BIA4xx — recurrent layers and gates."""

from __future__ import annotations

import re
from collections.abc import Iterator

from biaslint.model import Finding
from biaslint.rules.registry import Context, constant, fmt, rule, short

_TORCH_LM = """
import torch.nn as nn

class LM(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)
{init}
    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.out(h)
"""
_FORGET_INIT = """        for name, p in self.lstm.named_parameters():
            if 'bias_ih' in name:
                n = p.size(0)
                p.data[n // 4:n // 2].fill_(1.0)
"""


@rule(
    "BIA401",
    "LSTM forget-gate bias not set to 1",
    "warning",
    value_rule=True,
    what="Flags PyTorch `nn.LSTM`/`nn.LSTMCell` with no forget-gate bias init in the file (info), and "
    "Keras `unit_forget_bias=False` or TF1 `forget_bias=0.0` (warning: the helpful default was "
    "switched off).",
    why="A forget-gate bias of 1 lets gradients flow through time from the start (Gers et al. 2000); "
    "Jozefowicz et al. 2015 found it closes most of the gap between LSTM and GRU. Keras and TF1 "
    "cells add 1 by default; PyTorch does not.",
    example="self.lstm = nn.LSTM(256, 256)  # biases U(-1/sqrt(H), 1/sqrt(H)), forget gate ~0",
    instead="for name, p in self.lstm.named_parameters():\n    if 'bias_ih' in name:\n"
    "        n = p.size(0)\n        p.data[n // 4:n // 2].fill_(1.0)  # gates: i, f, g, o",
    sources=[
        "Gers, Schmidhuber, Cummins 2000",
        "Jozefowicz, Zaremba, Sutskever 2015",
        "Keras docs: LSTM(unit_forget_bias=True)",
        "PyTorch docs: nn.LSTM gate order (i, f, g, o)",
    ],
    invalid=[
        _TORCH_LM.format(init=""),
        "from tensorflow.keras import layers\n\nmodel_layers = [layers.LSTM(128, unit_forget_bias=False), "
        "layers.Dense(10, activation='softmax')]\n",
    ],
    valid=[
        _TORCH_LM.format(init=_FORGET_INIT),
        "from tensorflow.keras import layers\n\nmodel_layers = [layers.LSTM(128), "
        "layers.Dense(10, activation='softmax')]\n",
    ],
)
def forget_gate(ctx: Context) -> Iterator[Finding]:
    forget_inits = [s for s in ctx.sites if s.gate == "forget" and s.reinit]
    for s in ctx.sites:
        if s.layer_kind != "recurrent" or s.reinit:
            continue
        api = s.api.rsplit(".", 1)[-1]
        if s.framework == "torch" and api in ("LSTM", "LSTMCell") and s.init_kind != "none":
            mine = [f for f in forget_inits if s.line in f.notes.get("ref_lines", [s.line])]
            if not mine:
                yield ctx.finding(
                    s,
                    "BIA401",
                    f"{short(api, 40)} forget-gate bias starts near 0",
                    "PyTorch, unlike Keras and TF1, adds no 1; fill bias[H:2H] with 1 (Gers et al. "
                    "2000; Jozefowicz et al. 2015)",
                    ("info", "PyTorch's default"),
                )
            elif all((constant(f) or 0) <= 0 for f in mine):
                yield ctx.finding(
                    mine[0],
                    "BIA401",
                    "forget-gate bias set to 0 or less",
                    "the LSTM starts forgetting; use 1 (Gers et al. 2000; Jozefowicz et al. 2015)",
                )
        elif s.forget_bias == 0.0 and s.framework in ("keras", "tf1"):
            what = "unit_forget_bias=False" if s.framework == "keras" else "forget_bias=0.0"
            yield ctx.finding(
                s,
                "BIA401",
                f"{what} switches off the forget-gate bias of 1",
                "that bias helps LSTMs keep memory from the start (Gers et al. 2000; Jozefowicz et al. 2015)",
            )


_SLICES = """
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(hidden, hidden)
        H = hidden
        self.lstm.bias_ih_l0.data[{sl}].fill_(1.0)  # forget gate
{extra}
    def forward(self, x):
        return self.lstm(x)[0]
"""


@rule(
    "BIA402",
    "wrong gate slice",
    "error",
    what="In PyTorch the LSTM bias chunks are (input, forget, cell, output), so the forget gate is "
    "`[H:2H]`. Flags a slice commented or named 'forget' that selects another gate (error), and "
    "a forget slice set in both `bias_ih` and `bias_hh`, which adds up (info).",
    why="`[0:H]` is the input gate (the TensorFlow/Keras order differs: i, f, c, o in Keras too, but "
    "other libraries use i, g, f, o). Setting both `bias_ih` and `bias_hh` forget slices to 1 gives "
    "an effective forget bias of 2.",
    example="self.lstm.bias_ih_l0.data[0:H].fill_(1.0)  # forget gate",
    instead="self.lstm.bias_ih_l0.data[H:2 * H].fill_(1.0)  # forget gate (i, f, g, o)",
    sources=["PyTorch docs: nn.LSTM (b_ii|b_if|b_ig|b_io)", "Gers, Schmidhuber, Cummins 2000"],
    invalid=[
        _SLICES.format(sl="0:H", extra=""),
        _SLICES.format(sl="H:2 * H", extra="        self.lstm.bias_hh_l0.data[H:2 * H].fill_(1.0)\n"),
    ],
    valid=[_SLICES.format(sl="H:2 * H", extra="")],
)
def gate_slice(ctx: Context) -> Iterator[Finding]:
    gate_sites = [s for s in ctx.sites if s.reinit and s.gate and s.framework == "torch"]
    for s in gate_sites:
        says_forget = re.search(r"forget", s.comment, re.I) or (
            s.layer_name and "forget" in s.layer_name.lower()
        )
        if says_forget and s.gate != "forget":
            yield ctx.finding(
                s,
                "BIA402",
                f"this slice is the {s.gate} gate, not the forget gate",
                "PyTorch's LSTM bias order is (input, forget, cell, output), forget = [H:2H]",
            )
    forget = [s for s in gate_sites if s.gate == "forget" and (constant(s) or 0) > 0]
    by_layer: dict[object, list[str]] = {}
    for s in forget:
        by_layer.setdefault(s.notes.get("ref_line"), []).append(str(s.notes.get("param", "")))
    for s in forget:
        params = by_layer.get(s.notes.get("ref_line"), [])
        both = any("ih" in p for p in params) and any("hh" in p for p in params)
        generic = s.notes.get("param") == "bias"  # a loop over every bias of the LSTM
        if (both and "hh" in str(s.notes.get("param"))) or generic:
            value = constant(s) or 0
            yield ctx.finding(
                s,
                "BIA402",
                f"forget slice set in bias_ih and bias_hh: the gate starts at {fmt(2 * value)}",
                f"PyTorch adds the two biases, so the gate starts at {fmt(2 * value)}, not {fmt(value)}; "
                "set it in one of them",
                ("info", "a doubled value"),
            )


@rule(
    "BIA403",
    "Keras LSTM initializer overridden",
    "info",
    what="Flags a Keras LSTM with a custom `bias_initializer` while `unit_forget_bias=True` (the default).",
    why="With unit_forget_bias=True Keras builds the bias as [init(units), ones(units), init(2*units)]: "
    "the custom initializer is used for the input, cell and output gates, but the forget slice "
    "is overwritten with ones — often not what the custom initializer was meant to do.",
    example="layers.LSTM(128, bias_initializer='ones')",
    instead="layers.LSTM(128)  # or unit_forget_bias=False if the custom init is really wanted",
    sources=["Keras docs: LSTM(unit_forget_bias=True, bias_initializer='zeros')"],
    invalid=["from tensorflow.keras import layers\n\nlstm = layers.LSTM(128, bias_initializer='ones')\n"],
    valid=[
        "from tensorflow.keras import layers\n\nlstm = layers.LSTM(128)\n",
        "from tensorflow.keras import layers\n\n"
        "lstm = layers.LSTM(128, bias_initializer='ones', unit_forget_bias=False)\n",
    ],
)
def keras_lstm_override(ctx: Context) -> Iterator[Finding]:
    for s in ctx.sites:
        if (
            s.framework == "keras"
            and s.layer_kind == "recurrent"
            and s.forget_bias == 1.0
            and s.api.rsplit(".", 1)[-1] in ("LSTM", "LSTMCell", "ConvLSTM2D", "CuDNNLSTM")
            and s.init_kind not in ("default", "zeros", "none", "other")  # other: not seen
        ):
            yield ctx.finding(
                s,
                "BIA403",
                f"custom bias_initializer ({s.init_kind}) with unit_forget_bias=True",
                "Keras uses it for the input, cell and output gates but overwrites the forget slice with "
                "ones (Keras LSTM docs)",
            )


_HIGHWAY = """
import tensorflow as tf

def highway(x, size):
    W_H = tf.Variable(tf.truncated_normal([size, size], stddev=0.1))
    b_H = tf.Variable(tf.constant(0.1, shape=[size]))
    W_T = tf.Variable(tf.truncated_normal([size, size], stddev=0.1))
    b_T = tf.Variable(tf.constant({gate}, shape=[size]))
    H = tf.nn.relu(tf.matmul(x, W_H) + b_H)
    T = tf.sigmoid(tf.matmul(x, W_T) + b_T)
    return H * T + x * (1.0 - T)
"""


@rule(
    "BIA404",
    "highway gate bias not negative",
    "info",
    value_rule=True,
    what="Flags the transform-gate bias of a highway layer (a sigmoid gate T in `H*T + x*(1-T)`) that "
    "starts at 0 or above.",
    why="Srivastava et al. (2015, §2.2) start the gate bias negative (-1 to -3) so that the layer "
    "first carries its input through; that is what lets deep highway nets train.",
    example="b_T = tf.Variable(tf.constant(0.0, shape=[size]))",
    instead="b_T = tf.Variable(tf.constant(-1.0, shape=[size]))",
    sources=["Srivastava, Greff, Schmidhuber 2015 §2.2"],
    invalid=[_HIGHWAY.format(gate="0.0")],
    valid=[_HIGHWAY.format(gate="-1.0")],
)
def highway_gate(ctx: Context) -> Iterator[Finding]:
    for s in ctx.biases:
        value = constant(s)
        where = f"{s.scope} {s.layer_name or ''}".lower()
        # the gate T is mixed back with the input (H*T + x*(1-T)), so it may look like an output
        if value is not None and value >= 0 and s.activation == "sigmoid" and "highway" in where:
            yield ctx.finding(
                s,
                "BIA404",
                f"highway transform-gate bias starts at {fmt(value)}",
                "start it at -1 to -3 so the layer first carries its input (Srivastava et al. 2015 §2.2)",
            )
