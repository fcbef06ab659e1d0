"""The skeleton files of the optimizer exercises (see ``ex_optimizers.py``).

What ``update_step`` receives is the contract of ``minikeras/optimizers/optimizer.py``, Keras
3's: ``update_step(gradient, variable, learning_rate)``, once per weight and step; the
per-weight state lives in Keras 3's slot lists (``self._momentums``...), at the index
``self._get_variable_index(variable)`` (zeros before the first step), updated in place.
"""

_HEAD = '''\
"""Exercise {name}: write {title}'s update step, as Keras 3 computes it.
(the tour: docs/inside.md, stop 6)

Check your work with:   python -m minikeras.exercises check {name} {{path}}
Stuck? Read minikeras/optimizers/{module}.py ({base}.update_step).

update_step is called once per weight per training step (as in Keras 3), with
    gradient       g, the weight's dL/dw, shaped like the weight, in its dtype
    variable       the weight (variable.name is e.g. "dense/kernel"): variable.value is w,
                   update it IN PLACE (variable.value -= ...)
    learning_rate  lr, this step's learning rate (a number)
Cast scalars to w's dtype first, as Keras does (f = variable.dtype.type; lr = f(learning_rate)),
so that float32 rounds like Keras. The state of this weight (zeros before the first step;
update it in place: m[...] = ..., or m += ...) is at index i = self._get_variable_index(variable)
of the slot lists named below. self.iterations counts the steps already taken.
"""

from minikeras.optimizers import {base}
'''

SGD = _HEAD.format(name="sgd_momentum", title="SGD with momentum", base="SGD", module="sgd") + '''

class MySGD(SGD):
    """Slot list self.momentums: m = self.momentums[i], shaped like w. With μ = self.momentum
    (> 0 here):

        m ← μ·m − lr·g
        w ← w + m

    (self.momentum == 0: w ← w − lr·g.  self.nesterov: w ← w + μ·m − lr·g, after m's update.)
    """

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("update_step: m ← μ·m − lr·g, then w ← w + m")
'''

RMSPROP = _HEAD.format(name="rmsprop", title="RMSprop", base="RMSprop", module="rmsprop") + '''

class MyRMSprop(RMSprop):
    """Slot list self._velocities: v = self._velocities[i], a running mean of g², shaped
    like w. With ρ = self.rho and ε = self.epsilon (self.momentum == 0 and
    self.centered == False here):

        v ← ρ·v + (1 − ρ)·g²
        w ← w − lr·g / √(v + ε)          (Keras' RMSprop: ε inside the root)
    """

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError("update_step: v ← ρv + (1 − ρ)g², then "
                                  "w ← w − lr·g / √(v + ε)")
'''

ADAM = _HEAD.format(name="adam", title="Adam", base="Adam", module="adam") + '''

class MyAdam(Adam):
    """Slot lists self._momentums and self._velocities: m = self._momentums[i] and
    v = self._velocities[i], shaped like w. With β₁ = self.beta_1,
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
