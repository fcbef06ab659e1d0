"""Small weights packed into one flat array, so that an optimizer step is a few NumPy calls.

Why: every optimizer formula (SGD, RMSprop, Adam) is *element-wise*: each entry of a weight
is updated from the same entry of its gradient and of its slots, with scalars shared by all
weights. Applying the formula to the concatenation of all weights therefore gives exactly the
same numbers, bit for bit, as applying it weight by weight. What changes is the cost: a model
such as the tutorial MLP has four small weights, and Adam needs about a dozen NumPy calls per
weight; each call costs a few microseconds however small the array, so updating four arrays
one by one costs four times the call overhead of updating one array of the same total size.

A ``ParameterPack`` owns one flat buffer for the values, one for the gradients and one per
optimizer slot. Each packed ``Variable.value`` (and each slot array) becomes a *view* into its
buffer, so layers and the rest of the code see ordinary arrays and need no change; an update
of the flat buffer updates every weight at once. Each step the gradients (separate arrays made
by the layers) are copied into the flat gradient buffer: one pass over the weights.

Large weights are left out (``PACK_MAX_SIZE``): for them the call overhead is negligible and
that extra copy would cost more than it saves.

Each weight starts at a multiple of ``ALIGN`` entries (64 bytes in float32), so the views are
as well aligned for BLAS as a fresh array. The gaps are zeros, with zero gradients: every
optimizer leaves a zero weight with zero gradient and zero slots at zero.
"""

from __future__ import annotations

from typing import Any

from minikeras import backend
from minikeras.variable import Variable

#: weights with more entries than this are updated on their own (see the module docstring)
PACK_MAX_SIZE = 1 << 16
ALIGN = 16


class ParameterPack:
    """Flat value, gradient and slot buffers for a list of same-dtype variables.

    ``slots`` maps ``id(variable)`` to ``{slot name: array}`` (the optimizer's own dict): the
    current slot values are copied into the flat slot buffers and the dict entries replaced by
    views, so the optimizer's per-weight state (saved in weight files) stays valid.
    """

    def __init__(self, variables: list[Variable], slots: dict[int, dict[str, Any]],
                 slot_names: tuple[str, ...]) -> None:
        xp = backend.xp
        self.variables = list(variables)
        dtype = self.variables[0].value.dtype
        self.bounds: list[tuple[int, int]] = []
        total = 0
        for var in self.variables:
            self.bounds.append((total, total + var.value.size))
            total = -(-(total + var.value.size) // ALIGN) * ALIGN
        self.value = xp.zeros(total, dtype)
        self.grad = xp.zeros(total, dtype)
        self.slots = {name: xp.zeros(total, dtype) for name in slot_names}
        for var, (a, b) in zip(self.variables, self.bounds, strict=True):
            shape = var.value.shape
            self.value[a:b] = var.value.reshape(-1)
            var.value = self.value[a:b].reshape(shape)
            for name, flat in self.slots.items():
                flat[a:b] = slots[id(var)][name].reshape(-1)
                slots[id(var)][name] = flat[a:b].reshape(shape)
        self._views = [var.value for var in self.variables]
        #: id(variable) -> its place in ``variables`` (the order ``gather`` expects)
        self.position = {id(var): i for i, var in enumerate(self.variables)}
        #: a Variable standing for all packed weights, so ``update_step`` runs unchanged
        self.flat = Variable(self.value, "packed_weights")

    def holds(self, variables: list[Variable]) -> bool:
        """True if this pack is exactly these variables and none was given a new array
        (``var.value = ...`` elsewhere would detach it from the flat buffer)."""
        return (len(variables) == len(self.variables)
                and all(v is w and v.value is view for v, w, view in
                        zip(variables, self.variables, self._views, strict=True)))

    def gather(self, grads: list[Any]) -> Any:
        """Copy the per-weight gradients into the flat gradient buffer (cast if needed)."""
        xp = backend.xp
        for g, (a, b) in zip(grads, self.bounds, strict=True):
            xp.copyto(self.grad[a:b], g.reshape(-1), casting="same_kind")
        return self.grad


def packable(variables: list[Variable]) -> list[Variable]:
    """The variables worth packing: small ones, if at least two share the first one's dtype."""
    small = [v for v in variables if v.value.size <= PACK_MAX_SIZE]
    if not small:
        return []
    dtype = small[0].value.dtype
    same = [v for v in small if v.value.dtype == dtype]
    return same if len(same) >= 2 else []
