"""Values of expressions: names, attributes, subscripts, operators, narrowing.

Every handler returns a ``Value``; what cannot be known is ``UNKNOWN``, which every caller
accepts, so "unknown" flows through without special cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

import libcst as cst

from biaslint.collect import table as T
from biaslint.collect.dispatch import Dispatch
from biaslint.collect.drafts import looks_like_bias
from biaslint.collect.evaluate import (
    MATH_CONSTS,
    arith,
    starts_at_one,
    sym_arith,
)
from biaslint.collect.names import canonical, dotted
from biaslint.collect.recognise import (
    BUILTINS,
    GATE_WORDS,
    MAX_ITEMS,
    TOTAL,
    comp_fors,
    gathers,
    is_bias_like,
    is_vector,
    kind_of_class,
    known,
    named_module,
)
from biaslint.collect.values import (
    UNKNOWN,
    AnyModule,
    Buffer,
    ChainV,
    ClassName,
    ClassV,
    Const,
    DictV,
    Frame,
    FuncV,
    InitV,
    LambdaV,
    LayerObj,
    ListV,
    Method,
    ModObj,
    ParamName,
    ParamRef,
    PartialV,
    QName,
    SeqObj,
    Sym,
    Tensor,
    Value,
    Var,
    number,
    round_or_none,
    whole,
)

if TYPE_CHECKING:
    from biaslint.collect.interp import Interpreter


class Expressions:
    """Mixin of ``Interpreter``: its methods take the interpreter as ``self``."""

    _narrowed_name: Optional[str]

    def eval(self: Interpreter, e: cst.BaseExpression) -> Value:
        """The value of an expression; dispatch on the node type (hot: one dict lookup)."""
        handler = _EVAL.get(type(e))
        return handler(self, e) if handler is not None else UNKNOWN

    def _eval_name(self: Interpreter, e: cst.Name) -> Value:
        return self.lookup(e.value)

    def _eval_number(self: Interpreter, e: cst.Integer | cst.Float) -> Value:
        text = e.value.replace("_", "")
        try:
            return Const(int(text, 0) if isinstance(e, cst.Integer) else float(text))
        except ValueError:
            return UNKNOWN

    def _eval_fstring(self: Interpreter, e: cst.FormattedString) -> Value:
        """``f"bias_hh_l{i}"``: the known parts, ``*`` for each part that is not a constant (a
        name pattern is all ``getattr`` and name tokens need)."""
        parts = []
        for p in e.parts:
            if isinstance(p, cst.FormattedStringText):
                parts.append(p.value)
            elif isinstance(p, cst.FormattedStringExpression):
                v = self.eval(p.expression)
                parts.append(str(v.value) if isinstance(v, Const) and v.value is not None else "*")
        return Const("".join(parts))

    def _eval_string(self: Interpreter, e: cst.SimpleString | cst.ConcatenatedString) -> Value:
        if isinstance(e, cst.SimpleString) and "\\" not in e.value and e.prefix in ("", "r", "u"):
            q = e.quote
            return Const(e.value[len(e.prefix) + len(q) : -len(q)])
        try:
            return Const(e.evaluated_value)
        except Exception:
            return UNKNOWN

    def _eval_unary(self: Interpreter, e: cst.UnaryOperation) -> Value:
        v = self.eval(e.expression)
        n = number(v)
        if isinstance(e.operator, cst.Minus):
            if n is not None:
                return Const(-n)
            if isinstance(v, Sym):
                return Sym(v.name, -v.coef)
        if isinstance(e.operator, cst.Not) and isinstance(v, Const):
            return Const(not v.value)
        return UNKNOWN

    def _eval_binary(self: Interpreter, e: cst.BinaryOperation) -> Value:
        return self.binop(e.operator, self.eval(e.left), self.eval(e.right))

    def _eval_sequence(self: Interpreter, e: cst.List | cst.Tuple | cst.Set) -> Value:
        items: list[Value] = []
        for el in e.elements:
            v = self.eval(el.value)
            if isinstance(el, cst.StarredElement) and isinstance(v, (ListV, SeqObj)):
                if len(items) + len(v.items) > MAX_ITEMS:
                    return UNKNOWN
                items.extend(v.items)
            else:
                items.append(v)
        return ListV(items)

    def _eval_dict(self: Interpreter, e: cst.Dict) -> Value:
        d: dict[str, Value] = {}
        for el in e.elements:
            if isinstance(el, cst.DictElement):
                k = self.eval(el.key)
                v = self.eval(el.value)
                if isinstance(k, Const):
                    d[str(k.value)] = v
        return DictV(d)

    def _eval_comprehension(self: Interpreter, e: cst.ListComp | cst.GeneratorExp | cst.SetComp) -> Value:
        for comp in comp_fors(e.for_in):
            self.bind(comp.target, self._iter_item(self.eval(comp.iter)))
        return ListV([self.eval(e.elt)])

    def _eval_ifexp(self: Interpreter, e: cst.IfExp) -> Value:
        a, b = self.eval(e.body), self.eval(e.orelse)
        t = self.eval(e.test)
        if isinstance(t, Const):
            return a if t.value else b
        return a if a is not UNKNOWN else b

    def _eval_lambda(self: Interpreter, e: cst.Lambda) -> Value:
        return LambdaV(e, [p.name.value for p in e.params.params], {})

    def _eval_await(self: Interpreter, e: cst.Await) -> Value:
        return self.eval(e.expression)

    def _eval_boolop(self: Interpreter, e: cst.BooleanOperation) -> Value:
        left, right = self.eval(e.left), self.eval(e.right)
        if isinstance(left, Const) and isinstance(right, Const):
            if isinstance(e.operator, cst.And):
                return Const(bool(left.value and right.value))
            return Const(bool(left.value or right.value))
        if isinstance(e.operator, cst.Or):  # ``norm_layer = norm_layer or nn.LayerNorm``
            if isinstance(left, Const):
                return right if not left.value else left
            return left if isinstance(left, (QName, FuncV, ClassV, PartialV)) else UNKNOWN
        return UNKNOWN

    def _iter_item(self: Interpreter, it: Value) -> Value:
        if isinstance(it, (ListV, SeqObj)) and it.items:
            return it.items[0]
        return UNKNOWN

    def lookup(self: Interpreter, name: str) -> Value:
        f: Optional[Frame] = self.frame
        if name in self.frame.env:
            return self.frame.env[name]
        if f is not self.module_frame and name in self.module_frame.env:
            return self.module_frame.env[name]
        if name in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[name])
        return self.resolve(name)

    def resolve(self: Interpreter, name: str) -> Value:
        cands = self.aliases.candidates(name)
        for c in cands:
            if known(c):
                return QName(c)
        if cands:
            return QName(cands[0])
        if name in BUILTINS:
            return QName(name)
        return UNKNOWN

    def attr(self: Interpreter, e: cst.Attribute) -> Value:
        name = e.attr.value
        base = self.eval(e.value)
        if isinstance(base, QName):
            q = canonical(f"{base.name}.{name}")
            return Const(MATH_CONSTS[q]) if q in MATH_CONSTS else QName(q)
        if isinstance(base, ChainV):  # ``LinearWrap(x).Conv2D``: named now, called next
            return ChainV(base.x, base.wrapper, f"{base.path}.{name}" if base.path else name)
        if isinstance(base, ModObj):
            if name in base.cls.buffers:
                return Buffer(name)
            if name in base.attrs:
                return base.attrs[name]
            m = base.cls.method(name)
            if m is not None:
                return FuncV(m, base)
            if name == "__class__":
                return UNKNOWN
            if looks_like_bias([name]):
                return ParamRef(AnyModule(dotted(e) or name), name)
            return Method(base, name)
        if isinstance(base, (LayerObj, AnyModule, SeqObj)):
            if (
                name in ("bias", "weight")
                or name.startswith(("bias_", "weight_"))
                or name in ("in_proj_bias", "in_proj_weight", "beta", "gamma")
            ):
                which = "bias" if "bias" in name or name == "beta" else "weight"
                return ParamRef(base, which if which == "weight" else name)
            if isinstance(base, SeqObj) and name.isidentifier():
                return Method(base, name)
            return Method(base, name)
        if isinstance(base, ParamRef):
            if name == "data":
                return ParamRef(base.owner, base.which, base.gate, True, base.view)
            return Method(base, name)
        if isinstance(base, Var):
            if name == "data":
                return ParamRef(base, "bias", None, True)
            return Method(base, name)
        if isinstance(base, (Tensor, InitV)):
            return Method(base, name)
        unseen = base is UNKNOWN or (isinstance(base, Const) and base.value is None)
        if unseen and dotted(e.value) in T.LAYER_HANDLES and T.is_keras_layer(f"keras.layers.{name}"):
            return QName(f"keras.layers.{name}", guessed=True)  # ``layers.Conv2D`` on a handle
        if base is UNKNOWN or isinstance(base, (Method, Const)):
            if name == "bias" or name.startswith("bias_"):
                if isinstance(base, Const):
                    return UNKNOWN
                return ParamRef(named_module(dotted(e.value) or "?"), name)
            if (
                name == "__name__"
                and isinstance(e.value, cst.Attribute)
                and e.value.attr.value == "__class__"
            ):
                return ClassName(dotted(e.value.value) or "")
            return Method(base, name, dotted(e) or "")
        return Method(base, name)

    def subscript(self: Interpreter, e: cst.Subscript) -> Value:
        base = self.eval(e.value)
        if isinstance(base, Var) and not self.ghost and gathers(e):
            base.role = base.role or "table"  # ``t[:, idx]``: rows looked up, a table not a bias
        if isinstance(base, ParamRef):
            sl = e.slice[0].slice
            gate = self._gate_of(sl) if len(e.slice) == 1 and isinstance(sl, cst.Slice) else None
            return ParamRef(base.owner, base.which, gate, base.data, True)
        key = self._subscript_key(e)
        if isinstance(base, DictV) and isinstance(key, str):
            return base.items.get(key, UNKNOWN)
        if isinstance(base, (ListV, SeqObj)) and isinstance(key, int):
            try:
                return base.items[key]
            except IndexError:
                return UNKNOWN
        if isinstance(base, Tensor):
            return self.passthrough(base)
        if isinstance(base, InitV) and base.init.kind == "loaded":
            return base
        return UNKNOWN

    def _subscript_key(self: Interpreter, e: cst.Subscript) -> Optional[Union[str, int]]:
        if len(e.slice) != 1 or not isinstance(e.slice[0].slice, cst.Index):
            return None
        k = self.eval(e.slice[0].slice.value)
        if isinstance(k, Const) and isinstance(k.value, (str, int)):
            return k.value
        return None

    def symeval(self: Interpreter, e: cst.BaseExpression) -> Value:
        """Like eval, but an unknown size (``H``, ``self.hidden``) becomes a symbol."""
        if isinstance(e, cst.BinaryOperation):
            return self.binop(e.operator, self.symeval(e.left), self.symeval(e.right))
        v = self.eval(e)
        if v is UNKNOWN or isinstance(v, Method):
            if isinstance(e, cst.Call) or (
                isinstance(e, cst.Subscript) and dotted(e.value) and (dotted(e.value) or "").endswith("shape")
            ):
                return Sym(TOTAL)
            name = dotted(e)
            if name:
                return Sym(name)
        return v

    def _gate_of(self: Interpreter, sl: cst.Slice) -> Optional[int]:
        if sl.lower is None:
            return 0
        lo = self.symeval(sl.lower)
        if isinstance(lo, Sym):
            return whole(round_or_none(lo.coef * 4 if lo.name == TOTAL else lo.coef))
        n = number(lo)
        if n == 0:
            return 0
        up = self.symeval(sl.upper) if sl.upper is not None else UNKNOWN
        width = number(up)
        if n is not None and width is not None and width > n:
            return whole(round_or_none(n / (width - n)))
        return None

    def compare(self: Interpreter, e: cst.Comparison) -> Value:
        left = self.eval(e.left)
        if len(e.comparisons) != 1:
            return UNKNOWN
        comp = e.comparisons[0]
        right = self.eval(comp.comparator)
        if isinstance(left, Const) and isinstance(right, Const):
            op = comp.operator
            try:
                if isinstance(op, cst.Equal):
                    return Const(left.value == right.value)
                if isinstance(op, cst.NotEqual):
                    return Const(left.value != right.value)
                if isinstance(op, cst.Is):
                    return Const(left.value is right.value)
                if isinstance(op, cst.IsNot):
                    return Const(left.value is not right.value)
            except Exception:
                return UNKNOWN
        return UNKNOWN

    def narrowing(self: Interpreter, test: cst.BaseExpression) -> Optional[tuple[str, Value]]:
        """``isinstance(m, nn.Conv2d)``, ``'Conv' in classname``, ``'bias' in name`` ..."""
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            return self.narrowing(test.left) or self.narrowing(test.right)
        if isinstance(test, cst.Call):
            fn = dotted(test.func) or ""
            if fn == "isinstance" and len(test.args) == 2:
                var = dotted(test.args[0].value)
                cls = self.eval(test.args[1].value)
                if var:
                    kind, api = kind_of_class(cls)
                    return var, AnyModule(var, kind, api)
            if isinstance(test.func, cst.Attribute) and test.func.attr.value in (
                "startswith",
                "endswith",
                "find",
                "__contains__",
            ):
                self._narrowed_name = dotted(test.func.value)
                return self._word_narrowing(self.eval(test.func.value), test.args)
            return None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            comp = test.comparisons[0]
            left = test.left
            if isinstance(comp.operator, cst.In):
                self._narrowed_name = dotted(comp.comparator)
                return self._word_narrowing(self.eval(comp.comparator), [cst.Arg(left)])
            if (
                isinstance(left, cst.Call)
                and isinstance(left.func, cst.Attribute)
                and left.func.attr.value == "find"
            ):
                return self._word_narrowing(self.eval(left.func.value), left.args)
            if isinstance(comp.operator, (cst.Equal, cst.Is)):
                if isinstance(left, cst.Call) and dotted(left.func) == "type" and left.args:
                    var = dotted(left.args[0].value)
                    kind, api = kind_of_class(self.eval(comp.comparator))
                    if var:
                        return var, AnyModule(var, kind, api)
                return self._word_narrowing(self.eval(left), [cst.Arg(comp.comparator)])
        return None

    def _word_narrowing(
        self: Interpreter, subject: Value, args: Sequence[cst.Arg]
    ) -> Optional[tuple[str, Value]]:
        if not args:
            return None
        word = self.eval(args[0].value)
        if not isinstance(word, Const) or not isinstance(word.value, str):
            return None
        text = word.value.lower()
        if isinstance(subject, ParamName):
            cur = self.frame.env.get(subject.var)
            if isinstance(cur, ParamRef):
                which = "bias" if "bias" in text else "weight" if "weight" in text else cur.which
                gate = cur.gate
                return subject.var, ParamRef(cur.owner, which, gate, cur.data, cur.view)
            return None
        if subject is UNKNOWN and text.startswith("bias") and len(args) == 1:
            # ``for name in ...: if name.startswith('bias_'): getattr(lstm, name)``
            return None if self._narrowed_name is None else (self._narrowed_name, ParamName("bias"))
        if isinstance(subject, ClassName):
            for w, kind in GATE_WORDS:
                if w in text:
                    return subject.var, AnyModule(subject.var, kind)  # type: ignore[arg-type]
        return None

    def binop(self: Interpreter, op: cst.BaseBinaryOp | cst.BaseAugOp, a: Value, b: Value) -> Value:
        for v in (a, b):
            if isinstance(v, Var):
                v.used = True
        na, nb = number(a), number(b)
        if na is not None and nb is not None:
            try:
                return Const(arith(op, na, nb))
            except (ArithmeticError, ValueError, TypeError):
                return UNKNOWN
        if isinstance(a, Sym) or isinstance(b, Sym):
            return sym_arith(op, a, b)
        if isinstance(op, (cst.Add, cst.AddAssign)):
            if isinstance(a, Tensor) and is_bias_like(b):
                return self.apply_bias(a, b, None)
            if isinstance(b, Tensor) and is_bias_like(a):
                return self.apply_bias(b, a, None)
            if isinstance(a, ListV) and isinstance(b, ListV):
                if len(a.items) + len(b.items) > MAX_ITEMS:
                    return UNKNOWN
                return ListV(a.items + b.items)
        if isinstance(op, (cst.MatrixMultiply, cst.MatrixMultiplyAssign)):
            if isinstance(a, Tensor) or isinstance(b, (Var, ParamRef)):
                return self.kernel_op("dense", a if isinstance(a, Tensor) else Tensor(), b)
            if isinstance(b, Tensor) and isinstance(a, (Var, ParamRef)):
                return self.kernel_op("dense", b, a)
        if isinstance(op, (cst.Multiply, cst.MultiplyAssign)):
            x, g = (b, a) if isinstance(a, Var) else (a, b)
            # the input may be a parameter we cannot see; the gain must be a vector then
            seen = isinstance(x, Tensor) or (x is UNKNOWN and isinstance(g, Var) and is_vector(g.shape))
            if seen and isinstance(g, Var) and starts_at_one(g.init):
                # ``x * g + b`` with g started at 1: a hand-written norm's scale, so the vector
                # added next is its offset (``_ln(x, g, b)``, GPT-2's ``norm``)
                g.role = g.role or "scale"
                out = Tensor(kind="norm")
                if isinstance(x, Tensor):
                    self.consume(x, "pass", None, out)
                return out
        tensors = [t for t in (a, b) if isinstance(t, Tensor)]
        if tensors:
            out = Tensor()
            # a sum of two tensors (a residual) keeps each part's constant on the skip path
            how = "mix" if len(tensors) == 2 and isinstance(op, (cst.Add, cst.AddAssign)) else "pass"
            for t in tensors:
                self.consume(t, how, None, out)
            return out
        return UNKNOWN


_EVAL: dict[type, Any] = {
    cst.Name: Expressions._eval_name,
    cst.Attribute: Expressions.attr,
    cst.Call: Dispatch.call,
    cst.Integer: Expressions._eval_number,
    cst.Float: Expressions._eval_number,
    cst.SimpleString: Expressions._eval_string,
    cst.ConcatenatedString: Expressions._eval_string,
    cst.FormattedString: Expressions._eval_fstring,
    cst.UnaryOperation: Expressions._eval_unary,
    cst.BinaryOperation: Expressions._eval_binary,
    cst.List: Expressions._eval_sequence,
    cst.Tuple: Expressions._eval_sequence,
    cst.Set: Expressions._eval_sequence,
    cst.Dict: Expressions._eval_dict,
    cst.ListComp: Expressions._eval_comprehension,
    cst.GeneratorExp: Expressions._eval_comprehension,
    cst.SetComp: Expressions._eval_comprehension,
    cst.IfExp: Expressions._eval_ifexp,
    cst.Subscript: Expressions.subscript,
    cst.Await: Expressions._eval_await,
    cst.Comparison: Expressions.compare,
    cst.BooleanOperation: Expressions._eval_boolop,
    cst.Lambda: Expressions._eval_lambda,
}
