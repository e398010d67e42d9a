"""Certainty is part of the model: every site says how it is known to be a bias, and a
finding is only as strong as its evidence (error = certainly fails, warning = likely harmful
on known inputs, info or nothing when it rests on a guess)."""

from __future__ import annotations

import textwrap

from biaslint import engine
from biaslint.collect import analyse_source
from biaslint.config import Settings


def sites(source: str) -> list:
    return analyse_source("t.py", textwrap.dedent(source).encode()).sites


def findings(source: str) -> dict[tuple[int, str], str]:
    model = engine.check_source("t.py", textwrap.dedent(source).encode(), Settings())
    return {(f.line, f.code): f.severity for f in model.findings}


def test_evidence_slot_use_name() -> None:
    got = {
        s.line: s.evidence
        for s in sites(
            """
            import tensorflow as tf
            import torch.nn as nn

            fc = nn.Linear(4, 4)
            def dense(x):
                w = tf.Variable(tf.truncated_normal([4, 4], stddev=0.1))
                b = tf.Variable(tf.zeros([4]))
                return tf.matmul(x, w) + b
            bias = tf.Variable(tf.zeros([4]))
            """
        )
    }
    assert got == {5: "slot", 8: "use", 10: "name"}


def test_value_rules_need_more_than_a_name() -> None:
    src = """
    import tensorflow as tf

    def fc(x):
        w = tf.Variable(tf.random_normal([4, 4]))
        b = tf.Variable(tf.random_normal([4]))
        return tf.nn.relu(tf.matmul(x, w) + b)

    unused_b = tf.Variable(tf.random_normal([4]))
    """
    got = findings(src)
    assert got.get((6, "BIA103")) == "warning"  # added to a matmul: certainly a bias
    assert not [c for line, c in got if line == 9 and c.startswith("BIA1")]  # a name: no value finding


def test_inplace_error_only_where_grad_mode_is_visible() -> None:
    src = """
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.fc.bias.fill_(0.1)

    def reset(m):
        m.bias.zero_()
    """
    got = findings(src)
    assert got[(8, "BIA206")] == "error"  # a constructor: autograd is certainly on
    assert got[(11, "BIA206")] == "warning"  # a helper: its callers may use no_grad


def test_no_inplace_finding_for_buffers_frozen_modules_or_no_grad_functions() -> None:
    src = """
    import torch
    import torch.nn as nn

    class Attn(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
            self.k_bias.zero_()
            self.stem = nn.Conv2d(3, 8, 3)
            self.stem.requires_grad_(False)
            self.stem.bias.zero_()

    @torch.no_grad()
    def load(model, w):
        model.head.bias.copy_(w)
    """
    assert not [k for k in findings(src) if k[1] == "BIA206"]


def test_findings_json_carries_the_evidence() -> None:
    model = engine.check_source(
        "t.py",
        b"import torch.nn as nn\nclass N(nn.Module):\n    def __init__(self):\n"
        b"        super().__init__()\n        self.fc = nn.Linear(2, 2)\n        self.fc.bias.fill_(0.1)\n",
        Settings(),
    )
    assert [f.to_json()["evidence"] for f in model.findings] == ["slot"]
