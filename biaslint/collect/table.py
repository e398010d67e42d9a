"""Framework knowledge as data: every known layer, initializer, activation and op.

Adding an API is a one-line change here; no recogniser code names a framework API.
Keys are canonical qualified names (see ``names.canonical``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from biaslint.model import Framework, Init, LayerKind


@dataclass(frozen=True)
class LayerSpec:
    framework: Framework
    kind: LayerKind
    #: the flag that enables the bias (``bias``, ``use_bias``, ``center``...) and its position
    flag: Optional[str]
    flag_pos: Optional[int]
    #: the bias initializer argument (``bias_initializer``, ``biases_initializer``...)
    init_arg: Optional[str]
    init_pos: Optional[int]
    #: what the framework does when neither is given
    default: Init
    #: functional layers (tf.layers.dense, slim.conv2d) take the input tensor as argument 0
    functional: bool = False
    #: the output-size argument (units / filters / out_features) and its position
    units_arg: Optional[str] = None
    units_pos: Optional[int] = None
    weight_arg: Optional[str] = None
    #: activation argument and the activation applied when it is absent
    act_arg: Optional[str] = None
    act_default: Optional[str] = None
    #: recurrent layers: the argument adding a constant to the forget gate and its default
    forget_arg: Optional[str] = None
    forget_default: Optional[float] = None
    #: the flag is on unless given (True) or off unless given (False, e.g. InstanceNorm affine)
    flag_default: bool = True
    #: functional layers of libraries that take a name first (tensorpack): the input's position
    input_pos: int = 0
    #: mmcv's ``bias='auto'``: the bias is off exactly when this argument (``norm_cfg``) is set
    auto_off_with: Optional[str] = None
    #: the call returns ``(name, layer)`` (mmcv's build_norm_layer)
    returns_pair: bool = False
    #: the library's style sets layer arguments in an ``argscope`` of the *caller* (tensorpack):
    #: with none in sight, arguments not given here are unknown rather than the defaults
    scoped_defaults: bool = False


_DEF = Init("default")
_ZEROS = Init("zeros", 0.0)
_UNSEEN = Init("other")  # built from a config the analysis cannot see
_OFF = Init("none")


def _torch(kind: LayerKind, flag: str = "bias", pos: Optional[int] = None, **kw: Any) -> LayerSpec:
    return LayerSpec("torch", kind, flag, pos, None, None, _DEF, **kw)


def _keras(
    kind: LayerKind, flag: str = "use_bias", init: str = "bias_initializer", **kw: object
) -> LayerSpec:
    kw.setdefault("weight_arg", "kernel_initializer")
    kw.setdefault("act_arg", "activation")
    return LayerSpec("keras", kind, flag, None, init, None, _DEF, **kw)  # type: ignore[arg-type]


def _tfl(kind: LayerKind, flag_pos: Optional[int], init_pos: Optional[int], **kw: Any) -> LayerSpec:
    kw.setdefault("weight_arg", "kernel_initializer")
    kw.setdefault("act_arg", "activation")
    kw.setdefault("functional", True)
    return LayerSpec(
        "tf_layers",
        kind,
        "use_bias",
        flag_pos,
        "bias_initializer",
        init_pos,
        _DEF,
        **kw,
    )


def _slim(kind: LayerKind, init_pos: Optional[int], **kw: Any) -> LayerSpec:
    kw.setdefault("weight_arg", "weights_initializer")
    kw.setdefault("act_arg", "activation_fn")
    kw.setdefault("act_default", "relu")
    return LayerSpec(
        "slim",
        kind,
        None,
        None,
        "biases_initializer",
        init_pos,
        _DEF,
        functional=True,
        **kw,
    )


def _cell(kind: LayerKind = "recurrent", forget: Optional[float] = None) -> LayerSpec:
    return LayerSpec(
        "tf1",
        kind,
        None,
        None,
        "bias_initializer",
        None,
        _DEF,
        forget_arg="forget_bias" if forget is not None else None,
        forget_default=forget,
    )


_TORCH_CONV: dict[str, Any] = dict(units_arg="out_channels", units_pos=1)
_KERAS_CONV: dict[str, Any] = dict(units_arg="filters", units_pos=0)

LAYERS: dict[str, LayerSpec] = {
    # --- PyTorch -------------------------------------------------------------------
    "torch.nn.Linear": _torch("dense", pos=2, units_arg="out_features", units_pos=1),
    "torch.nn.LazyLinear": _torch("dense", pos=1, units_arg="out_features", units_pos=0),
    "torch.nn.Bilinear": _torch("dense", pos=3, units_arg="out_features", units_pos=2),
    "torch.nn.Conv1d": _torch("conv", pos=7, **_TORCH_CONV),
    "torch.nn.Conv2d": _torch("conv", pos=7, **_TORCH_CONV),
    "torch.nn.Conv3d": _torch("conv", pos=7, **_TORCH_CONV),
    "torch.nn.ConvTranspose1d": _torch("conv", pos=7, **_TORCH_CONV),
    "torch.nn.ConvTranspose2d": _torch("conv", pos=7, **_TORCH_CONV),
    "torch.nn.ConvTranspose3d": _torch("conv", pos=7, **_TORCH_CONV),
    "torch.nn.LazyConv1d": _torch("conv", pos=6),
    "torch.nn.LazyConv2d": _torch("conv", pos=6),
    "torch.nn.LazyConv3d": _torch("conv", pos=6),
    "torch.nn.LSTM": _torch("recurrent", pos=3),
    "torch.nn.GRU": _torch("recurrent", pos=3),
    "torch.nn.RNN": _torch("recurrent", pos=4),
    "torch.nn.LSTMCell": _torch("recurrent", pos=2),
    "torch.nn.GRUCell": _torch("recurrent", pos=2),
    "torch.nn.RNNCell": _torch("recurrent", pos=2),
    "torch.nn.BatchNorm1d": _torch("norm", "affine", 3),
    "torch.nn.BatchNorm2d": _torch("norm", "affine", 3),
    "torch.nn.BatchNorm3d": _torch("norm", "affine", 3),
    "torch.nn.SyncBatchNorm": _torch("norm", "affine", 3),
    "torch.nn.InstanceNorm1d": _torch("norm", "affine", 3, flag_default=False),
    "torch.nn.InstanceNorm2d": _torch("norm", "affine", 3, flag_default=False),
    "torch.nn.InstanceNorm3d": _torch("norm", "affine", 3, flag_default=False),
    "torch.nn.LayerNorm": _torch("norm", "elementwise_affine", 2),
    "torch.nn.GroupNorm": _torch("norm", "affine", 3),
    "torch.nn.MultiheadAttention": _torch("attention", pos=3),
    # --- Keras / tf.keras ------------------------------------------------------------
    "keras.layers.Dense": _keras("dense", units_arg="units", units_pos=0),
    "keras.layers.EinsumDense": _keras("dense", flag="bias_axes"),
    "keras.layers.Conv1D": _keras("conv", **_KERAS_CONV),
    "keras.layers.Conv2D": _keras("conv", **_KERAS_CONV),
    "keras.layers.Conv3D": _keras("conv", **_KERAS_CONV),
    "keras.layers.Convolution1D": _keras("conv", **_KERAS_CONV),
    "keras.layers.Convolution2D": _keras("conv", **_KERAS_CONV),
    "keras.layers.Convolution3D": _keras("conv", **_KERAS_CONV),
    "keras.layers.Conv1DTranspose": _keras("conv", **_KERAS_CONV),
    "keras.layers.Conv2DTranspose": _keras("conv", **_KERAS_CONV),
    "keras.layers.Conv3DTranspose": _keras("conv", **_KERAS_CONV),
    "keras.layers.SeparableConv1D": _keras("conv", **_KERAS_CONV),
    "keras.layers.SeparableConv2D": _keras("conv", **_KERAS_CONV),
    "keras.layers.DepthwiseConv2D": _keras("conv"),
    "keras.layers.ConvLSTM2D": _keras("recurrent", forget_arg="unit_forget_bias", forget_default=1.0),
    "keras.layers.LSTM": _keras("recurrent", forget_arg="unit_forget_bias", forget_default=1.0),
    "keras.layers.LSTMCell": _keras("recurrent", forget_arg="unit_forget_bias", forget_default=1.0),
    "keras.layers.CuDNNLSTM": _keras("recurrent", forget_arg="unit_forget_bias", forget_default=1.0),
    "keras.layers.GRU": _keras("recurrent"),
    "keras.layers.GRUCell": _keras("recurrent"),
    "keras.layers.CuDNNGRU": _keras("recurrent"),
    "keras.layers.SimpleRNN": _keras("recurrent"),
    "keras.layers.SimpleRNNCell": _keras("recurrent"),
    "keras.layers.BatchNormalization": _keras("norm", "center", "beta_initializer", act_arg=None),
    "keras.layers.LayerNormalization": _keras("norm", "center", "beta_initializer", act_arg=None),
    "keras.layers.GroupNormalization": _keras("norm", "center", "beta_initializer", act_arg=None),
    "keras.layers.MultiHeadAttention": _keras("attention", act_arg=None),
    # --- tf.layers (TF1 functional and class API) ------------------------------------
    "tensorflow.layers.dense": _tfl("dense", 3, 5, units_arg="units", units_pos=1),
    "tensorflow.layers.conv1d": _tfl("conv", 8, 10, units_arg="filters", units_pos=1),
    "tensorflow.layers.conv2d": _tfl("conv", 8, 10, units_arg="filters", units_pos=1),
    "tensorflow.layers.conv3d": _tfl("conv", 8, 10, units_arg="filters", units_pos=1),
    "tensorflow.layers.conv2d_transpose": _tfl("conv", 7, 9, units_arg="filters", units_pos=1),
    "tensorflow.layers.conv3d_transpose": _tfl("conv", 7, 9, units_arg="filters", units_pos=1),
    "tensorflow.layers.separable_conv1d": _tfl("conv", None, None, units_arg="filters", units_pos=1),
    "tensorflow.layers.separable_conv2d": _tfl("conv", None, None, units_arg="filters", units_pos=1),
    "tensorflow.layers.batch_normalization": LayerSpec(
        "tf_layers", "norm", "center", 4, "beta_initializer", 6, _DEF, functional=True
    ),
    "tensorflow.layers.Dense": _tfl("dense", None, None, functional=False),
    "tensorflow.layers.Conv2D": _tfl("conv", None, None, functional=False),
    "tensorflow.layers.Conv1D": _tfl("conv", None, None, functional=False),
    # --- slim / tf.contrib.layers ----------------------------------------------------
    "slim.conv2d": _slim("conv", 12, units_arg="num_outputs", units_pos=1),
    "slim.convolution2d": _slim("conv", 12, units_arg="num_outputs", units_pos=1),
    "slim.conv1d": _slim("conv", 12, units_arg="num_outputs", units_pos=1),
    "slim.convolution": _slim("conv", 12, units_arg="num_outputs", units_pos=1),
    "slim.conv2d_transpose": _slim("conv", 11, units_arg="num_outputs", units_pos=1),
    "slim.conv2d_in_plane": _slim("conv", None),
    "slim.separable_conv2d": _slim("conv", None, units_arg="num_outputs", units_pos=1),
    "slim.separable_convolution2d": _slim("conv", None, units_arg="num_outputs", units_pos=1),
    "slim.fully_connected": _slim("dense", 7, units_arg="num_outputs", units_pos=1),
    "slim.linear": _slim("dense", None, units_arg="num_outputs", units_pos=1, act_default=None),
    "slim.batch_norm": LayerSpec(
        "slim", "norm", "center", 2, None, None, _DEF, functional=True, act_arg="activation_fn"
    ),
    "slim.layer_norm": LayerSpec("slim", "norm", "center", 1, None, None, _DEF, functional=True),
    # --- TF1 RNN cells -----------------------------------------------------------------
    "tensorflow.nn.rnn_cell.BasicLSTMCell": _cell(forget=1.0),
    "tensorflow.nn.rnn_cell.LSTMCell": _cell(forget=1.0),
    "tensorflow.nn.rnn_cell.LSTMBlockCell": _cell(forget=1.0),
    "tensorflow.nn.rnn_cell.LayerNormBasicLSTMCell": _cell(forget=1.0),
    "tensorflow.nn.rnn_cell.CoupledInputForgetGateLSTMCell": _cell(forget=1.0),
    "tensorflow.nn.rnn_cell.GRUCell": _cell(),
    "tensorflow.nn.rnn_cell.GRUBlockCell": _cell(),
    "tensorflow.nn.rnn_cell.BasicRNNCell": _cell(),
}


# --- Libraries that projects build on (a new library is a block of lines here) -----------
def _lib(
    framework: Framework, kind: LayerKind, flag: Optional[str], init: Optional[str], **kw: Any
) -> LayerSpec:
    return LayerSpec(framework, kind, flag, None, init, None, kw.pop("default", _DEF), **kw)


def _tp(kind: LayerKind, units: str) -> LayerSpec:
    """tensorpack: ``Conv2D(name, x, filters, ...)``, arguments usually set by an argscope."""
    return _lib(
        "tf_layers", kind, "use_bias", "bias_initializer", functional=True, input_pos=1, scoped_defaults=True,
        weight_arg="kernel_initializer", act_arg="activation", units_arg=units, units_pos=2,
    )  # fmt: skip


_SNT = ("with_bias", "b_init")
_SNT_KW: dict[str, Any] = dict(weight_arg="w_init")

LAYERS.update(
    {
        # mmcv / mmengine: conv + optional norm + activation; bias='auto' is off under a norm
        "mmcv.cnn.ConvModule": _lib(
            "torch", "conv", "bias", None, act_arg="act_cfg", act_default="relu", auto_off_with="norm_cfg",
            **_TORCH_CONV,
        ),
        "mmcv.cnn.DepthwiseSeparableConvModule": _lib("torch", "conv", None, None, act_default="relu"),
        # detectron2: torch convs with optional norm/activation keywords
        "detectron2.layers.Conv2d": _torch("conv", pos=7, act_arg="activation", **_TORCH_CONV),
        "detectron2.layers.ConvTranspose2d": _torch("conv", pos=7, **_TORCH_CONV),
        "detectron2.layers.get_norm": _lib("torch", "norm", None, None, default=_UNSEEN),
        # mmcv builders: build_conv_layer(cfg, in, out, k, bias=...); build_norm_layer returns
        # (name, layer)
        "mmcv.cnn.build_conv_layer": _lib("torch", "conv", "bias", None),
        "mmcv.cnn.build_norm_layer": _lib("torch", "norm", None, None, returns_pair=True, default=_UNSEEN),
        # timm: factories whose bias is off unless asked for
        "timm.layers.create_conv2d": _torch("conv", flag_default=False),
        "timm.layers.ConvNormAct": _torch("conv", flag_default=False),
        "timm.layers.Linear": _torch("dense", pos=2),
        # graph convolutions (PyTorch Geometric, DGL): their own kind of layer
        **{
            f"{ns}.{name}": _torch("other")
            for ns in ("torch_geometric.nn", "dgl.nn")
            for name in ("GCNConv", "GATConv", "GATv2Conv", "SAGEConv", "GraphConv", "ChebConv",
                         "TransformerConv", "GINEConv", "RelGraphConv")
        },
        # tensorpack: TF layers called as Conv2D(name, x, ...)
        "tensorpack.Conv2D": _tp("conv", "filters"),
        "tensorpack.Conv2DTranspose": _tp("conv", "filters"),
        "tensorpack.FullyConnected": _tp("dense", "units"),
        "tensorpack.BatchNorm": _lib("tf_layers", "norm", "center", None, functional=True, input_pos=1),
        "tensorpack.BNReLU": _lib("tf_layers", "norm", None, None, functional=True, act_default="relu"),
        "tensorpack.LayerNorm": _lib("tf_layers", "norm", "use_bias", None, functional=True, input_pos=1),
        # tflearn: conv_2d(incoming, nb_filter, ..., bias=True, bias_init='zeros')
        "tflearn.conv_2d": _lib(
            "tf_layers", "conv", "bias", "bias_init", functional=True, weight_arg="weights_init",
            act_arg="activation", act_default="none", units_arg="nb_filter", units_pos=1,
        ),
        "tflearn.conv_1d": _lib(
            "tf_layers", "conv", "bias", "bias_init", functional=True, weight_arg="weights_init",
            act_arg="activation", act_default="none",
        ),
        "tflearn.fully_connected": _lib(
            "tf_layers", "dense", "bias", "bias_init", functional=True, weight_arg="weights_init",
            act_arg="activation", act_default="none", units_arg="n_units", units_pos=1,
        ),
        "tflearn.batch_normalization": _lib("tf_layers", "norm", None, None, functional=True),
        # Sonnet 2: snt.Linear(output_size, with_bias=True, w_init=None, b_init=None)
        "sonnet.Linear": _lib("tf_layers", "dense", *_SNT, units_arg="output_size", units_pos=0, **_SNT_KW),
        "sonnet.Conv1D": _lib("tf_layers", "conv", *_SNT, **_SNT_KW),
        "sonnet.Conv2D": _lib("tf_layers", "conv", *_SNT, **_SNT_KW),
        "sonnet.Conv3D": _lib("tf_layers", "conv", *_SNT, **_SNT_KW),
        "sonnet.Conv2DTranspose": _lib("tf_layers", "conv", *_SNT, **_SNT_KW),
        "sonnet.BatchNorm": _lib("tf_layers", "norm", "create_offset", None),
        "sonnet.LayerNorm": _lib("tf_layers", "norm", "create_offset", None),
        "sonnet.LSTM": _lib("tf_layers", "recurrent", None, "b_init", forget_arg="forget_bias",
                            forget_default=1.0),
        "sonnet.GRU": _lib("tf_layers", "recurrent", None, "b_init"),
    }
)  # fmt: skip

# tf.keras.layers.* and tf.layers.* class aliases
for _n in ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "SeparableConv2D"):
    LAYERS.setdefault(f"tensorflow.layers.{_n}", LAYERS[f"keras.layers.{_n}"])

#: Containers whose arguments are applied in order.
SEQUENTIAL = frozenset({"torch.nn.Sequential", "keras.Sequential", "keras.models.Sequential"})
#: Containers holding layers without an order.
MODULE_LISTS = frozenset({"torch.nn.ModuleList", "torch.nn.ModuleDict"})
#: Model constructors whose outputs are the model's outputs.
MODEL_SINKS = frozenset({"keras.Model", "keras.models.Model", "keras.models.Sequential"})

# ---------------------------------------------------------------------------------------
# Activations: canonical callable or layer -> activation name. Strings are looked up too.
_RELU = "relu"
ACTIVATIONS: dict[str, str] = {}
for _prefix in ("torch.nn.functional.", "torch.", "tensorflow.nn.", "tensorflow.", "keras.activations."):
    for _fn, _act in (
        ("relu", _RELU),
        ("relu6", _RELU),
        ("relu_", _RELU),
        ("leaky_relu", _RELU),
        ("leaky_relu_", _RELU),
        ("crelu", _RELU),
        ("prelu", _RELU),
        ("rrelu", _RELU),
        ("elu", "elu"),
        ("selu", "selu"),
        ("celu", "elu"),
        ("gelu", "gelu"),
        ("silu", "silu"),
        ("swish", "silu"),
        ("mish", "silu"),
        ("softplus", "softplus"),
        ("hardswish", "silu"),
        ("sigmoid", "sigmoid"),
        ("hard_sigmoid", "sigmoid"),
        ("tanh", "tanh"),
        ("softmax", "softmax"),
        ("log_softmax", "softmax"),
    ):
        ACTIVATIONS[_prefix + _fn] = _act
for _cls, _act in (
    ("ReLU", _RELU),
    ("ReLU6", _RELU),
    ("LeakyReLU", _RELU),
    ("PReLU", _RELU),
    ("RReLU", _RELU),
    ("ELU", "elu"),
    ("SELU", "selu"),
    ("CELU", "elu"),
    ("GELU", "gelu"),
    ("SiLU", "silu"),
    ("Mish", "silu"),
    ("Hardswish", "silu"),
    ("Softplus", "softplus"),
    ("Sigmoid", "sigmoid"),
    ("Hardsigmoid", "sigmoid"),
    ("Tanh", "tanh"),
    ("Softmax", "softmax"),
    ("LogSoftmax", "softmax"),
    ("Softmax2d", "softmax"),
):
    ACTIVATIONS["torch.nn." + _cls] = _act
    ACTIVATIONS["keras.layers." + _cls] = _act
ACTIVATIONS["slim.softmax"] = "softmax"
# ``tf.maximum(alpha * x, x)`` is how TF1 code spells a leaky ReLU
ACTIVATIONS["tensorflow.maximum"] = _RELU
ACTIVATIONS["torch.clamp"] = _RELU
#: activation names as strings (Keras ``activation='relu'``)
ACTIVATION_STRINGS: dict[str, str] = {
    "relu": _RELU,
    "relu6": _RELU,
    "leaky_relu": _RELU,
    "elu": "elu",
    "selu": "selu",
    "gelu": "gelu",
    "swish": "silu",
    "silu": "silu",
    "mish": "silu",
    "softplus": "softplus",
    "sigmoid": "sigmoid",
    "hard_sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "log_softmax": "softmax",
    "linear": "none",
}
#: Keras ``Activation('relu')`` takes the name as argument 0
ACTIVATION_BY_ARG = frozenset({"keras.layers.Activation"})

#: Layers and functions that normalise their input, and what that means for a bias before them.
NORMALIZERS: dict[str, str] = {
    "torch.nn.BatchNorm1d": "batchnorm",
    "torch.nn.BatchNorm2d": "batchnorm",
    "torch.nn.BatchNorm3d": "batchnorm",
    "torch.nn.SyncBatchNorm": "batchnorm",
    "torch.nn.InstanceNorm1d": "batchnorm",
    "torch.nn.InstanceNorm2d": "batchnorm",
    "torch.nn.InstanceNorm3d": "batchnorm",
    "torch.nn.LayerNorm": "layernorm",
    "torch.nn.GroupNorm": "layernorm",
    "torch.nn.functional.batch_norm": "batchnorm",
    "torch.nn.functional.layer_norm": "layernorm",
    "keras.layers.BatchNormalization": "batchnorm",
    "keras.layers.LayerNormalization": "layernorm",
    "keras.layers.GroupNormalization": "layernorm",
    "tensorflow.layers.batch_normalization": "batchnorm",
    "tensorflow.nn.batch_normalization": "batchnorm",
    "tensorflow.nn.fused_batch_norm": "batchnorm",
    "slim.batch_norm": "batchnorm",
    "slim.layer_norm": "layernorm",
    "slim.instance_norm": "batchnorm",
    "slim.group_norm": "layernorm",
    "tensorpack.BatchNorm": "batchnorm",
    "tensorpack.BNReLU": "batchnorm",
    "tensorpack.LayerNorm": "layernorm",
    "tflearn.batch_normalization": "batchnorm",
    "sonnet.BatchNorm": "batchnorm",
    "sonnet.LayerNorm": "layernorm",
}
#: what a norm layer that is not in NORMALIZERS counts as (its type is decided elsewhere:
#: ``get_norm(cfg)``, ``build_norm_layer(cfg)``); no rule takes it for a batch norm
UNKNOWN_NORM = "norm"

#: Ops that pass a tensor on without changing what the bias before them feeds.
TRANSPARENT: frozenset[str] = frozenset(
    f"{p}{n}"
    for p, names in (
        (
            "torch.nn.",
            (
                "Dropout",
                "Dropout2d",
                "Dropout3d",
                "AlphaDropout",
                "MaxPool1d",
                "MaxPool2d",
                "MaxPool3d",
                "AvgPool1d",
                "AvgPool2d",
                "AvgPool3d",
                "AdaptiveAvgPool1d",
                "AdaptiveAvgPool2d",
                "AdaptiveAvgPool3d",
                "AdaptiveMaxPool2d",
                "Flatten",
                "Identity",
                "Upsample",
                "ZeroPad2d",
                "PixelShuffle",
                "Unflatten",
            ),
        ),
        (
            "torch.nn.functional.",
            (
                "dropout",
                "dropout2d",
                "max_pool1d",
                "max_pool2d",
                "max_pool3d",
                "avg_pool2d",
                "avg_pool1d",
                "adaptive_avg_pool2d",
                "adaptive_max_pool2d",
                "interpolate",
                "pad",
                "local_response_norm",
            ),
        ),
        ("torch.", ("flatten", "reshape", "squeeze", "unsqueeze", "transpose", "permute")),
        (
            "keras.layers.",
            (
                "Dropout",
                "SpatialDropout1D",
                "SpatialDropout2D",
                "Flatten",
                "MaxPooling1D",
                "MaxPooling2D",
                "MaxPooling3D",
                "AveragePooling1D",
                "AveragePooling2D",
                "GlobalAveragePooling1D",
                "GlobalAveragePooling2D",
                "GlobalMaxPooling1D",
                "GlobalMaxPooling2D",
                "MaxPool2D",
                "AvgPool2D",
                "Reshape",
                "ZeroPadding2D",
                "UpSampling2D",
                "Permute",
                "GaussianNoise",
                "ActivityRegularization",
                "Cropping2D",
                "RepeatVector",
            ),
        ),
        (
            "tensorflow.nn.",
            (
                "dropout",
                "max_pool",
                "max_pool2d",
                "avg_pool",
                "avg_pool2d",
                "max_pool1d",
                "lrn",
                "local_response_normalization",
                "pool",
            ),
        ),
        ("tensorflow.layers.", ("dropout", "max_pooling2d", "average_pooling2d", "flatten", "max_pooling1d")),
        ("tensorflow.", ("reshape", "squeeze", "identity", "transpose", "expand_dims")),
        ("slim.", ("dropout", "max_pool2d", "avg_pool2d", "flatten", "pool")),
    )
    for n in names
)
#: ``backend, layers, models, utils = get_submodules_from_kwargs(kwargs)`` (keras_applications)
SUBMODULE_HANDLES: dict[str, tuple[str, ...]] = {
    f"{p}.get_submodules_from_kwargs": ("keras.backend", "keras.layers", "keras.models", "keras.utils")
    for p in ("keras_applications", "keras.applications", "keras_applications.imagenet_utils", "")
}
#: local names that, bound to something unseen, are taken to be ``keras.layers`` when the
#: attribute is a Keras layer class (the site is then marked as less certain)
LAYER_HANDLES = frozenset({"layers", "KL", "kl", "keras_layers", "klayers"})
#: A dense layer named like a projection inside a class named like attention is an attention
#: layer (q/k/v/qkv/out projections of a transformer block)
ATTENTION_CLASS = re.compile(r"attention|attn|mha|multihead|selfatt", re.I)
ATTENTION_PROJECTIONS = frozenset(
    {
        "q", "k", "v", "kv", "qk", "qkv", "query", "key", "value", "proj", "out", "o",
        "q_proj", "k_proj", "v_proj", "kv_proj", "qkv_proj", "out_proj", "o_proj", "in_proj",
        "to_q", "to_k", "to_v", "to_kv", "to_qkv", "to_out", "c_attn", "c_proj", "wq", "wk", "wv",
        "wo", "w_q", "w_k", "w_v", "w_o", "query_proj", "key_proj", "value_proj", "proj_q",
        "proj_k", "proj_v", "linear_q", "linear_k", "linear_v", "linear_out", "dense",
    }
)  # fmt: skip
#: ``norm_layer(dim)``, ``config.norm_class(...)``: a norm class passed in, unseen. A norm site
#: whose type (and whether it has a bias) is decided by the caller: init "other", less certain
NORM_FACTORIES = frozenset({"norm_layer", "norm_class", "norm_cls", "norm_fn", "norm_func", "norm_layer_cls"})
GUESSED_NORM = LayerSpec("torch", "norm", None, None, None, None, Init("other"))
#: ``functools.partial(nn.LayerNorm, eps=1e-6)``: a callable with arguments bound
PARTIALS = frozenset({"functools.partial"})
#: ``self.conv_out.norm``, ``m.conv_pw.bias``: a module known only by its attribute name. The
#: name's tokens (digits dropped) say its kind; nothing else is read from a name
MODULE_NAME_KINDS: dict[str, LayerKind] = {
    "conv": "conv", "deconv": "conv", "dw": "conv", "pw": "conv", "convs": "conv",
    "fc": "dense", "linear": "dense", "dense": "dense",
    "norm": "norm", "bn": "norm", "ln": "norm", "gn": "norm", "batchnorm": "norm",
    "layernorm": "norm", "groupnorm": "norm",
    "lstm": "recurrent", "gru": "recurrent", "rnn": "recurrent",
    "embed": "embedding", "embedding": "embedding",
}  # fmt: skip
#: ``LinearWrap(x).Conv2D('conv0', 32, 3).apply(f).FullyConnected('fc', 10)()``: a wrapper
#: that threads a tensor through the calls named by its attributes. Per wrapper: the library
#: those names are looked up in, and namespaces reached through an attribute (``.tf.nn.relu()``)
CHAIN_WRAPPERS: dict[str, tuple[str, dict[str, str]]] = {
    "tensorpack.LinearWrap": ("tensorpack", {"tf": "tensorflow"}),
    "tensorpack.models.LinearWrap": ("tensorpack", {"tf": "tensorflow"}),
}
#: methods of every chain: ``apply(f, *a)`` calls ``f(x, *a)``, ``apply2(f, y, *a)`` calls
#: ``f(y, x, *a)`` (the value is where the tensor goes); ``tensor()`` ends the chain and
#: ``print_tensor()`` hands it on unchanged
CHAIN_METHODS: dict[str, int] = {"apply": 0, "apply2": 1}
CHAIN_ENDS = frozenset({"tensor"})
CHAIN_NOOPS = frozenset({"print_tensor"})
#: scopes that set default arguments of the layer calls beneath them
ARG_SCOPES = frozenset({"slim.arg_scope", "tensorpack.argscope"})
#: ``keras.initializers.get(x)``: the initializer x names or is
INITIALIZER_LOOKUPS = frozenset({"keras.initializers.get", "tensorflow.keras.initializers.get"})
#: Reshapes: a dense output reshaped into channels x positions is no longer one value per
#: channel, so a norm after it does not cancel the bias (BIA201 must not claim it does).
RESHAPE_METHODS = frozenset({"view", "reshape", "view_as", "reshape_as", "unflatten", "flatten"})
RESHAPES = frozenset(
    {
        "tensorflow.reshape",
        "torch.reshape",
        "torch.flatten",
        "torch.nn.Unflatten",
        "torch.nn.Flatten",
        "keras.layers.Reshape",
        "keras.layers.Flatten",
        "tensorflow.layers.flatten",
        "slim.flatten",
    }
)
#: Tensor methods that split a tensor into pieces we do not follow.
SPLIT_METHODS = frozenset({"chunk", "split", "unbind", "tensor_split", "tolist"})
#: Tensor methods that pass the tensor on.
TRANSPARENT_METHODS = frozenset(
    {
        "view",
        "reshape",
        "flatten",
        "squeeze",
        "unsqueeze",
        "permute",
        "transpose",
        "contiguous",
        "view_as",
        "reshape_as",
        "float",
        "to",
        "clone",
        "detach",
    }
)

#: Loss functions / objects: the activation the loss implies for the logits it receives.
LOSSES: dict[str, str] = {
    "tensorflow.nn.softmax_cross_entropy_with_logits": "softmax",
    "tensorflow.nn.softmax_cross_entropy_with_logits_v2": "softmax",
    "tensorflow.nn.sparse_softmax_cross_entropy_with_logits": "softmax",
    "tensorflow.losses.softmax_cross_entropy": "softmax",
    "tensorflow.losses.sparse_softmax_cross_entropy": "softmax",
    "tensorflow.nn.sigmoid_cross_entropy_with_logits": "sigmoid",
    "tensorflow.nn.weighted_cross_entropy_with_logits": "sigmoid",
    "tensorflow.losses.sigmoid_cross_entropy": "sigmoid",
    "tensorflow.contrib.legacy_seq2seq.sequence_loss_by_example": "softmax",
    "tensorflow.contrib.legacy_seq2seq.sequence_loss": "softmax",
    "tensorflow.contrib.seq2seq.sequence_loss": "softmax",
    "torch.nn.functional.binary_cross_entropy": "sigmoid",
    "torch.nn.BCELoss": "sigmoid",
    "torch.nn.functional.cross_entropy": "softmax",
    "torch.nn.functional.nll_loss": "softmax",
    "torch.nn.functional.binary_cross_entropy_with_logits": "sigmoid",
    "torch.nn.CrossEntropyLoss": "softmax",
    "torch.nn.NLLLoss": "softmax",
    "torch.nn.BCEWithLogitsLoss": "sigmoid",
    "torchvision.ops.sigmoid_focal_loss": "sigmoid",
    "torchvision.ops.focal_loss.sigmoid_focal_loss": "sigmoid",
    "slim.softmax_cross_entropy": "softmax",
    "slim.sparse_softmax_cross_entropy": "softmax",
    "slim.sigmoid_cross_entropy": "sigmoid",
    "keras.losses.SparseCategoricalCrossentropy": "softmax",
    "keras.losses.CategoricalCrossentropy": "softmax",
    "keras.losses.BinaryCrossentropy": "sigmoid",
    "keras.losses.BinaryFocalCrossentropy": "sigmoid",
    "keras.losses.sparse_categorical_crossentropy": "softmax",
    "keras.losses.categorical_crossentropy": "softmax",
    "keras.losses.binary_crossentropy": "sigmoid",
}
#: Keras loss strings
LOSS_STRINGS: dict[str, str] = {
    "sparse_categorical_crossentropy": "softmax",
    "categorical_crossentropy": "softmax",
    "binary_crossentropy": "sigmoid",
    "binary_focal_crossentropy": "sigmoid",
}
#: Loss names in strings or unresolved callables that mark a sigmoid/BCE/focal setup.
SIGMOID_LOSS_WORDS = ("focal", "sigmoid_cross_entropy", "binary_cross_entropy", "BCE", "bce")

# ---------------------------------------------------------------------------------------
# Op kinds that a bias is added to: the layer kind they give the bias.
KERNEL_OPS: dict[str, LayerKind] = {
    "tensorflow.nn.conv1d": "conv",
    "tensorflow.nn.conv2d": "conv",
    "tensorflow.nn.conv3d": "conv",
    "tensorflow.nn.depthwise_conv2d": "conv",
    "tensorflow.nn.separable_conv2d": "conv",
    "tensorflow.nn.conv2d_transpose": "conv",
    "tensorflow.nn.conv3d_transpose": "conv",
    "tensorflow.nn.atrous_conv2d": "conv",
    "tensorflow.nn.convolution": "conv",
    "tensorflow.matmul": "dense",
    "tensorflow.linalg.matmul": "dense",
    "tensorflow.tensordot": "dense",
    "tensorflow.einsum": "dense",
    "torch.matmul": "dense",
    "torch.mm": "dense",
    "torch.bmm": "dense",
    "torch.nn.functional.conv1d": "conv",
    "torch.nn.functional.conv2d": "conv",
    "torch.nn.functional.conv3d": "conv",
    "torch.nn.functional.conv_transpose2d": "conv",
    "keras.backend.dot": "dense",
    "torch.einsum": "dense",
    "torch.nn.functional.scaled_dot_product_attention": "attention",
    "keras.backend.conv2d": "conv",
    "keras.ops.matmul": "dense",
    "keras.ops.dot": "dense",
    "keras.ops.conv": "conv",
}
#: Ops that apply a given bias as an argument: name -> (kernel-op kind, bias arg position,
#: bias keyword, kernel arg position, input position)
BIAS_APPLY: dict[str, tuple[Optional[LayerKind], int, str, Optional[int]]] = {
    "tensorflow.nn.bias_add": (None, 1, "bias", None),
    "tensorflow.add": (None, 1, "y", None),
    "tensorflow.nn.xw_plus_b": ("dense", 2, "biases", 1),
    "torch.nn.functional.linear": ("dense", 2, "bias", 1),
    "torch.nn.functional.conv1d": ("conv", 2, "bias", 1),
    "torch.nn.functional.conv2d": ("conv", 2, "bias", 1),
    "torch.nn.functional.conv3d": ("conv", 2, "bias", 1),
    "torch.nn.functional.conv_transpose2d": ("conv", 2, "bias", 1),
    "torch.addmm": ("dense", 0, "input", 2),
    "keras.backend.bias_add": (None, 1, "bias", None),
    "tensorflow.nn.relu_layer": ("dense", 2, "biases", 1),
}
#: bias-applying ops with an activation built in
FUSED_ACTIVATION: dict[str, str] = {"tensorflow.nn.relu_layer": "relu"}
#: ``tf.nn.batch_normalization(x, mean, var, offset, scale, eps)``: offset is a norm bias
NORM_OFFSET_APPLY: dict[str, tuple[int, str]] = {
    "tensorflow.nn.batch_normalization": (3, "offset"),
    "tensorflow.nn.fused_batch_norm": (2, "offset"),
    "torch.nn.functional.layer_norm": (3, "bias"),
    "torch.nn.functional.group_norm": (3, "bias"),
    "torch.nn.functional.batch_norm": (4, "bias"),
}

# ---------------------------------------------------------------------------------------
# Creations of variables (TF1 / PyTorch / Keras custom layers).
VARIABLE_CREATORS: dict[str, str] = {
    "tensorflow.Variable": "tf1",
    "tensorflow.get_variable": "tf1",
    "slim.variable": "slim",
    "slim.model_variable": "slim",
    "torch.nn.Parameter": "torch",
    "torch.nn.parameter.Parameter": "torch",
}
#: Methods that create a weight on ``self`` (Keras custom layers).
WEIGHT_METHODS = frozenset({"add_weight", "add_variable"})

#: Calls that load weights over the initial values (method or function names).
LOAD_CALLS = frozenset(
    {
        "load_state_dict",
        "restore",
        "load_weights",
        "set_weights",
        "from_pretrained",
        "init_from_checkpoint",
        "load_pretrained",
        "load_checkpoint",
        "assign_from_checkpoint_fn",
        "assign_from_values",
        "load_darknet_weights",
    }
)
#: ``np.load`` + ``.assign`` together also mean loaded weights
NUMPY_LOADS = frozenset({"numpy.load", "h5py.File", "pickle.load"})


# ---------------------------------------------------------------------------------------
# Initialisers. Each maps to (init kind, where its number is: positional index and keyword,
# default number). For kind "constant", the number is the value; for normal kinds the stddev;
# for uniform the bounds (handled by the evaluator).
@dataclass(frozen=True)
class InitSpec:
    kind: str
    pos: Optional[int] = None
    kw: Optional[str] = None
    default: Optional[float] = None
    #: uniform bounds: (pos, kw, default) for the lower and upper bound
    low: Optional[tuple[int, str, float]] = None
    high: Optional[tuple[int, str, float]] = None
    tensor: bool = False  # a tensor value (tf.constant) rather than an initializer object


def _tf_tensor(
    kind: str,
    pos: Optional[int] = None,
    kw: Optional[str] = None,
    default: Optional[float] = None,
    **k: object,
) -> InitSpec:
    return InitSpec(kind, pos, kw, default, tensor=True, **k)  # type: ignore[arg-type]


INITIALIZERS: dict[str, InitSpec] = {
    # TF1 tensors used as initial values of tf.Variable
    "tensorflow.constant": _tf_tensor("constant", 0, "value"),
    "tensorflow.zeros": _tf_tensor("zeros"),
    "tensorflow.zeros_like": _tf_tensor("zeros"),
    "tensorflow.ones": _tf_tensor("ones"),
    "tensorflow.fill": _tf_tensor("constant", 1, "value"),
    "tensorflow.random_normal": _tf_tensor("normal", 2, "stddev", 1.0),
    "tensorflow.normal": _tf_tensor("normal", 2, "stddev", 1.0),
    "tensorflow.truncated_normal": _tf_tensor("truncated_normal", 2, "stddev", 1.0),
    "tensorflow.random_uniform": _tf_tensor("uniform", low=(1, "minval", 0.0), high=(2, "maxval", 1.0)),
    "tensorflow.uniform": _tf_tensor("uniform", low=(1, "minval", 0.0), high=(2, "maxval", 1.0)),
    # TF1 initializer objects
    "tensorflow.constant_initializer": InitSpec("constant", 0, "value", 0.0),
    "tensorflow.zeros_initializer": InitSpec("zeros"),
    "tensorflow.ones_initializer": InitSpec("ones"),
    "tensorflow.random_normal_initializer": InitSpec("normal", 1, "stddev", 1.0),
    "tensorflow.truncated_normal_initializer": InitSpec("truncated_normal", 1, "stddev", 1.0),
    "tensorflow.random_uniform_initializer": InitSpec(
        "uniform", low=(0, "minval", 0.0), high=(1, "maxval", 1.0)
    ),
    "tensorflow.glorot_uniform_initializer": InitSpec("glorot_uniform"),
    "tensorflow.glorot_normal_initializer": InitSpec("glorot_normal"),
    "tensorflow.variance_scaling_initializer": InitSpec("variance_scaling", 0, "scale", 1.0),
    "tensorflow.orthogonal_initializer": InitSpec("orthogonal"),
    "slim.xavier_initializer": InitSpec("glorot_uniform"),
    "slim.xavier_initializer_conv2d": InitSpec("glorot_uniform"),
    "slim.variance_scaling_initializer": InitSpec("he_normal"),
    # Keras initializer objects (tf.keras.initializers / tf.initializers)
    "keras.initializers.Zeros": InitSpec("zeros"),
    "keras.initializers.zeros": InitSpec("zeros"),
    "keras.initializers.Ones": InitSpec("ones"),
    "keras.initializers.ones": InitSpec("ones"),
    "keras.initializers.Constant": InitSpec("constant", 0, "value", 0.0),
    "keras.initializers.constant": InitSpec("constant", 0, "value", 0.0),
    "keras.initializers.RandomNormal": InitSpec("normal", 1, "stddev", 0.05),
    "keras.initializers.random_normal": InitSpec("normal", 1, "stddev", 0.05),
    "keras.initializers.TruncatedNormal": InitSpec("truncated_normal", 1, "stddev", 0.05),
    "keras.initializers.truncated_normal": InitSpec("truncated_normal", 1, "stddev", 0.05),
    "keras.initializers.RandomUniform": InitSpec(
        "uniform", low=(0, "minval", -0.05), high=(1, "maxval", 0.05)
    ),
    "keras.initializers.GlorotUniform": InitSpec("glorot_uniform"),
    "keras.initializers.GlorotNormal": InitSpec("glorot_normal"),
    "keras.initializers.HeNormal": InitSpec("he_normal"),
    "keras.initializers.HeUniform": InitSpec("he_uniform"),
    "keras.initializers.LecunNormal": InitSpec("lecun_normal"),
    "keras.initializers.Orthogonal": InitSpec("orthogonal"),
    "keras.initializers.VarianceScaling": InitSpec("variance_scaling", 0, "scale", 1.0),
    "keras.initializers.glorot_uniform": InitSpec("glorot_uniform"),
    "keras.initializers.he_normal": InitSpec("he_normal"),
    # NumPy arrays as initial values
    "numpy.zeros": _tf_tensor("zeros"),
    "numpy.ones": _tf_tensor("ones"),
    "numpy.full": _tf_tensor("constant", 1, "fill_value"),
    "numpy.random.randn": _tf_tensor("normal", default=1.0),
    "numpy.random.normal": _tf_tensor("normal", 1, "scale", 1.0),
    "numpy.load": InitSpec("loaded"),
    # PyTorch tensors used as Parameter values
    "torch.zeros": _tf_tensor("zeros"),
    "torch.zeros_like": _tf_tensor("zeros"),
    "torch.ones": _tf_tensor("ones"),
    "torch.ones_like": _tf_tensor("ones"),
    "torch.full": _tf_tensor("constant", 1, "fill_value"),
    "torch.randn": _tf_tensor("normal", default=1.0),
    "torch.rand": _tf_tensor("uniform", low=(99, "", 0.0), high=(99, "", 1.0)),
    "torch.empty": _tf_tensor("other"),
    "torch.Tensor": _tf_tensor("other"),
    "torch.FloatTensor": _tf_tensor("other"),
    "torch.load": InitSpec("loaded"),
}
#: Keras initializer strings
INIT_STRINGS: dict[str, Init] = {
    "zeros": Init("zeros", 0.0),
    "zero": Init("zeros", 0.0),
    "ones": Init("ones", 1.0),
    "one": Init("ones", 1.0),
    "random_normal": Init("normal", 0.05),
    "truncated_normal": Init("truncated_normal", 0.05),
    "random_uniform": Init("uniform", 0.05),
    "glorot_uniform": Init("glorot_uniform"),
    "glorot_normal": Init("glorot_normal"),
    "he_normal": Init("he_normal"),
    "he_uniform": Init("he_uniform"),
    "lecun_normal": Init("lecun_normal"),
    "lecun_uniform": Init("lecun_uniform"),
    "orthogonal": Init("orthogonal"),
}


#: Library functions that initialise a whole module: the weight init, and where the bias value
#: is (mmcv's ``normal_init(m, mean=0, std=1, bias=0)``; fvcore's ``c2_xavier_fill(m)`` sets 0)
@dataclass(frozen=True)
class ModuleInitSpec:
    weight: InitSpec
    bias_pos: Optional[int] = None
    bias_kw: Optional[str] = "bias"
    bias_default: float = 0.0


MODULE_INIT_FUNCS: dict[str, ModuleInitSpec] = {
    **{
        f"{ns}.{name}": spec
        for ns in ("mmcv.cnn", "mmengine.model")
        for name, spec in (
            ("constant_init", ModuleInitSpec(InitSpec("constant", 1, "val"), 2)),
            ("xavier_init", ModuleInitSpec(InitSpec("glorot_uniform"), 2)),
            ("normal_init", ModuleInitSpec(InitSpec("normal", 2, "std", 1.0), 3)),
            ("trunc_normal_init", ModuleInitSpec(InitSpec("truncated_normal", 2, "std", 1.0), 5)),
            ("uniform_init", ModuleInitSpec(InitSpec("uniform", low=(1, "a", 0.0), high=(2, "b", 1.0)), 3)),
            ("kaiming_init", ModuleInitSpec(InitSpec("he_normal"), 4)),
            ("caffe2_xavier_init", ModuleInitSpec(InitSpec("he_uniform"), 1)),
        )
    },
    "fvcore.nn.weight_init.c2_xavier_fill": ModuleInitSpec(InitSpec("he_uniform"), None, None),
    "fvcore.nn.weight_init.c2_msra_fill": ModuleInitSpec(InitSpec("he_normal"), None, None),
}

#: In-place PyTorch re-initialisation: ``nn.init.<fn>_(tensor, ...)``
TORCH_INIT_FUNCS: dict[str, InitSpec] = {
    "torch.nn.init.zeros_": InitSpec("zeros"),
    "torch.nn.init.ones_": InitSpec("ones"),
    "torch.nn.init.constant_": InitSpec("constant", 1, "val"),
    "torch.nn.init.constant": InitSpec("constant", 1, "val"),
    "torch.nn.init.normal_": InitSpec("normal", 2, "std", 1.0),
    "torch.nn.init.normal": InitSpec("normal", 2, "std", 1.0),
    "torch.nn.init.trunc_normal_": InitSpec("truncated_normal", 2, "std", 1.0),
    "torch.nn.init.uniform_": InitSpec("uniform", low=(1, "a", 0.0), high=(2, "b", 1.0)),
    "torch.nn.init.uniform": InitSpec("uniform", low=(1, "a", 0.0), high=(2, "b", 1.0)),
    "torch.nn.init.xavier_uniform_": InitSpec("glorot_uniform"),
    "torch.nn.init.xavier_normal_": InitSpec("glorot_normal"),
    "torch.nn.init.kaiming_normal_": InitSpec("he_normal"),
    "torch.nn.init.kaiming_uniform_": InitSpec("he_uniform"),
    "torch.nn.init.orthogonal_": InitSpec("orthogonal"),
    "torch.nn.init.xavier_uniform": InitSpec("glorot_uniform"),
    "torch.nn.init.kaiming_normal": InitSpec("he_normal"),
    # timm's versions (timm.layers.weight_init)
    "timm.layers.trunc_normal_": InitSpec("truncated_normal", 2, "std", 1.0),
    "timm.layers.trunc_normal_tf_": InitSpec("truncated_normal", 2, "std", 1.0),
    "timm.layers.lecun_normal_": InitSpec("lecun_normal"),
    "timm.layers.variance_scaling_": InitSpec("variance_scaling", 1, "scale", 1.0),
}
#: In-place tensor methods: ``t.fill_(v)`` etc. (positions count from the first argument)
TENSOR_INIT_METHODS: dict[str, InitSpec] = {
    "zero_": InitSpec("zeros"),
    "fill_": InitSpec("constant", 0, "value"),
    "normal_": InitSpec("normal", 1, "std", 1.0),
    "uniform_": InitSpec("uniform", low=(0, "from", 0.0), high=(1, "to", 1.0)),
    "copy_": InitSpec("loaded"),
    "constant_": InitSpec("constant", 0, "val"),
    # rescaled or shifted in place: a re-init whose value is not a constant we know
    "mul_": InitSpec("other"),
    "div_": InitSpec("other"),
    "add_": InitSpec("other"),
    "sub_": InitSpec("other"),
}


#: Words whose presence in a statement's source means it may hold a bias or feed one.
#: Statements without any of them are skipped without being visited (see locate.py).
def filter_words() -> set[str]:
    words = {
        "bias",
        "biases",
        "Variable",
        "variable",
        "Parameter",
        "initializer",
        "init",
        "weight",
        "weights",
        "apply",
        "modules",
        "named_parameters",
        "parameters",
        "matmul",
        "forward",
        "call",
        "Sequential",
        "add_weight",
        "add_variable",
        "arg_scope",
        "add",
        "Model",
        "cell",
        "forget_bias",
        "logits",
        "loss",
        "lstm",
        "LSTM",
        "rnn",
        "build",
        "return",
        "constant",
        "fill_",
        "zero_",
        "normal_",
        "uniform_",
        "data",
        "assign",
        "model",
        "layer",
        "layers",
        "net",
        "scope",
        "inference",
        "dense",
        "conv",
    }
    for table in (
        LAYERS,
        ACTIVATIONS,
        NORMALIZERS,
        KERNEL_OPS,
        BIAS_APPLY,
        LOSSES,
        VARIABLE_CREATORS,
        INITIALIZERS,
        TORCH_INIT_FUNCS,
    ):
        for key in table:
            words.add(key.rsplit(".", 1)[-1])
    words |= LOAD_CALLS | SEQUENTIAL | MODULE_LISTS
    return {w.rsplit(".", 1)[-1] for w in words}


# ---------------------------------------------------------------------------------------
# Calls the interpreter treats specially (wrappers, RNN runners, scopes, inputs).
SLIM_REPEAT = frozenset({"slim.repeat", "slim.stack"})
SLIM_SAME = {
    "slim.convolution2d": "slim.conv2d",
    "slim.conv2d": "slim.convolution2d",
    "slim.fully_connected": "slim.fully_connected",
}
WRAPPERS = frozenset(
    {
        "keras.layers.Bidirectional",
        "keras.layers.TimeDistributed",
        "tensorflow.nn.rnn_cell.DropoutWrapper",
        "tensorflow.nn.rnn_cell.MultiRNNCell",
        "tensorflow.nn.rnn_cell.ResidualWrapper",
        "keras.layers.RNN",
    }
)
RNN_RUNNERS = frozenset(
    {
        "tensorflow.nn.dynamic_rnn",
        "tensorflow.nn.static_rnn",
        "tensorflow.nn.bidirectional_dynamic_rnn",
        "tensorflow.nn.rnn_cell.static_rnn",
        "tensorflow.nn.rnn_cell.static_bidirectional_rnn",
        "tensorflow.nn.static_bidirectional_rnn",
    }
)
BIRNN_RUNNERS = frozenset(
    {"tensorflow.nn.bidirectional_dynamic_rnn", "tensorflow.nn.static_bidirectional_rnn"}
)
#: variable creators that honour the variable scope's ``reuse`` (a lookup, not a creation)
SCOPED_GETTERS = frozenset({"tensorflow.get_variable", "slim.variable", "slim.model_variable"})
SCOPES = frozenset({"tensorflow.variable_scope", "tensorflow.name_scope", "slim.variable_scope"})
INPUTS = frozenset({"keras.Input", "keras.layers.Input", "tensorflow.placeholder", "keras.layers.InputLayer"})
LAYER_BASES = frozenset({"keras.layers.Layer", "keras.layers.layer.Layer", "keras.Layer"})
SHAPE_QUERIES = frozenset(
    {
        "get_shape",
        "size",
        "dim",
        "numel",
        "shape",
        "ndimension",
        "item",
        "nelement",
        "type",
        "dtype",
        "device",
    }
)
SAME_OBJECT = frozenset(
    {"to", "cuda", "cpu", "eval", "train", "double", "float", "half", "requires_grad_", "share_memory"}
)


def is_keras_layer(q: str) -> bool:
    """A ``keras.layers`` name biaslint knows: a layer, an activation, a pass-through layer."""
    return q in LAYERS or q in ACTIVATIONS or q in ACTIVATION_BY_ARG or q in TRANSPARENT or q in RESHAPES
