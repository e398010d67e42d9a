"""The abstract values the collector's interpreter computes for expressions.

The interpreter does not run code: it follows names, attributes, containers and calls just
far enough to know which layer a bias belongs to, how it is initialised and what its output
feeds. Every value is one of the small classes below; ``UNKNOWN`` is the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import libcst as cst

from biaslint.model import Init, LayerKind

if TYPE_CHECKING:
    from biaslint.collect.drafts import Draft
    from biaslint.collect.table import LayerSpec


class Value:
    __slots__ = ()


class _Unknown(Value):
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(eq=False)
class Const(Value):
    """A Python literal: number, string, bool or None."""

    value: Any


@dataclass(eq=False)
class Sym(Value):
    """A linear form ``coef * name`` of an unknown integer (slice bounds like ``H:2*H``)."""

    name: str
    coef: float = 1.0


@dataclass(eq=False)
class QName(Value):
    """A framework callable or namespace, by canonical qualified name."""

    name: str
    #: resolved from a receiver we could not see (a ``layers`` handle passed in): less certain
    guessed: bool = False


@dataclass(eq=False)
class InitV(Value):
    """An initializer object or a tensor built to be an initial value."""

    init: Init
    api: str
    shape: Optional[tuple[Optional[int], ...]] = None
    dtype: Optional[str] = None


@dataclass(eq=False)
class Frame:
    """One activation of a function body; ``parent`` is the caller when inlined."""

    root: str  # the standalone-interpreted function/class this frame descends from
    parent: Optional[Frame]
    inlined: bool
    env: dict[str, Value] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)  # tf name/variable scopes
    returns: list[Value] = field(default_factory=list)
    func: str = ""  # the function whose body this frame runs
    reused: bool = False  # ``scope.reuse_variables()`` ran: get_variable now looks up

    def ancestors(self) -> list[Frame]:
        out: list[Frame] = []
        f: Optional[Frame] = self
        while f is not None:
            out.append(f)
            f = f.parent
        return out


@dataclass(eq=False)
class Var(Value):
    """A created variable/Parameter: a bias or a weight, decided by how it is used."""

    draft: Draft
    init: Init
    chain: list[tuple[Frame, int, int]]  # (frame, line, col) from creation outwards
    shape: Optional[tuple[Optional[int], ...]] = None
    names: list[str] = field(default_factory=list)
    role: Optional[str] = None  # "bias" | "weight" | "scale" | "offset"
    consumed_in: Optional[Frame] = None
    used: bool = False  # appears anywhere after creation (an argument, an operand, a return)
    bindings: list[str] = field(default_factory=list)  # the Python targets it was assigned to
    escaped: bool = False  # made in another module of the project and returned to this file


@dataclass(eq=False)
class LayerObj(Value):
    """A layer instance (torch module, Keras layer object) or a functional layer call."""

    spec: LayerSpec
    api: str
    draft: Draft
    own_act: Optional[str] = None
    weight: Optional[Init] = None


@dataclass(eq=False)
class ActObj(Value):
    """An activation module/layer object (``nn.ReLU()``, ``layers.Activation('relu')``)."""

    act: str


@dataclass(eq=False)
class SinkObj(Value):
    """Something whose input is an output: a loss object, ``keras.Model``, a normaliser."""

    kind: str  # "loss" | "model" | "norm" | "transparent"
    act: Optional[str] = None
    layer: Optional[LayerObj] = None


@dataclass(eq=False)
class SeqObj(Value):
    """An ordered container of layers (nn.Sequential, keras Sequential)."""

    items: list[Value]
    api: str
    applied: bool = False
    is_model: bool = False
    outputs: list[Tensor] = field(default_factory=list)  # functional keras.Model outputs
    loss: Optional[Value] = None  # what model.compile(loss=...) was given


@dataclass(eq=False)
class ModObj(Value):
    """An instance of a class defined in the analysed file (a model or block)."""

    cls: Any  # ClassInfo
    attrs: dict[str, Value] = field(default_factory=dict)
    applied: bool = False
    loss: Optional[Value] = None


@dataclass(eq=False)
class AnyModule(Value):
    """``m`` in an init function: any module, possibly narrowed by ``isinstance``."""

    name: str
    kind: Optional[LayerKind] = None
    api: Optional[str] = None
    weight: Optional[Init] = None


@dataclass(eq=False)
class ParamRef(Value):
    """``layer.bias`` / ``layer.weight`` / ``lstm.bias_ih_l0[H:2H]``: a parameter of a layer."""

    owner: Value  # LayerObj | AnyModule | ModObj | Var
    which: str  # "bias" | "weight" | "any" | raw attribute name
    gate: Optional[int] = None
    data: bool = False  # reached through ``.data`` (outside autograd)
    view: bool = False  # a slice/chunk of the parameter


@dataclass(eq=False)
class Tensor(Value):
    """A tensor flowing through the model; knows what produced it and who consumed it."""

    producers: list[Draft] = field(default_factory=list)  # layer sites it is the output of
    kind: Optional[LayerKind] = None  # op kind when it is a kernel-op output (for bias typing)
    kernel: Optional[Var] = None
    op: Optional[str] = None  # the kernel op that produced it (tf.nn.conv2d_transpose ...)
    weight: Optional[Init] = None
    own_act: Optional[str] = None
    consumer: Optional[tuple[str, Optional[str], Optional[Tensor]]] = None
    biased: bool = False  # a layer with its own bias produced it
    shared: bool = False  # used by more than one consumer (a residual stream)


@dataclass(eq=False)
class DictV(Value):
    items: dict[str, Value]
    name: Optional[str] = None


@dataclass(eq=False)
class ListV(Value):
    items: list[Value]


@dataclass(eq=False)
class FuncV(Value):
    func: Any  # FuncInfo
    self_obj: Optional[Value] = None


@dataclass(eq=False)
class PartialV(Value):
    """``functools.partial(f, *args, **kwargs)``: f with arguments bound."""

    func: Value
    args: list[Value]
    kwargs: dict[str, Value]


@dataclass(eq=False)
class ClassV(Value):
    cls: Any  # ClassInfo


@dataclass(eq=False)
class ScopeV(Value):
    """``tf.variable_scope(name, reuse=...)``: a name prefix and whether variables are looked up."""

    name: str
    reuse: str = ""  # "" creates, "reuse" looks up, "maybe" (AUTO_REUSE, a run-time flag)
    initializer: Optional[Value] = None  # ``variable_scope(..., initializer=...)``


@dataclass(eq=False)
class Buffer(Value):
    """``self.register_buffer(name, t)``: module state that is not a trainable parameter."""

    name: str


@dataclass(eq=False)
class ArgScopeV(Value):
    frames: list[tuple[frozenset[str], dict[str, Value]]]


@dataclass(eq=False)
class ChainV(Value):
    """``LinearWrap(x).Conv2D('c0', 32, 3).apply(f)``: a tensor threaded through calls named as
    attributes. ``path`` is the attribute chain read so far (``Conv2D``, ``tf.nn.relu``)."""

    x: Value
    wrapper: str  # the wrapper's qualified name: its entry in table.CHAIN_WRAPPERS
    path: str = ""


@dataclass(eq=False)
class Method(Value):
    """``obj.name``: a method or attribute of a value we follow no further than its name."""

    obj: Value
    name: str
    text: str = ""


@dataclass(eq=False)
class LambdaV(Value):
    """A ``lambda`` expression, called by binding its parameters."""

    node: cst.Lambda
    params: list[str]
    closure: dict[str, Value]


@dataclass(eq=False)
class ClassName(Value):
    """``m.__class__.__name__``: narrowing on it narrows ``m``."""

    var: str


@dataclass(eq=False)
class ParamName(Value):
    """The name half of ``for name, p in x.named_parameters()``."""

    var: str


def number(v: Value) -> Optional[float]:
    """The number ``v`` holds (``nan`` and ``inf`` included: BIA105 reports them; a literal too
    large for a float is infinite), else None. Counts and sizes go through :func:`whole`."""
    if isinstance(v, Const) and isinstance(v.value, (int, float)) and not isinstance(v.value, bool):
        try:
            return float(v.value)
        except OverflowError:
            return math.inf if v.value > 0 else -math.inf
    return None


#: sizes, counts and slice bounds beyond this are not worked with (``chunk(10**10)``)
MAX_WHOLE = 2**31


def round_or_none(x: float) -> Optional[float]:
    """``round(x)`` for a finite x (``round(nan)`` raises)."""
    return float(round(x)) if math.isfinite(x) else None


def whole(n: Optional[float]) -> Optional[int]:
    """``n`` as a count or size when it is a whole, finite and sane number; else None."""
    if n is None or not math.isfinite(n) or abs(n) > MAX_WHOLE or n != int(n):
        return None
    return int(n)
