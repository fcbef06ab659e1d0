"""The recurrent layers, under one roof (Keras 2's ``keras.layers.recurrent`` module name).

This module only re-exports. Each layer lives in its own file: ``rnn_base.py`` (the time
loop's bookkeeping, stateful state, ``initial_state``, dropout masks), ``rnn_ops.py`` (the
gate products and the activation backward the cells call), ``simple_rnn.py``, ``lstm.py`` and
``gru.py`` (a cell each: its step formula, its named cache and its backpropagation through
time), and ``bidirectional.py`` (the Bidirectional wrapper).
"""

from minikeras.layers.gru import GRU
from minikeras.layers.lstm import LSTM
from minikeras.layers.rnn_base import RNNBase
from minikeras.layers.simple_rnn import SimpleRNN

__all__ = ["GRU", "LSTM", "RNNBase", "SimpleRNN"]
