"""Fuzz biaslint: generated programs through ``check_source`` and the flake8 plugin, each in a child.

    python benchmarks/fuzz.py N [--seed S] [--timeout SEC] [--out DIR] [--jobs J] [--memory-mb M]
    python benchmarks/fuzz.py N --seed S --dump I      # print program I of that run and stop

Programs are built from a pool of hypothesmith programs (``from_grammar()`` and a few
``from_node()``, drawn once with hypothesis under ``--seed``) and bias-shaped snippets aimed at the
interpreter: framework headers, layers and bias initialisers whose sizes and values are huge
integers, NaN, infinities, negatives or expressions taken from the hypothesmith programs;
self-referential and doubling assignments, recursive helpers and helper trees, a class whose
method calls the function that defines it, deep block nesting, deep and long expressions, odd
line endings. Program I depends only on the seed and I (``random.Random(f"{seed}-{I}")``).

Each program runs twice, each time in its own forked child with a wall-clock timeout and
``RLIMIT_AS``: (a) ``engine.check_source(path, data, Settings())``; (b) the flake8 plugin
``BiasLintChecker(tree, filename, lines).run()`` exhausted, with lines read the way flake8
reads them (universal newlines, BOM stripped; no plugin run when flake8's ``ast.parse`` fails).
Outcome kinds:

    ok           nothing to report (also: a per-file error such as a syntax error)
    skipped      flake8 stage only: flake8 would report E999 and run no plugin
    slow         timed out while other children ran, finished within --timeout alone
    recursion    RecursionError out of check_source: both callers (the command line, the
                 flake8 plugin) turn it into a per-file outcome, so it is not a failure
                 unless --strict-recursion

and the failures:

    internal     FileModel.error says "internal error", or the plugin turned an exception
                 of check_source into a message
    exception    an exception escaped (out of the plugin's run(): also RecursionError)
    timeout      still running after --timeout seconds, twice (the second time alone)
    crash        the child died of a signal (segfault, abort...) or exited on its own
    memory       MemoryError, or a native allocation failed (RLIMIT_AS, --memory-mb)

A failure is minimised (whole statements, then single lines, deleted greedily while the same
signature persists) and written to --out with a .txt note beside it. Exit status 1 when any
failure was seen.
"""

from __future__ import annotations

import argparse
import ast
import faulthandler
import io
import multiprocessing
import os
import random
import re
import resource
import signal
import sys
import tempfile
import time
import tokenize
import traceback
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from biaslint import engine, flake8_plugin
from biaslint.config import Settings

STAGES = ("check_source", "flake8")
FAILURE_KINDS = frozenset({"internal", "exception", "timeout", "crash", "memory"})
#: hypothesmith programs drawn per run; fixed so that program I of a seed does not depend on N
POOL_GRAMMAR = 80
POOL_NODE = 6

# ---------------------------------------------------------------------------------------------
# generation

HEADERS = (
    "import torch\nimport torch.nn as nn\nimport tensorflow as tf\n",
    "import torch\nimport torch.nn as nn\n",
    "import tensorflow as tf\n",
    "import torch.nn as nn\n",
    "import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n",
    "import tensorflow as tf\nimport tensorflow.contrib.slim as slim\n",
    "import tensorflow.compat.v1 as tf\n",
    "from torch import nn\nfrom torch.nn import init\n",
    "",
)

HEADER_WEIGHTS = (40, 10, 10, 5, 5, 5, 5, 5, 5)

#: sizes and values that break arithmetic: huge, NaN, infinite, negative, zero, odd types
NASTY = (
    "10**400",
    "float('nan')",
    "float('inf')",
    "float('-inf')",
    "-1",
    "0",
    "10**10",
    "-10**10",
    "2**63",
    "1e308",
    "-0.0",
    "0.5",
    "True",
    "None",
    "'4'",
    "[]",
    "(1, 2)",
    "1j",
    "...",
    "1" * 400,
    "float('1e400')",
    "-(10**400)",
)
FLAGS = ("True", "False", "None", "0", "1", "'yes'")

#: bias-shaped snippets; {X} and {Y} are sizes/values, {B} a flag, {E} a hypothesmith expression
SNIPPETS = (
    "nn.Linear(3, {X})",
    "nn.Linear({X}, {Y}, bias={B})",
    "fc = nn.Linear(3, {X})\nnn.init.constant_(fc.bias, {Y})",
    "fc = nn.Linear(3, 4)\nfc.bias.data.fill_({Y})",
    "fc = nn.Linear(3, 4)\nfc.bias.data[{X}] = {Y}",
    "torch.nn.init.constant_(nn.Linear(2, {X}).bias, {Y})",
    "nn.init.uniform_(nn.Linear(2, 2).bias, {X}, {Y})",
    "nn.init.normal_(nn.Conv2d(3, {X}, 3).bias, std={Y})",
    "lstm = nn.LSTM(4, 8)\nlstm.bias_ih_l0.chunk({X})",
    "lstm = nn.LSTM(4, {X})\na, b, c, d = lstm.bias_ih_l0.chunk({Y})\nb.data.fill_(1.0)",
    "lstm = nn.LSTM({X}, 8)\nn = lstm.bias_hh_l0.size(0)\nlstm.bias_hh_l0.data[n // {X}:n // {Y}].fill_({Y})",
    "lstm = nn.LSTM(4, 8)\nfor name, p in lstm.named_parameters():\n    if 'bias' in name:\n"
    "        p.data[{X}:{Y}].fill_({Y})",
    "lstm = nn.LSTM(4, 8)\nlstm.bias_ih_l0.data.chunk({X})[{Y}].fill_({Y})",
    "lstm = nn.LSTM(4, 8)\nfirst, *rest = lstm.bias_ih_l0.chunk({X})",
    "nn.GRU({X}, {Y}, bias={B})",
    "nn.Conv2d(3, {X}, {Y}, bias={B})",
    "nn.BatchNorm1d({X})",
    "nn.LayerNorm([{X}, {Y}])",
    "nn.Embedding({X}, 3)",
    "nn.Sequential(*[nn.Linear(2, 2) for _ in range({X})])",
    "model = nn.Sequential(nn.Linear(3, {X}), nn.ReLU(), nn.Linear({X}, {Y}))\n"
    "nn.init.constant_(model[{X}].bias, {Y})",
    "tf.get_variable('b', [{X}], initializer=tf.constant_initializer({Y}))",
    "tf.get_variable('b', shape=[{X}, {Y}], initializer=tf.zeros_initializer())",
    "b = tf.Variable(tf.constant({Y}, shape=[{X}]))",
    "b = tf.Variable(tf.zeros([{X}]) + {Y}, name='bias')\ny = tf.matmul(x, w) + b",
    "b = tf.Variable(tf.random_normal([{X}], stddev={Y}))\ny = tf.nn.bias_add(tf.matmul(x, w), b)",
    "Dense = tf.keras.layers.Dense\nDense({X})",
    "tf.keras.layers.Dense({X}, bias_initializer=tf.keras.initializers.Constant({Y}))",
    "tf.keras.layers.Dense({X}, activation='sigmoid', use_bias={B}, bias_initializer='ones')",
    "tf.keras.layers.Conv2D({X}, {Y}, bias_initializer=tf.constant_initializer({Y}))",
    "tf.keras.layers.LSTM({X}, unit_forget_bias={B})",
    "tf.keras.layers.BatchNormalization(beta_initializer=tf.constant_initializer({Y}))",
    "tf.nn.rnn_cell.LSTMCell({X}, forget_bias={Y})",
    "tf.contrib.rnn.BasicLSTMCell({X}, forget_bias={Y})",
    "tf.layers.dense(x, {X}, bias_initializer=tf.random_normal_initializer(stddev={Y}))",
    "tf.layers.conv2d(x, {X}, {Y}, bias_initializer=tf.random_uniform_initializer(-{Y}, {Y}))",
    "slim.fully_connected(x, {X}, biases_initializer=tf.constant_initializer({Y}))",
    "b = tf.get_variable('b', [{X}])\nb = tf.reshape(b, [{Y}, -1])\ny = x + b",
    "nn.Linear(3, {E})",
    "tf.get_variable('b', [{E}], initializer=tf.constant_initializer({E}))",
    "x = {E}\nnn.Linear(x, {X})",
    "x = {X} if {Y} else (lambda: {E})",
    "x = 1 if 0 else(lambda: 2)",
    "nn.Linear(3, int({X}))",
    "nn.Linear(3, {X} * {Y})",
    "nn.Linear(3, {X} // {Y})",
    "nn.Linear(3, {X} ** {Y})",
    "nn.Linear(3, -{X})",
    "nn.Linear(3, round({X}))",
    "nn.Linear(3, len([{X}] * {Y}))",
    "nn.Linear(3, {X})[{Y}]",
    "nn = nn.nn\nnn.Linear(3, {X})",
    "tf = tf.tf\ntf.get_variable('b', [{X}])",
    "class Linear(nn.Linear):\n    pass\nLinear(3, {X})",
)


def _expr(rng: random.Random, depth: int) -> str:
    """A small expression over the nasty values: arithmetic, builtins, containers, lambdas."""
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice((*NASTY, "1", "2", "8", "x", "n", "b"))
    a, b = _expr(rng, depth - 1), _expr(rng, depth - 1)
    form = rng.choice(
        (
            "({a} {op} {b})",
            "-({a})",
            "{fn}({a})",
            "max({a}, {b})",
            "[{a}, {b}][{b}]",
            "({a}, {b})",
            "({a} if {b} else {a})",
            "(lambda: {a})",
            "(lambda: {a})()",
            "{a}[{b}:]",
            "int('{a}')",
            "[{a}] * {b}",
            "{{{a}: {b}}}[{a}]",
            "(x := {a})",
            "f'{{{a}}}'",
        )
    )
    op = rng.choice(("+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "and", "or", "<", "=="))
    fn = rng.choice(("int", "float", "abs", "round", "len", "math.ceil", "np.prod", "bool", "str", "sum"))
    return form.format(a=a, b=b, op=op, fn=fn)


def _doubling(rng: random.Random) -> str:
    k = rng.choice((1, 3, 10, 24, 30, 40))
    op = rng.choice(("layers + layers", "layers * 2", "[*layers, *layers]", "layers + [layers]"))
    return "layers = [nn.Linear(2, 2)]\n" + f"layers = {op}\n" * k + "model = nn.Sequential(*layers)"


def _helper_tree(rng: random.Random) -> str:
    depth = rng.choice((2, 4, 8, 12))
    fan = rng.choice((2, 3, 8))
    out = ["def h0():\n    return nn.Linear(2, {X})"]
    for i in range(1, depth):
        out.append(f"def h{i}():\n" + f"    h{i - 1}()\n" * fan)
    out.append(f"h{depth - 1}()")
    return "\n".join(out)


def _recursive(rng: random.Random) -> str:
    return rng.choice(
        (
            "def grow(n):\n    if n <= 0:\n        return [nn.Linear(2, 2)]\n"
            "    return grow(n - 1) + grow(n - 1)\nmodel = nn.Sequential(*grow({X}))",
            "def f(n):\n    return f(n - 1) + [tf.layers.Dense({X})]\nf({Y})",
            "def f():\n    return f()\nnn.Linear(3, f())",
            "def a(n):\n    return b(n)\ndef b(n):\n    return a(n) or nn.Linear(2, {X})\na(1)",
            "def make():\n    class M(nn.Module):\n        def build(self):\n            return make()\n"
            "    return M().build()\nmake()",
            "class A(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(2, {X})\n        self.b = B()\n"
            "class B(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.a = A()\nA()",
            "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(2, {X})\n        self.me = M()\nM()",
            "def outer():\n    def inner():\n        return outer()\n    return inner()\nouter()",
            "class C:\n    def __getattr__(self, name):\n        return getattr(self, name)\nC().bias",
            "x = x\nlayers = layers\nb = b + b\nnn.Linear(3, b)",
            "b = tf.Variable(0.0)\nwhile True:\n    b = b + b\n    b = tf.Variable(b)",
            "layers = []\nfor i in range({X}):\n    layers.append(nn.Linear(i, {Y}))",
            "layers = [nn.Linear(i, {Y}) for i in range({X})]",
            "f = lambda: f()\nnn.Linear(3, f())",
            "g = (nn.Linear(2, 2) for _ in iter(int, 1))\nnn.Sequential(*g)",
        )
    )


def _deep_expression(rng: random.Random) -> str:
    shape = rng.randrange(9)
    d = rng.choice((10, 50, 150, 190))
    n = rng.choice((10, 200, 1000, 2500, 8000))  # 2500: under ast.parse's depth limit
    if shape == 0:
        return "nn.Linear(3, " + "(" * d + "{X}" + ")" * d + ")"
    if shape == 1:
        return "nn.Sequential(" * d + "nn.Linear(2, {X})" + ")" * d
    if shape == 2:
        return "nn.Linear(3, " + "[" * d + "{X}" + "]" * d + ")"
    if shape == 3:
        return "x = " + " and ".join(["a"] * n)
    if shape == 4:
        return "b = tf.Variable(" + " + ".join(["{X}"] * n) + ")"
    if shape == 5:
        return "fc = nn.Linear(2, 2)\nfc" + ".bias" * n
    if shape == 6:
        return "nn.Linear(3, " + "-" * min(n, 900) + "{X})"
    if shape == 7:
        return "x = " + " < ".join(["a"] * n)
    return "f = nn.Linear\nf" + "()" * n


#: a wrapper's opening line (and optional closing lines at its own level)
WRAPPERS = (
    ("def f{n}():", "f{n}()"),
    ("async def g{n}():", ""),
    ("class C{n}(nn.Module):", "C{n}()"),
    ("if {B}:", ""),
    ("for _i{n} in range({X}):", ""),
    ("while {B}:", ""),
    ("with tf.variable_scope('s{n}'):", ""),
    ("try:", "except Exception:\n    pass"),
    ("def __init__(self):", ""),
)

_NEWLINE = re.compile(r"\r\n|\r|\n")


def _lines(text: str) -> list[str]:
    """Lines as Python's tokenizer sees them (only CR, LF and CRLF end a line), ends kept."""
    out, start = [], 0
    for m in _NEWLINE.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in _lines(text))


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


class Generator:
    """Program ``i`` of a seed: deterministic, independent of the other programs."""

    def __init__(self, seed: int, pool: Sequence[str]) -> None:
        self.seed = seed
        self.pool = list(pool) or ["pass\n"]
        self.exprs = _expressions(self.pool) or ["0"]

    def _value(self, rng: random.Random) -> str:
        r = rng.random()
        if r < 0.6:
            return rng.choice(NASTY)
        if r < 0.8:
            return str(rng.randint(1, 8))
        if r < 0.93:
            return _expr(rng, 2)
        return "(" + rng.choice(self.exprs) + ")"

    def _fill(self, rng: random.Random, template: str) -> str:
        values = {
            "{X}": self._value(rng),
            "{Y}": self._value(rng),
            "{B}": rng.choice(FLAGS),
            "{E}": "(" + rng.choice(self.exprs) + ")",
        }
        return re.sub(r"\{[XYBE]\}", lambda m: values[m.group(0)], template)

    def _hypothesmith(self, rng: random.Random) -> str:
        return rng.choice(self.pool)

    def _splice(self, rng: random.Random) -> str:
        """A snippet inside one of a hypothesmith program's blocks (or after a statement)."""
        program = self._hypothesmith(rng)
        snippet = self._fill(rng, rng.choice(SNIPPETS))
        lines = _lines(program)
        try:
            tree = ast.parse(program)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return program + "\n" + snippet
        spots = [(len(lines), "")]
        for node in ast.walk(tree):
            for body in ("body", "orelse", "finalbody"):
                stmts = getattr(node, body, None)
                if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                    first = stmts[0].lineno - 1
                    if first < len(lines) and getattr(node, "lineno", 0) - 1 < first:
                        line = lines[first]
                        spots.append((first, line[: len(line) - len(line.lstrip(" \t"))]))
        at, indent = rng.choice(spots)
        out = "".join(lines[:at])
        if out and not out.endswith(("\n", "\r")):
            out += "\n"
        return out + _indent(snippet, indent) + "\n" + "".join(lines[at:])

    def _chunk(self, rng: random.Random) -> str:
        kind = rng.choices(("hyp", "snippet", "runaway", "deep", "splice"), (25, 40, 15, 7, 13))[0]
        if kind == "hyp":
            return self._hypothesmith(rng)
        if kind == "snippet":
            return self._fill(rng, rng.choice(SNIPPETS))
        if kind == "runaway":
            make = rng.choice((_doubling, _helper_tree, _recursive))
            return self._fill(rng, make(rng))
        if kind == "deep":
            return self._fill(rng, _deep_expression(rng))
        return self._splice(rng)

    def _wrap(self, rng: random.Random, body: str) -> str:
        depth = rng.choice((1, 1, 2, 3, 5, 20, 60, 95))
        for level in range(depth):
            head, tail = rng.choice(WRAPPERS)
            head = self._fill(rng, head.replace("{n}", str(level)))
            tail = tail.replace("{n}", str(level))
            body = head + "\n" + _indent(body) + ("\n" + tail if tail else "")
        return body

    def program(self, i: int) -> bytes:
        rng = random.Random(f"{self.seed}-{i}")
        parts = [rng.choices(HEADERS, HEADER_WEIGHTS)[0]]
        for _ in range(rng.choice((1, 1, 2, 3, 4, 6))):
            for _attempt in range(3):
                chunk = self._chunk(rng)
                if rng.random() < 0.15:
                    chunk = self._wrap(rng, chunk)
                if _parses("\n".join([*parts, chunk])):
                    parts.append(chunk)
                    break
        text = "\n".join(parts) + "\n"
        return _mutate(rng, text)


def _mutate(rng: random.Random, text: str) -> bytes:
    """Line endings and encodings that trip position arithmetic."""
    if rng.random() >= 0.15:
        return text.encode("utf-8", "surrogatepass")
    how = rng.randrange(8)
    lines = _lines(text)
    if how == 0:
        text = "".join(line.rstrip("\r\n") + "\r\n" for line in lines)
    elif how == 1:
        text = "".join(line.rstrip("\r\n") + "\r" for line in lines)
    elif how == 2 and len(lines) > 1:  # one lone CR
        k = rng.randrange(len(lines) - 1)
        lines[k] = lines[k].rstrip("\r\n") + "\r"
        text = "".join(lines)
    elif how == 3:
        text = text.rstrip("\r\n")
    elif how == 4:
        text = "\ufeff" + text
    elif how == 5 and lines:
        k = rng.randrange(len(lines))
        lines[k] = "\x0c" + lines[k]
        text = "".join(lines)
    elif how == 6:
        text = text.replace("    ", "\t", rng.randint(1, 3))
    else:
        data = text.encode("utf-8", "surrogatepass")
        return data + rng.choice((b"# \xff\xfe\n", b"\x00\n", b"x = '\xc3'\n"))
    return text.encode("utf-8", "surrogatepass")


def _expressions(pool: Iterable[str]) -> list[str]:
    """Expressions of the hypothesmith programs, as source, that parse on their own."""
    out: dict[str, None] = {}
    for program in pool:
        try:
            tree = ast.parse(program)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.expr) and not isinstance(node, (ast.Name, ast.Constant)):
                seg = ast.get_source_segment(program, node)
                if seg and len(seg) <= 80 and "\n" not in seg and "\r" not in seg:
                    try:
                        ast.parse("(" + seg + ")", mode="eval")
                    except (SyntaxError, ValueError, RecursionError, MemoryError):
                        continue
                    out[seg] = None
    return list(out)


def hypothesmith_pool(seed: int, grammar: int = POOL_GRAMMAR, node: int = POOL_NODE) -> list[str]:
    """Programs drawn by hypothesis under ``seed`` (no database: the same seed, the same pool)."""
    import hypothesmith
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    drawn: list[str] = []
    for strategy, count in ((hypothesmith.from_grammar(), grammar), (hypothesmith.from_node(), node)):
        if count <= 0:
            continue

        @hseed(seed)
        @settings(
            max_examples=count,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def collect(source: str) -> None:
            drawn.append(source)

        collect()
    return [p for p in dict.fromkeys(drawn) if _parses(p)]


# ---------------------------------------------------------------------------------------------
# running one stage in a child


@dataclass
class Outcome:
    stage: str
    kind: str
    signature: str = ""
    detail: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.kind in FAILURE_KINDS


def _short(path: str) -> str:
    path = path.replace(os.sep, "/")
    for marker in ("/site-packages/", "/biaslint/"):
        if marker in path:
            rest = path.rsplit(marker, 1)[1]
            return ("biaslint/" + rest) if marker == "/biaslint/" else rest
    return "/".join(path.split("/")[-2:])


def _where(tb: Any) -> str:
    """The innermost biaslint frame of a traceback (else the innermost frame)."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if "/biaslint/" in f.filename.replace(os.sep, "/")]
    frame = (ours or frames or [None])[-1]
    return f"{_short(frame.filename)}:{frame.name}" if frame is not None else "?"


def _normalise(message: str) -> str:
    return re.sub(r"\d+", "N", message)[:120]


def flake8_lines(data: bytes) -> list[str]:
    """The lines flake8's FileProcessor hands a plugin: ``tokenize.open`` (universal newlines),
    latin-1 when that fails, BOM stripped."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        lines = io.TextIOWrapper(io.BytesIO(data), encoding, line_buffering=True).readlines()
    except (SyntaxError, UnicodeError, LookupError):
        lines = io.TextIOWrapper(io.BytesIO(data), "latin-1").readlines()
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    return lines


def _stage_check_source(path: str, data: bytes) -> tuple[str, str, str]:
    model = engine.check_source(path, data, Settings())
    return _model_verdict("check_source", model)


def _model_verdict(stage: str, model: Any) -> tuple[str, str, str]:
    message = model.error.message if model is not None and model.error is not None else ""
    if "internal error" in message:
        return "internal", f"internal:{stage}:{_normalise(message)}", message
    return "ok", "", message


def _exception_detail(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-12:])


def _stage_flake8(path: str, data: bytes) -> tuple[str, str, str]:
    """The plugin as flake8 runs it. Anything escaping ``run()`` stops flake8 for every file
    (a failure, RecursionError included); an exception of ``check_source`` that the plugin
    turns into a message is still reported: as "internal" (as "recursion" for RecursionError)."""
    seen: list[Any] = []
    raised: list[BaseException] = []
    real = engine.check_source

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            model = real(*args, **kwargs)
        except BaseException as exc:
            raised.append(exc)
            raise
        seen.append(model)
        return model

    lines = flake8_lines(data)
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return "skipped", "", f"flake8 reports E999 and runs no plugin ({type(exc).__name__})"
    engine.check_source = spy  # type: ignore[assignment]
    try:
        results = list(flake8_plugin.BiasLintChecker(tree, path, lines).run())
    except BaseException as exc:
        if isinstance(exc, MemoryError):
            return "memory", "memory:flake8:MemoryError", _exception_detail(exc)
        return (
            "exception",
            f"exception:flake8:{type(exc).__name__}@{_where(exc.__traceback__)}",
            (_exception_detail(exc)),
        )
    finally:
        engine.check_source = real  # type: ignore[assignment]
    for item in results:
        if not (
            isinstance(item, tuple)
            and len(item) == 4
            and isinstance(item[0], int)
            and isinstance(item[1], int)
            and item[0] >= 1
            and item[1] >= 0
            and isinstance(item[2], str)
        ):
            return "exception", "exception:flake8:BadResult", f"malformed plugin result {item!r}"
    if raised:
        exc = raised[-1]
        if isinstance(exc, RecursionError):
            return "recursion", "recursion:flake8", _exception_detail(exc)
        if isinstance(exc, MemoryError):
            return "memory", "memory:flake8:MemoryError", _exception_detail(exc)
        return (
            "internal",
            f"internal:flake8:{type(exc).__name__}@{_where(exc.__traceback__)}",
            (_exception_detail(exc)),
        )
    for item in results:
        if "internal error" in item[2]:
            return "internal", f"internal:flake8:{_normalise(item[2])}", item[2]
    return _model_verdict("flake8", seen[-1] if seen else None)


_STAGE_FUNCS: dict[str, Callable[[str, bytes], tuple[str, str, str]]] = {
    "check_source": _stage_check_source,
    "flake8": _stage_flake8,
}


def _child(stage: str, path: str, data: bytes, conn: Any, err_fd: int, timeout: float, memory: int) -> None:
    os.dup2(err_fd, 2)
    faulthandler.enable(file=2)  # a segfault's Python stack, for the signature
    faulthandler.dump_traceback_later(max(timeout * 0.9, timeout - 1.0), exit=False, file=2)
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    conn.send(("stage", stage))
    try:
        kind, signature, detail = _STAGE_FUNCS[stage](path, data)
    except RecursionError:
        kind, signature = "recursion", f"recursion:{stage}"
        detail = "RecursionError\n" + "".join(traceback.format_exc().splitlines(True)[-6:])
    except MemoryError:
        kind, signature = "memory", f"memory:{stage}:MemoryError"
        detail = "MemoryError at " + _where(sys.exc_info()[2])
    except BaseException as exc:
        kind = "exception"
        signature = f"exception:{stage}:{type(exc).__name__}@{_where(exc.__traceback__)}"
        detail = _exception_detail(exc)
    faulthandler.cancel_dump_traceback_later()
    try:
        conn.send(("result", kind, signature, detail[-4000:]))
    finally:
        conn.close()


@dataclass
class Job:
    stage: str
    path: str
    data: bytes


@dataclass
class _Running:
    index: int
    proc: Any
    conn: Any
    err: Any
    start: float
    messages: list[Any] = field(default_factory=list)
    open: bool = True


def _drain(run: _Running) -> None:
    while run.open:
        try:
            if not run.conn.poll():
                return
            run.messages.append(run.conn.recv())
        except (EOFError, OSError):
            run.open = False


def _first_frame(text: str) -> str:
    """Innermost Python frame of a faulthandler dump (most recent call first)."""
    m = re.search(r'File "([^"]+)", line \d+ in (\S+)', text)
    return f"{_short(m.group(1))}:{m.group(2)}" if m else "?"


def _compact(dump: str) -> str:
    """A faulthandler dump without the harness's own frames (the child's and its caller's)."""
    out = []
    for line in dump.splitlines():
        if re.search(r'File ".*fuzz\.py", line \d+ in (_stage_\w+|_child)$', line):
            out.append("  ... (the fuzz harness)")
            break
        out.append(line)
    return "\n".join(out)


def _finish(run: _Running, job: Job, timed_out: bool) -> Outcome:
    seconds = time.monotonic() - run.start
    _drain(run)
    run.err.seek(0)
    stderr = _compact(run.err.read()[-8000:].decode("utf-8", "replace"))
    run.err.close()
    run.conn.close()
    results = [m for m in run.messages if m[0] == "result"]
    code = run.proc.exitcode
    if results:
        _, kind, signature, detail = results[-1]
        return Outcome(job.stage, kind, signature, detail, seconds)
    if timed_out:
        return Outcome(job.stage, "timeout", f"timeout:{job.stage}", stderr, seconds)
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal{-code}"
        if "memory allocation of" in stderr:
            return Outcome(job.stage, "memory", f"memory:{job.stage}:native", stderr, seconds)
        where = _first_frame(stderr)
        return Outcome(job.stage, "crash", f"crash:{job.stage}:{name}@{where}", stderr, seconds)
    return Outcome(job.stage, "crash", f"crash:{job.stage}:exit{code}", stderr, seconds)


def run_jobs(
    jobs: Sequence[Job],
    workers: int = 2,
    timeout: float = 10.0,
    memory_mb: int = 2048,
    progress: Optional[Callable[[int], None]] = None,
) -> list[Outcome]:
    """Every job in its own forked child, at most ``workers`` at a time; outcomes in job order."""
    ctx = multiprocessing.get_context("fork")
    pending = deque(enumerate(jobs))
    running: dict[int, _Running] = {}
    results: list[Optional[Outcome]] = [None] * len(jobs)
    done = 0
    while pending or running:
        while pending and len(running) < max(1, workers):
            i, job = pending.popleft()
            reader, writer = ctx.Pipe(duplex=False)
            err = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _finish)
            proc = ctx.Process(
                target=_child,
                args=(job.stage, job.path, job.data, writer, err.fileno(), timeout, memory_mb * 2**20),
                daemon=True,
            )
            proc.start()
            writer.close()
            running[proc.sentinel] = _Running(i, proc, reader, err, time.monotonic())
        deadline = min(r.start for r in running.values()) + timeout
        waitables = list(running) + [r.conn for r in running.values() if r.open]
        ready = set(wait(waitables, timeout=max(0.0, deadline - time.monotonic())))
        now = time.monotonic()
        for sentinel, run in list(running.items()):
            if run.open and run.conn in ready:
                _drain(run)
            timed_out = sentinel not in ready and now - run.start >= timeout
            if sentinel in ready or timed_out:
                if timed_out:
                    run.proc.kill()
                run.proc.join()
                del running[sentinel]
                results[run.index] = _finish(run, jobs[run.index], timed_out)
                done += 1
                if progress is not None:
                    progress(done)
    return [r for r in results if r is not None]


def check_file(
    path: str, data: bytes, timeout: float = 20.0, memory_mb: int = 2048, workers: int = 2
) -> list[Outcome]:
    """Both stages of one file, each in a child: what the regression test asserts on."""
    return run_jobs([Job(s, path, data) for s in STAGES], workers, timeout, memory_mb)


# ---------------------------------------------------------------------------------------------
# minimisation


def minimise(
    data: bytes,
    stage: str,
    signature: str,
    timeout: float,
    memory_mb: int = 2048,
    budget: float = 120.0,
    path: str = "fuzz.py",
) -> bytes:
    """Delete whole statements (largest first, ``pass`` where a block would be left empty),
    then single lines, while the failure keeps its signature; stops after ``budget`` seconds."""
    text = data.decode("utf-8", "surrogateescape")  # any bytes, round-tripped exactly
    lines = _lines(text)
    alive = [True] * len(lines)
    replaced: dict[int, str] = {}
    must_parse = _parses(text)
    t_end = time.monotonic() + budget

    def render(dead: Iterable[int] = (), subst: Optional[dict[int, str]] = None) -> str:
        gone = set(dead)
        sub = {**replaced, **(subst or {})}
        return "".join(sub.get(k, line) for k, line in enumerate(lines) if alive[k] and k not in gone)

    def keeps(candidate: str) -> bool:
        if time.monotonic() > t_end or (must_parse and not _parses(candidate)):
            return False
        out = run_jobs(
            [Job(stage, path, candidate.encode("utf-8", "surrogateescape"))], 1, timeout, memory_mb
        )[0]
        return out.signature == signature

    def try_delete(span: list[int]) -> bool:
        span = [k for k in span if alive[k]]
        if not span:
            return False
        candidate = render(span)
        if keeps(candidate):
            for k in span:
                alive[k] = False
            return True
        if _parses(candidate):  # not a block left empty: a ``pass`` would not help
            return False
        first = lines[span[0]]
        indent = first[: len(first) - len(first.lstrip(" \t"))]
        end = re.search(r"(\r\n|\r|\n)?$", lines[span[-1]])
        ending = (end.group(0) if end else "") or "\n"
        stub = {span[0]: indent + "pass" + ending}
        if len(span) > 1 or first.strip() != "pass":
            candidate = render(span[1:], stub)
            if keeps(candidate):
                for k in span[1:]:
                    alive[k] = False
                replaced.update(stub)
                return True
        return False

    def statements() -> tuple[list[list[int]], list[list[int]]]:
        """Original line indexes of every statement, and of the top-level ones, as they are now."""
        try:
            tree = ast.parse(render())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return [], []
        index = [k for k in range(len(lines)) if alive[k]]  # current line number -> original

        def span(node: ast.stmt) -> list[int]:
            end = node.end_lineno or node.lineno
            return [index[n - 1] for n in range(node.lineno, end + 1) if n - 1 < len(index)]

        every = [span(node) for node in ast.walk(tree) if isinstance(node, ast.stmt)]
        return every, [span(node) for node in tree.body]

    # halves, quarters... of the top-level statements first: cheap when most of it is noise
    _, top = statements()
    chunks = 2
    while top and chunks <= len(top) and time.monotonic() < t_end:
        size = -(-len(top) // chunks)
        removed = False
        for start in range(0, len(top), size):
            group = [k for sp in top[start : start + size] for k in sp]
            if len(group) < sum(alive) and try_delete(group):
                removed = True
        _, top = statements()
        chunks = chunks if removed else chunks * 2
    for _sweep in range(3):  # then every statement, the largest (in bytes) first
        every, _ = statements()
        every.sort(key=lambda sp: (-sum(len(lines[k]) for k in sp), sp[0] if sp else 0))
        progress = False
        for sp in every:
            if time.monotonic() > t_end:
                break
            progress |= try_delete(sp)
        if not progress:
            break
    for k in reversed(range(len(lines))):
        if time.monotonic() > t_end:
            break
        if alive[k]:
            try_delete([k])
    return render().encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------------------------
# the run


@dataclass
class Report:
    programs: int
    seed: int
    outcomes: list[tuple[int, Outcome]]
    seconds: float
    minimised: dict[str, list[str]] = field(default_factory=dict)

    def failures(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, o in self.outcomes:
            if o.failed:
                out.setdefault(o.signature, []).append(i)
        return out

    def kinds(self) -> Counter[str]:
        return Counter(f"{o.stage}:{o.kind}" for _, o in self.outcomes)

    def summary(self) -> str:
        lines = [
            f"programs run: {self.programs} (seed {self.seed}; {len(self.outcomes)} child runs, "
            f"{self.seconds:.1f} s)",
            "outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(self.kinds().items())),
        ]
        slow = sorted({i for i, o in self.outcomes if o.kind == "slow"})
        if slow:
            lines.append(f"slow (a timeout beside other work, finished when run alone): programs {slow}")
        recursion = sorted({i for i, o in self.outcomes if o.kind == "recursion"})
        if recursion:
            lines.append(
                f"RecursionError out of check_source (not a failure; both callers handle it): "
                f"programs {recursion[:10]}{' ...' if len(recursion) > 10 else ''}"
            )
        failures = self.failures()
        if not failures:
            lines.append("failures: none")
            return "\n".join(lines)
        lines.append(f"failures by signature ({sum(len(v) for v in failures.values())} in all):")
        for sig, programs in sorted(failures.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            shown = ", ".join(map(str, programs[:8])) + (" ..." if len(programs) > 8 else "")
            lines.append(f"  {len(programs):4d}  {sig}")
            lines.append(f"        programs: {shown}")
            for p in self.minimised.get(sig, []):
                lines.append(f"        minimised: {p}" if p.endswith(".py") else f"        {p}")
        return "\n".join(lines)


def _slug(signature: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", signature).strip("_")[:90]


def fuzz(
    n: int,
    seed: int = 0,
    timeout: float = 10.0,
    jobs: int = 2,
    memory_mb: int = 2048,
    out: Optional[str] = None,
    minimise_per_signature: int = 2,
    minimise_budget: float = 120.0,
    strict_recursion: bool = False,
    pool: Optional[Sequence[str]] = None,
    verbose: bool = False,
    only: Optional[Sequence[int]] = None,
) -> Report:
    """Programs 0..n-1 of ``seed`` (or just the indexes in ``only``) through both stages;
    with ``out``, the first ``minimise_per_signature`` programs of each failure minimised there."""
    t0 = time.monotonic()
    if pool is None:
        pool = hypothesmith_pool(seed)
    gen = Generator(seed, pool)
    indexes = list(only) if only is not None else list(range(n))
    programs = {i: gen.program(i) for i in indexes}
    job_list = [Job(stage, f"fuzz_{seed}_{i}.py", programs[i]) for i in indexes for stage in STAGES]

    def progress(done: int) -> None:
        if verbose and done % 100 == 0:
            print(f"  {done}/{len(job_list)} child runs, {time.monotonic() - t0:.0f} s", file=sys.stderr)

    outcomes = run_jobs(job_list, jobs, timeout, memory_mb, progress)
    # a timeout under load is confirmed alone: one that then finishes was slow, not hung
    again = [k for k, o in enumerate(outcomes) if o.kind == "timeout"]
    for k, o in zip(again, run_jobs([job_list[k] for k in again], 1, timeout, memory_mb)):
        if o.kind != "timeout" and not o.failed:
            o = Outcome(o.stage, "slow", "", f"timed out beside other work, then took {o.seconds:.1f} s")
        outcomes[k] = o
    if strict_recursion:
        for o in outcomes:
            if o.kind == "recursion":
                o.kind = "exception"
    report = Report(len(indexes), seed, [(indexes[k // len(STAGES)], o) for k, o in enumerate(outcomes)], 0.0)
    if out is not None:
        outdir = Path(out)
        outdir.mkdir(parents=True, exist_ok=True)
        failures = report.failures()
        for sig, indexes in sorted(failures.items(), key=lambda kv: kv[0].split(":")[1] == "flake8"):
            kind, stage, *rest = sig.split(":", 2)
            twin = ":".join([kind, "check_source", *rest])
            if stage == "flake8" and failures.get(twin) == indexes and twin in report.minimised:
                report.minimised[sig] = [f"same programs and error as {twin}"]
                continue
            seen: set[bytes] = set()
            for i in indexes[: max(0, minimise_per_signature)]:
                stage = next(o.stage for k, o in report.outcomes if k == i and o.signature == sig)
                detail = next(o.detail for k, o in report.outcomes if k == i and o.signature == sig)
                if verbose:
                    print(f"  minimising program {i} ({sig})", file=sys.stderr)
                small = minimise(
                    programs[i], stage, sig, timeout, memory_mb, minimise_budget, f"fuzz_{seed}_{i}.py"
                )
                if small in seen:
                    continue
                seen.add(small)
                stem = outdir / f"{_slug(sig)}__{i}"
                stem.with_suffix(".py").write_bytes(small)
                stem.with_suffix(".orig.py").write_bytes(programs[i])
                stem.with_suffix(".txt").write_text(
                    f"signature: {sig}\nstage: {stage}\nprogram: {i} of seed {seed} "
                    f"(python benchmarks/fuzz.py {i + 1} --seed {seed} --dump {i})\n"
                    f"size: {len(programs[i])} bytes, minimised to {len(small)}\n\n{detail}\n",
                    encoding="utf-8",
                )
                report.minimised.setdefault(sig, []).append(str(stem.with_suffix(".py")))
    report.seconds = time.monotonic() - t0
    return report


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="how many programs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per program and stage")
    default_out = os.path.join(tempfile.gettempdir(), "biaslint-fuzz")
    ap.add_argument(
        "--out", default=default_out, help=f"where minimised failures go (default: {default_out})"
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="children at a time")
    ap.add_argument("--memory-mb", type=int, default=2048, help="RLIMIT_AS of each child (0: none)")
    ap.add_argument("--minimise", type=int, default=2, metavar="K", help="minimise K programs per signature")
    ap.add_argument("--minimise-budget", type=float, default=120.0, help="seconds per minimisation")
    ap.add_argument("--strict-recursion", action="store_true", help="count RecursionError as a failure")
    ap.add_argument(
        "--pool-grammar", type=int, default=POOL_GRAMMAR, help="hypothesmith from_grammar() draws"
    )
    ap.add_argument("--pool-node", type=int, default=POOL_NODE, help="hypothesmith from_node() draws")
    ap.add_argument("--dump", type=int, metavar="I", help="write program I to stdout and stop")
    ap.add_argument("--only", metavar="I,J,...", help="run only these programs of the seed (N is ignored)")
    args = ap.parse_args(argv)
    pool = hypothesmith_pool(args.seed, args.pool_grammar, args.pool_node)
    if args.dump is not None:
        sys.stdout.buffer.write(Generator(args.seed, pool).program(args.dump))
        return 0
    report = fuzz(
        args.n,
        seed=args.seed,
        timeout=args.timeout,
        jobs=args.jobs,
        memory_mb=args.memory_mb,
        out=args.out,
        minimise_per_signature=args.minimise,
        minimise_budget=args.minimise_budget,
        strict_recursion=args.strict_recursion,
        pool=pool,
        verbose=True,
        only=[int(x) for x in args.only.split(",")] if args.only else None,
    )
    print(report.summary())
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
