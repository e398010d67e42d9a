"""Call dispatch: which callable a call reaches (a framework API from table.py, a function
or class of the file, a method of a known object) and what it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from biaslint.collect import table as T
from biaslint.collect.drafts import looks_like_bias
from biaslint.collect.evaluate import (
    MATH,
    act_name,
    flatten_items,
    init_from_spec,
    tensors_in,
)
from biaslint.collect.names import canonical, dotted
from biaslint.collect.recognise import (
    FORWARDED,
    MAX_DEPTH,
    MAX_GATES,
    MAX_ITEMS,
    TOTAL,
    is_bias_like,
    is_class,
    reuse_mode,
)
from biaslint.collect.values import (
    UNKNOWN,
    ActObj,
    AnyModule,
    Buffer,
    ChainV,
    ClassV,
    Const,
    DictV,
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
    ScopeV,
    SeqObj,
    SinkObj,
    Sym,
    Tensor,
    Value,
    Var,
    number,
)
from biaslint.model import Init

if TYPE_CHECKING:
    from biaslint.collect.interp import Interpreter


class Dispatch:
    """Mixin of ``Interpreter``: its methods take the interpreter as ``self``."""

    assigns_values: bool
    guessed_receiver: bool
    depth: int
    numpy_loaded: bool
    weights_loaded: bool

    def call(self: Interpreter, c: cst.Call) -> Value:
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
        return self.call_value(fv, c, args, kwargs)

    def call_value(
        self: Interpreter, fv: Value, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        """Call the value ``fv`` with evaluated arguments (``c`` is the call it is made at)."""
        for _ in range(8):  # ``partial(partial(f, a), b)(c)``: unwrap the bound arguments
            if not isinstance(fv, PartialV):
                break
            args, kwargs, fv = [*fv.args, *args], {**fv.kwargs, **kwargs}, fv.func
        if isinstance(fv, QName) and self.project and self.ctx is None:
            # ``conv_nd(...)`` imported from the project's nn.py; one level deep: what a helper of
            # another module calls in turn is that module's business (and would cost a lot)
            fv = self.project_value(fv)
        if _unseen_callable(fv) and (dotted(c.func) or "").rsplit(".", 1)[-1] in T.NORM_FACTORIES:
            self.guessed_receiver = True
            try:  # ``norm_layer(dim)`` with the class passed in from elsewhere
                return self.make_layer("?.norm_layer", T.GUESSED_NORM, c, args, kwargs)
            finally:
                self.guessed_receiver = False
        if isinstance(fv, QName):
            self.guessed_receiver = fv.guessed
            try:
                return self.call_qname(fv.name, c, args, kwargs)
            finally:
                self.guessed_receiver = False
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
        if isinstance(fv, ChainV):
            return self.call_chain(fv, c, args, kwargs)
        out = Tensor() if any(isinstance(v, Tensor) for v in args) else UNKNOWN
        for v in args:
            if isinstance(v, Tensor):
                self.consume(v, "weak", None, out if isinstance(out, Tensor) else None)
        return out

    def call_chain(
        self: Interpreter, ch: ChainV, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        """One link of ``LinearWrap(x).Conv2D('c0', 32, 3).apply(f)...()``."""
        if not ch.path:
            return ch.x  # ``(...)()``: the chain's tensor
        if ch.path in T.CHAIN_ENDS:
            return ch.x
        if ch.path in T.CHAIN_NOOPS:
            return ChainV(ch.x, ch.wrapper)
        if ch.path in T.CHAIN_METHODS:
            if not args:
                return UNKNOWN
            fn, rest = args[0], args[1:]
            pos = min(T.CHAIN_METHODS[ch.path], len(rest))
            out = self.call_value(fn, c, [*rest[:pos], ch.x, *rest[pos:]], kwargs)
        else:
            lib, namespaces = T.CHAIN_WRAPPERS[ch.wrapper]
            head, _, tail = ch.path.partition(".")
            q = canonical(f"{namespaces[head]}.{tail}" if head in namespaces and tail else f"{lib}.{ch.path}")
            spec = T.LAYERS.get(q)
            pos = min(spec.input_pos if spec is not None and spec.functional else 0, len(args))
            out = self.call_qname(q, c, [*args[:pos], ch.x, *args[pos:]], kwargs)
        if isinstance(ch.x, Tensor) and not isinstance(out, Tensor):
            out = Tensor()  # an op we do not know (pooling, dropout): the chain goes on
        return ChainV(out, ch.wrapper)

    def call_lambda(self: Interpreter, lam: LambdaV, args: list[Value]) -> Value:
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

    def call_qname(
        self: Interpreter, q: str, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        if q in T.LAYERS:
            return self.make_layer(q, T.LAYERS[q], c, args, kwargs)
        if q in T.CHAIN_WRAPPERS:
            return ChainV(args[0] if args else UNKNOWN, q)
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
                if is_bias_like(b) and isinstance(x, Tensor)
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
                self.consume(x, "norm", T.NORMALIZERS.get(q, T.UNKNOWN_NORM), out)
            return out
        if q in T.ACTIVATION_BY_ARG:
            name = args[0] if args else kwargs.get("activation", UNKNOWN)
            return ActObj(act_name(name) or "unknown")
        if q in T.ACTIVATIONS:
            if is_class(q):
                return ActObj(T.ACTIVATIONS[q])
            return self.activate(T.ACTIVATIONS[q], args[0] if args else kwargs.get("features", UNKNOWN))
        if q in T.NORMALIZERS:
            return self.activate_norm(T.NORMALIZERS[q], args[0] if args else UNKNOWN)
        if q in T.LOSSES:
            if is_class(q):
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
            if is_class(q):
                return SinkObj("transparent", how)
            if args and isinstance(args[0], Var) and how == "reshape":
                return args[0]  # ``b = tf.reshape(b, [1, n, 1, 1])``: the same parameter
            return self.passthrough(args[0] if args else UNKNOWN, how)
        if q in T.ARG_SCOPES:
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
                reuse_mode(kwargs.get("reuse", Const(None))),
                kwargs.get(
                    "initializer", args[3] if len(args) > 3 and q.endswith("variable_scope") else None
                ),
            )
        if q in T.INPUTS:
            return Tensor()
        if q in MATH:
            n = number(args[0]) if args else None
            try:
                return Const(MATH[q](n)) if n is not None else UNKNOWN
            except (ValueError, OverflowError, ZeroDivisionError):
                return UNKNOWN
        if q in T.SUBMODULE_HANDLES:  # keras_applications: the Keras modules, passed in as kwargs
            return ListV([QName(m) for m in T.SUBMODULE_HANDLES[q]])
        if q in T.PARTIALS and args:
            return PartialV(args[0], args[1:], dict(kwargs))
        if q in T.MODULE_INIT_FUNCS:
            return self.init_module(T.MODULE_INIT_FUNCS[q], q, c, args, kwargs)
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
            except (TypeError, ValueError, OverflowError):  # float(10**400) raises in Python too
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

    def call_method(
        self: Interpreter, m: Method, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
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
                return Sym(TOTAL)
            if name == "detach" and isinstance(obj, ParamRef):
                return ParamRef(obj.owner, obj.which, obj.gate, True, obj.view)  # outside autograd
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
        if isinstance(obj, Const) and isinstance(obj.value, str) and name == "format":
            # ``"bias_ih_l{}".format(i)``: known arguments filled in, unknown ones as ``*``
            filled = [str(a.value) if isinstance(a, Const) else "*" for a in args]
            try:
                return Const(obj.value.format(*filled))
            except (IndexError, KeyError, ValueError):
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
        if isinstance(obj, ModObj) and name == "register_buffer" and args:
            key = args[0]
            if isinstance(key, Const) and isinstance(key.value, str):
                # a buffer in any branch is module state, never a parameter (ghost or not)
                obj.cls.buffers.add(key.value)
                if not self.ghost:
                    obj.attrs[key.value] = Buffer(key.value)
            return UNKNOWN
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
            if name in ("add", "add_") and args and is_bias_like(args[0]):
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


def _unseen_callable(fv: Value) -> bool:
    """A callee we cannot see: a parameter, an attribute of an unknown object, ``None``."""
    return (
        fv is UNKNOWN
        or (isinstance(fv, Const) and fv.value is None)
        or (
            isinstance(fv, Method)
            and not isinstance(fv.obj, (ModObj, LayerObj, SeqObj, Tensor, ListV, DictV))
        )
    )
