"""Embedding: integer indices -> rows of a trainable table (a lookup, i.e. a gather).

    y[..., :] = embeddings[x[...], :]       x: integers in [0, input_dim), any shape
                                            y: x.shape + (output_dim,)

It is a Dense layer applied to one-hot vectors, without ever building them: one_hot(x) @ E
picks row x of E. So its gradient is the one-hot product's, too: dE = one_hot(x)ᵀ @ dy, i.e.
each output row's gradient is *added* to the table row it was read from. The same index may
appear many times in a batch (a frequent word), so this is a scatter-*add*, where repeated
indices accumulate (``backend.scatter_add``), not an assignment.
"""

from __future__ import annotations

import warnings
from typing import Any

from minikeras import backend, initializers
from minikeras.layers import argument_checks as check
from minikeras.layers.layer import Layer, Shape, reject_unsupported


def _initializer(value: Any) -> Any:
    """Keras' ``"uniform"`` (Embedding's default) is RandomUniform(-0.05, 0.05)."""
    if isinstance(value, str) and value.lower() in ("uniform", "normal"):
        value = "random_" + value.lower()
    return initializers.get(value)


class Embedding(Layer):
    """A (input_dim, output_dim) table ``embeddings``; ``y = embeddings[x]`` (see the module
    docstring). ``mask_zero=True`` is refused: minikeras has no masking, and silently
    ignoring it would let padding zeros into every later layer's sums."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None,
                 mask_zero: bool = False, weights: Any = None, lora_rank: Any = None,
                 lora_alpha: Any = None, activity_regularizer: Any = None,
                 input_length: int | None = None, **kwargs: Any) -> None:
        name = "Embedding"
        if "dropout" in kwargs:   # Keras 1: drop whole rows (words) of the table in training
            raise NotImplementedError(
                f"{name}: `dropout={kwargs['dropout']!r}` (Keras 1: drop whole words) is not "
                "supported by minikeras; Keras 2 and 3 dropped it too. Put a Dropout layer "
                "after the Embedding instead.")
        input_dim = check.positive_int(name, "input_dim", input_dim)
        output_dim = check.positive_int(name, "output_dim", output_dim)
        if input_length is not None:
            # Keras 3 ignores it ("deprecated. Just remove it."); Keras 1/2 scripts meant the
            # sequence length, which a Sequential without an Input needs to know its shapes.
            warnings.warn(f"{name}: `input_length={input_length!r}` is Keras 1/2 spelling; "
                          "use `Input(shape=(input_length,))` before the layer.",
                          DeprecationWarning, stacklevel=3)
            if all(k not in kwargs for k in ("input_shape", "batch_input_shape")):
                length = check.positive_int(name, "input_length", input_length)
                kwargs["input_shape"] = (length,)
        with warnings.catch_warnings():
            if input_length is not None:   # its input_shape is ours, not the user's
                warnings.simplefilter("ignore", UserWarning)
            super().__init__(**kwargs)
        reject_unsupported(name, embeddings_regularizer=embeddings_regularizer,
                           embeddings_constraint=embeddings_constraint, lora_rank=lora_rank,
                           lora_alpha=lora_alpha, activity_regularizer=activity_regularizer)
        if check.boolean(name, "mask_zero", mask_zero):
            raise NotImplementedError(
                f"{name}: `mask_zero=True` is not supported: minikeras has no masking, so the "
                "padding index 0 would flow into every later layer. Use mask_zero=False (the "
                "padding rows are then learned like any other), or trim the padding yourself.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = _initializer(embeddings_initializer)
        self.mask_zero = False
        if weights is not None:   # Keras: Embedding(..., weights=[matrix]) builds eagerly
            self.build_for((None, None))
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1
                             else [weights])

    def build(self, input_shape: Shape) -> None:
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*tuple(input_shape), self.output_dim)

    def _indices(self, inputs: Any) -> Any:
        """The input as integer indices (floats truncate, as Keras' cast), range-checked."""
        xp = backend.xp
        indices = inputs if inputs.dtype.kind in "iu" else inputs.astype(xp.int64)
        outside = (indices < 0) | (indices >= self.input_dim)
        if bool(outside.any()):   # one device->host read per call
            bad = int(indices[outside].reshape(-1)[0])
            raise ValueError(f"Embedding layer '{self.name}': input index {bad} is out of "
                             f"range: indices must be in [0, {self.input_dim}) (input_dim="
                             f"{self.input_dim}).")
        return indices

    def forward(self, inputs: Any, training: bool = False) -> Any:
        indices = self._indices(inputs)
        y = self.embeddings.value[indices]        # gather: one table row per index
        self.cache = indices
        return y

    def backward(self, grad_output: Any) -> Any:
        """Given dy = dL/dy for y[i] = E[x[i]] (one row per index position i):

            dE[r] = Σ_{i : x[i] = r} dy[i]     (scatter-add: repeated indices accumulate)
            dx    = None                        (indices are integers: no gradient)
        """
        indices = self.cache
        if self.trainable:
            d_embeddings = backend.xp.zeros(self.embeddings.shape, dtype=grad_output.dtype)
            backend.scatter_add(d_embeddings, indices.reshape(-1),
                                grad_output.reshape(-1, self.output_dim))
            self.embeddings.add_grad(d_embeddings)
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": None, "activity_regularizer": None,
                "embeddings_constraint": None, "mask_zero": False}
