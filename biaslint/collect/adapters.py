"""Framework adapters: layers, variables, initializers and re-inits become drafts here.

The knowledge is in table.py; this module turns a recognised call into a ``Draft`` and
records what the rules need about it (how it is known to be a bias, its grad context,
whether a get_variable is a lookup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import libcst as cst

from biaslint.collect import table as T
from biaslint.collect.drafts import Draft, looks_like_bias
from biaslint.collect.evaluate import (
    act_name,
    arg,
    const_init,
    init_from_spec,
    shape_of,
)
from biaslint.collect.names import dotted
from biaslint.collect.recognise import (
    FORWARDED,
    GATES,
    MAX_INSTANCES,
    NOT_BIAS,
    ClassInfo,
    is_matrix,
    is_vector,
    named_module,
    numpy_array,
)
from biaslint.collect.values import (
    UNKNOWN,
    ActObj,
    AnyModule,
    ArgScopeV,
    Const,
    DictV,
    FuncV,
    InitV,
    LambdaV,
    LayerObj,
    ListV,
    ModObj,
    ParamRef,
    PartialV,
    QName,
    SeqObj,
    SinkObj,
    Tensor,
    Value,
    Var,
    number,
    whole,
)
from biaslint.model import Init, LayerKind

if TYPE_CHECKING:
    from biaslint.collect.interp import Interpreter


class Frameworks:
    """Mixin of ``Interpreter``: its methods take the interpreter as ``self``."""

    numpy_loaded: bool

    def make_layer(
        self: Interpreter, q: str, spec: T.LayerSpec, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        kw = self._with_arg_scopes(q, kwargs)
        flag = arg(args, kw, spec.flag_pos, spec.flag) if spec.flag else UNKNOWN
        if spec.auto_off_with and (flag is UNKNOWN or (isinstance(flag, Const) and flag.value == "auto")):
            off = kw.get(spec.auto_off_with, Const(None))  # mmcv: bias='auto' is off under a norm
            flag = Const(True) if isinstance(off, Const) and off.value is None else off
            if not isinstance(off, Const) and not isinstance(off, DictV):
                flag = UNKNOWN if off is UNKNOWN else off
            elif isinstance(off, DictV):
                flag = Const(False)
        if spec.flag_default:
            enabled = not (isinstance(flag, Const) and not flag.value)
        else:
            enabled = isinstance(flag, Const) and bool(flag.value)
        init = spec.default
        given = spec.flag is not None and (
            spec.flag in kw or (spec.flag_pos is not None and len(args) > spec.flag_pos)
        )
        # ``bias=config.bias`` or ``nn.Linear(a, b, **kwargs)``: whether there is a bias at all is
        # decided at run time, so its init is unknown whatever initializer is passed
        flag_unknown = (given and not isinstance(flag, Const)) or (
            FORWARDED in kw and spec.flag is not None and flag is UNKNOWN
        )
        if spec.scoped_defaults and not self.arg_scopes and flag is UNKNOWN:
            flag_unknown = True  # tensorpack: ``argscope(Conv2D, use_bias=False)`` in a caller
        if flag_unknown:
            init = Init("other")
        raw_init = arg(args, kw, spec.init_pos, spec.init_arg) if spec.init_arg else UNKNOWN
        if flag_unknown:
            pass
        elif FORWARDED in kw and spec.init_arg and raw_init is UNKNOWN and enabled:
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
        own_act = spec.act_default
        if spec.act_arg and spec.act_arg in kw:
            own_act = act_name(kw[spec.act_arg])
        if spec.framework == "slim" and not enabled and spec.kind != "norm":
            norm = kw.get("normalizer_fn", UNKNOWN)
            if isinstance(norm, QName) and norm.name in T.NORMALIZERS:
                own_act = T.NORMALIZERS[norm.name]  # slim applies the normaliser before activation_fn
        if spec.kind == "recurrent" and own_act is None:
            own_act = "tanh"  # an RNN's output is already squashed; its biases feed gates
        draft = self.draft_at(c, spec.framework, q, spec.kind, init)
        draft.own_act = own_act
        if self.guessed_receiver:
            draft.set(receiver="guessed")
        if self.frame.func:  # the class (or function) that builds the layer: ``Attention``
            draft.attrs.setdefault("owner_class", self.frame.func.split(".", 1)[0])
        if weight is not None:
            draft.weight_init = weight
        if spec.forget_arg:
            fb = kw.get(spec.forget_arg, UNKNOWN)
            forget: Optional[float]
            if fb is not UNKNOWN and not isinstance(fb, Const):
                forget = None  # ``forget_bias=hparams.forget_bias``: decided at run time
            elif spec.forget_arg == "unit_forget_bias":
                forget = 0.0 if isinstance(fb, Const) and fb.value is False else 1.0
                if forget == 0.0 and draft.init.kind == "default":
                    draft.init = Init("zeros", 0.0)  # Keras's zeros, with no 1 added to the forget gate
            else:
                forget = number(fb) if number(fb) is not None else spec.forget_default
            draft.set(forget_bias=forget, forget_bias_from="argument" if fb is not UNKNOWN else "default")
            if spec.forget_arg == "forget_bias" and fb is not UNKNOWN:
                draft.set(gate="forget")
        units = arg(args, kw, spec.units_pos, spec.units_arg) if spec.units_arg else UNKNOWN
        size = whole(number(units))
        if size is not None:
            draft.set(shape=(size,))
        for key in ("name", "scope"):
            v = kw.get(key)
            if isinstance(v, Const) and isinstance(v.value, str) and draft.layer_name is None:
                draft.layer_name = self._scoped(v.value)
        layer = LayerObj(spec, q, draft, own_act, weight)
        if spec.returns_pair:
            return ListV([UNKNOWN, layer])
        if spec.functional and spec.input_pos:
            x = args[spec.input_pos] if len(args) > spec.input_pos else kw.get("inputs", UNKNOWN)
            return self.apply_layer(layer, x)
        if spec.functional:
            return self.apply_layer(layer, args[0] if args else kw.get("inputs", UNKNOWN))
        return layer

    def _with_arg_scopes(self: Interpreter, q: str, kwargs: dict[str, Value]) -> dict[str, Value]:
        if not self.arg_scopes:
            return kwargs
        merged: dict[str, Value] = {}
        for ops, kw in self.arg_scopes:
            if q in ops or T.SLIM_SAME.get(q, q) in ops:
                merged.update(kw)
        merged.update(kwargs)
        return merged

    def arg_scope(self: Interpreter, args: list[Value], kwargs: dict[str, Value]) -> Value:
        ops = args[0] if args else kwargs.get("list_ops_or_scope", UNKNOWN)
        if isinstance(ops, ArgScopeV):
            return ops
        names: set[str] = set()
        if isinstance(ops, QName):  # tensorpack: ``argscope(Conv2D, use_bias=False)``
            ops = ListV([ops])
        if isinstance(ops, ListV):
            for o in ops.items:
                if isinstance(o, QName):
                    names.add(o.name)
                    names.add(T.SLIM_SAME.get(o.name, o.name))
        return ArgScopeV([(frozenset(names), dict(kwargs))])

    def slim_repeat(
        self: Interpreter, q: str, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        if q.endswith("repeat") and len(args) >= 3 and isinstance(args[2], QName):
            layer_q = args[2].name
            rest = [args[0], *args[3:]]
        elif q.endswith("stack") and len(args) >= 3 and isinstance(args[1], QName):
            layer_q = args[1].name
            first = args[2].items[0] if isinstance(args[2], ListV) and args[2].items else UNKNOWN
            rest = [args[0], first]
        elif q.endswith("repeat") and len(args) >= 3 and isinstance(args[2], (FuncV, PartialV, LambdaV)):
            # ``slim.repeat(net, 5, block35, scale=0.17)``: the block runs here, under this
            # caller's arg_scopes (once is enough to see its sites)
            return self.call_value(args[2], c, [args[0], *args[3:]], kwargs)
        else:
            return Tensor()
        if layer_q not in T.LAYERS:
            return Tensor()
        return self.make_layer(layer_q, T.LAYERS[layer_q], c, rest, kwargs)

    def apply_layer(self: Interpreter, layer: LayerObj, x: Value) -> Value:
        out = Tensor(
            [layer.draft],
            kind=layer.spec.kind,
            own_act=layer.own_act,
            weight=layer.weight,
            biased=layer.draft.init.kind != "none",
        )
        if isinstance(x, Tensor):
            if layer.spec.kind == "norm":
                self.consume(x, "norm", T.NORMALIZERS.get(layer.api, T.UNKNOWN_NORM), out)
            else:
                self.consume(x, "layer", None, None)
        if not self.ghost:
            layer.draft.outputs.append((out, self.frame.inlined))
        if layer.spec.kind == "recurrent":
            return ListV([out, UNKNOWN, UNKNOWN]) if layer.spec.framework == "torch" else out
        return out

    def apply_seq(self: Interpreter, seq: SeqObj, x: Value) -> Value:
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

    def apply_module(self: Interpreter, obj: ModObj, args: list[Value], kwargs: dict[str, Value]) -> Value:
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

    def instantiate(
        self: Interpreter, ci: ClassInfo, args: list[Value], kwargs: dict[str, Value], c: cst.Call
    ) -> Value:
        ci.instances += 1
        if ci.instances > MAX_INSTANCES and ci.instance is not None:
            return ci.instance  # its sites are known by now; more copies only cost time
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

    def activate(self: Interpreter, act: str, x: Value) -> Value:
        if not isinstance(x, Tensor):
            return Tensor()
        out = Tensor()
        self.consume(x, "act", act, out)
        return out

    def activate_norm(self: Interpreter, kind: str, x: Value) -> Value:
        out = Tensor()
        if isinstance(x, Tensor):
            self.consume(x, "norm", kind, out)
        return out

    def sink(self: Interpreter, s: SinkObj, args: list[Value]) -> Value:
        x = args[0] if args else UNKNOWN
        if s.kind == "transparent":
            return self.passthrough(x, s.act or "pass")
        for t in args:
            if isinstance(t, Tensor):
                self.consume(t, s.kind, s.act, None)
        if s.kind == "loss" and s.act:
            self.hints[f"{s.act}_loss"] = True
        return Tensor()

    def passthrough(self: Interpreter, x: Value, how: str = "pass") -> Value:
        """An op that hands the tensor on ("pass") or reshapes it ("reshape")."""
        if not isinstance(x, Tensor):
            return Tensor() if x is UNKNOWN else UNKNOWN
        out = Tensor(kind=x.kind, kernel=x.kernel)
        self.consume(x, how, None, out)
        return out

    def consume(self: Interpreter, t: Tensor, kind: str, name: Optional[str], nxt: Optional[Tensor]) -> None:
        """Record what a tensor feeds. The first real use wins; an unrecognised call (a summary,
        ``tf.nn.moments``, ``tf.concat``) is a weak use that a later real one replaces."""
        if self.ghost:
            return
        if t.consumer is None or (t.consumer[0] == "weak" and kind != "weak"):
            t.consumer = (kind, name, nxt)
        elif kind not in ("weak", t.consumer[0]) and t.consumer[2] is not nxt:
            # a second, different use: the value flows on past the first consumer (the same
            # kind of use twice is usually two branches of an ``if``, not two paths)
            t.shared = True

    def kernel_op(self: Interpreter, kind: LayerKind | str, x: Tensor, w: Value) -> Tensor:
        self.consume(x, "layer", None, None)
        out = Tensor(kind=kind)  # type: ignore[arg-type]
        if isinstance(w, Var):
            w.role = w.role or "weight"
            out.kernel = w
        elif isinstance(w, ParamRef) and isinstance(w.owner, Var):
            w.owner.role = w.owner.role or "weight"
            out.kernel = w.owner
        return out

    def apply_bias(self: Interpreter, x: Tensor, b: Value, kind: Optional[LayerKind]) -> Tensor:
        out = Tensor()
        var = b.owner if isinstance(b, ParamRef) and isinstance(b.owner, Var) else b
        accepted = isinstance(var, Var) and self._consume_var(var, kind or x.kind, x, out)
        if accepted and x.biased and x.producers and isinstance(var, Var) and is_vector(var.shape):
            for d in x.producers:  # a per-channel vector added to a layer that has its own bias
                d.set(extra_bias=True)
        self.consume(x, "pass", None, out)
        return out

    def _consume_var(self: Interpreter, var: Var, kind: Optional[str], x: Tensor, out: Tensor) -> bool:
        """``x + var`` / ``bias_add(x, var)``: var is a bias when x is a kernel op's output, or
        when its name is a bias token; an added positional embedding, token or mask never is."""
        if var.role in ("weight", "scale", "table"):
            return False
        if any(NOT_BIAS.search(n) for n in var.names) or is_matrix(var.shape):
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
        if (
            first
            and len(var.chain) > 1
            and var.chain[0][0] is not self.frame
            and var.consumed_in is self.frame
        ):
            d.set(helper=var.chain[0][0].func)  # made in a function that returned it
        if by_op or kind == "norm":
            d.attrs["evidence"] = "use"
        else:
            d.attrs.setdefault("evidence", "name")
        if not self.ghost:
            d.outputs.append((out, self.frame.inlined))
        return True

    def create_var(
        self: Interpreter, q: str, fw: str, c: cst.Call, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
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
            elif q == "tensorflow.get_variable" and (scoped := self.scope_initializer()) is not None:
                init = self.init_of(scoped)  # the enclosing variable_scope's
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
        self.mark_via(d, self.sub_position(c))
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

    def scope_initializer(self: Interpreter) -> Optional[Value]:
        """The initializer of the innermost ``variable_scope`` that sets one."""
        return next((i for i in reversed(self.scope_inits) if i is not None), None)

    def _lookup_mode(self: Interpreter) -> str:
        """Whether ``get_variable`` here creates ("") or fetches ("reuse") a variable, or either."""
        if self.frame.reused or self.in_except or "reuse" in self.reuse:
            return "reuse"
        return "maybe" if "maybe" in self.reuse else ""

    def initializer(
        self: Interpreter, q: str, spec: T.InitSpec, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
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
            elif q.startswith("numpy.") and dt is None and numpy_array(q, args, kwargs):
                dtype = "float64"  # a NumPy array; a scalar (``randn()``) is a Python float
            elif q.startswith("numpy.random.") and shape is None:
                shape = ()
        return InitV(init, q, shape, dtype)

    def init_of(self: Interpreter, v: Value) -> Init:
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

    def reinit(
        self: Interpreter, target: Value, init: Init, api: str, c: cst.CSTNode, through_init: bool
    ) -> Value:
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
            # ``for p in m.parameters(): p.zero_()``: the weight and, if the layer has one, the bias
            if not isinstance(owner, (LayerObj, AnyModule)) or init.kind not in ("zeros", "constant", "ones"):
                return UNKNOWN
            owner.weight = init
            if isinstance(owner, LayerObj):
                owner.draft.weight_init = init
                if owner.draft.init.kind == "none":
                    return UNKNOWN
            target = ParamRef(owner, "bias", target.gate, target.data, target.view)
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
                    d.set(gate=GATES[target.gate] if target.gate < 4 else None)
        elif isinstance(owner, AnyModule):
            d = self.draft_at(c, framework, api, owner.kind or "unknown", init)
            d.ref_module = owner
            d.layer_name = d.layer_name or owner.name
            if target.gate is not None and owner.kind in (None, "recurrent"):
                d.layer_kind = "recurrent"
                d.set(gate="forget" if target.gate == 1 else GATES[target.gate % 4])
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

    def init_module(
        self: Interpreter,
        spec: T.ModuleInitSpec,
        q: str,
        c: cst.Call,
        args: list[Value],
        kwargs: dict[str, Value],
    ) -> Value:
        """``normal_init(m, std=0.01, bias=-4.6)``, ``c2_xavier_fill(m)``: a library function that
        initialises a module's weight and, when it has one, its bias to a constant."""
        module = args[0] if args else kwargs.get("module", UNKNOWN)
        if not isinstance(module, (LayerObj, AnyModule)):
            name = dotted(c.args[0].value) if c.args else None
            if not name:
                return UNKNOWN
            module = named_module(name)  # ``normal_init(self.g.conv)``: some module, kind by its name
        rest = args[1:]
        self.reinit(ParamRef(module, "weight"), init_from_spec(spec.weight, rest, kwargs), q, c, True)
        if isinstance(module, LayerObj) and module.draft.init.kind == "none":
            return UNKNOWN  # ``if module.bias is not None``: a layer without a bias is left alone
        value = arg(rest, kwargs, None if spec.bias_pos is None else spec.bias_pos - 1, spec.bias_kw)
        n = number(value) if value is not UNKNOWN else spec.bias_default
        init = Init("other") if n is None else (Init("zeros", 0.0) if n == 0 else const_init(n))
        return self.reinit(ParamRef(module, "bias"), init, q, c, True)

    def _grad_context(self: Interpreter) -> str:
        """ "known" when the code runs from a constructor or the module, where autograd is
        certainly on; "unknown" in a helper whose callers are not visible (it may run under
        ``no_grad``)."""
        root = self.frame.ancestors()[-1]
        if root is self.module_frame or root.func.endswith(".__init__"):
            return "known"
        return "unknown"

    def draft_at(self: Interpreter, c: cst.CSTNode, framework: str, api: str, kind: str, init: Init) -> Draft:
        line, col = self.position(c)
        sub = self.sub_position(c)
        if sub is not None and self.ghost:  # a branch of the followed helper this call rules out
            return Draft(framework, api, kind, init, self.frame.root, line, col)  # type: ignore[arg-type]
        d = self.drafts.get((line, col, sub))
        if d is None:
            d = Draft(framework, api, kind, init, self.frame.root, line, col)  # type: ignore[arg-type]
            d.inlined = self.frame.inlined
            self.drafts[(line, col, sub)] = d
            self.mark_via(d, sub)
        elif self.frame.inlined and not d.inlined:
            d.inlined = True  # a call with real arguments beats the helper read on its own
            d.scope = self.frame.root
            d.init = init
            d.outputs = [o for o in d.outputs if o[1]]
        elif d.init != init and self.frame.inlined == d.inlined and not self.ghost:
            d.init = Init("other")  # one line, several inits (a helper called with different ones)
        return d

    def position(self: Interpreter, c: cst.CSTNode) -> tuple[int, int]:
        """Where a site is reported: in the analysed file. Code followed into another module of
        the project reports at the call in this file that reached it (the anchor)."""
        if self.anchor is not None and self.ctx is not None:
            return self.anchor
        if self.stmt is None:
            return 0, 0
        return self.loc.position(self.stmt, c)

    def sub_position(self: Interpreter, c: cst.CSTNode) -> Optional[tuple[int, int]]:
        """The position inside the other module, when following one (else None)."""
        if self.anchor is None or self.ctx is None or self.stmt is None:
            return None
        return self.loc.position(self.stmt, c)

    def mark_via(self: Interpreter, d: Draft, sub: Optional[tuple[int, int]]) -> None:
        if sub is not None:
            d.set(via=self.via, sub=sub)

    def _loss_act(self: Interpreter, loss: Optional[Value], output: Optional[Tensor] = None) -> Optional[str]:
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

    def _link_outputs_to_loss(self: Interpreter, model: SeqObj) -> None:
        for t in model.outputs:
            act = self._loss_act(model.loss, t)
            if act and t.consumer is not None and t.consumer[0] == "model":
                t.consumer = ("loss", act, None)

    def _loss_hint(self: Interpreter, loss: Value) -> None:
        for v in loss.items.values() if isinstance(loss, DictV) else [loss]:
            act = self._loss_act(v)
            if act:
                self.hints[f"{act}_loss"] = True
