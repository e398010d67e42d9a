"""The collector: a small abstract interpreter over one file's libcst tree.

It never runs code. It follows names, attributes, containers and calls just far enough to
know, for every bias, the layer it belongs to, its initial value, and what its output
feeds. Helpers and model classes defined in the file are inlined at their call sites (depth
limited), so ``bias_variable(shape)`` is typed by how its result is used and a block's
layers see the forward() that applies them. All framework knowledge comes from table.py.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import libcst as cst

from biaslint.collect import table as T
from biaslint.collect.drafts import Draft, looks_like_bias, to_site
from biaslint.collect.evaluate import (
    MATH,
    MATH_CONSTS,
    act_name,
    arg,
    arith,
    const_init,
    flatten_items,
    init_from_spec,
    shape_of,
    sym_arith,
    tensors_in,
    vars_in,
)
from biaslint.collect.locate import Locator, Stmt, body_of
from biaslint.collect.names import AliasTable, canonical, dotted
from biaslint.collect.values import (
    UNKNOWN,
    ActObj,
    AnyModule,
    ArgScopeV,
    Buffer,
    ClassV,
    Const,
    DictV,
    Frame,
    FuncV,
    InitV,
    LayerObj,
    ListV,
    ModObj,
    ParamRef,
    QName,
    ScopeV,
    SeqObj,
    SinkObj,
    Sym,
    Tensor,
    Value,
    Var,
    number,
)
from biaslint.model import BiasSite, Init, LayerKind

MAX_DEPTH = 8
#: Work budget per file: statements executed plus calls evaluated. Real files need at most a
#: few ten thousand (the largest file of the development corpus: see benchmarks/corpus.py);
#: the budget is what makes termination a property of the design, not of the input.
MAX_STEPS = 60_000


MAX_ITEMS = 4096  # a container of layers larger than this is left unknown
MAX_GATES = 64  # ``chunk(n)`` of a parameter: more pieces than this is not a gate split


#: key in a call's keyword table when it forwards ``**kwargs``: absent keywords are unknown
FORWARDED = "**"


class BudgetExhausted(Exception):
    """The file took more work than ``MAX_STEPS``: stop and keep what was found."""
_WORDS = re.compile(r"\b(?:{})\b".format("|".join(sorted(map(re.escape, T.filter_words())))))
_TOTAL = "__total__"  # symbol for a parameter's full length (``p.size(0)``)
_GATE_WORDS = (
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
class FuncInfo:
    name: str
    node: cst.FunctionDef
    stmt: Stmt
    cls: Optional[ClassInfo] = None
    outer: Optional[Frame] = None  # enclosing frame of a nested function
    seen: bool = False
    inlined_calls: int = 0

    @property
    def qual(self) -> str:
        return f"{self.cls.name}.{self.name}" if self.cls else self.name


@dataclass(eq=False)
class ClassInfo:
    name: str
    bases: list[Value]
    methods: dict[str, FuncInfo] = field(default_factory=dict)
    instance: Optional[ModObj] = None  # the first instance built while interpreting

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


@dataclass(eq=False)
class Method(Value):
    obj: Value
    name: str
    text: str = ""


@dataclass(eq=False)
class LambdaV(Value):
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


class Interpreter:
    def __init__(self, path: str, source: str, module: cst.Module, tree: ast.Module) -> None:
        self.path = path
        self.loc = Locator(source, tree)
        self.module = module
        self.tree = tree
        self.aliases = AliasTable()
        self.module_frame = Frame("<module>", None, False)
        self.frame = self.module_frame
        self.stmt: Optional[Stmt] = None
        self.depth = 0
        self.active: list[FuncInfo] = []
        self.functions: list[FuncInfo] = []
        self.classes: list[ClassInfo] = []
        self.drafts: dict[tuple[int, int], Draft] = {}
        self.vars: list[Var] = []
        self.escaped: list[tuple[Var, FuncInfo]] = []
        self.seqs: list[SeqObj] = []
        self.arg_scopes: list[tuple[frozenset[str], dict[str, Value]]] = []
        self.no_grad = 0
        self.reuse: list[str] = []  # variable-scope reuse modes of the enclosing ``with`` blocks
        self.in_except = 0  # inside an ``except`` handler: get_variable there is a fallback lookup
        self.frozen: set[int] = set()  # modules frozen with ``requires_grad_(False)``
        self.ghost = 0
        self.weights_loaded = False
        self.numpy_loaded = False
        self.assigns_values = False
        self.hints: dict[str, Any] = {}
        self._class_names: set[str] = set()
        self._narrowed_name: Optional[str] = None
        self._class_index: dict[int, ClassInfo] = {}  # one ClassInfo per class statement
        self.steps = 0
        self.max_steps = MAX_STEPS
        self.exhausted = False

    # ------------------------------------------------------------------ driver
    def run(self) -> tuple[list[BiasSite], bool, dict[str, Any]]:
        try:
            self._run()
        except BudgetExhausted:
            self.exhausted = True
            self.hints["budget_exhausted"] = True
            self.ghost = 0
        return self.finish(), self.weights_loaded, self.hints

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise BudgetExhausted

    def _run(self) -> None:
        module_stmts = []
        for st in self.loc.pair(self.module.body, self.tree.body):
            node = st.node
            if isinstance(node, cst.FunctionDef):
                if self._interesting(st):
                    info = FuncInfo(node.name.value, node, st)
                    self.functions.append(info)
                    self.module_frame.env[info.name] = FuncV(info)
            elif isinstance(node, cst.ClassDef):
                if self._interesting(st):
                    self.module_frame.env[node.name.value] = ClassV(self._index_class(st))
            else:
                module_stmts.append(st)
        for st in module_stmts:
            if self._always(st.node) or self._interesting(st):
                self.exec_stmt(st)
        for info in self.functions:
            if not info.seen and info.cls is None:
                self.call_standalone(info, None)
        for ci in self.classes:
            obj = ci.instance
            if obj is None:
                obj = ModObj(ci)
                init = ci.method("__init__")
                if init is not None:
                    self.call_standalone(init, obj)
            build = ci.method("build")
            if build is not None and not obj.applied:
                obj.applied = True
                if not build.seen:
                    self.call_standalone(build, obj)
            for m in ci.methods.values():
                if not m.seen:
                    self.call_standalone(m, obj)
        for seq in self.seqs:
            if not seq.applied:
                self.frame = self.module_frame
                out = self.apply_seq(seq, Tensor())
                if seq.is_model and isinstance(out, Tensor):
                    act = self._loss_act(seq.loss)
                    self.consume(out, "loss" if act else "model", act, None)

    def _interesting(self, st: Stmt) -> bool:
        text = self.loc.text(st.first, st.last)
        return "bias" in text or _WORDS.search(text) is not None  # ``if use_bias: y += b``

    @staticmethod
    def _always(node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine):
            return any(isinstance(s, (cst.Import, cst.ImportFrom, cst.Assign)) for s in node.body)
        return isinstance(node, (cst.If, cst.Try))

    def _index_class(self, st: Stmt) -> ClassInfo:
        node = st.node
        assert isinstance(node, cst.ClassDef)
        known = self._class_index.get(id(node))
        if known is not None:  # a class statement run again (a factory called twice, recursion)
            return known
        bases = [self.eval(a.value) for a in node.bases]
        ci = ClassInfo(node.name.value, bases)
        twin = st.twins[0]
        assert isinstance(twin, ast.ClassDef)
        for sub in self.loc.pair(body_of(node), twin.body):
            if isinstance(sub.node, cst.FunctionDef) and self._interesting(sub):
                fi = FuncInfo(sub.node.name.value, sub.node, sub, ci)
                ci.methods[fi.name] = fi
                self.functions.append(fi)
        self.classes.append(ci)
        self._class_names.add(ci.name)
        self._class_index[id(node)] = ci
        return ci

    # ------------------------------------------------------------------ calls
    def call_standalone(self, info: FuncInfo, self_obj: Optional[Value]) -> None:
        root = info.cls.name if info.cls else info.name
        frame = Frame(root, None, False, func=info.qual)
        info.seen = True
        self._bind_params(info, frame, self_obj, [], {}, standalone=True)
        self._run_body(info, frame)
        # what a reusable layer class returns feeds a model we cannot see
        sink, act = "return", None
        if info.cls is not None and _is_layer_class(info.cls):
            sink = "other"
        elif isinstance(self_obj, ModObj) and self_obj.loss is not None:
            act = self._loss_act(self_obj.loss)
            sink = "loss" if act else sink
        for ret in frame.returns:
            for v in vars_in(ret):
                if v.chain[-1][0] is frame:
                    self.escaped.append((v, info))
            if isinstance(ret, ListV) and sum(isinstance(i, Tensor) for i in ret.items) > 1:
                sink = "other"  # ``return hidden, logits``: which one is the output is not visible
            for t in tensors_in(ret):
                self.consume(t, sink, act, None)

    def call_inline(
        self,
        info: FuncInfo,
        self_obj: Optional[Value],
        args: list[Value],
        kwargs: dict[str, Value],
        call: Optional[cst.Call],
    ) -> Value:
        if self.depth >= MAX_DEPTH or any(a.node is info.node for a in self.active):
            return UNKNOWN
        info.seen = True
        info.inlined_calls += 1
        caller = self.frame
        frame = Frame(caller.root, caller, True, scopes=list(caller.scopes), func=info.qual)
        self._bind_params(info, frame, self_obj, args, kwargs, standalone=False)
        saved_stmt = self.stmt
        self._run_body(info, frame)
        self.stmt = saved_stmt
        result: Value = UNKNOWN
        for ret in frame.returns:
            if ret is not UNKNOWN:
                result = ret
                break
        if call is not None:
            line, col = self.position(call)
            for v in vars_in(result):
                if v.chain[-1][0] is frame:
                    v.chain.append((caller, line, col))
        return result

    def _run_body(self, info: FuncInfo, frame: Frame) -> None:
        saved = self.frame, self.stmt
        self.frame = frame
        self.depth += 1
        self.active.append(info)
        no_grad = _runs_without_grad(info.node)
        self.no_grad += no_grad
        try:
            twin = info.stmt.twins[0]
            assert isinstance(twin, (ast.FunctionDef, ast.AsyncFunctionDef))
            self.exec_body(info.node, twin.body)
        finally:
            self.no_grad -= no_grad
            self.active.pop()
            self.depth -= 1
            self.frame, self.stmt = saved

    def _bind_params(
        self,
        info: FuncInfo,
        frame: Frame,
        self_obj: Optional[Value],
        args: list[Value],
        kwargs: dict[str, Value],
        standalone: bool,
    ) -> None:
        params = info.node.params
        plist = list(params.posonly_params) + list(params.params)
        if info.cls is not None and plist and not _is_static(info.node):
            frame.env[plist[0].name.value] = self_obj if self_obj is not None else UNKNOWN
            plist = plist[1:]
        if info.outer is not None:
            frame.env.update({k: v for k, v in info.outer.env.items() if k not in frame.env})
        named = set()
        for i, p in enumerate(plist + list(params.kwonly_params)):
            name = p.name.value
            named.add(name)
            if i < len(args) and p in plist:
                frame.env[name] = args[i]
            elif name in kwargs:
                frame.env[name] = kwargs[name]
            elif p.default is not None:
                frame.env[name] = self._eval_in(p.default, self.module_frame)
            else:
                frame.env[name] = UNKNOWN
        star = params.star_kwarg
        if star is not None:
            # ``**kwargs`` holds the caller's other keywords; analysed on its own, anything
            rest = {k: v for k, v in kwargs.items() if k not in named}
            if standalone:
                rest[FORWARDED] = UNKNOWN
            frame.env[star.name.value] = DictV(rest)

    def _eval_in(self, expr: cst.BaseExpression, frame: Frame) -> Value:
        saved = self.frame
        self.frame = frame
        try:
            return self.eval(expr)
        finally:
            self.frame = saved

    # ------------------------------------------------------------------ statements
    def exec_body(self, node: cst.CSTNode, twins: Sequence[ast.stmt], filtered: bool = False) -> None:
        for st in self.loc.pair(body_of(node), twins):
            if filtered and not isinstance(st.node, cst.SimpleStatementLine) and not self._interesting(st):
                continue
            self.exec_stmt(st)

    def exec_stmt(self, st: Stmt) -> None:
        self.tick()
        node = st.node
        self.stmt = st
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.exec_small(small)
            return
        twin = st.twins[0]
        if isinstance(node, cst.FunctionDef):
            info = FuncInfo(node.name.value, node, st, outer=self.frame)
            self.frame.env[info.name] = FuncV(info)
            if self.frame is not self.module_frame and self.ghost == 0:
                self.functions.append(info)
        elif isinstance(node, cst.ClassDef):
            self.frame.env[node.name.value] = ClassV(self._index_class(st))
        elif isinstance(node, cst.If):
            self.exec_if(node, twin)  # type: ignore[arg-type]
        elif isinstance(node, (cst.For, cst.While)):
            self.exec_loop(node, twin)  # type: ignore[arg-type]
        elif isinstance(node, cst.With):
            self.exec_with(node, twin)  # type: ignore[arg-type]
        elif isinstance(node, cst.Try):
            assert isinstance(twin, ast.Try)
            self.exec_body(node, twin.body, True)
            after_body = dict(self.frame.env)
            self.in_except += 1
            try:
                for h, th in zip(node.handlers, twin.handlers):
                    self.exec_body(h, th.body, True)
            finally:
                self.in_except -= 1
            # a handler is the fallback path: what the body bound is what normally flows on
            self.frame.env.update(after_body)
            if node.orelse is not None:
                self.exec_body(node.orelse, twin.orelse, True)
            if node.finalbody is not None:
                self.exec_body(node.finalbody, twin.finalbody, True)

    def exec_small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Expr):
            self.eval(small.value)
        elif isinstance(small, cst.Assign):
            v = self.eval(small.value)
            for t in small.targets:
                self.bind(t.target, v)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.bind(small.target, self.eval(small.value))
        elif isinstance(small, cst.AugAssign):
            cur = self.eval(small.target)
            rhs = self.eval(small.value)
            if isinstance(cur, ListV) and isinstance(rhs, ListV):
                if not self.ghost and len(cur.items) + len(rhs.items) <= MAX_ITEMS:
                    cur.items.extend(rhs.items)
                return
            self.bind(small.target, self.binop(small.operator, cur, rhs))
        elif isinstance(small, cst.Return) and small.value is not None:
            ret = self.eval(small.value)
            for v in vars_in(ret):
                v.used = True
            self.frame.returns.append(ret)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            self.aliases.add_import(small)

    def exec_if(self, node: cst.If, twin: ast.If) -> None:
        narrowed = self.narrowing(node.test)
        test = self.eval(node.test) if narrowed is None else UNKNOWN
        live = None if not isinstance(test, Const) else bool(test.value)
        with self._narrowed(narrowed), self._ghost(live is False):
            self.exec_body(node, twin.body, True)
        orelse = node.orelse
        if orelse is None:
            return
        with self._ghost(live is True):
            if isinstance(orelse, cst.If):
                if twin.orelse and isinstance(twin.orelse[0], ast.If):
                    self.exec_if(orelse, twin.orelse[0])
            else:
                self.exec_body(orelse, twin.orelse, True)

    @contextmanager
    def _ghost(self, on: bool) -> Iterator[None]:
        """A branch the condition rules out: its sites exist, its effects do not."""
        if not on:
            yield
            return
        saved = dict(self.frame.env)
        self.ghost += 1
        try:
            yield
        finally:
            self.ghost -= 1
            self.frame.env.clear()
            self.frame.env.update(saved)

    @contextmanager
    def _narrowed(self, narrowed: Optional[tuple[str, Value]]) -> Iterator[None]:
        if narrowed is None:
            yield
            return
        name, value = narrowed
        env = self.frame.env
        had = name in env
        old = env.get(name)
        env[name] = value
        try:
            yield
        finally:
            if had:
                env[name] = old  # type: ignore[assignment]
            else:
                env.pop(name, None)

    def exec_loop(self, node: Union[cst.For, cst.While], twin: Union[ast.For, ast.While]) -> None:
        if isinstance(node, cst.While):
            self.exec_body(node, twin.body, True)
            return
        it = self.eval(node.iter)
        target = node.target
        items: list[Value]
        if (
            isinstance(it, (ListV, SeqObj))
            and 0 < len(it.items) <= 64
            and any(isinstance(i, (LayerObj, ModObj, SeqObj, ActObj)) for i in it.items)
        ):
            items = list(it.items)
        elif isinstance(it, Method) and it.name in ("modules", "children", "named_modules"):
            items = [AnyModule(_target_name(target))]
            if it.name == "named_modules" and isinstance(target, cst.Tuple) and len(target.elements) == 2:
                self.bind(target.elements[1].value, items[0])
                self.exec_body(node, twin.body, True)
                return
        elif isinstance(it, Method) and it.name in ("named_parameters", "parameters"):
            owner = it.obj
            if isinstance(target, cst.Tuple) and len(target.elements) == 2:
                pname = dotted(target.elements[1].value) or "p"
                self.bind(target.elements[0].value, ParamName(pname))
                self.bind(target.elements[1].value, ParamRef(owner, "any"))
                self.exec_body(node, twin.body, True)
                return
            items = [ParamRef(owner, "any")]
        else:
            items = [UNKNOWN]
        for item in items:
            self.bind(target, item)
            self.exec_body(node, twin.body, True)

    def exec_with(self, node: cst.With, twin: ast.With) -> None:
        pushed_scopes = pushed_args = 0
        no_grad = False
        for item in node.items:
            v = self.eval(item.item)
            if isinstance(v, ArgScopeV):
                self.arg_scopes.extend(v.frames)
                pushed_args += len(v.frames)
                v = ArgScopeV(list(self.arg_scopes))
            elif isinstance(v, ScopeV):
                self.frame.scopes.append(v.name)
                self.reuse.append(v.reuse)
                pushed_scopes += 1
            elif (isinstance(v, QName) and v.name in ("torch.no_grad",)) or (
                isinstance(v, Const) and v.value == "no_grad"
            ):
                no_grad = True
            if item.asname is not None:
                self.bind(item.asname.name, v)
        self.no_grad += no_grad
        try:
            self.exec_body(node, twin.body, True)
        finally:
            self.no_grad -= no_grad
            if pushed_scopes:
                del self.frame.scopes[-pushed_scopes:]
                del self.reuse[-pushed_scopes:]
            if pushed_args:
                del self.arg_scopes[-pushed_args:]

    # ------------------------------------------------------------------ binding
    def bind(self, target: cst.BaseExpression, v: Value) -> None:
        if isinstance(target, cst.Name):
            self.frame.env[target.value] = v
            self._name_value(v, target.value)
        elif isinstance(target, cst.Attribute):
            base = self.eval(target.value)
            if isinstance(base, ParamRef) and target.attr.value == "requires_grad" and isinstance(v, Const):
                self._freeze(base, bool(v.value))
            if isinstance(base, ModObj) and not self.ghost:
                base.attrs[target.attr.value] = v
                owner = dotted(target.value) or "self"
                self._name_value(v, f"{owner}.{target.attr.value}")
        elif isinstance(target, cst.Subscript):
            base = self.eval(target.value)
            key = self._subscript_key(target)
            if isinstance(base, DictV) and isinstance(key, str) and not self.ghost:
                base.items[key] = v
                self._name_value(v, f"{base.name or dotted(target.value)}[{key!r}]")
        elif isinstance(target, (cst.Tuple, cst.List)):
            elts = [e.value for e in target.elements]
            if isinstance(v, ListV):
                for e, item in zip(elts, v.items):
                    self.bind(e, item)
            else:
                for i, e in enumerate(elts):
                    self.bind(e, v if i == 0 and isinstance(v, Tensor) else UNKNOWN)

    def _freeze(self, ref: ParamRef, trainable: bool) -> None:
        """``layer.bias.requires_grad = False``: record it on the layer (BIA204)."""
        owner = ref.owner
        if ref.which == "any" and not trainable and not self.ghost:
            self.frozen.add(id(owner))  # ``for p in m.parameters(): p.requires_grad = False``
        draft = owner.draft if isinstance(owner, (LayerObj, Var)) else None
        if draft is not None:
            key = "kernel_trainable" if ref.which == "weight" else "trainable"
            draft.set(**{key: trainable})

    def _name_value(self, v: Value, name: str) -> None:
        if isinstance(v, Var):
            v.names.append(name)
            v.bindings.append(name)
            if v.draft.layer_name is None:
                v.draft.layer_name = self._scoped(name)
        elif isinstance(v, LayerObj) and v.draft.layer_name is None and name not in _GENERIC:
            v.draft.layer_name = name
        elif isinstance(v, SeqObj):
            for i, item in enumerate(v.items):
                self._name_value(item, f"{name}[{i}]")
        elif isinstance(v, DictV):
            v.name = v.name or name
            for k, item in v.items.items():
                self._name_value(item, f"{name}[{k!r}]")
        elif isinstance(v, ListV) and name not in _GENERIC:
            for i, item in enumerate(v.items):
                if isinstance(item, (Var, LayerObj)):
                    self._name_value(item, f"{name}[{i}]")

    def _scoped(self, name: str) -> str:
        scopes = [s for s in self.frame.scopes if s]
        return "/".join([*scopes, name]) if scopes else name

    # ------------------------------------------------------------------ expressions
    def eval(self, e: cst.BaseExpression) -> Value:
        """The value of an expression; dispatch on the node type (hot: one dict lookup)."""
        handler = _EVAL.get(type(e))
        return handler(self, e) if handler is not None else UNKNOWN

    def _eval_name(self, e: cst.Name) -> Value:
        return self.lookup(e.value)

    def _eval_number(self, e: cst.Integer | cst.Float) -> Value:
        text = e.value.replace("_", "")
        try:
            return Const(int(text, 0) if isinstance(e, cst.Integer) else float(text))
        except ValueError:
            return UNKNOWN

    def _eval_string(self, e: cst.SimpleString | cst.ConcatenatedString) -> Value:
        if isinstance(e, cst.SimpleString) and "\\" not in e.value and e.prefix in ("", "r", "u"):
            q = e.quote
            return Const(e.value[len(e.prefix) + len(q) : -len(q)])
        try:
            return Const(e.evaluated_value)
        except Exception:
            return UNKNOWN

    def _eval_unary(self, e: cst.UnaryOperation) -> Value:
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

    def _eval_binary(self, e: cst.BinaryOperation) -> Value:
        return self.binop(e.operator, self.eval(e.left), self.eval(e.right))

    def _eval_sequence(self, e: cst.List | cst.Tuple | cst.Set) -> Value:
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

    def _eval_dict(self, e: cst.Dict) -> Value:
        d: dict[str, Value] = {}
        for el in e.elements:
            if isinstance(el, cst.DictElement):
                k = self.eval(el.key)
                v = self.eval(el.value)
                if isinstance(k, Const):
                    d[str(k.value)] = v
        return DictV(d)

    def _eval_comprehension(self, e: cst.ListComp | cst.GeneratorExp | cst.SetComp) -> Value:
        for comp in _comp_fors(e.for_in):
            self.bind(comp.target, self._iter_item(self.eval(comp.iter)))
        return ListV([self.eval(e.elt)])

    def _eval_ifexp(self, e: cst.IfExp) -> Value:
        a, b = self.eval(e.body), self.eval(e.orelse)
        t = self.eval(e.test)
        if isinstance(t, Const):
            return a if t.value else b
        return a if a is not UNKNOWN else b

    def _eval_lambda(self, e: cst.Lambda) -> Value:
        return LambdaV(e, [p.name.value for p in e.params.params], {})

    def _eval_await(self, e: cst.Await) -> Value:
        return self.eval(e.expression)

    def _eval_boolop(self, e: cst.BooleanOperation) -> Value:
        left, right = self.eval(e.left), self.eval(e.right)
        if isinstance(left, Const) and isinstance(right, Const):
            if isinstance(e.operator, cst.And):
                return Const(bool(left.value and right.value))
            return Const(bool(left.value or right.value))
        return UNKNOWN

    def _iter_item(self, it: Value) -> Value:
        if isinstance(it, (ListV, SeqObj)) and it.items:
            return it.items[0]
        return UNKNOWN

    def lookup(self, name: str) -> Value:
        f: Optional[Frame] = self.frame
        if name in self.frame.env:
            return self.frame.env[name]
        if f is not self.module_frame and name in self.module_frame.env:
            return self.module_frame.env[name]
        if name in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[name])
        return self.resolve(name)

    def resolve(self, name: str) -> Value:
        cands = self.aliases.candidates(name)
        for c in cands:
            if _known(c):
                return QName(c)
        if cands:
            return QName(cands[0])
        if name in _BUILTINS:
            return QName(name)
        return UNKNOWN

    def attr(self, e: cst.Attribute) -> Value:
        name = e.attr.value
        base = self.eval(e.value)
        if isinstance(base, QName):
            q = canonical(f"{base.name}.{name}")
            return Const(MATH_CONSTS[q]) if q in MATH_CONSTS else QName(q)
        if isinstance(base, ModObj):
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
        if base is UNKNOWN or isinstance(base, (Method, Const)):
            if name == "bias" or name.startswith("bias_"):
                if isinstance(base, Const):
                    return UNKNOWN
                return ParamRef(AnyModule(dotted(e.value) or "?"), name)
            if (
                name == "__name__"
                and isinstance(e.value, cst.Attribute)
                and e.value.attr.value == "__class__"
            ):
                return ClassName(dotted(e.value.value) or "")
            return Method(base, name, dotted(e) or "")
        return Method(base, name)

    def subscript(self, e: cst.Subscript) -> Value:
        base = self.eval(e.value)
        if isinstance(base, Var) and not self.ghost and _gathers(e):
            base.role = base.role or "table"  # ``t[:, idx]``: rows looked up, a table not a bias
        if isinstance(base, ParamRef) and len(e.slice) == 1:
            sl = e.slice[0].slice
            gate = None
            if isinstance(sl, cst.Slice):
                gate = self._gate_of(sl)
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

    def _subscript_key(self, e: cst.Subscript) -> Optional[Union[str, int]]:
        if len(e.slice) != 1 or not isinstance(e.slice[0].slice, cst.Index):
            return None
        k = self.eval(e.slice[0].slice.value)
        if isinstance(k, Const) and isinstance(k.value, (str, int)):
            return k.value
        return None

    def symeval(self, e: cst.BaseExpression) -> Value:
        """Like eval, but an unknown size (``H``, ``self.hidden``) becomes a symbol."""
        if isinstance(e, cst.BinaryOperation):
            return self.binop(e.operator, self.symeval(e.left), self.symeval(e.right))
        v = self.eval(e)
        if v is UNKNOWN or isinstance(v, Method):
            if isinstance(e, cst.Call) or (
                isinstance(e, cst.Subscript) and dotted(e.value) and (dotted(e.value) or "").endswith("shape")
            ):
                return Sym(_TOTAL)
            name = dotted(e)
            if name:
                return Sym(name)
        return v

    def _gate_of(self, sl: cst.Slice) -> Optional[int]:
        if sl.lower is None:
            return 0
        lo = self.symeval(sl.lower)
        if isinstance(lo, Sym):
            return round(lo.coef * 4) if lo.name == _TOTAL else round(lo.coef)
        n = number(lo)
        if n == 0:
            return 0
        up = self.symeval(sl.upper) if sl.upper is not None else UNKNOWN
        width = number(up)
        if n is not None and width is not None and width > n:
            return round(n / (width - n))
        return None

    def compare(self, e: cst.Comparison) -> Value:
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

    # ------------------------------------------------------------------ narrowing
    def narrowing(self, test: cst.BaseExpression) -> Optional[tuple[str, Value]]:
        """``isinstance(m, nn.Conv2d)``, ``'Conv' in classname``, ``'bias' in name`` ..."""
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            return self.narrowing(test.left) or self.narrowing(test.right)
        if isinstance(test, cst.Call):
            fn = dotted(test.func) or ""
            if fn == "isinstance" and len(test.args) == 2:
                var = dotted(test.args[0].value)
                cls = self.eval(test.args[1].value)
                if var:
                    kind, api = _kind_of_class(cls)
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
                    kind, api = _kind_of_class(self.eval(comp.comparator))
                    if var:
                        return var, AnyModule(var, kind, api)
                return self._word_narrowing(self.eval(left), [cst.Arg(comp.comparator)])
        return None

    def _word_narrowing(self, subject: Value, args: Sequence[cst.Arg]) -> Optional[tuple[str, Value]]:
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
            for w, kind in _GATE_WORDS:
                if w in text:
                    return subject.var, AnyModule(subject.var, kind)  # type: ignore[arg-type]
        return None

    # ------------------------------------------------------------------ operators
    def binop(self, op: cst.BaseBinaryOp | cst.BaseAugOp, a: Value, b: Value) -> Value:
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
            if isinstance(a, Tensor) and _is_bias_like(b):
                return self.apply_bias(a, b, None)
            if isinstance(b, Tensor) and _is_bias_like(a):
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
        tensors = [t for t in (a, b) if isinstance(t, Tensor)]
        if tensors:
            out = Tensor()
            # a sum of two tensors (a residual) keeps each part's constant on the skip path
            how = "mix" if len(tensors) == 2 and isinstance(op, (cst.Add, cst.AddAssign)) else "pass"
            for t in tensors:
                self.consume(t, how, None, out)
            return out
        return UNKNOWN

    # ------------------------------------------------------------------ call dispatch
    def call(self, c: cst.Call) -> Value:
        self.tick()
        fv = self.eval(c.func)
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        for a in c.args:
            v = self.eval(a.value)
            if isinstance(v, Var):
                v.used = True
            if a.keyword is not None:
                kwargs[a.keyword.value] = v
            elif a.star == "**" and isinstance(v, DictV) and FORWARDED not in v.items:
                kwargs.update(v.items)  # ``**dict(initializer=...)`` seen in full
            elif a.star == "**":
                if isinstance(v, DictV):
                    kwargs.update(v.items)
                kwargs[FORWARDED] = UNKNOWN  # ``**kwargs``: any keyword may be set here
            elif a.star == "*" and isinstance(v, (ListV, SeqObj)):
                args.extend(v.items)
            elif a.star == "":
                args.append(v)
        if isinstance(fv, QName):
            return self.call_qname(fv.name, c, args, kwargs)
        if isinstance(fv, FuncV):
            return self.call_inline(fv.func, fv.self_obj, args, kwargs, c)
        if isinstance(fv, ClassV):
            return self.instantiate(fv.cls, args, kwargs, c)
        if isinstance(fv, LayerObj):
            return self.apply_layer(fv, args[0] if args else kwargs.get("inputs", UNKNOWN))
        if isinstance(fv, ActObj):
            return self.activate(fv.act, args[0] if args else UNKNOWN)
        if isinstance(fv, SinkObj):
            return self.sink(fv, args)
        if isinstance(fv, SeqObj):
            return self.apply_seq(fv, args[0] if args else UNKNOWN)
        if isinstance(fv, ModObj):
            return self.apply_module(fv, args, kwargs)
        if isinstance(fv, Method):
            return self.call_method(fv, c, args, kwargs)
        if isinstance(fv, InitV):  # keras initializer objects are callables too
            return fv
        if isinstance(fv, LambdaV):
            return self.call_lambda(fv, args)
        out = Tensor() if any(isinstance(v, Tensor) for v in args) else UNKNOWN
        for v in args:
            if isinstance(v, Tensor):
                self.consume(v, "weak", None, out if isinstance(out, Tensor) else None)
        return out

    def call_lambda(self, lam: LambdaV, args: list[Value]) -> Value:
        if self.depth >= MAX_DEPTH:
            return UNKNOWN
        env = self.frame.env
        saved = {k: env[k] for k in lam.params if k in env}
        env.update(lam.closure)
        for i, name in enumerate(lam.params):
            env[name] = args[i] if i < len(args) else UNKNOWN
        self.depth += 1
        try:
            return self.eval(lam.node.body)
        finally:
            self.depth -= 1
            for name in lam.params:
                env.pop(name, None)
            env.update(saved)

    def call_qname(self, q: str, c: cst.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if q in T.LAYERS:
            return self.make_layer(q, T.LAYERS[q], c, args, kwargs)
        if q in T.SEQUENTIAL:
            items = flatten_items(args)
            seq = SeqObj(items, q, is_model=q.startswith("keras"))
            if not self.ghost:
                self.seqs.append(seq)
            return seq
        if q in T.MODULE_LISTS:
            return ListV(flatten_items(args))
        if q in T.VARIABLE_CREATORS:
            return self.create_var(q, T.VARIABLE_CREATORS[q], c, args, kwargs)
        if q in T.INITIALIZERS:
            return self.initializer(q, T.INITIALIZERS[q], args, kwargs)
        if q in T.TORCH_INIT_FUNCS:
            target = args[0] if args else kwargs.get("tensor", UNKNOWN)
            init = init_from_spec(T.TORCH_INIT_FUNCS[q], args, kwargs)
            return self.reinit(target, init, q, c, through_init=True)
        if q in T.BIAS_APPLY:
            kind, pos, kw, kpos = T.BIAS_APPLY[q]
            x = args[0] if args else kwargs.get("x", kwargs.get("input", kwargs.get("value", UNKNOWN)))
            b = args[pos] if len(args) > pos else kwargs.get(kw, UNKNOWN)
            if q == "torch.addmm":
                x, b = (args[1] if len(args) > 1 else UNKNOWN), (args[0] if args else UNKNOWN)
            if kpos is not None:
                kernel = args[kpos] if len(args) > kpos else kwargs.get("weight", UNKNOWN)
                x = self.kernel_op(kind or "unknown", x if isinstance(x, Tensor) else Tensor(), kernel)
            out = (
                self.apply_bias(x, b, kind)
                if _is_bias_like(b) and isinstance(x, Tensor)
                else self.passthrough(x)
                if isinstance(x, Tensor)
                else UNKNOWN
            )
            if q in T.FUSED_ACTIVATION:
                return self.activate(T.FUSED_ACTIVATION[q], out)
            return out
        if q in T.KERNEL_OPS:
            x = args[0] if args else kwargs.get("input", kwargs.get("a", UNKNOWN))
            w = (
                args[1]
                if len(args) > 1
                else kwargs.get("filter", kwargs.get("filters", kwargs.get("b", UNKNOWN)))
            )
            if isinstance(w, Tensor) and isinstance(x, (Var, ParamRef)):
                x, w = w, x
            out = self.kernel_op(T.KERNEL_OPS[q], x if isinstance(x, Tensor) else Tensor(), w)
            out.op = q
            return out
        if q in T.NORM_OFFSET_APPLY:
            pos, kw = T.NORM_OFFSET_APPLY[q]
            off = args[pos] if len(args) > pos else kwargs.get(kw, UNKNOWN)
            scale = args[pos + 1] if len(args) > pos + 1 else kwargs.get("scale", UNKNOWN)
            if isinstance(scale, Var) and q.startswith("tensorflow"):
                scale.role = scale.role or "scale"
            x = args[0] if args else UNKNOWN
            out = Tensor()
            if isinstance(off, Var):
                self._consume_var(off, "norm", x if isinstance(x, Tensor) else Tensor(), out)
            if isinstance(x, Tensor):
                self.consume(x, "norm", T.NORMALIZERS.get(q, "batchnorm"), out)
            return out
        if q in T.ACTIVATION_BY_ARG:
            name = args[0] if args else kwargs.get("activation", UNKNOWN)
            return ActObj(act_name(name) or "unknown")
        if q in T.ACTIVATIONS:
            if _is_class(q):
                return ActObj(T.ACTIVATIONS[q])
            return self.activate(T.ACTIVATIONS[q], args[0] if args else kwargs.get("features", UNKNOWN))
        if q in T.NORMALIZERS:
            return self.activate_norm(T.NORMALIZERS[q], args[0] if args else UNKNOWN)
        if q in T.LOSSES:
            if _is_class(q):
                return SinkObj("loss", T.LOSSES[q])
            for t in [*args, *kwargs.values()]:  # labels are never layer outputs
                if isinstance(t, Tensor):
                    self.consume(t, "loss", T.LOSSES[q], None)
            self.hints[f"{T.LOSSES[q]}_loss"] = True
            return Tensor()
        if q in T.MODEL_SINKS:
            outs = kwargs.get("outputs", args[1] if len(args) > 1 else UNKNOWN)
            tensors = list(tensors_in(outs))
            for t in tensors:
                self.consume(t, "model", None, None)
            return SeqObj([], q, applied=True, is_model=True, outputs=tensors)
        if q in T.TRANSPARENT or q in T.RESHAPES:
            how = "reshape" if q in T.RESHAPES else "pass"
            if _is_class(q):
                return SinkObj("transparent", how)
            return self.passthrough(args[0] if args else UNKNOWN, how)
        if q == "slim.arg_scope":
            return self.arg_scope(args, kwargs)
        if q in T.SLIM_REPEAT:
            return self.slim_repeat(q, c, args, kwargs)
        if q in T.WRAPPERS:
            inner = args[0] if args else kwargs.get("layer", kwargs.get("cell", UNKNOWN))
            if isinstance(inner, ListV):
                return inner.items[-1] if inner.items else UNKNOWN
            return inner
        if q in T.BIRNN_RUNNERS and len(args) >= 3:
            both: list[Value] = [
                self.apply_layer(cell, args[2]) if isinstance(cell, LayerObj) else Tensor()
                for cell in args[:2]
            ]
            return ListV([ListV(both), UNKNOWN])
        if q in T.RNN_RUNNERS:
            cell = args[0] if args else kwargs.get("cell", UNKNOWN)
            x = args[1] if len(args) > 1 else kwargs.get("inputs", UNKNOWN)
            if isinstance(cell, LayerObj):
                return ListV([self.apply_layer(cell, x), UNKNOWN])
            return ListV([Tensor(), UNKNOWN])
        if q in T.SCOPES:
            name = args[0] if args else kwargs.get("name_or_scope", kwargs.get("name", UNKNOWN))
            return ScopeV(
                name.value if isinstance(name, Const) and isinstance(name.value, str) else "",
                _reuse_mode(kwargs.get("reuse", Const(None))),
            )
        if q in T.INPUTS:
            return Tensor()
        if q in MATH:
            n = number(args[0]) if args else None
            try:
                return Const(MATH[q](n)) if n is not None else UNKNOWN
            except (ValueError, OverflowError):
                return UNKNOWN
        if q == "getattr" and len(args) >= 2:
            owner, attr = args[0], args[1]
            if isinstance(attr, Const) and isinstance(attr.value, str):
                if isinstance(owner, (LayerObj, AnyModule, SeqObj)) and looks_like_bias([attr.value]):
                    return ParamRef(owner, attr.value)
                if isinstance(owner, ModObj):
                    return owner.attrs.get(attr.value, UNKNOWN)
            if isinstance(attr, ParamName) and attr.var == "bias":
                base = (
                    owner
                    if isinstance(owner, (LayerObj, AnyModule))
                    else AnyModule(dotted(c.args[0].value) or "?")
                )
                return ParamRef(base, "bias")
            return UNKNOWN
        if q in T.INITIALIZER_LOOKUPS and args:
            return args[0]  # ``initializers.get("zeros")`` is the initializer it names
        if q == "dict" and not args:
            return DictV(dict(kwargs))
        if q == "float" and args and isinstance(args[0], Const):
            try:
                return Const(float(args[0].value))
            except (TypeError, ValueError):
                return UNKNOWN
        if q == "torch.no_grad":
            return Const("no_grad")
        if q in T.NUMPY_LOADS:
            self.numpy_loaded = True
            if self.assigns_values:
                self.weights_loaded = True
            return InitV(Init("loaded"), q)
        last = q.rsplit(".", 1)[-1]
        if last in T.LOAD_CALLS:
            self.weights_loaded = True
        if last in ("compile",):
            self._loss_hint(kwargs.get("loss", UNKNOWN))
        tensors = [a for a in args if isinstance(a, Tensor)]
        tensors += [t for a in args if isinstance(a, ListV) for t in a.items if isinstance(t, Tensor)]
        if not tensors:
            if any(isinstance(a, InitV) and a.init.kind == "loaded" for a in args):
                return InitV(Init("loaded"), q)
            return UNKNOWN
        kinds = {t.kind for t in tensors}
        out = Tensor(kind=kinds.pop() if len(kinds) == 1 else None, kernel=tensors[0].kernel)
        for t in tensors:
            self.consume(t, "weak", None, out)
        return out

    def call_method(self, m: Method, c: cst.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        obj, name = m.obj, m.name
        if isinstance(obj, InitV) and obj.init.kind == "loaded":
            return obj  # np.load(...).item(), f['conv1'][...]
        if name in T.LOAD_CALLS:
            self.weights_loaded = True
            return UNKNOWN
        if name == "reuse_variables":
            self.frame.reused = True  # every get_variable after this in the function is a lookup
            return UNKNOWN
        if name == "assign":
            self.assigns_values = True
            if self.numpy_loaded or any(isinstance(a, InitV) and a.init.kind == "loaded" for a in args):
                self.weights_loaded = True
            return UNKNOWN
        if name == "compile":
            loss = kwargs.get("loss", args[1] if len(args) > 1 else UNKNOWN)
            self._loss_hint(loss)
            if isinstance(obj, (SeqObj, ModObj)):
                obj.loss = loss
            if isinstance(obj, SeqObj):
                self._link_outputs_to_loss(obj)
            return UNKNOWN
        if isinstance(obj, (ParamRef, Var)):
            if name in T.TENSOR_INIT_METHODS:
                init = init_from_spec(T.TENSOR_INIT_METHODS[name], args, kwargs)
                return self.reinit(obj, init, f"torch.Tensor.{name}", c, through_init=False)
            if name in ("chunk", "split") and isinstance(obj, ParamRef):
                n = number(args[0]) if args else None
                count = int(n) if n and name == "chunk" and 0 < n <= MAX_GATES else 4
                return ListV([ParamRef(obj.owner, obj.which, i, obj.data, True) for i in range(count)])
            if name in ("size", "numel", "__len__") or name == "shape":
                return Sym(_TOTAL)
            if name in ("view", "view_as", "reshape", "detach", "to", "cuda", "float"):
                return obj
            if name == "requires_grad_":
                return obj
            return UNKNOWN
        if isinstance(obj, SeqObj):
            if name == "add" and args:
                if not self.ghost:
                    obj.items.append(args[0])
                return UNKNOWN
            if name in ("add_module",) and len(args) > 1:
                if not self.ghost:
                    obj.items.append(args[1])
                return UNKNOWN
        if isinstance(obj, ListV):
            if name == "append" and args and not self.ghost:
                obj.items.append(args[0])
            elif (
                name == "extend"
                and args
                and isinstance(args[0], ListV)
                and not self.ghost
                and len(obj.items) + len(args[0].items) <= MAX_ITEMS
            ):
                obj.items.extend(args[0].items)
            return UNKNOWN
        if isinstance(obj, DictV) and name in ("get",) and args:
            k = args[0]
            if isinstance(k, Const):
                return obj.items.get(str(k.value), UNKNOWN)
        if name == "requires_grad_" and isinstance(obj, (ModObj, LayerObj, SeqObj, AnyModule)):
            flag = args[0] if args else kwargs.get("requires_grad", Const(True))
            if isinstance(flag, Const) and flag.value is False and not self.ghost:
                self.frozen.add(id(obj))  # in-place ops on its parameters are then legal
            return obj
        if name in T.SAME_OBJECT and isinstance(obj, (ModObj, LayerObj, SeqObj)):
            return obj
        if isinstance(obj, ModObj):
            if name in T.WEIGHT_METHODS:
                return self.create_var("keras.layers.Layer.add_weight", "keras", c, args, kwargs)
            if self.ghost:
                return UNKNOWN
            if name in ("add_module", "register_module") and len(args) > 1:
                key = args[0]
                if isinstance(key, Const):
                    obj.attrs[str(key.value)] = args[1]
                    self._name_value(args[1], f"self.{key.value}")
                return UNKNOWN
            if name == "register_buffer" and args:
                key = args[0]
                if isinstance(key, Const):
                    obj.attrs[str(key.value)] = Buffer(str(key.value))  # state, not a parameter
                return UNKNOWN
            if name == "register_parameter" and len(args) > 1:
                key = args[0]
                if isinstance(key, Const):
                    obj.attrs[str(key.value)] = args[1]
                    self._name_value(args[1], f"self.{key.value}")
                return UNKNOWN
            if name in ("modules", "children", "named_modules", "named_parameters", "parameters"):
                return m
            return UNKNOWN
        if isinstance(obj, Tensor):
            if name in T.TRANSPARENT_METHODS:
                return self.passthrough(obj, "reshape" if name in T.RESHAPE_METHODS else "pass")
            if name in T.ACTIVATION_STRINGS and name != "linear":
                return self.activate(T.ACTIVATION_STRINGS[name], obj)
            if name in ("matmul", "mm"):
                return self.kernel_op("dense", obj, args[0] if args else UNKNOWN)
            if name in ("add", "add_") and args and _is_bias_like(args[0]):
                return self.apply_bias(obj, args[0], None)
            if name in T.SHAPE_QUERIES:
                return UNKNOWN
            if name in T.SPLIT_METHODS:
                self.consume(obj, "other", None, None)
                return UNKNOWN
            out = Tensor(kind=obj.kind, kernel=obj.kernel)
            self.consume(obj, "weak", None, out)
            return out
        if name in ("modules", "children", "named_modules", "named_parameters", "parameters"):
            return m
        if name in ("add_weight", "add_variable") and m.text.startswith("self."):
            return self.create_var("keras.layers.Layer.add_weight", "keras", c, args, kwargs)
        return UNKNOWN

    # ------------------------------------------------------------------ layers
    def make_layer(
        self, q: str, spec: T.LayerSpec, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        kw = self._with_arg_scopes(q, kwargs)
        flag = arg(args, kw, spec.flag_pos, spec.flag) if spec.flag else UNKNOWN
        if spec.flag_default:
            enabled = not (isinstance(flag, Const) and not flag.value)
        else:
            enabled = isinstance(flag, Const) and bool(flag.value)
        init = spec.default
        if flag is not UNKNOWN and not isinstance(flag, Const):
            init = Init("other")  # ``bias=config.bias``: on or off is decided at run time
        elif FORWARDED in kw and spec.flag and flag is UNKNOWN:
            init = Init("other")  # ``nn.Linear(a, b, **kwargs)``: the flag may arrive there
        raw_init = arg(args, kw, spec.init_pos, spec.init_arg) if spec.init_arg else UNKNOWN
        if FORWARDED in kw and spec.init_arg and raw_init is UNKNOWN and enabled:
            init = Init("other")  # the initializer may arrive through ``**kwargs``
        elif (spec.init_arg and spec.init_arg in kw) or (
            spec.init_pos is not None and len(args) > spec.init_pos
        ):
            if isinstance(raw_init, Const) and raw_init.value is None and spec.framework == "slim":
                enabled = False
            else:
                init = self.init_of(raw_init)
        if spec.framework == "slim" and spec.kind != "norm":
            norm = kw.get("normalizer_fn", UNKNOWN)
            if norm is not UNKNOWN and not (isinstance(norm, Const) and norm.value is None):
                enabled = False
        if not enabled:
            init = Init("none")
        weight = None
        if spec.weight_arg and spec.weight_arg in kw:
            weight = self.init_of(kw[spec.weight_arg])
        own_act = None
        if spec.act_arg:
            own_act = act_name(kw[spec.act_arg]) if spec.act_arg in kw else spec.act_default
        if spec.framework == "slim" and not enabled and spec.kind != "norm":
            norm = kw.get("normalizer_fn", UNKNOWN)
            if isinstance(norm, QName) and norm.name in T.NORMALIZERS:
                own_act = T.NORMALIZERS[norm.name]  # slim applies the normaliser before activation_fn
        if spec.kind == "recurrent" and own_act is None:
            own_act = "tanh"  # an RNN's output is already squashed; its biases feed gates
        draft = self.draft_at(c, spec.framework, q, spec.kind, init)
        draft.own_act = own_act
        if weight is not None:
            draft.weight_init = weight
        if spec.forget_arg:
            fb = kw.get(spec.forget_arg, UNKNOWN)
            forget: Optional[float]
            if spec.forget_arg == "unit_forget_bias":
                forget = 0.0 if isinstance(fb, Const) and fb.value is False else 1.0
            else:
                forget = number(fb) if number(fb) is not None else spec.forget_default
            draft.set(forget_bias=forget)
            if spec.forget_arg == "forget_bias" and fb is not UNKNOWN:
                draft.set(gate="forget")
        units = arg(args, kw, spec.units_pos, spec.units_arg) if spec.units_arg else UNKNOWN
        if number(units) is not None:
            draft.set(shape=(int(number(units) or 0),))
        for key in ("name", "scope"):
            v = kw.get(key)
            if isinstance(v, Const) and isinstance(v.value, str) and draft.layer_name is None:
                draft.layer_name = self._scoped(v.value)
        layer = LayerObj(spec, q, draft, own_act, weight)
        if spec.functional:
            return self.apply_layer(layer, args[0] if args else kw.get("inputs", UNKNOWN))
        return layer

    def _with_arg_scopes(self, q: str, kwargs: dict[str, Value]) -> dict[str, Value]:
        if not self.arg_scopes:
            return kwargs
        merged: dict[str, Value] = {}
        for ops, kw in self.arg_scopes:
            if q in ops or T.SLIM_SAME.get(q, q) in ops:
                merged.update(kw)
        merged.update(kwargs)
        return merged

    def arg_scope(self, args: list[Value], kwargs: dict[str, Value]) -> Value:
        ops = args[0] if args else kwargs.get("list_ops_or_scope", UNKNOWN)
        if isinstance(ops, ArgScopeV):
            return ops
        names: set[str] = set()
        if isinstance(ops, ListV):
            for o in ops.items:
                if isinstance(o, QName):
                    names.add(o.name)
                    names.add(T.SLIM_SAME.get(o.name, o.name))
        return ArgScopeV([(frozenset(names), dict(kwargs))])

    def slim_repeat(self, q: str, c: cst.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if q.endswith("repeat") and len(args) >= 3 and isinstance(args[2], QName):
            layer_q = args[2].name
            rest = [args[0], *args[3:]]
        elif q.endswith("stack") and len(args) >= 3 and isinstance(args[1], QName):
            layer_q = args[1].name
            first = args[2].items[0] if isinstance(args[2], ListV) and args[2].items else UNKNOWN
            rest = [args[0], first]
        else:
            return Tensor()
        if layer_q not in T.LAYERS:
            return Tensor()
        return self.make_layer(layer_q, T.LAYERS[layer_q], c, rest, kwargs)

    def apply_layer(self, layer: LayerObj, x: Value) -> Value:
        out = Tensor(
            [layer.draft],
            kind=layer.spec.kind,
            own_act=layer.own_act,
            weight=layer.weight,
            biased=layer.draft.init.kind != "none",
        )
        if isinstance(x, Tensor):
            if layer.spec.kind == "norm":
                self.consume(x, "norm", T.NORMALIZERS.get(layer.api, "batchnorm"), out)
            else:
                self.consume(x, "layer", None, None)
        if not self.ghost:
            layer.draft.outputs.append((out, self.frame.inlined))
        if layer.spec.kind == "recurrent":
            return ListV([out, UNKNOWN, UNKNOWN]) if layer.spec.framework == "torch" else out
        return out

    def apply_seq(self, seq: SeqObj, x: Value) -> Value:
        seq.applied = True
        cur = x if isinstance(x, Tensor) else Tensor()
        for item in seq.items:
            if isinstance(item, LayerObj):
                nxt = self.apply_layer(item, cur)
            elif isinstance(item, ActObj):
                nxt = self.activate(item.act, cur)
            elif isinstance(item, SeqObj):
                nxt = self.apply_seq(item, cur)
            elif isinstance(item, ModObj):
                nxt = self.apply_module(item, [cur], {})
            elif isinstance(item, SinkObj):
                nxt = self.sink(item, [cur])
            else:
                nxt = Tensor()
                self.consume(cur, "other", None, nxt)
            if isinstance(nxt, ListV):
                nxt = nxt.items[0]
            cur = nxt if isinstance(nxt, Tensor) else Tensor()
        return cur

    def apply_module(self, obj: ModObj, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if not obj.applied:
            obj.applied = True
            build = obj.cls.method("build")  # Keras builds a layer on its first call
            if build is not None:
                self.call_inline(build, obj, [UNKNOWN], {}, None)
        for name in ("forward", "call", "__call__"):
            m = obj.cls.method(name)
            if m is not None:
                return self.call_inline(m, obj, args, kwargs, None)
        out = Tensor()
        for a in args:
            if isinstance(a, Tensor):
                self.consume(a, "other", None, out)
        return out

    def instantiate(self, ci: ClassInfo, args: list[Value], kwargs: dict[str, Value], c: cst.Call) -> Value:
        obj = ModObj(ci)
        if ci.instance is None:
            ci.instance = obj
        init = ci.method("__init__")
        if init is not None:
            caller_root = self.frame.root
            if caller_root not in self._class_names:
                self.frame.root = ci.name  # sites belong to the model class, not to main()
            try:
                self.call_inline(init, obj, args, kwargs, None)
            finally:
                self.frame.root = caller_root
        return obj

    def activate(self, act: str, x: Value) -> Value:
        if not isinstance(x, Tensor):
            return Tensor()
        out = Tensor()
        self.consume(x, "act", act, out)
        return out

    def activate_norm(self, kind: str, x: Value) -> Value:
        out = Tensor()
        if isinstance(x, Tensor):
            self.consume(x, "norm", kind, out)
        return out

    def sink(self, s: SinkObj, args: list[Value]) -> Value:
        x = args[0] if args else UNKNOWN
        if s.kind == "transparent":
            return self.passthrough(x, s.act or "pass")
        for t in args:
            if isinstance(t, Tensor):
                self.consume(t, s.kind, s.act, None)
        if s.kind == "loss" and s.act:
            self.hints[f"{s.act}_loss"] = True
        return Tensor()

    def passthrough(self, x: Value, how: str = "pass") -> Value:
        """An op that hands the tensor on ("pass") or reshapes it ("reshape")."""
        if not isinstance(x, Tensor):
            return Tensor() if x is UNKNOWN else UNKNOWN
        out = Tensor(kind=x.kind, kernel=x.kernel)
        self.consume(x, how, None, out)
        return out

    def consume(self, t: Tensor, kind: str, name: Optional[str], nxt: Optional[Tensor]) -> None:
        """Record what a tensor feeds. The first real use wins; an unrecognised call (a summary,
        ``tf.nn.moments``, ``tf.concat``) is a weak use that a later real one replaces."""
        if self.ghost:
            return
        if t.consumer is None or (t.consumer[0] == "weak" and kind != "weak"):
            t.consumer = (kind, name, nxt)

    def kernel_op(self, kind: LayerKind | str, x: Tensor, w: Value) -> Tensor:
        self.consume(x, "layer", None, None)
        out = Tensor(kind=kind)  # type: ignore[arg-type]
        if isinstance(w, Var):
            w.role = w.role or "weight"
            out.kernel = w
        elif isinstance(w, ParamRef) and isinstance(w.owner, Var):
            w.owner.role = w.owner.role or "weight"
            out.kernel = w.owner
        return out

    def apply_bias(self, x: Tensor, b: Value, kind: Optional[LayerKind]) -> Tensor:
        out = Tensor()
        var = b.owner if isinstance(b, ParamRef) and isinstance(b.owner, Var) else b
        accepted = isinstance(var, Var) and self._consume_var(var, kind or x.kind, x, out)
        if accepted and x.biased and x.producers and isinstance(var, Var) and _is_vector(var.shape):
            for d in x.producers:  # a per-channel vector added to a layer that has its own bias
                d.set(extra_bias=True)
        self.consume(x, "pass", None, out)
        return out

    def _consume_var(self, var: Var, kind: Optional[str], x: Tensor, out: Tensor) -> bool:
        """``x + var`` / ``bias_add(x, var)``: var is a bias when x is a kernel op's output, or
        when its name is a bias token; an added positional embedding, token or mask never is."""
        if var.role in ("weight", "scale", "table"):
            return False
        if any(_NOT_BIAS.search(n) for n in var.names) or _is_matrix(var.shape):
            return False
        by_op = kind not in (None, "unknown")
        if not by_op and not looks_like_bias(var.names):
            return False
        first = var.role is None
        var.role = "offset" if kind == "norm" else "bias"
        d = var.draft
        d.attrs["consumers"] = d.attrs.get("consumers", 0) + 1
        if first or d.layer_kind == "unknown":
            d.layer_kind = kind or "unknown"  # type: ignore[assignment]
            if x.kernel is not None:
                d.kernel = x.kernel
            if var.consumed_in is None:
                var.consumed_in = self.frame
        out.producers.append(d)
        if first and x.op:
            d.set(kernel_op=x.op)
        if first and var.chain[0][0] is not self.frame and var.consumed_in is self.frame:
            d.set(helper=var.chain[0][0].func)
        if by_op or kind == "norm":
            d.attrs["evidence"] = "use"
        else:
            d.attrs.setdefault("evidence", "name")
        if not self.ghost:
            d.outputs.append((out, self.frame.inlined))
        return True

    # ------------------------------------------------------------------ variables and inits
    def create_var(self, q: str, fw: str, c: cst.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        name: Optional[str] = None
        shape = None
        if q in T.SCOPED_GETTERS or q.endswith("add_weight"):
            n = args[0] if args and isinstance(args[0], Const) else kwargs.get("name", UNKNOWN)
            rest = args[1:] if args and isinstance(args[0], Const) else args
            name = n.value if isinstance(n, Const) and isinstance(n.value, str) else None
            shape = shape_of(rest[0] if rest else kwargs.get("shape", UNKNOWN))
            raw = kwargs.get(
                "initializer", rest[2] if len(rest) > 2 and q.startswith("tensorflow") else UNKNOWN
            )
            if "initializer" in kwargs or (len(rest) > 2 and q.startswith("tensorflow")):
                init = self.init_of(raw)
            elif FORWARDED in kwargs:
                init = Init("other")  # an initializer may arrive through ``**kwargs``
            else:
                init = Init("default")
            if isinstance(raw, InitV) and raw.shape is not None:
                shape = raw.shape
        else:
            raw = args[0] if args else kwargs.get("initial_value", kwargs.get("data", UNKNOWN))
            init = self.init_of(raw)
            if isinstance(raw, InitV):
                shape = raw.shape
            n = kwargs.get("name", UNKNOWN)
            name = n.value if isinstance(n, Const) and isinstance(n.value, str) else None
        lookup = self._lookup_mode() if q in T.SCOPED_GETTERS else ""
        if q in T.SCOPED_GETTERS and not (args[1:] or {"shape", "initializer", FORWARDED} & set(kwargs)):
            lookup = "reuse"  # ``get_variable('bias')`` with no shape cannot create anything
        line, col = self.position(c)
        framework = "keras" if fw == "keras" else fw
        d = Draft(framework, q, "unknown", init, self.frame.root, line, col)  # type: ignore[arg-type]
        if lookup == "maybe":
            d.set(maybe_lookup=True)
        d.inlined = self.frame.inlined
        dtype = kwargs.get("dtype")
        if isinstance(dtype, QName):
            d.set(dtype=dtype.name.rsplit(".", 1)[-1])
        elif isinstance(raw, InitV) and raw.dtype:
            d.set(dtype=raw.dtype)
        trainable = kwargs.get("trainable", kwargs.get("requires_grad"))
        if isinstance(trainable, Const) and isinstance(trainable.value, bool):
            d.set(trainable=trainable.value)
        if shape is not None:
            d.set(shape=shape)
        var = Var(d, init, [(self.frame, line, col)], shape)
        d.var = var
        if name:
            var.names.append(name)
            d.layer_name = self._scoped(name)
        if not self.ghost and lookup != "reuse":  # a lookup fetches a variable created elsewhere
            self.vars.append(var)
        return var

    def _lookup_mode(self) -> str:
        """Whether ``get_variable`` here creates ("") or fetches ("reuse") a variable, or either."""
        if self.frame.reused or self.in_except or "reuse" in self.reuse:
            return "reuse"
        return "maybe" if "maybe" in self.reuse else ""

    def initializer(self, q: str, spec: T.InitSpec, args: list[Value], kwargs: dict[str, Value]) -> Value:
        init = init_from_spec(spec, args, kwargs)
        if spec.kind == "loaded":
            self.numpy_loaded = True
        shape = None
        dtype = None
        if spec.tensor:
            shape_v = kwargs.get("shape", UNKNOWN)
            if (
                shape_v is UNKNOWN
                and spec.kind in ("zeros", "ones", "normal", "truncated_normal", "uniform", "other")
                and args
            ):
                shape_v = args[0]
            shape = shape_of(shape_v)
            dt = kwargs.get("dtype")
            if isinstance(dt, QName):
                dtype = dt.name.rsplit(".", 1)[-1]
            elif q == "tensorflow.constant" and dt is None:
                val = args[0] if args else kwargs.get("value", UNKNOWN)
                if isinstance(val, Const) and isinstance(val.value, int) and not isinstance(val.value, bool):
                    dtype = "int32"
            elif q.startswith("numpy.") and dt is None and _numpy_array(q, args, kwargs):
                dtype = "float64"  # a NumPy array; a scalar (``randn()``) is a Python float
            elif q.startswith("numpy.random.") and shape is None:
                shape = ()
        return InitV(init, q, shape, dtype)

    def init_of(self, v: Value) -> Init:
        if isinstance(v, InitV):
            return v.init
        if isinstance(v, Const):
            if isinstance(v.value, str):
                key = v.value.lower()
                return T.INIT_STRINGS.get(key, Init("other"))
            n = number(v)
            if n is not None:  # tf.Variable(0.1) / nn.Parameter(0.) style scalars
                return const_init(n)
            return Init("other")
        if isinstance(v, QName):
            spec = T.INITIALIZERS.get(v.name)
            if spec is not None:  # an initializer class passed uncalled
                return init_from_spec(spec, [], {})
        if isinstance(v, (Var, ParamRef, Tensor)):
            return Init("loaded") if isinstance(v, Tensor) else Init("other")
        return Init("other")

    def reinit(self, target: Value, init: Init, api: str, c: cst.Call, through_init: bool) -> Value:
        if isinstance(target, Var):
            if target.role in ("weight", "scale") or not (
                target.role in ("bias", "offset") or looks_like_bias(target.names)
            ):
                target.init = init
                return UNKNOWN
            d = self.draft_at(c, "torch", api, "unknown", init)
            d.ref = target.draft
            free = through_init or self.no_grad > 0 or target.draft.attrs.get("trainable") is False
            d.set(reinit=True, in_no_grad=free, grad_context=self._grad_context())
            return UNKNOWN
        if not isinstance(target, ParamRef):
            return UNKNOWN
        owner = target.owner
        if target.which == "weight":
            if isinstance(owner, (LayerObj, AnyModule)):
                owner.weight = init
                if isinstance(owner, LayerObj):
                    owner.draft.weight_init = init
            return UNKNOWN
        if target.which == "any":
            return UNKNOWN
        framework = "torch"
        if isinstance(owner, LayerObj):
            framework = owner.spec.framework
            d = self.draft_at(c, framework, api, owner.spec.kind, init)
            d.ref = d.ref or owner.draft  # a helper re-initialising several layers: keep them all
            refs = d.attrs.setdefault("ref_drafts", [])
            if owner.draft not in refs:
                refs.append(owner.draft)
            if target.gate is not None and owner.spec.kind == "recurrent":
                if target.gate == 1 and "GRU" not in owner.api:
                    d.set(gate="forget")
                elif target.gate is not None:
                    d.set(gate=_GATES[target.gate] if target.gate < 4 else None)
        elif isinstance(owner, AnyModule):
            d = self.draft_at(c, framework, api, owner.kind or "unknown", init)
            d.ref_module = owner
            d.layer_name = d.layer_name or owner.name
            if target.gate is not None and owner.kind in (None, "recurrent"):
                d.layer_kind = "recurrent"
                d.set(gate="forget" if target.gate == 1 else _GATES[target.gate % 4])
        elif isinstance(owner, Var):
            d = self.draft_at(c, framework, api, "unknown", init)
            d.ref = owner.draft
            owner.role = owner.role or "bias"
        else:
            return UNKNOWN
        free = through_init or target.data or self.no_grad > 0 or id(owner) in self.frozen
        if isinstance(owner, Var) and owner.draft.attrs.get("trainable") is False:
            free = True
        d.set(reinit=True, in_no_grad=free, param=target.which, grad_context=self._grad_context())
        if isinstance(owner, AnyModule) and not (target.which == "bias" or target.which.startswith("bias_")):
            d.set(evidence="name")  # ``x.q_bias``: a bias by its name only
        if target.view:
            d.set(view=True)
        return UNKNOWN

    def _grad_context(self) -> str:
        """"known" when the code runs from a constructor or the module, where autograd is
        certainly on; "unknown" in a helper whose callers are not visible (it may run under
        ``no_grad``)."""
        root = self.frame.ancestors()[-1]
        if root is self.module_frame or root.func.endswith(".__init__"):
            return "known"
        return "unknown"

    def draft_at(self, c: cst.Call, framework: str, api: str, kind: str, init: Init) -> Draft:
        line, col = self.position(c)
        d = self.drafts.get((line, col))
        if d is None:
            d = Draft(framework, api, kind, init, self.frame.root, line, col)  # type: ignore[arg-type]
            d.inlined = self.frame.inlined
            self.drafts[(line, col)] = d
        elif self.frame.inlined and not d.inlined:
            d.inlined = True  # a call with real arguments beats the helper read on its own
            d.scope = self.frame.root
            d.init = init
            d.outputs = [o for o in d.outputs if o[1]]
        elif d.init != init and self.frame.inlined == d.inlined and not self.ghost:
            d.init = Init("other")  # one line, several inits (a helper called with different ones)
        return d

    def position(self, c: cst.Call) -> tuple[int, int]:
        if self.stmt is None:
            return 0, 0
        return self.loc.position(self.stmt, c)

    def _loss_act(self, loss: Optional[Value], output: Optional[Tensor] = None) -> Optional[str]:
        if isinstance(loss, DictV):
            names = {d.layer_name for d in output.producers} if output is not None else set()
            acts = [self._loss_act(v) for k, v in loss.items.items() if k in names]
            return acts[0] if acts else None
        if isinstance(loss, Const) and isinstance(loss.value, str):
            return T.LOSS_STRINGS.get(loss.value)
        if isinstance(loss, QName):
            return T.LOSSES.get(loss.name)
        if isinstance(loss, SinkObj) and loss.kind == "loss":
            return loss.act
        return None

    def _link_outputs_to_loss(self, model: SeqObj) -> None:
        for t in model.outputs:
            act = self._loss_act(model.loss, t)
            if act and t.consumer is not None and t.consumer[0] == "model":
                t.consumer = ("loss", act, None)

    def _loss_hint(self, loss: Value) -> None:
        for v in loss.items.values() if isinstance(loss, DictV) else [loss]:
            act = self._loss_act(v)
            if act:
                self.hints[f"{act}_loss"] = True

    # ------------------------------------------------------------------ results
    def finish(self) -> list[BiasSite]:
        called = {id(info) for info in self.functions if info.inlined_calls}
        dropped = {id(v) for v, info in self.escaped if id(info) in called}
        by_key: dict[tuple[int, int], list[Draft]] = {}
        for var in self.vars:
            if id(var) in dropped:
                continue
            if var.role in ("weight", "scale", "table"):
                continue
            if var.role is None and (not looks_like_bias(var.names) or _is_matrix(var.shape)):
                continue  # never used as a bias; a name alone is no evidence for a matrix
            d = var.draft
            d.attrs.setdefault("evidence", "name")
            d.line, d.col = _var_position(var)
            if d.layer_kind == "unknown" and var.role == "offset":
                d.layer_kind = "norm"
            d.attrs.setdefault("consumers", 0)
            d.set(trainable=d.attrs.get("trainable"))
            by_key.setdefault((d.line, d.col), []).append(d)
        merged: list[Draft] = []
        for group in by_key.values():
            best = [d for d in group if d.inlined] or group
            head = best[0]
            for other in best[1:]:
                head.outputs.extend(other.outputs)
                if head.layer_kind == "unknown":
                    head.layer_kind = other.layer_kind
                    head.kernel = head.kernel or other.kernel
            merged.append(head)
        merged.extend(self.drafts.values())
        sites = []
        for d in sorted(merged, key=lambda d: (d.line, d.col)):
            if d.line <= 0:
                continue
            if d.ref is not None and d.ref.var is not None and d.ref.var.role in ("weight", "scale"):
                continue
            if self.weights_loaded:
                d.set(loaded=True)
            sites.append(to_site(d, self.path, _comment(self.loc.line_text(d.line))))
        self._logits_from_file_loss(sites)
        return sites

    def _logits_from_file_loss(self, sites: list[BiasSite]) -> None:
        """A logits layer whose loss is computed elsewhere (another method, a dict of outputs)
        takes the activation of the file's only kind of classification loss."""
        losses = [a for a in ("sigmoid", "softmax") if self.hints.get(f"{a}_loss")]
        if len(losses) != 1:
            return
        for s in sites:
            if (
                s.output_layer
                and s.activation == "none"
                and s.layer_name
                and _LOGIT_NAME.search(s.layer_name)
            ):
                s.activation = losses[0]


# ---------------------------------------------------------------------- helpers
_EVAL: dict[type, Any] = {
    cst.Name: Interpreter._eval_name,
    cst.Attribute: Interpreter.attr,
    cst.Call: Interpreter.call,
    cst.Integer: Interpreter._eval_number,
    cst.Float: Interpreter._eval_number,
    cst.SimpleString: Interpreter._eval_string,
    cst.ConcatenatedString: Interpreter._eval_string,
    cst.UnaryOperation: Interpreter._eval_unary,
    cst.BinaryOperation: Interpreter._eval_binary,
    cst.List: Interpreter._eval_sequence,
    cst.Tuple: Interpreter._eval_sequence,
    cst.Set: Interpreter._eval_sequence,
    cst.Dict: Interpreter._eval_dict,
    cst.ListComp: Interpreter._eval_comprehension,
    cst.GeneratorExp: Interpreter._eval_comprehension,
    cst.SetComp: Interpreter._eval_comprehension,
    cst.IfExp: Interpreter._eval_ifexp,
    cst.Subscript: Interpreter.subscript,
    cst.Await: Interpreter._eval_await,
    cst.Comparison: Interpreter.compare,
    cst.BooleanOperation: Interpreter._eval_boolop,
    cst.Lambda: Interpreter._eval_lambda,
}
_LOGIT_NAME = re.compile(r"logit|cls|class|score", re.I)
_NOT_BIAS = re.compile(r"pos|embed|token|mask|temperature|noise|prompt|query|anchor", re.I)
_GENERIC = frozenset({"x", "out", "net", "h", "y", "inputs", "output", "outputs", "layer", "m", "module"})
_GATES = ("input", "forget", "cell", "output")
_BUILTINS = frozenset(
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


def _numpy_array(q: str, args: list[Value], kwargs: dict[str, Value]) -> bool:
    if q in ("numpy.zeros", "numpy.ones", "numpy.full"):
        return True
    if q == "numpy.random.randn":
        return bool(args)
    if q == "numpy.random.normal":
        return len(args) > 2 or "size" in kwargs
    return False


def _gathers(e: cst.Subscript) -> bool:
    """``t[:, idx]``: an index that is not a literal looks rows up (a table, not a bias)."""
    for el in e.slice:
        if isinstance(el.slice, cst.Index):
            v = el.slice.value
            literal = isinstance(v, (cst.Integer, cst.SimpleString, cst.UnaryOperation, cst.Ellipsis))
            if not literal and not (isinstance(v, cst.Name) and v.value == "None"):
                return True
    return False


def _is_matrix(shape: Optional[tuple[Optional[int], ...]]) -> bool:
    """Two or more axes known to be longer than 1: a weight, table or embedding, not a bias
    vector (a per-head bias ``[1, heads, 1, groups]`` of unknown sizes is not ruled out)."""
    return shape is not None and sum(1 for n in shape if n is not None and n > 1) >= 2


def _is_vector(shape: Optional[tuple[Optional[int], ...]]) -> bool:
    return shape is not None and not _is_matrix(shape)


def _runs_without_grad(node: cst.FunctionDef) -> bool:
    """``@torch.no_grad()`` / ``@torch.inference_mode()`` on the function."""
    for d in node.decorators:
        dec = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        if (dotted(dec) or "").rsplit(".", 1)[-1] in ("no_grad", "inference_mode"):
            return True
    return False


def _reuse_mode(v: Value) -> str:
    """``reuse=`` of a variable scope: "" (creates), "reuse" (looks up), "maybe" (AUTO_REUSE or
    decided at run time: the same line may create or fetch)."""
    if isinstance(v, Const):
        return "reuse" if v.value is True else ""
    return "maybe"


def _known(q: str) -> bool:
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
            )
        )
        or q in T.SEQUENTIAL
    )


def _is_layer_class(ci: ClassInfo) -> bool:
    return any(isinstance(b, QName) and b.name in T.LAYER_BASES for b in ci.bases)


def _is_class(q: str) -> bool:
    return q.rsplit(".", 1)[-1][:1].isupper()


def _is_static(node: cst.FunctionDef) -> bool:
    return any(dotted(d.decorator) == "staticmethod" for d in node.decorators)


def _is_bias_like(v: Value) -> bool:
    if isinstance(v, Var):
        return v.role not in ("weight", "scale")
    return isinstance(v, ParamRef) and isinstance(v.owner, Var) and v.owner.role not in ("weight", "scale")


def _kind_of_class(cls: Value) -> tuple[Optional[LayerKind], Optional[str]]:
    classes = cls.items if isinstance(cls, ListV) else [cls]
    kinds: list[str] = []
    api = None
    for c in classes:
        if isinstance(c, QName) and c.name in T.LAYERS:
            kinds.append(T.LAYERS[c.name].kind)
            api = api or c.name
        elif isinstance(c, QName) and c.name.startswith("torch.nn."):
            word = c.name.rsplit(".", 1)[-1].lower()
            for w, kind in _GATE_WORDS:
                if w in word:
                    kinds.append(kind)
                    break
    if kinds and len(set(kinds)) == 1:
        return kinds[0], api  # type: ignore[return-value]
    return None, api


def _target_name(t: cst.BaseExpression) -> str:
    if isinstance(t, cst.Tuple) and t.elements:
        return dotted(t.elements[-1].value) or "m"
    return dotted(t) or "m"


def _comp_fors(f: cst.CompFor) -> Iterator[cst.CompFor]:
    cur: Optional[cst.CompFor] = f
    while cur is not None:
        yield cur
        cur = cur.inner_for_in


def _var_position(var: Var) -> tuple[int, int]:
    if var.consumed_in is not None:
        frames = var.consumed_in.ancestors()
        for frame, line, col in var.chain:
            if frame in frames:
                return line, col
    _, line, col = var.chain[-1]
    return line, col


def _comment(line: str) -> str:
    i = line.find("#")
    return line[i + 1 :].strip() if i >= 0 else ""
