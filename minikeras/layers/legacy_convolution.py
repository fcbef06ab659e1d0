"""Keras 1/2's ``Convolution2D``: a Conv2D whose positional ``(32, 5, 5)`` means a 5x5 kernel.

The argument conversion itself is in ``minikeras/legacy.py`` (it reads
``_legacy_positional_kernel``); this module only defines the class, at the layers' level.
"""

from __future__ import annotations

from minikeras.layers.convolutional import Conv2D


class Convolution2D(Conv2D):
    """Keras 1/2's ``Convolution2D(nb_filter, nb_row, nb_col, border_mode=, subsample=, ...)``.

    A ``Conv2D`` in every respect (same weights, forward, backward, auto-name ``conv2d``)
    whose positional ``(32, 5, 5)`` means 32 filters of 5x5, as in Keras 1/2. Keras 3's own
    ``Convolution2D`` is a plain alias of ``Conv2D``, where the same call silently means a
    kernel of width 5 with strides 5; minikeras.layers.Convolution2D is this class, because
    only old code uses that name and it means the Keras 1/2 thing.
    """

    # Read by convert_layer_arguments; Conv2D's wrapped __init__ runs with cls=Convolution2D.
    _legacy_positional_kernel = True


# Keras 3 has no class of this name (its Convolution2D *is* Conv2D), so its summary prints
# "(Conv2D)" and its files say "class_name": "Conv2D" for either spelling. This layer shows
# and saves itself the same way (``type(layer).__name__``: summary, config, error messages),
# and a saved model loads back as a plain Conv2D, in minikeras and in Keras alike. It stays
# registered as "Convolution2D" (``minikeras.legacy`` finds it under that name).
Convolution2D.__name__ = "Conv2D"
