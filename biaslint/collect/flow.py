"""Statements and flow: bodies, branches, loops, ``with`` blocks, bindings.

A branch that a constant rules out runs as a *ghost*: its sites exist, its effects do not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Optional, Union

import libcst as cst

from biaslint.collect.evaluate import (
    vars_in,
)
from biaslint.collect.locate import Stmt, body_of
from biaslint.collect.names import dotted
from biaslint.collect.recognise import (
    GENERIC_NAMES,
    KEPT_ON_JOIN,
    MAX_ITEMS,
    FuncInfo,
    target_name,
)
from biaslint.collect.values import (
    UNKNOWN,
    ActObj,
    AnyModule,
    ArgScopeV,
    ClassV,
    Const,
    DictV,
    FuncV,
    LayerObj,
    ListV,
    Method,
    ModObj,
    ParamName,
    ParamRef,
    QName,
    ScopeV,
    SeqObj,
    Tensor,
    Value,
    Var,
)
from biaslint.model import Init

if TYPE_CHECKING:
    from biaslint.collect.interp import Interpreter


class Statements:
    """Mixin of ``Interpreter``: its methods take the interpreter as ``self``."""

    stmt: Optional[Stmt]
    ghost: int
    in_except: int
    no_grad: int

    def exec_body(
        self: Interpreter, node: cst.CSTNode, twins: Sequence[ast.stmt], filtered: bool = False
    ) -> None:
        for st in self.loc.pair(body_of(node), twins):
            if filtered and not isinstance(st.node, cst.SimpleStatementLine) and not self._interesting(st):
                continue
            self.exec_stmt(st)

    def exec_stmt(self: Interpreter, st: Stmt) -> None:
        self.tick()
        node = st.node
        self.stmt = st
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.exec_small(small)
            return
        twin = st.twins[0]
        if isinstance(node, cst.FunctionDef):
            info = FuncInfo(
                node.name.value, node, st, outer=self.frame, ctx=self.ctx, loc=self.loc if self.ctx else None
            )
            self.frame.env[info.name] = FuncV(info)
            if self.frame is not self.module_frame and self.ghost == 0 and self.ctx is None:
                self.functions.append(info)
        elif isinstance(node, cst.ClassDef):
            self.frame.env[node.name.value] = ClassV(self._index_class(st))
        elif isinstance(node, cst.If):
            self.exec_if(node, twin)  # type: ignore[arg-type]
        elif isinstance(node, (cst.For, cst.While)):
            self.exec_loop(node, twin)  # type: ignore[arg-type]
        elif isinstance(node, cst.With):
            self.exec_with(node, twin)  # type: ignore[arg-type]
        elif isinstance(node, cst.Match) and isinstance(twin, ast.Match):
            for case, twin_case in zip(node.cases, twin.cases):  # every case may run
                self.exec_body(case, twin_case.body, True)
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

    def exec_small(self: Interpreter, small: cst.BaseSmallStatement) -> None:
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
            target = small.target
            if isinstance(cur, ParamRef) and cur.which != "weight" and isinstance(target, cst.Subscript):
                # ``b.data[:, 4] += math.log(p / (1 - p))``: a prior set in place on part of a bias
                self.reinit(cur, Init("other"), "torch.Tensor.__iadd__", small, through_init=False)
                return
            if isinstance(cur, ListV) and isinstance(rhs, ListV):
                if not self.ghost and len(cur.items) + len(rhs.items) <= MAX_ITEMS:
                    cur.items.extend(rhs.items)
                return
            self.bind(small.target, self.binop(small.operator, cur, rhs))
        elif isinstance(small, cst.Return) and small.value is not None:
            ret = self.eval(small.value)
            for v in vars_in(ret):
                v.used = True
            if not self.ghost:  # a return in a branch the condition rules out returns nothing
                self.frame.returns.append(ret)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            self.aliases.add_import(small)

    def exec_if(self: Interpreter, node: cst.If, twin: ast.If) -> None:
        narrowed = self.narrowing(node.test)
        test = self.eval(node.test) if narrowed is None else UNKNOWN
        live = None if not isinstance(test, Const) else bool(test.value)
        with self._narrowed(narrowed), self._ghost(live is False):
            self.exec_body(node, twin.body, True)
        orelse = node.orelse
        if orelse is None:
            return
        after_body = dict(self.frame.env) if live is None else {}
        with self._ghost(live is True):
            if isinstance(orelse, cst.If):
                if twin.orelse and isinstance(twin.orelse[0], ast.If):
                    self.exec_if(orelse, twin.orelse[0])
            else:
                self.exec_body(orelse, twin.orelse, True)
        # both branches may run: a name bound to a variable or layer in one of them keeps it
        # (``if use_bias: beta = get_variable(...) else: beta = tf.zeros(...)``)
        env = self.frame.env
        for name, v in after_body.items():
            if isinstance(v, KEPT_ON_JOIN) and not isinstance(env.get(name), KEPT_ON_JOIN):
                env[name] = v

    @contextmanager
    def _ghost(self: Interpreter, on: bool) -> Iterator[None]:
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
    def _narrowed(self: Interpreter, narrowed: Optional[tuple[str, Value]]) -> Iterator[None]:
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

    def exec_loop(
        self: Interpreter, node: Union[cst.For, cst.While], twin: Union[ast.For, ast.While]
    ) -> None:
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
            items = [AnyModule(target_name(target))]
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

    def exec_with(self: Interpreter, node: cst.With, twin: ast.With) -> None:
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
                self.scope_inits.append(v.initializer)
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
                del self.scope_inits[-pushed_scopes:]
            if pushed_args:
                del self.arg_scopes[-pushed_args:]

    def bind(self: Interpreter, target: cst.BaseExpression, v: Value) -> None:
        if isinstance(target, cst.Name):
            self.frame.env[target.value] = v
            self._name_value(v, target.value)
        elif isinstance(target, cst.Attribute):
            base = self.eval(target.value)
            if isinstance(base, ParamRef) and target.attr.value == "requires_grad" and isinstance(v, Const):
                self._freeze(base, bool(v.value))
            if isinstance(v, Var) and target.attr.value == "bias" and not isinstance(base, ModObj):
                # ``mi.bias = nn.Parameter(b.view(-1))``: a new bias put into a layer's slot
                v.role = v.role or "bias"
                v.draft.attrs.setdefault("evidence", "slot")
            if isinstance(base, ModObj):
                if not self.ghost:
                    base.attrs[target.attr.value] = v
                owner = dotted(target.value) or "self"
                self._name_value(v, f"{owner}.{target.attr.value}")  # ghost sites get names too
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

    def _freeze(self: Interpreter, ref: ParamRef, trainable: bool) -> None:
        """``layer.bias.requires_grad = False``: record it on the layer (BIA204)."""
        owner = ref.owner
        if ref.which == "any" and not trainable and not self.ghost:
            self.frozen.add(id(owner))  # ``for p in m.parameters(): p.requires_grad = False``
        draft = owner.draft if isinstance(owner, (LayerObj, Var)) else None
        if draft is not None:
            key = "kernel_trainable" if ref.which == "weight" else "trainable"
            draft.set(**{key: trainable})

    def _name_value(self: Interpreter, v: Value, name: str) -> None:
        if isinstance(v, Var):
            v.names.append(name)
            v.bindings.append(name)
            if v.draft.layer_name is None:
                v.draft.layer_name = self._scoped(name)
        elif isinstance(v, LayerObj) and v.draft.layer_name is None and name not in GENERIC_NAMES:
            v.draft.layer_name = name
        elif isinstance(v, SeqObj):
            for i, item in enumerate(v.items):
                self._name_value(item, f"{name}[{i}]")
        elif isinstance(v, DictV):
            v.name = v.name or name
            for k, item in v.items.items():
                self._name_value(item, f"{name}[{k!r}]")
        elif isinstance(v, ListV) and name not in GENERIC_NAMES:
            for i, item in enumerate(v.items):
                if isinstance(item, (Var, LayerObj)):
                    self._name_value(item, f"{name}[{i}]")

    def _scoped(self: Interpreter, name: str) -> str:
        scopes = [s for s in self.frame.scopes if s]
        return "/".join([*scopes, name]) if scopes else name
