"""Static evaluation of values: numbers, initializers, activation names, shapes.

Pure functions over the interpreter's values (values.py); no syntax tree, no state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Optional, TypeVar

import libcst as cst

from biaslint.collect import table as T
from biaslint.collect.values import (
    UNKNOWN,
    ActObj,
    Const,
    DictV,
    InitV,
    ListV,
    QName,
    Sym,
    Tensor,
    Value,
    Var,
    number,
    whole,
)
from biaslint.model import Init

MISSING = Const("<missing>")


def arg(
    args: list[Value], kw: dict[str, Value], pos: Optional[int], name: Optional[str], missing: Value = UNKNOWN
) -> Value:
    if name is not None and name in kw:
        return kw[name]
    if pos is not None and len(args) > pos:
        return args[pos]
    return missing


def const_init(n: float) -> Init:
    """A written constant stays a constant (the kind says what the code used, the value what it is)."""
    return Init("constant", float(n))


def starts_at_one(init: Init) -> bool:
    """A gain's start (``ones``, a constant 1): what a norm's scale starts at."""
    return init.kind == "ones" or (init.kind == "constant" and init.value == 1.0)


def init_from_spec(spec: T.InitSpec, args: list[Value], kwargs: dict[str, Value]) -> Init:
    if spec.kind == "constant":
        v = arg(args, kwargs, spec.pos, spec.kw, MISSING)
        if isinstance(v, InitV):  # np.full etc. inside tf.constant_initializer
            return v.init
        n = number(v)
        if v is MISSING and spec.default is not None:
            n = spec.default
        if n is None:
            if isinstance(v, ListV):
                nums = [number(i) for i in v.items]
                if nums and all(x is not None for x in nums) and len(set(nums)) == 1:
                    return const_init(nums[0])  # type: ignore[arg-type]
            return Init("other")
        return const_init(n)
    if spec.kind in ("normal", "truncated_normal", "variance_scaling"):  # a stddev, or a scale
        v = arg(args, kwargs, spec.pos, spec.kw, MISSING)
        n = number(v)
        return Init(spec.kind, n if n is not None else (spec.default if v is MISSING else None))
    if spec.kind == "uniform" and spec.low and spec.high:
        lo_v = arg(args, kwargs, spec.low[0], spec.low[1], MISSING)
        hi_v = arg(args, kwargs, spec.high[0], spec.high[1], MISSING)
        lo = spec.low[2] if lo_v is MISSING else number(lo_v)
        hi = spec.high[2] if hi_v is MISSING else number(hi_v)
        return Init("uniform", (hi - lo) / 2 if lo is not None and hi is not None else None)
    if spec.kind == "zeros":
        return Init("zeros", 0.0)
    if spec.kind == "ones":
        return Init("ones", 1.0)
    return Init(spec.kind)


def act_name(v: Value) -> Optional[str]:
    if isinstance(v, Const):
        if v.value is None:
            return None
        if isinstance(v.value, str):
            return T.ACTIVATION_STRINGS.get(v.value.lower(), "unknown")
    if isinstance(v, QName):  # tensorpack's ``activation=BNReLU`` normalises first
        return T.ACTIVATIONS.get(v.name) or T.NORMALIZERS.get(v.name, "unknown")
    if isinstance(v, ActObj):
        return v.act
    return "unknown"


def shape_of(v: Value) -> Optional[tuple[Optional[int], ...]]:
    if isinstance(v, ListV):
        dims: list[Optional[int]] = []
        for item in v.items:
            dims.append(whole(number(item)))
        return tuple(dims)
    n = whole(number(v))
    return None if n is None else (n,)


def flatten_items(args: list[Value]) -> list[Value]:
    items: list[Value] = []
    for a in args:
        if isinstance(a, ListV):
            items.extend(
                flatten_items(a.items) if all(isinstance(i, ListV) for i in a.items) and a.items else a.items
            )
        elif isinstance(a, DictV):
            items.extend(a.items.values())
        else:
            items.append(a)
    # OrderedDict([('conv', layer), ...]) arrives as pairs: keep the layers
    return [
        i.items[1] if isinstance(i, ListV) and len(i.items) == 2 and isinstance(i.items[0], Const) else i
        for i in items
    ]


_V = TypeVar("_V", bound=Value)


def leaves(v: Value, cls: type[_V], depth: int = 0) -> Iterator[_V]:
    """The values of type ``cls`` in ``v`` and in the lists/dicts it holds (returned tuples)."""
    if isinstance(v, cls):
        yield v
    elif depth < 3 and isinstance(v, (ListV, DictV)):
        for item in v.items.values() if isinstance(v, DictV) else v.items:
            yield from leaves(item, cls, depth + 1)


def vars_in(v: Value) -> Iterator[Var]:
    return leaves(v, Var)


def tensors_in(v: Value) -> Iterator[Tensor]:
    return leaves(v, Tensor)


def arith(op: Any, a: float, b: float) -> float:
    if isinstance(op, (cst.Add, cst.AddAssign)):
        return a + b
    if isinstance(op, (cst.Subtract, cst.SubtractAssign)):
        return a - b
    if isinstance(op, (cst.Multiply, cst.MultiplyAssign)):
        return a * b
    if isinstance(op, (cst.Divide, cst.DivideAssign)):
        return a / b
    if isinstance(op, (cst.FloorDivide, cst.FloorDivideAssign)):
        return a // b
    if isinstance(op, (cst.Power, cst.PowerAssign)):
        return float(a**b)
    if isinstance(op, (cst.Modulo, cst.ModuloAssign)):
        return a % b
    raise ValueError(op)


def sym_arith(op: Any, a: Value, b: Value) -> Value:
    na, nb = number(a), number(b)
    if isinstance(a, Sym) and nb is not None:
        if isinstance(op, cst.Multiply):
            return Sym(a.name, a.coef * nb)
        if isinstance(op, (cst.Divide, cst.FloorDivide)) and nb:
            return Sym(a.name, a.coef / nb)
        if isinstance(op, (cst.Add, cst.Subtract)) and nb == 0:
            return a
    if isinstance(b, Sym) and na is not None and isinstance(op, cst.Multiply):
        return Sym(b.name, b.coef * na)
    if isinstance(a, Sym) and isinstance(b, Sym) and a.name == b.name:
        if isinstance(op, cst.Add):
            return Sym(a.name, a.coef + b.coef)
        if isinstance(op, cst.Subtract):
            return Sym(a.name, a.coef - b.coef)
    return UNKNOWN


MATH = {
    "math.log": math.log,
    "math.sqrt": math.sqrt,
    "math.exp": math.exp,
    "numpy.log": math.log,
    "numpy.sqrt": math.sqrt,
    "numpy.exp": math.exp,
    "torch.log": math.log,
    # the focal-loss prior b = -log((1 - p) / p) (Lin et al. 2017)
    "mmcv.cnn.bias_init_with_prob": lambda p: -math.log((1 - p) / p),
    "mmengine.model.bias_init_with_prob": lambda p: -math.log((1 - p) / p),
    "tensorflow.sqrt": math.sqrt,
    "tensorflow.log": math.log,
    "torch.sqrt": math.sqrt,
    "math.log10": math.log10,
    "numpy.log10": math.log10,
}


MATH_CONSTS = {
    "math.inf": math.inf,
    "numpy.inf": math.inf,
    "math.nan": math.nan,
    "numpy.nan": math.nan,
    "math.pi": math.pi,
    "math.e": math.e,
    "numpy.pi": math.pi,
}
