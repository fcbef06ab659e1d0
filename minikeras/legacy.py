"""Keras 1/2 argument spellings, translated to Keras 3 ones with a DeprecationWarning.

``Layer.__init_subclass__`` routes every layer constructor through
``convert_layer_arguments`` before the real ``__init__`` runs, so old code such as

    Dense(output_dim=10, init="uniform")              ->  Dense(units=10, kernel_initializer=...)
    MaxPooling2D(border_mode="same", dim_ordering="th") -> MaxPooling2D(padding="same",
                                                                     data_format="channels_first")
    LSTM(output_dim=20, input_dim=1, input_length=5)   ->  LSTM(20, input_shape=(5, 1))

builds the same layer as the modern spelling, and says so in one warning line per argument.
The meaning of each conversion is the one Keras 2 gave it (``keras/legacy/interfaces.py`` in
Keras 2.x), since that is how the old tutorials ran. Keras 3 itself rejects these names.

Keyword names are unambiguous (Keras 3 has no ``output_dim`` anywhere), so they are converted
for every layer. The positional ``Convolution2D(32, 5, 5)`` is not: in Keras 3 the third
argument of ``Conv2D`` is ``strides``. It means a 5x5 kernel only for the legacy class
``Convolution2D`` (in ``layers/legacy_convolution.py``, above this module), which
``python -m minikeras.as_keras`` serves as ``keras.layers``' ``Convolution2D`` and ``Conv2D``.
"""

from __future__ import annotations

import warnings
from typing import Any

from minikeras import backend, registry

# Keras 1 names -> Keras 3 names, per layer family (family = a class name in the MRO).
_WEIGHTS = [("init", "kernel_initializer"), ("W_regularizer", "kernel_regularizer"),
            ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"),
            ("b_constraint", "bias_constraint"), ("bias", "use_bias")]
_RENAMES: dict[str, list[tuple[str, str]]] = {
    "Dense": [("output_dim", "units"), *_WEIGHTS],
    "Dropout": [("p", "rate")],
    "LeakyReLU": [("alpha", "negative_slope")],
    "Conv2D": [("nb_filter", "filters"), ("subsample", "strides"), ("border_mode", "padding"),
               ("dim_ordering", "data_format"), *_WEIGHTS],
    "_Pooling2D": [("border_mode", "padding"), ("dim_ordering", "data_format")],
    "_GlobalPooling2D": [("dim_ordering", "data_format")],
    "UpSampling2D": [("dim_ordering", "data_format")],
    "ZeroPadding2D": [("dim_ordering", "data_format")],
    "RNNBase": [("output_dim", "units"), ("init", "kernel_initializer"),
                ("inner_init", "recurrent_initializer"),
                ("inner_activation", "recurrent_activation"),
                ("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer"),
                ("U_regularizer", "recurrent_regularizer"), ("dropout_W", "dropout"),
                ("dropout_U", "recurrent_dropout"), ("consume_less", "implementation")],
}
# Keras 1/2 names of the issue-16 layers.
_RENAMES.update({
    "Conv1D": [("nb_filter", "filters"), ("filter_length", "kernel_size"),
               ("subsample_length", "strides"), ("border_mode", "padding"), *_WEIGHTS],
    "_Pooling1D": [("pool_length", "pool_size"), ("stride", "strides"),
                   ("border_mode", "padding")],
    "Embedding": [("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
                  ("W_constraint", "embeddings_constraint")],
    "BatchNormalization": [("beta_init", "beta_initializer"), ("gamma_init", "gamma_initializer")],
    "Conv2DTranspose": [("nb_filter", "filters"), ("subsample", "strides"),
                        ("border_mode", "padding"), ("dim_ordering", "data_format"), *_WEIGHTS],
    "Cropping2D": [("dim_ordering", "data_format")],
})
# Keras 1 names of the noise layers and UpSampling1D.
_RENAMES.update({
    "_SpatialDropout": [("p", "rate"), ("dim_ordering", "data_format")],
    "GaussianNoise": [("sigma", "stddev")],
    "GaussianDropout": [("p", "rate")],
    "UpSampling1D": [("length", "size")],
})
# Old values that Keras 3 spells differently.
_DIM_ORDERING = {"th": "channels_first", "tf": "channels_last", "default": None}
_INITIALIZERS = {"uniform": "random_uniform", "normal": "random_normal", "zero": "zeros",
                 "one": "ones"}
_CONSUME_LESS = {"cpu": 1, "mem": 1, "gpu": 2}  # Keras 3 has implementations 1 and 2 only


def warn(old: str, new: str, where: str, stacklevel: int = 4) -> None:
    """One DeprecationWarning line: ``Dense: `output_dim=10` is Keras 1/2 spelling; use ...``.

    ``stacklevel`` 4 points at the user's line: warn <- convert <- Layer's wrapper <- user
    (the helpers below, one call deeper, pass 5).
    """
    warnings.warn(f"{where}: `{old}` is Keras 1/2 spelling; use `{new}`.", DeprecationWarning,
                  stacklevel=stacklevel)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _families(cls: type) -> list[str]:
    return [c.__name__ for c in cls.__mro__ if c.__name__ in _RENAMES]


def convert_layer_arguments(cls: type, init: Any, args: tuple, kwargs: dict) -> tuple:
    """Return ``(args, kwargs)`` with legacy names replaced by modern ones.

    Called for every layer constructor, including the ``super().__init__`` calls inside a
    layer: the outermost call converts, the inner ones find nothing left to convert.
    """
    families = _families(cls)
    if not families and "input_dtype" not in kwargs:
        return args, kwargs
    kwargs = dict(kwargs)
    where = cls.__name__
    if "Conv2D" in families:
        args = _conv2d_kernel(cls, args, kwargs, where)
        if getattr(cls, "_legacy_positional_kernel", False) and kwargs.get("name") is None:
            kwargs["name"] = backend.unique_name("conv2d")  # as Keras 2 named them
    if "RNNBase" in families:
        _recurrent_shapes(kwargs, where)
    for family in families:
        for old, new in _RENAMES[family]:
            if old not in kwargs:
                continue
            value = kwargs.pop(old)
            if new in kwargs:
                raise TypeError(f"{where} received both the legacy keyword argument `{old}` and "
                                f"the Keras 3 keyword argument `{new}`. Keep the latter.")
            if old == "dim_ordering":
                kwargs[new] = _convert_value(value, _DIM_ORDERING, old)
            elif old == "consume_less":
                kwargs[new] = _convert_value(value, _CONSUME_LESS, old)
            elif new.endswith("_initializer") and isinstance(value, str):
                kwargs[new] = _INITIALIZERS.get(value.lower(), value)
            else:
                kwargs[new] = value
            note = (" (Keras 3's hard_sigmoid has slope 1/6; Keras 1/2's had 0.2)"
                    if value == "hard_sigmoid" else "")
            warn(f"{old}={_short(value)}", f"{new}={_short(kwargs[new])}{note}", where)
    for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        value = kwargs.get(key)
        if isinstance(value, str) and value.lower() in _INITIALIZERS:
            kwargs[key] = _INITIALIZERS[value.lower()]
            warn(f"{key}={value!r}", f"{key}={kwargs[key]!r}", where)
    if "input_dtype" in kwargs:
        kwargs["dtype"] = kwargs.pop("input_dtype")
        warn("input_dtype=", "dtype=", where)
    return tuple(args), kwargs


def _convert_value(value: Any, table: dict[str, Any], what: str) -> Any:
    if value in table:
        return table[value]
    raise ValueError(f"Unknown value {value!r} for the Keras 1 argument `{what}`; expected one "
                     f"of {sorted(table)}.")


def _conv2d_kernel(cls: type, args: tuple, kwargs: dict, where: str) -> tuple:
    """``nb_row``/``nb_col`` (keywords, or positional for Convolution2D) -> ``kernel_size``."""
    if getattr(cls, "_legacy_positional_kernel", False) and len(args) > 3:
        raise TypeError(f"{where} takes at most 3 positional arguments "
                        "(nb_filter, nb_row, nb_col).")
    if getattr(cls, "_legacy_positional_kernel", False) and len(args) == 3:
        filters, rows, cols = args
        if isinstance(rows, int) and isinstance(cols, int):
            warn(f"{where}({filters}, {rows}, {cols})",
                 f"Conv2D({filters}, kernel_size=({rows}, {cols}))", where, 5)
            return (filters, (rows, cols))
    if len(args) == 2 and "nb_col" in kwargs and isinstance(args[1], int):
        cols = kwargs.pop("nb_col")
        warn(f"nb_col={cols}", f"kernel_size=({args[1]}, {cols})", where, 5)
        return (args[0], (args[1], cols))
    if len(args) <= 1 and "nb_row" in kwargs and "nb_col" in kwargs:
        size = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
        warn(f"nb_row={size[0]}, nb_col={size[1]}", f"kernel_size={size}", where, 5)
        kwargs["kernel_size"] = size
    return args


def _recurrent_shapes(kwargs: dict, where: str) -> None:
    """Keras 1's ``input_dim`` (+ ``input_length``) meant ``input_shape=(length, dim)``.

    Keras 3 reads ``input_dim`` as ``input_shape=(dim,)``, which an RNN rejects (ndim 2).
    """
    if "forget_bias_init" in kwargs:
        value = kwargs.pop("forget_bias_init")
        if value == "one":
            kwargs["unit_forget_bias"] = True
            warn("forget_bias_init='one'", "unit_forget_bias=True", where, 5)
        else:
            warn(f"forget_bias_init={value!r} (ignored)", "unit_forget_bias=True", where, 5)
    if "input_dim" in kwargs or "input_length" in kwargs:
        if "input_dim" not in kwargs:
            raise ValueError(f"{where}: `input_length` needs `input_dim` (or use "
                             "`input_shape=(length, features)`).")
        shape = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        kwargs["input_shape"] = shape
        warn(f"input_dim={shape[1]}, input_length={shape[0]}", f"input_shape={shape}", where, 5)


def __getattr__(name: str) -> Any:
    # Convolution2D is a layer (minikeras/layers/legacy_convolution.py), above this module
    if name == "Convolution2D":
        return registry.get("Convolution2D")
    raise AttributeError(f"module 'minikeras.legacy' has no attribute {name!r}")
