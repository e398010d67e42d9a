"""The analysis always ends, whatever the file: termination by construction, not by luck.

Known runaway shapes (recursion through classes and closures, exponential call trees,
containers that double) and generated recursive programs must finish within the work
budget, in bounded time, with the sites found so far kept.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biaslint.collect import analyse_source
from biaslint.collect import interp as interp_mod
from biaslint.collect.recognise import MAX_ENTRY_STEPS, MAX_STEPS

#: generous wall-clock guard (the machine is shared); the budget itself is counted in steps
LIMIT_S = 20


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def fail(*_: object) -> None:
        raise TimeoutError(f"analysis took more than {seconds}s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextmanager
def counting_steps() -> Iterator[list[int]]:
    """The number of steps each interpretation inside the block took."""
    seen: list[int] = []
    original = interp_mod.Interpreter.run

    def run(self: interp_mod.Interpreter):  # type: ignore[no-untyped-def]
        out = original(self)
        seen.append(self.steps)
        return out

    interp_mod.Interpreter.run = run  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        interp_mod.Interpreter.run = original  # type: ignore[method-assign]


@pytest.fixture
def steps() -> Iterator[list[int]]:
    with counting_steps() as seen:
        yield seen


RUNAWAY = {
    "class in a recursive function": """
import torch
def f():
    class C:
        def m(self):
            return f()
    return C
""",
    "mutual recursion through constructors": """
import torch.nn as nn
class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.b = B()
class B(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = A()
""",
    "closure calling its maker": """
import torch.nn as nn
def make(n):
    def inner(m):
        nn.init.zeros_(m.bias)
        return make(n + 1)(m)
    return inner
make(0)(nn.Linear(2, 2))
""",
    "eight helpers calling the previous one eight times": "import torch.nn as nn\n"
    + "def f0(m):\n    nn.init.zeros_(m.bias)\n"
    + "".join(f"def f{i}(m):  # bias\n    " + "; ".join([f"f{i - 1}(m)"] * 8) + "\n" for i in range(1, 9))
    + "f8(nn.Linear(2, 2))  # bias\n",
    "a list that doubles": "import torch.nn as nn\nlayers = [nn.Linear(2, 2)]\n"
    + "layers = layers + layers\n" * 24
    + "layers += layers\n" * 24
    + "net = nn.Sequential(*layers)\n",
    "a starred list that doubles": "import torch.nn as nn\nlayers = [nn.Linear(2, 2)]\n"
    + "layers = [*layers, *layers]\n" * 30
    + "net = nn.Sequential(*layers)\n",
    "a chunk into ten billion pieces": """
import torch.nn as nn
lstm = nn.LSTM(4, 4)
lstm.bias_ih_l0.chunk(10**10)[1].data.fill_(1.0)
lstm.bias_ih_l0.chunk(float("inf"))
lstm.bias_ih_l0.chunk(float("nan"))
""",
    "a lambda that calls itself": """
import torch.nn as nn
f = lambda m: f(m)
f(nn.Linear(2, 2).bias)
""",
    "a method that calls the class that defines it": """
import torch.nn as nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
    def forward(self, x):
        return Net()(self.fc(x))
""",
}


@pytest.mark.parametrize("name", sorted(RUNAWAY))
def test_runaway_shapes_end_within_budget(name: str, steps: list[int]) -> None:
    source = RUNAWAY[name]
    start = time.perf_counter()
    with deadline(LIMIT_S):
        model = analyse_source(f"{name}.py", source.encode())
    assert model.error is None, model.error
    assert steps and steps[-1] <= MAX_STEPS + 1
    assert time.perf_counter() - start < LIMIT_S


def test_an_exhausted_entry_keeps_the_sites_of_the_others(steps: list[int]) -> None:
    source = RUNAWAY["eight helpers calling the previous one eight times"]
    model = analyse_source("helpers.py", source.encode())
    assert model.hints.get("entries_cut")  # the module-level call tree was cut ...
    lines = {s.line for s in model.sites}
    assert 3 in lines  # ... and ``f0``'s re-init, read on its own afterwards, is still found
    assert steps[-1] >= MAX_ENTRY_STEPS


# -- generated recursive programs ---------------------------------------------------------
_BODY = st.sampled_from(
    [
        "f{j}(m)",
        "nn.init.zeros_(m.bias)",
        "m = f{j}(m)",
        "C{j}().build(m)",
        "xs = [f{j}, f{j}]",
        "xs = xs + xs",
        "return f{j}(m)",
        "def inner(m):\n        return f{j}(m)\n    inner(m)",
        "class K:\n        def __init__(self):\n            f{j}(m)\n    K()",
        "for _ in range(3):\n        f{j}(m)",
        "with torch.no_grad():\n        f{j}(m).bias.fill_(0)",
    ]
)


@st.composite
def recursive_programs(draw: st.DrawFn) -> str:
    n = draw(st.integers(2, 6))
    lines = ["import torch", "import torch.nn as nn", "xs = []"]
    for i in range(n):
        lines.append(f"def f{i}(m):  # bias")
        for stmt in draw(st.lists(_BODY, min_size=1, max_size=6)):
            lines.append("    " + stmt.format(j=draw(st.integers(0, n - 1))))
        lines.append("    return m")
        lines.append(f"class C{i}(nn.Module):")
        lines.append("    def build(self, m):  # bias")
        lines.append(f"        return f{draw(st.integers(0, n - 1))}(m)")
    lines.append("f0(nn.Linear(2, 2))  # bias")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recursive_programs())
def test_generated_recursive_programs_end(source: str) -> None:
    with counting_steps() as counted, deadline(LIMIT_S):
        model = analyse_source("generated.py", source.encode())
    assert model.error is None, model.error
    assert counted and counted[-1] <= MAX_STEPS + 1
