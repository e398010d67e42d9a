"""Import-alias table and canonical qualified names.

libcst's QualifiedNameProvider is exact but costs ~10x the parse; a linter that runs on
every save cannot afford it. Imports are few and simple, so an own table built in the same
pass is enough. Names are canonicalised so that one table entry covers every spelling
(``tf.compat.v1.layers.dense``, ``tensorflow.keras.layers.core.Dense``, ``tf_slim``...).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from functools import lru_cache
from typing import Optional

import libcst as cst

# Longest prefixes first; applied once, left to right.
_PREFIX_REWRITES: tuple[tuple[str, str], ...] = (
    ("tensorflow.compat.v1.", "tensorflow."),
    ("tensorflow.compat.v2.", "tensorflow."),
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.python.ops.init_ops.", "tensorflow."),
    ("tensorflow.python.ops.", "tensorflow."),
    ("tensorflow.keras.", "keras."),
    ("tensorflow.contrib.slim.", "slim."),
    ("tensorflow.contrib.layers.", "slim."),
    ("tensorflow.contrib.framework.", "slim."),
    ("tensorflow.contrib.rnn.", "tensorflow.nn.rnn_cell."),
    ("tensorflow.contrib.keras.", "keras."),
    ("tensorflow.initializers.", "keras.initializers."),
    ("tensorflow.keras.initializers.", "keras.initializers."),
    ("tensorflow.random.", "tensorflow."),
    ("tensorflow.math.", "tensorflow."),
    ("tensorflow.compat.v1", "tensorflow"),
    ("tensorflow.keras", "keras"),
    ("tensorflow.contrib.slim", "slim"),
    ("tensorflow.contrib.layers", "slim"),
    ("tf_slim.", "slim."),
    ("tf_slim", "slim"),
    ("tf_keras.", "keras."),
    ("keras.src.", "keras."),
    ("keras_core.operations.", "keras.ops."),
    ("keras_core.", "keras."),
    ("keras_core", "keras"),
    ("keras.api.", "keras."),
    ("keras._tf_keras.keras.", "keras."),
    ("timm.models.layers.", "timm.layers."),
    ("fvcore.nn.weight_init.", "fvcore.nn.weight_init."),
)

# Namespaces whose members are addressed by their last component only
# (``keras.layers.convolutional.Conv2D`` is ``keras.layers.Conv2D``).
_FLAT_NAMESPACES: tuple[str, ...] = (
    "torch.nn.init.",
    "torch.nn.functional.",
    "torch.nn.",
    "keras.layers.",
    "keras.initializers.",
    "keras.activations.",
    "keras.losses.",
    "keras.models.",
    "slim.",
    "tensorflow.nn.rnn_cell.",
    "tensorflow.layers.",
    "mmcv.cnn.",
    "mmengine.model.",
    "detectron2.layers.",
    "timm.layers.",
    "tensorpack.",
    "tflearn.",
    "sonnet.",
    "torch_geometric.nn.",
    "dgl.nn.",
)

# Names commonly used without (visible) imports in snippets and notebooks-turned-scripts.
CONVENTIONAL_ALIASES: dict[str, str] = {
    "tf": "tensorflow",
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "init": "torch.nn.init",
    "slim": "slim",
    "keras": "keras",
    "layers": "keras.layers",
    "np": "numpy",
    "math": "math",
    "snt": "sonnet",
}


@lru_cache(maxsize=4096)
def canonical(qname: str) -> str:
    for old, new in _PREFIX_REWRITES:
        if qname.startswith(old):
            qname = new + qname[len(old) :]
            break
        if qname == old.rstrip("."):
            qname = new.rstrip(".")
            break
    if qname.startswith("keras.") and qname.startswith("keras.keras."):
        qname = qname[len("keras.") :]
    for ns in _FLAT_NAMESPACES:
        if qname.startswith(ns):
            rest = qname[len(ns) :]
            if "." in rest:
                qname = ns + rest.rsplit(".", 1)[1]
            break
    return qname


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


class AliasTable:
    """Local name -> candidate qualified names, in the order they were bound."""

    def __init__(self) -> None:
        self._names: dict[str, list[str]] = {}
        self._star: list[str] = []

    def bind(self, local: str, qname: str) -> None:
        cands = self._names.setdefault(local, [])
        if qname not in cands:
            cands.append(qname)

    def add_import(self, node: cst.Import | cst.ImportFrom) -> None:
        """Bind the names of a libcst import statement."""

        def pairs(names: Sequence[cst.ImportAlias]) -> list[tuple[str, Optional[str]]]:
            return [
                (_name_of(a.name), _name_of(a.asname.name) if a.asname is not None else None) for a in names
            ]

        if isinstance(node, cst.Import):
            self._bind_import(pairs(node.names))
        else:
            module = _name_of(node.module) if node.module is not None else None
            names = None if isinstance(node.names, cst.ImportStar) else pairs(node.names)
            self._bind_from(len(node.relative), module, names)

    def add_ast_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """The same from an ``ast`` node (other modules of a project are read with ast)."""
        if isinstance(node, ast.Import):
            self._bind_import([(a.name, a.asname) for a in node.names])
        else:
            star = any(a.name == "*" for a in node.names)
            self._bind_from(
                node.level, node.module, None if star else [(a.name, a.asname) for a in node.names]
            )

    def _bind_import(self, names: list[tuple[str, Optional[str]]]) -> None:
        for full, asname in names:
            top = full.split(".", 1)[0]
            self.bind(asname or top, full if asname else top)

    def _bind_from(
        self, level: int, module: Optional[str], names: Optional[list[tuple[str, Optional[str]]]]
    ) -> None:
        """``from module import names`` (``names`` None for ``*``)."""
        if level:
            # ``from .nn import conv_nd`` -> ".nn.conv_nd": a project-local name, never a framework's
            base = "." * level + (module or "")
            for name, asname in names or []:
                self.bind(asname or name, f"{base}.{name}" if module else f"{base}{name}")
            return
        if module is None:
            return
        if names is None:
            self._star.append(module)
            return
        for name, asname in names:
            self.bind(asname or name, f"{module}.{name}")

    def is_bound(self, name: str) -> bool:
        return name in self._names

    def candidates(self, name: str) -> list[str]:
        """Canonical qualified names the dotted ``name`` may refer to."""
        head, _, rest = name.partition(".")
        bases = self._names.get(head)
        out: list[str] = []
        if bases is None:
            if head in CONVENTIONAL_ALIASES:
                bases = [CONVENTIONAL_ALIASES[head]]
            elif self._star and not rest:
                return [canonical(f"{m}.{head}") for m in self._star]
            else:
                return []
        for base in bases:
            out.append(canonical(f"{base}.{rest}" if rest else base))
        return out


def _name_of(node: cst.BaseExpression | cst.Name | cst.Attribute) -> str:
    name = dotted(node)
    return name or ""
