"""The README's example outputs are what the commands print today.

Each block marked ``<!-- readme-example: ARGS -->`` is followed by a fenced block whose first
line is ``$ biaslint ARGS`` and whose other lines are the output; a final ``...`` line means
"the output goes on" (the lines shown must then be its first lines)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"<!-- readme-example: (.*?) -->\n```\n\$ biaslint (.*?)\n(.*?)```", README, re.S)


def test_the_readme_has_examples_to_check() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("marker,command,shown", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_readme_example_is_real_output(marker: str, command: str, shown: str) -> None:
    assert marker == command, "the marker and the command line shown must agree"
    result = subprocess.run(
        [sys.executable, "-m", "biaslint", *shlex.split(command)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    expected = shown.rstrip("\n").splitlines()
    actual = result.stdout.rstrip("\n").splitlines()
    if expected and expected[-1] == "...":
        expected = expected[:-1]
        actual = actual[: len(expected)]
    assert actual == expected
