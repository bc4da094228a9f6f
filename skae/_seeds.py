"""Seeds: each layer skae builds gets one of its own, and a fit's block is seeded.

Keras gives a layer or initializer built without a seed one drawn from
Python's global random state. skae gives every layer it builds a seed
explicitly (``layer_seed``), drawn from a Random that a seeded block keeps
for its own thread: the same ``random_state`` gives the same layers in
threads, Dask workers and processes, whatever else draws from Python's
random state meanwhile, and nothing of Keras is patched. Outside a seeded
block (``random_state=None``) a layer gets None: Keras's own draw.
"""

import random
import threading
from contextlib import contextmanager

import keras
import tensorflow as tf

from . import _speedups

_local = threading.local()


def layer_seed():
    """The seed for the next layer or initializer skae builds in this
    thread: the seeded block's next draw, or None outside one."""
    source = getattr(_local, "random", None)
    return None if source is None else source.randint(1, 10**9)


def glorot_uniform():
    """Keras's default kernel initializer, with a seed of its own."""
    return keras.initializers.GlorotUniform(seed=layer_seed())


def dense(units, activation=None):
    """``keras.layers.Dense``, its kernel's initializer seeded."""
    return keras.layers.Dense(units, activation=activation, kernel_initializer=glorot_uniform())


# TensorFlow's seed when none is set, as tf.compat.v1.random.get_seed reports it.
_DEFAULT_GRAPH_SEED = 87654321


def global_seed():
    """The user's TensorFlow global seed, or None, through the public
    ``tf.compat.v1.random.get_seed`` (asked with an op seed, it draws
    nothing). A global seed of exactly 87654321 reads as None: TensorFlow
    reports that number when no seed is set."""
    seed = tf.compat.v1.random.get_seed(0)[0]
    return None if seed == _DEFAULT_GRAPH_SEED else seed


@contextmanager
def seeded(seed, *, global_seed_too=False, determinism=True):
    """Layer seeds drawn from ``seed`` in this thread, and TensorFlow's op
    determinism on (``_speedups.op_determinism``), for a block; all restored after.

    The data stream's shuffle takes ``seed`` itself. TensorFlow's global
    seed would pair with that seed in the shuffle: if the user set one, it
    is unset for the block, so that the same ``seed`` gives the same model
    whatever seeds the user set. It is set to ``seed`` only with
    ``global_seed_too``, for Keras's own batching, whose shuffle takes no
    seed: ``tf.random.set_seed`` clears TensorFlow's kernel caches, and the
    next call of a traced training step then pays 0.25-0.5 s to instantiate
    it again. Python's and NumPy's global random states are not touched.
    Without ``determinism``, op determinism is left as it is: Keras turns
    XLA off under it.
    """
    outer = getattr(_local, "random", None)
    _local.random = random.Random(seed)
    users_seed = global_seed()
    block_seed = seed if global_seed_too else None
    if users_seed != block_seed:
        tf.random.set_seed(block_seed)
    try:
        with _speedups.op_determinism(determinism):
            yield
    finally:
        _local.random = outer
        if users_seed != block_seed:
            tf.random.set_seed(users_seed)
