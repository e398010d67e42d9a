"""What the interpreter recognises: its limits, name patterns and small predicates over
syntax and values, and the records of the functions and classes of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

import libcst as cst

from biaslint.collect import table as T
from biaslint.collect.locate import Stmt
from biaslint.collect.names import dotted
from biaslint.collect.values import (
    AnyModule,
    ClassV,
    Const,
    Frame,
    LayerObj,
    ListV,
    ModObj,
    ParamRef,
    QName,
    SeqObj,
    Value,
    Var,
)
from biaslint.model import LayerKind

MAX_DEPTH = 8


#: Work budget per file: statements executed plus calls evaluated. Real files need at most a
#: few ten thousand (the largest file of the development corpus: see benchmarks/corpus.py);
#: the budget is what makes termination a property of the design, not of the input.
MAX_STEPS = 60_000
MAX_ENTRY_STEPS = 20_000
#: other modules of the project followed from one file
MAX_FOREIGN_MODULES = 32
#: a class is interpreted this many times at most (each ``vit_*()`` variant builds the model)
MAX_INSTANCES = 4


MAX_ITEMS = 4096  # a container of layers larger than this is left unknown


MAX_GATES = 64  # ``chunk(n)`` of a parameter: more pieces than this is not a gate split


#: key in a call's keyword table when it forwards ``**kwargs``: absent keywords are unknown
FORWARDED = "**"


#: values worth more than their alternative when two branches bind one name
KEPT_ON_JOIN = (Var, LayerObj, SeqObj, ModObj)


class BudgetExhausted(Exception):
    """The file took more work than ``MAX_STEPS``: stop and keep what was found."""


class EntryExhausted(Exception):
    """One entry point took more than ``MAX_ENTRY_STEPS``: go on with the next one."""


FILTER_WORDS = re.compile(r"\b(?:{})\b".format("|".join(sorted(map(re.escape, T.filter_words())))))


TOTAL = "__total__"  # symbol for a parameter's full length (``p.size(0)``)


GATE_WORDS = (
    ("conv", "conv"),
    ("linear", "dense"),
    ("dense", "dense"),
    ("norm", "norm"),
    ("lstm", "recurrent"),
    ("gru", "recurrent"),
    ("rnn", "recurrent"),
    ("embedding", "embedding"),
    ("attention", "attention"),
)


@dataclass(eq=False)
class ModuleContext:
    """Another module of the project, being followed: its lines, imports and top-level names."""

    path: str
    name: str
    index: Any  # project.ModuleIndex
    aliases: Any  # AliasTable
    module_frame: Frame


@dataclass(eq=False)
class FuncInfo:
    name: str
    node: cst.FunctionDef
    stmt: Stmt
    cls: Optional[ClassInfo] = None
    outer: Optional[Frame] = None  # enclosing frame of a nested function
    seen: bool = False
    inlined_calls: int = 0
    ctx: Optional[ModuleContext] = None  # defined in another module of the project
    loc: Any = None  # there: the Locator of the part of that module it was parsed from

    @property
    def qual(self) -> str:
        return f"{self.cls.name}.{self.name}" if self.cls else self.name


@dataclass(eq=False)
class ClassInfo:
    name: str
    bases: list[Value]
    methods: dict[str, FuncInfo] = field(default_factory=dict)
    instance: Optional[ModObj] = None  # the first instance built while interpreting
    instances: int = 0  # how many times it was instantiated
    buffers: set[str] = field(default_factory=set)  # names registered with register_buffer

    def method(self, name: str, seen: Optional[set[int]] = None) -> Optional[FuncInfo]:
        if name in self.methods:
            return self.methods[name]
        seen = seen or set()
        for base in self.bases:
            if isinstance(base, ClassV) and id(base.cls) not in seen:
                seen.add(id(base.cls))
                found = base.cls.method(name, seen)
                if found:
                    return found
        return None


LOGIT_NAME = re.compile(r"logit|cls|class|score", re.I)


NOT_BIAS = re.compile(r"pos|embed|token|mask|temperature|noise|prompt|query|anchor", re.I)


GENERIC_NAMES = frozenset(
    {"x", "out", "net", "h", "y", "inputs", "output", "outputs", "layer", "m", "module"}
)


GATES = ("input", "forget", "cell", "output")


BUILTINS = frozenset(
    {
        "isinstance",
        "len",
        "range",
        "super",
        "getattr",
        "hasattr",
        "setattr",
        "print",
        "type",
        "int",
        "float",
        "str",
        "list",
        "dict",
        "tuple",
        "zip",
        "enumerate",
    }
)


def numpy_array(q: str, args: list[Value], kwargs: dict[str, Value]) -> bool:
    if q in ("numpy.zeros", "numpy.ones", "numpy.full"):
        return True
    if q == "numpy.random.randn":
        return bool(args)
    if q == "numpy.random.normal":
        return len(args) > 2 or "size" in kwargs
    return False


def gathers(e: cst.Subscript) -> bool:
    """``t[:, idx]``: an index that is not a literal looks rows up (a table, not a bias)."""
    for el in e.slice:
        if isinstance(el.slice, cst.Index):
            v = el.slice.value
            literal = isinstance(v, (cst.Integer, cst.SimpleString, cst.UnaryOperation, cst.Ellipsis))
            if not literal and not (isinstance(v, cst.Name) and v.value == "None"):
                return True
    return False


def is_matrix(shape: Optional[tuple[Optional[int], ...]]) -> bool:
    """Two or more axes known to be longer than 1: a weight, table or embedding, not a bias
    vector (a per-head bias ``[1, heads, 1, groups]`` of unknown sizes is not ruled out)."""
    return shape is not None and sum(1 for n in shape if n is not None and n > 1) >= 2


def is_vector(shape: Optional[tuple[Optional[int], ...]]) -> bool:
    return shape is not None and not is_matrix(shape)


def runs_without_grad(node: cst.FunctionDef) -> bool:
    """``@torch.no_grad()`` / ``@torch.inference_mode()`` on the function."""
    for d in node.decorators:
        dec = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        if (dotted(dec) or "").rsplit(".", 1)[-1] in ("no_grad", "inference_mode"):
            return True
    return False


def reuse_mode(v: Value) -> str:
    """``reuse=`` of a variable scope: "" (creates), "reuse" (looks up), "maybe" (AUTO_REUSE or
    decided at run time: the same line may create or fetch)."""
    if isinstance(v, Const):
        return "reuse" if v.value is True else ""
    return "maybe"


def known(q: str) -> bool:
    return (
        any(
            q in t
            for t in (
                T.LAYERS,
                T.INITIALIZERS,
                T.ACTIVATIONS,
                T.TORCH_INIT_FUNCS,
                T.VARIABLE_CREATORS,
                T.KERNEL_OPS,
                T.BIAS_APPLY,
                T.NORMALIZERS,
                T.TRANSPARENT,
                T.LOSSES,
                T.MODULE_INIT_FUNCS,
            )
        )
        or q in T.SEQUENTIAL
    )


def is_layer_class(ci: ClassInfo) -> bool:
    return any(isinstance(b, QName) and b.name in T.LAYER_BASES for b in ci.bases)


def is_class(q: str) -> bool:
    return q.rsplit(".", 1)[-1][:1].isupper()


def is_static(node: cst.FunctionDef) -> bool:
    return any(dotted(d.decorator) == "staticmethod" for d in node.decorators)


def is_bias_like(v: Value) -> bool:
    if isinstance(v, Var):
        return v.role not in ("weight", "scale")
    return isinstance(v, ParamRef) and isinstance(v.owner, Var) and v.owner.role not in ("weight", "scale")


def kind_of_class(cls: Value) -> tuple[Optional[LayerKind], Optional[str]]:
    classes = cls.items if isinstance(cls, ListV) else [cls]
    kinds: list[str] = []
    api = None
    for c in classes:
        if isinstance(c, QName) and c.name in T.LAYERS:
            kinds.append(T.LAYERS[c.name].kind)
            api = api or c.name
        elif isinstance(c, QName) and c.name.startswith("torch.nn."):
            word = c.name.rsplit(".", 1)[-1].lower()
            for w, kind in GATE_WORDS:
                if w in word:
                    kinds.append(kind)
                    break
    if kinds and len(set(kinds)) == 1:
        return kinds[0], api  # type: ignore[return-value]
    return None, api


def named_module(name: str) -> AnyModule:
    """``self.conv_out.norm``, ``m.conv_pw``: a module seen only by its name, whose last part
    may name its kind (:data:`table.MODULE_NAME_KINDS`)."""
    last = name.rsplit(".", 1)[-1]
    for token in re.split(r"[^a-z]+", re.sub(r"\d+", " ", last.lower())):
        if token in T.MODULE_NAME_KINDS:
            return AnyModule(name, T.MODULE_NAME_KINDS[token])
    return AnyModule(name)


def target_name(t: cst.BaseExpression) -> str:
    if isinstance(t, cst.Tuple) and t.elements:
        return dotted(t.elements[-1].value) or "m"
    return dotted(t) or "m"


def comp_fors(f: cst.CompFor) -> Iterator[cst.CompFor]:
    cur: Optional[cst.CompFor] = f
    while cur is not None:
        yield cur
        cur = cur.inner_for_in


def var_position(var: Var) -> tuple[int, int]:
    if var.consumed_in is not None:
        frames = var.consumed_in.ancestors()
        for frame, line, col in var.chain:
            if frame in frames:
                return line, col
    _, line, col = var.chain[-1]
    return line, col


def comment(line: str) -> str:
    i = line.find("#")
    return line[i + 1 :].strip() if i >= 0 else ""
