"""Settings for every pytest process, read before any test module imports TensorFlow.

TensorFlow's thread pools are sized when TensorFlow starts, which may happen in any test
that runs Keras in-process (the tutorials' Keras runs, the parity tests), in whichever
pytest-xdist worker it lands. A pool of several threads can split a reduction differently
when the machine is busy, which changes float32 rounding from run to run and makes the long
parity comparisons flaky (seen: the autoencoder's 2-D codes 5e-3 apart after 80 steps, in
a worker where a tutorial had started TensorFlow before the parity fixture could pin it to
one thread). The environment variables below pin it at start-up, whoever starts it.
"""

import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
