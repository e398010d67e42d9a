from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
FRAMEWORK_DIRS = ("tf1", "tf_layers", "slim", "keras", "torch")

#: BIA101 at the default threshold (a hidden bias of 1.0 before a ReLU); clean once
#: large-constant is above 1.0 or BIA101 is not selected
WARN = """import tensorflow as tf


def net(x):
    w1 = tf.Variable(tf.truncated_normal([784, 256], stddev=0.1))
    b1 = tf.Variable(tf.constant(1.0, shape=[256]))
    h1 = tf.nn.relu(tf.matmul(x, w1) + b1)
    w2 = tf.Variable(tf.truncated_normal([256, 10], stddev=0.1))
    b2 = tf.Variable(tf.zeros([10]))
    return tf.matmul(h1, w2) + b2
"""


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """``biaslint ARGV`` in this process: (exit status, stdout, stderr)."""
    from biaslint.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


_EXPECT = re.compile(r"#\s*expect:\s*(.+)$")
_KEYS = {
    "fw": "framework",
    "kind": "layer_kind",
    "init": "init_kind",
    "value": "init_value",
    "act": "activation",
    "out": "output_layer",
    "name": "layer_name",
    "gate": "gate",
}


@dataclass
class Expected:
    line: int
    fields: dict

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.fields.items())


def _parse_value(key: str, raw: str) -> object:
    if key == "init_value":
        return float(raw)
    if key == "output_layer":
        return {"true": True, "false": False, "null": None}[raw]
    return raw


def expectations(path: Path) -> list[Expected]:
    """The ``# expect: fw=.. kind=.. init=.. [value=..] act=.. out=..`` annotations of a fixture."""
    out = []
    for lineno, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _EXPECT.search(text)
        if not m:
            continue
        for group in m.group(1).split("|"):
            fields: dict = {}
            for token in group.split():
                if "=" not in token:
                    break
                k, v = token.split("=", 1)
                fields[_KEYS[k]] = _parse_value(_KEYS[k], v)
            out.append(Expected(lineno, fields))
    return out


def fixture_files() -> list[Path]:
    files = [p for d in FRAMEWORK_DIRS for p in sorted((FIXTURES / d).glob("*.py"))]
    return files + sorted(EXAMPLES.glob("*.py"))


def site_value(site: object, key: str) -> Optional[object]:
    return getattr(site, key)


def site_problems(expected: list[Expected], sites: list) -> list[str]:
    """Sites against annotations, the way test_inventory_fixtures compares them: the same
    lines, as many sites per line (ordered by column) and every annotated field equal."""
    by_line: dict[int, list] = defaultdict(list)
    for site in sites:
        by_line[site.line].append(site)
    exp_by_line: dict[int, list[Expected]] = defaultdict(list)
    for e in expected:
        exp_by_line[e.line].append(e)
    problems = []
    for line in sorted(set(by_line) - set(exp_by_line)):
        for s in by_line[line]:
            problems.append(f"line {line}: unexpected site {s.layer_kind} {s.init_kind} ({s.api})")
    for line, exps in sorted(exp_by_line.items()):
        got = sorted(by_line.get(line, []), key=lambda s: s.col)
        if len(got) != len(exps):
            problems.append(f"line {line}: expected {len(exps)} site(s), found {len(got)}")
            continue
        for e, s in zip(exps, got):
            for key, want in e.fields.items():
                have = getattr(s, key)
                if key == "init_value" and have is not None:
                    have, want = round(have, 4), round(want, 4)
                if have != want:
                    problems.append(f"line {line}: {key} is {have!r}, expected {want!r}")
    return problems
