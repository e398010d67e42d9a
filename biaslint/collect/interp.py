"""The collector: a small abstract interpreter over one file's libcst tree.

It never runs code. It follows names, attributes, containers and calls just far enough to
know, for every bias, the layer it belongs to, its initial value, and what its output
feeds. Helpers and model classes defined in the file are inlined at their call sites (depth
limited), so ``bias_variable(shape)`` is typed by how its result is used and a block's
layers see the forward() that applies them. All framework knowledge comes from table.py.

This module is the driver (which functions and classes run, inlining, the work budget, the
drafts turned into sites); the interpreter's other concerns are mixins, each readable alone:
flow.py (statements), expressions.py (values), dispatch.py (calls), adapters.py (framework
adapters); recognise.py holds the limits and small predicates they share. Whatever cannot
be known is ``UNKNOWN``, which every part accepts.

Termination is by construction: every statement and call costs one step of a per-file
budget (``MAX_STEPS``), inlining is depth-limited and never re-enters a function body that
is already running (by its syntax node, so closures and classes defined in a recursive
function count too), a class statement is indexed once, and containers are capped. When the
budget runs out the sites found so far are kept and the file is noted (``--verbose``).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import libcst as cst

from biaslint.collect import project
from biaslint.collect.adapters import Frameworks
from biaslint.collect.dispatch import Dispatch
from biaslint.collect.drafts import Draft, looks_like_bias, resolve_outputs, to_site
from biaslint.collect.evaluate import (
    tensors_in,
    vars_in,
)
from biaslint.collect.expressions import Expressions
from biaslint.collect.flow import Statements
from biaslint.collect.locate import Locator, Stmt, body_of
from biaslint.collect.names import AliasTable
from biaslint.collect.recognise import (
    FILTER_WORDS,
    FORWARDED,
    LOGIT_NAME,
    MAX_DEPTH,
    MAX_ENTRY_STEPS,
    MAX_FOREIGN_MODULES,
    MAX_STEPS,
    BudgetExhausted,
    ClassInfo,
    EntryExhausted,
    FuncInfo,
    ModuleContext,
    comment,
    is_layer_class,
    is_matrix,
    is_static,
    known,
    runs_without_grad,
    var_position,
)
from biaslint.collect.values import (
    UNKNOWN,
    ClassV,
    DictV,
    Frame,
    FuncV,
    LayerObj,
    ListV,
    ModObj,
    QName,
    SeqObj,
    Tensor,
    Value,
    Var,
)
from biaslint.model import BiasSite


class Interpreter(Statements, Expressions, Dispatch, Frameworks):
    """One file's abstract interpretation: ``run()`` returns its sites, whether weights are
    loaded later, and hints (loss kinds, an exhausted budget)."""

    def __init__(
        self, path: str, source: str, module: cst.Module, tree: ast.Module, project: bool = False
    ) -> None:
        self.path = path
        self.loc = Locator(source, tree)
        self.module = module
        self.tree = tree
        self.aliases = AliasTable()
        self.module_frame = Frame("<module>", None, False)
        self.home = (self.loc, self.aliases, self.module_frame)  # this file's, when back from another
        self.frame = self.module_frame
        self.stmt: Optional[Stmt] = None
        self.depth = 0
        self.active: list[FuncInfo] = []
        self.functions: list[FuncInfo] = []
        self.classes: list[ClassInfo] = []
        self.drafts: dict[tuple[int, int, Optional[tuple[int, int]]], Draft] = {}
        # project-aware analysis: other modules being followed, and where their sites report
        self.project = project
        self.foreign: dict[str, Optional[ModuleContext]] = {}
        self.ctx: Optional[ModuleContext] = None  # the other module whose code is running
        self.anchor: Optional[tuple[int, int]] = None  # the call in this file that reached it
        self.via: Optional[str] = None  # the helper or class of the other module
        self._project_names: dict[tuple[str, str], Value] = {}
        self.vars: list[Var] = []
        self.escaped: list[tuple[Var, FuncInfo]] = []
        self.seqs: list[SeqObj] = []
        self.arg_scopes: list[tuple[frozenset[str], dict[str, Value]]] = []
        self.no_grad = 0
        self.scope_inits: list[Optional[Value]] = []  # ``variable_scope(initializer=...)``, innermost last
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
        self.guessed_receiver = False  # the call being dispatched was resolved by a guess
        self.steps = 0
        self.max_steps = MAX_STEPS
        self.entry_limit = MAX_STEPS  # steps allowed to the entry point being interpreted

    def run(self) -> tuple[list[BiasSite], bool, dict[str, Any]]:
        try:
            self._run()
        except BudgetExhausted:
            self.hints["budget_exhausted"] = self.max_steps
            self.ghost = 0
        return self.finish(), self.weights_loaded, self.hints

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.entry_limit:
            raise EntryExhausted if self.steps <= self.max_steps else BudgetExhausted

    @contextmanager
    def entry(self) -> Iterator[None]:
        """One entry point (the module body, a function or class read on its own) gets at most
        ``MAX_ENTRY_STEPS``, so one runaway entry cannot starve the others of the file budget."""
        self.entry_limit = min(self.max_steps, self.steps + MAX_ENTRY_STEPS)
        try:
            yield
        except EntryExhausted:
            self.hints["entries_cut"] = self.hints.get("entries_cut", 0) + 1
            self.ghost = 0
            self.frame = self.module_frame
        finally:
            self.entry_limit = self.max_steps

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
        with self.entry():
            for st in module_stmts:
                if self._always(st.node) or self._interesting(st):
                    self.exec_stmt(st)
        for info in self.functions:
            if not info.seen and info.cls is None:
                with self.entry():
                    self.call_standalone(info, None)
        for ci in self.classes:
            obj = ci.instance
            if obj is None:
                obj = ModObj(ci)
                init = ci.method("__init__")
                if init is not None:
                    with self.entry():
                        self.call_standalone(init, obj)
            build = ci.method("build")
            if build is not None and not obj.applied:
                obj.applied = True
                if not build.seen:
                    with self.entry():
                        self.call_standalone(build, obj)
            for m in ci.methods.values():
                if not m.seen:
                    with self.entry():
                        self.call_standalone(m, obj)
        for seq in self.seqs:
            if not seq.applied:
                self.frame = self.module_frame
                with self.entry():
                    out = self.apply_seq(seq, Tensor())
                    if seq.is_model and isinstance(out, Tensor):
                        act = self._loss_act(seq.loss)
                        self.consume(out, "loss" if act else "model", act, None)

    def _interesting(self, st: Stmt) -> bool:
        text = self.loc.text(st.first, st.last)
        return "bias" in text or FILTER_WORDS.search(text) is not None  # ``if use_bias: y += b``

    @staticmethod
    def _always(node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine):
            return any(isinstance(s, (cst.Import, cst.ImportFrom, cst.Assign)) for s in node.body)
        return isinstance(node, (cst.If, cst.Try))

    def _index_class(self, st: Stmt, ctx: Optional[ModuleContext] = None) -> ClassInfo:
        node = st.node
        assert isinstance(node, cst.ClassDef)
        known = self._class_index.get(id(node))
        if known is not None:  # a class statement run again (a factory called twice, recursion)
            return known
        bases = [self.project_value(self.eval(a.value)) for a in node.bases]
        ci = ClassInfo(node.name.value, bases)
        twin = st.twins[0]
        assert isinstance(twin, ast.ClassDef)
        for sub in self.loc.pair(body_of(node), twin.body):
            if isinstance(sub.node, cst.FunctionDef) and self._interesting(sub):
                fi = FuncInfo(sub.node.name.value, sub.node, sub, ci, ctx=ctx, loc=self.loc if ctx else None)
                ci.methods[fi.name] = fi
                if ctx is None:  # another module's classes are followed, never read on their own
                    self.functions.append(fi)
        if ctx is None:
            self.classes.append(ci)
        self._class_names.add(ci.name)
        self._class_index[id(node)] = ci
        return ci

    # ------------------------------------------------------------------ project modules
    def project_value(self, v: Value, depth: int = 0) -> Value:
        """A name imported from another module of the project (``from .nn import conv_nd``): its
        function or class there, when the analysis is project-aware; else ``v`` unchanged."""
        if not self.project or not isinstance(v, QName) or known(v.name) or "." not in v.name or depth > 4:
            return v
        home = self.ctx.path if self.ctx is not None else self.path
        cached = self._project_names.get((home, v.name))
        if cached is not None:
            return cached
        found = self._project_value(v, home, depth)
        self._project_names[(home, v.name)] = found
        return found

    def _project_value(self, v: QName, home: str, depth: int) -> Value:
        module, _, attr = v.name.rpartition(".")
        path = project.resolve(home, module or ".")
        ctx = self._module_context(path) if path else None
        if ctx is None:
            return v
        env = ctx.module_frame.env
        if attr not in env:
            env[attr] = v  # a cycle through re-exports resolves to the name itself
            env[attr] = self._project_name(ctx, attr, v, depth)
        return env[attr]

    def _project_name(self, ctx: ModuleContext, attr: str, v: Value, depth: int) -> Value:
        """A top-level function or class of ``ctx`` (its text parsed now), or what ``ctx``
        re-exports under that name (``from .mlp import Mlp`` in a package's ``__init__``)."""
        if attr in ctx.index.defs:
            seg = ctx.index.segment(attr)
            if seg is None:
                return v
            with self.in_module(ctx, seg.loc):
                self.frame = ctx.module_frame
                st = next(iter(seg.loc.pair(seg.module.body, seg.tree.body)), None)
                if st is None or not self._interesting(st):
                    return v
                node = st.node
                if isinstance(node, cst.FunctionDef):
                    return FuncV(FuncInfo(node.name.value, node, st, ctx=ctx, loc=seg.loc))
                if isinstance(node, cst.ClassDef):
                    return ClassV(self._index_class(st, ctx))
            return v
        for cand in ctx.aliases.candidates(attr):
            with self.in_module(ctx, None):
                found = self.project_value(QName(cand), depth + 1)
            if not isinstance(found, QName):
                return found
        return v

    def _module_context(self, path: str) -> Optional[ModuleContext]:
        if path in self.foreign:
            return self.foreign[path]
        self.foreign[path] = None  # a module importing this one back sees nothing (no cycle)
        if len(self.foreign) > MAX_FOREIGN_MODULES or os.path.abspath(path) == os.path.abspath(self.path):
            return None
        index = project.load(path)
        if index is None:
            return None
        ctx = ModuleContext(path, index.name, index, AliasTable(), Frame(f"<{index.name}>", None, False))
        for imp in index.imports:
            ctx.aliases.add_ast_import(imp)
        self.foreign[path] = ctx
        return ctx

    @contextmanager
    def in_module(self, ctx: Optional[ModuleContext], loc: Optional[Locator]) -> Iterator[None]:
        """Run with another module's imports and globals and the lines of the part of it being
        read (or back in this file's)."""
        saved = self.ctx, self.loc, self.aliases, self.module_frame, self.frame, self.stmt
        self.ctx = ctx
        if ctx is not None:
            self.aliases, self.module_frame = ctx.aliases, ctx.module_frame
            self.loc = loc if loc is not None else self.loc
        else:
            self.loc, self.aliases, self.module_frame = self.home
        try:
            yield
        finally:
            self.ctx, self.loc, self.aliases, self.module_frame, self.frame, self.stmt = saved

    def call_standalone(self, info: FuncInfo, self_obj: Optional[Value]) -> None:
        if info.ctx is not None:
            return  # another module's code (an inherited method) is read when that module is
        root = info.cls.name if info.cls else info.name
        frame = Frame(root, None, False, func=info.qual)
        info.seen = True
        self._bind_params(info, frame, self_obj, [], {}, standalone=True)
        self._run_body(info, frame)
        # what a reusable layer class returns feeds a model we cannot see
        sink, act = "return", None
        if info.cls is not None and is_layer_class(info.cls):
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
        if info.ctx is not None and info.ctx.index.barren.get(info.qual, 0) >= 2 and self.anchor is None:
            # a helper of another module that twice gave this file nothing (it builds and
            # applies its own layers): its output tensor is all that matters here
            out = Tensor()
            for a in [*args, *kwargs.values()]:
                if isinstance(a, Tensor):
                    self.consume(a, "layer", None, None)
            return out
        drafts_before = len(self.drafts)
        info.seen = True
        info.inlined_calls += 1
        caller = self.frame
        frame = Frame(caller.root, caller, True, scopes=list(caller.scopes), func=info.qual)
        self._bind_params(info, frame, self_obj, args, kwargs, standalone=False)
        saved_stmt = self.stmt
        # into another module (or another part of it, parsed on its own), or back into this file
        entering = info.ctx is not self.ctx or (info.ctx is not None and info.loc is not self.loc)
        outermost = info.ctx is not None and self.anchor is None
        if outermost and info.ctx is not None:
            # code of another module of the project: its sites report at this call
            self.anchor = self.position(call) if call is not None else self._stmt_position()
            self.via = f"{info.ctx.name}.{info.qual}"
        try:
            if entering:
                with self.in_module(info.ctx, info.loc):
                    self._run_body(info, frame)
            else:
                self._run_body(info, frame)
        finally:
            if outermost:
                self.anchor = self.via = None
        self.stmt = saved_stmt
        result: Value = UNKNOWN
        for ret in frame.returns:
            if ret is not UNKNOWN:
                result = ret
                break
        if outermost:
            # made there and returned here (a bias helper, a layer factory): a site of this
            # file; what the other module builds and keeps (a class's layers) is that module's
            for v in vars_in(result):
                v.escaped = True
            layers = list(_layers_in(result))
            for layer in layers:
                layer.draft.set(escaped=True)
            new = list(self.drafts.values())[drafts_before:]
            gave = layers or next(vars_in(result), None) is not None or any(_belongs_here(d) for d in new)
            if not gave and info.ctx is not None:
                barren = info.ctx.index.barren  # known per process, for every file that follows it
                barren[info.qual] = barren.get(info.qual, 0) + 1
        if call is not None:
            line, col = self.position(call)
            for v in vars_in(result):
                if v.chain[-1][0] is frame:
                    v.chain.append((caller, line, col))
        return result

    def _stmt_position(self) -> tuple[int, int]:
        if self.stmt is None:
            return 0, 0
        twin = self.stmt.twins[0]
        return twin.lineno, twin.col_offset

    def _run_body(self, info: FuncInfo, frame: Frame) -> None:
        saved = self.frame, self.stmt
        self.frame = frame
        self.depth += 1
        self.active.append(info)
        no_grad = runs_without_grad(info.node)
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
        if info.cls is not None and plist and not is_static(info.node):
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

    def finish(self) -> list[BiasSite]:
        called = {id(info) for info in self.functions if info.inlined_calls}
        dropped = {id(v) for v, info in self.escaped if id(info) in called}
        by_key: dict[tuple[int, int, Any], list[Draft]] = {}
        for var in self.vars:
            if id(var) in dropped:
                continue
            if var.role in ("weight", "scale", "table"):
                continue
            if var.role is None and (not looks_like_bias(var.names) or is_matrix(var.shape)):
                continue  # never used as a bias; a name alone is no evidence for a matrix
            if var.draft.attrs.get("via") and not var.escaped:
                continue  # made and applied inside another module: a site of that module
            d = var.draft
            d.attrs.setdefault("evidence", "name")
            d.line, d.col = var_position(var)
            if d.layer_kind == "unknown" and var.role == "offset":
                d.layer_kind = "norm"
            d.attrs.setdefault("consumers", 0)
            d.set(trainable=d.attrs.get("trainable"))
            by_key.setdefault((d.line, d.col, d.attrs.get("sub")), []).append(d)
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
        merged.extend(d for d in self.drafts.values() if _belongs_here(d))
        _reinit_by_class(merged, self.tree)
        sites = []
        for d in sorted(merged, key=lambda d: (d.line, d.col)):
            if d.line <= 0:
                continue
            if d.ref is not None and d.ref.var is not None and d.ref.var.role in ("weight", "scale"):
                continue
            if self.weights_loaded:
                d.set(loaded=True)
            sites.append(to_site(d, self.path, comment(self.loc.line_text(d.line))))
        self._logits_from_file_loss(sites)
        return sites

    def _logits_from_file_loss(self, sites: list[BiasSite]) -> None:
        """A logits layer whose loss is computed elsewhere (another method, a dict of outputs)
        takes the activation of the file's only kind of classification loss."""
        losses = [a for a in ("sigmoid", "softmax") if self.hints.get(f"{a}_loss")]
        if len(losses) != 1:
            return
        for s in sites:
            if s.output_layer and s.activation == "none" and s.layer_name and LOGIT_NAME.search(s.layer_name):
                s.activation = losses[0]


def _reinit_by_class(drafts: list[Draft], tree: ast.Module) -> None:
    """``for m in self.modules(): if isinstance(m, nn.Linear): nn.init.constant_(m.bias, -1)``
    in a model class, or the same in a function given to ``model.apply(fn)``: a re-init of every
    layer of that class that the model builds. Its layers are listed (``ref_lines``); when the
    hidden ones all feed one activation, so does the re-init."""
    built = [d for d in drafts if d.ref is None and d.ref_module is None]
    applied: Optional[dict[str, set[str]]] = None
    for d in drafts:
        module = d.ref_module
        if module is None or d.ref is not None or not module.api:
            continue
        same_class = [b for b in built if b.api == module.api and b.line != d.line]
        targets = [b for b in same_class if b.scope == d.scope]
        if not targets:  # a function: the models it is applied to, if the file shows them
            applied = _applications(tree) if applied is None else applied
            owners = applied.get(d.scope.rsplit(".", 1)[-1], set())
            targets = [b for b in same_class if b.scope in owners]
        if not targets:
            continue
        d.attrs["ref_drafts"] = targets
        resolved = [resolve_outputs(t) for t in targets]
        hidden = {act for act, out in resolved if out is False}
        if len(hidden) == 1:  # it sets hidden layers' biases (and maybe the output layer's too)
            d.resolved = (hidden.pop(), False)
            d.set(also_output=any(out is not False for _, out in resolved) or None)


def _applications(tree: ast.Module) -> dict[str, set[str]]:
    """function name -> the classes whose instances get ``.apply(function)`` in this file:
    ``self.apply(fn)`` inside a class, or ``m.apply(fn)`` with ``m = SomeClass(...)``."""
    made: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        made[t.id] = func.id
    out: dict[str, set[str]] = {}

    def visit(node: ast.AST, cls: Optional[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name)
                continue
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "apply"
                and len(child.args) == 1
                and isinstance(child.args[0], ast.Name)
                and isinstance(child.func.value, ast.Name)
            ):
                receiver = child.func.value.id
                owner = cls if receiver == "self" else made.get(receiver)
                if owner:
                    out.setdefault(child.args[0].id, set()).add(owner)
            visit(child, cls)

    visit(tree, None)
    return out


def _layers_in(v: Value, depth: int = 0) -> Iterator[LayerObj]:
    if isinstance(v, LayerObj):
        yield v
    elif isinstance(v, (ListV, SeqObj)) and depth < 4:
        for item in v.items:
            yield from _layers_in(item, depth + 1)


def _belongs_here(d: Draft) -> bool:
    """A draft made while following another module is this file's site only when the layer
    came back to this file, or when it re-initialises a layer of this file (``zero_module``)."""
    if not d.attrs.get("via"):
        return True
    if d.attrs.get("escaped"):
        return True
    ref = d.ref
    return ref is not None and (not ref.attrs.get("via") or bool(ref.attrs.get("escaped")))
