"""The data stream a fit reads: X and its target as tf.data batches.

Plain functions of arrays and Keras's float type; they know nothing of
models or of scikit-learn.
"""

import keras
import numpy as np
import tensorflow as tf


def batches(X, y, batch_size, seed=None, *, shuffle=True, endless=False):
    """X and y as a tf.data stream of batches: one pass over a new
    permutation each epoch (``shuffle``), its last batch short, as Keras
    batches arrays.

    ``endless`` repeats the passes in one stream. Keras builds a new
    iterator over arrays every epoch, about 10 ms on CPU: a fit of 200
    epochs on a few hundred rows spent two thirds of its time there. Fed an
    endless stream with ``steps_per_epoch``, Keras keeps one iterator for
    the whole fit.

    The rows are gathered by a sequential map. Keras's own stream gathers
    with a parallel one, which TensorFlow rewrites into a sequential one
    when op determinism is on (a seeded fit), and logs an ``E0000 ...
    NodeDef mentions attribute use_unbounded_threadpool`` line each time.

    tf.data's autotuning and graph rewrites are off: this stream has
    nothing for them to tune or rewrite. Freeing an iterator waited for the
    tuning thread to wake, which held the end of one fit in three by
    0.3-1.4 s (784 features, 4,000 rows); the rewrites serialise the
    stream's graph, X included, and kept two more copies of X for the fit.

    But TensorFlow serialises a stream's graph anyway when op determinism
    is on (a seeded fit), and X with it: an X of more than TENSOR_BYTES
    stays a numpy array, and a Python generator feeds its batches. X read
    from disk a chunk at a time (``skae._chunks.ChunkedRows``, its own
    target) streams itself.
    """
    if hasattr(X, "stream"):
        return X.stream(batch_size, seed, shuffle=shuffle, endless=endless)
    if X.nbytes > TENSOR_BYTES:
        passes = shuffled_passes(lambda i: (X, y), 1, batch_size, seed, shuffle=shuffle, endless=endless)
        return generated_stream(passes, X, y, -(-len(X) // batch_size), endless=endless)

    X_t = as_tensor(X)
    data = (X_t, X_t if y is X else as_tensor(y))
    rows = tf.data.Dataset.range(len(X))
    if shuffle:
        rows = rows.shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
    rows = rows.batch(batch_size)
    stream = tf.data.Dataset.zip(rows.repeat() if endless else rows, tf.data.Dataset.from_tensors(data).repeat())
    return stream.map(_gather).prefetch(2).with_options(STREAM_OPTIONS)


# Bytes of X above which it is fed from numpy rather than held by the stream.
TENSOR_BYTES = 64 * 2**20


def shuffled_passes(chunk, n_chunks, batch_size, seed, *, shuffle, endless):
    """A generator function of ``(x, y)`` batches: each pass takes the
    chunks ``chunk(i)`` (an ``(X, y)`` pair, y possibly X itself) in a new
    order and the rows of each in a new order (with ``shuffle``), one pass
    or ``endless`` ones."""
    random = np.random.RandomState(seed)

    def passes():
        while True:
            for i in random.permutation(n_chunks) if shuffle and n_chunks > 1 else range(n_chunks):
                X, y = chunk(i)
                order = random.permutation(len(X)) if shuffle else np.arange(len(X))
                for start in range(0, len(X), batch_size):
                    rows = order[start : start + batch_size]
                    x = X[rows]
                    yield x, x if y is X else y[rows]
            if not endless:
                return

    return passes


def generated_stream(passes, X, y, n_batches, *, endless):
    """The ``(x, y)`` batches that the generator function ``passes`` yields,
    of X's and y's dtypes (floats as Keras's), as a tf.data stream of
    ``n_batches`` a pass, or ``endless``."""

    def spec(a):
        dtype = keras.backend.floatx() if a.dtype.kind == "f" else a.dtype
        return tf.TensorSpec((None, *a.shape[1:]), dtype)

    stream = tf.data.Dataset.from_generator(passes, output_signature=(spec(X), spec(y)))
    if not endless:  # else Keras, not told how many batches a pass has, warns that it "ran out of data"
        stream = stream.apply(tf.data.experimental.assert_cardinality(n_batches))
    return stream.prefetch(2).with_options(STREAM_OPTIONS)


STREAM_OPTIONS = tf.data.Options()
STREAM_OPTIONS.autotune.enabled = False
STREAM_OPTIONS.experimental_optimization.apply_default_optimizations = False

# EIGEN_MAX_ALIGN_BYTES: the alignment TensorFlow's CPU kernels assume, and
# check by aborting the process.
TENSOR_ALIGNMENT = 64


def as_tensor(a):
    """``a`` as a tensor, floats as Keras's float type, with one copy of
    ``a`` at most: ``tf.convert_to_tensor`` kept two (of a 383 MB array).

    A float32 array is handed to TensorFlow through DLPack, which shares its
    memory: ``a`` itself when it is C-contiguous, writeable (DLPack exports
    no read-only arrays) and aligned as TensorFlow needs, else a copy that is.
    """
    dtype = np.dtype(keras.backend.floatx()) if a.dtype.kind == "f" else a.dtype
    if dtype != np.float32:
        return tf.convert_to_tensor(a, dtype=dtype)
    if not (a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable and _aligned(a)):
        buffer = np.empty(a.size * dtype.itemsize + TENSOR_ALIGNMENT, np.uint8)
        start = -buffer.ctypes.data % TENSOR_ALIGNMENT
        copy = buffer[start : start + a.size * dtype.itemsize].view(dtype).reshape(a.shape)
        copy[...] = a
        a = copy
    return tf.experimental.dlpack.from_dlpack(a.__dlpack__())


def _aligned(a):
    return a.ctypes.data % TENSOR_ALIGNMENT == 0


@tf.autograph.experimental.do_not_convert  # no control flow to convert, no source to parse
def _gather(indices, arrays):
    return tuple(tf.gather(a, indices) for a in arrays)

