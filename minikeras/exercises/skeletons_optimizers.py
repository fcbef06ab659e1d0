"""The skeleton files of the optimizer exercises (see ``ex_optimizers.py``).

What ``update_step`` receives is the contract of ``minikeras/optimizers``: Keras 3's
``update_step(gradient, variable, learning_rate)``, once per weight and step, with the
learning rate already in the weight's dtype; the per-weight state lives in
``self._slots[id(variable)]`` (zeros before the first step), to be updated in place.
"""

_HEAD = '''\
"""Exercise {name}: write {title}'s update step, as Keras 3 computes it.
(the tour: docs/inside.md, stop 6)

Check your work with:   python -m minikeras.exercises check {name} {{path}}
Stuck? Read minikeras/optimizers (class {base}.update_step).

update_step is called once per weight per training step, with
    gradient       g, the weight's dL/dw, shaped like the weight
    variable       the weight: variable.value is w (update it IN PLACE: variable.value -= ...)
    learning_rate  lr, already cast to w's dtype
Scalars such as momentum or betas: cast them to w's dtype first, as Keras does
(t = variable.value.dtype.type; mu = t(self.momentum)), so that float32 rounds like Keras.
The state of this weight (zeros before the first step; update it in place, s[...] = ...):
    self._slots[id(variable)]["<slot name>"]
"""

from minikeras.optimizers import {base}
'''

SGD = _HEAD.format(name="sgd_momentum", title="SGD with momentum", base="SGD") + '''

class MySGD(SGD):
    """Slot "momentum": m, shaped like w. With μ = self.momentum (> 0 here):

        m ← μ·m − lr·g
        w ← w + m

    (self.momentum == 0: w ← w − lr·g.  self.nesterov: w ← w + μ·m − lr·g, after m's update.)
    """

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("update_step: m ← μ·m − lr·g, then w ← w + m")
'''

RMSPROP = _HEAD.format(name="rmsprop", title="RMSprop", base="RMSprop") + '''

class MyRMSprop(RMSprop):
    """Slot "velocity": v, a running mean of g², shaped like w. With ρ = self.rho and
    ε = self.epsilon (self.momentum == 0 and self.centered == False here):

        v ← ρ·v + (1 − ρ)·g²
        w ← w − lr·g / √(v + ε)          (Keras' RMSprop: ε inside the root)
    """

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("update_step: v ← ρv + (1 − ρ)g², then "
                                  "w ← w − lr·g / √(v + ε)")
'''

ADAM = _HEAD.format(name="adam", title="Adam", base="Adam") + '''

class MyAdam(Adam):
    """Slots "momentum": m and "velocity": v, shaped like w. With β₁ = self.beta_1,
    β₂ = self.beta_2, ε = self.epsilon and t = self.iterations + 1 (1 at the first step:
    self.iterations counts the steps already done):

        m ← m + (g − m)·(1 − β₁)           (= β₁m + (1 − β₁)g, in Keras' order)
        v ← v + (g² − v)·(1 − β₂)
        α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)      the bias corrections, folded into the step size
        w ← w − α·m / (√v + ε)             (ε outside the root, and not bias-corrected)
    """

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("update_step: m, v, α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), "
                                  "w ← w − α·m / (√v + ε)")
'''
