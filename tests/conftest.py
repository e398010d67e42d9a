from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"
FRAMEWORK_DIRS = ("tf1", "tf_layers", "slim", "keras", "torch")

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
