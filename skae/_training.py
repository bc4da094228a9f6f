"""Training a compiled Keras model: the data stream, the callbacks, the loop.

Plain functions that the estimators' ``_train`` calls; they know nothing of
scikit-learn.
"""

import json
import logging
import random
import sys
import threading
import warnings
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from types import MethodType

import keras
import numpy as np
import tensorflow as tf
from keras.src.random import seed_generator
from sklearn.exceptions import ConvergenceWarning

from ._distribute import keras_reduce_mended
from ._persistence import check_config

# Keras pays a fixed Python cost per training step; running up to 16 steps per
# call makes small networks on CPU 1.5-2x faster to train (benchmarks/run.py).
# skae's loop of several steps (counted_steps) costs less to trace than one
# step per call costs to run, from the first epoch of a fit of 57 batches on.
STEPS_PER_EXECUTION = 16

# epochs="auto" shows the network about this many samples, within EPOCH_RANGE.
AUTO_EPOCH_SAMPLES = 100_000
AUTO_EPOCH_RANGE = (10, 200)


def auto_epochs(n_samples):
    """Epochs for ``epochs="auto"``: about 100 000 samples seen, 10 to 200 epochs."""
    return int(np.clip(np.ceil(AUTO_EPOCH_SAMPLES / n_samples), *AUTO_EPOCH_RANGE))


def steps_per_execution(n_batches):
    """Steps per call to the traced loop: up to 16, no more than an epoch has."""
    return min(n_batches, STEPS_PER_EXECUTION)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Keras's TerminateOnNaN without its print: fit raises its own error.

    It looks once an epoch: a batch-level hook makes Keras fetch the loss
    after every step, which costs a quarter of the fit time of a small
    network (benchmarks/run.py).
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.model.stop_training = True


class StopWhenConverged(keras.callbacks.Callback):
    """MLPRegressor's stopping rule: stop once ``monitor`` has failed to beat
    its best value by more than ``tol`` for more than ``n_iter_no_change``
    epochs in a row. ``restore_best`` ends with the best epoch's weights
    (for a validation loss: the last weights are as good for a training loss).

    Keras's EarlyStopping differs: it counts epochs since the last one that
    beat the best by ``min_delta``, so a loss that falls a little every
    epoch never stops it.
    """

    def __init__(self, monitor, tol, n_iter_no_change, *, restore_best, start=None):
        super().__init__()
        self.monitor, self.tol, self.n_iter_no_change, self.restore_best = monitor, tol, n_iter_no_change, restore_best
        # (X_val, y_val, batch_size): the first weights are a candidate too, at their validation loss
        self.start = start

    def on_train_begin(self, logs=None):
        self.best, self.best_weights, self.n_without_change = np.inf, None, 0
        if self.start is not None:
            X_val, y_val, batch_size = self.start
            stream = batches(X_val, y_val, batch_size, shuffle=False)
            self.best = self.model.evaluate(stream, verbose=0, return_dict=True)["loss"]
            self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        self.n_without_change = self.n_without_change + 1 if value > self.best - self.tol else 0
        if value < self.best:
            self.best = value
            if self.restore_best:
                self.best_weights = self.model.get_weights()
        if self.n_without_change > self.n_iter_no_change:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


# Keras draws each layer's default seed from Python's global random state
# (keras.src.random.seed_generator.make_default_seed). A seeded fit draws them
# from a Random of its own, in its own thread: seeding the global state would
# race with other threads (a Dask worker's, joblib's, the user's), whose draws
# would change the fit's seeds, and restoring it would undo theirs.
_fit_random = threading.local()


class _KerasSeedSource:
    """Python's random module as Keras's seed generator sees it: the
    seeded fit's own Random in that fit's thread, the global one elsewhere."""

    def __getattr__(self, name):
        return getattr(getattr(_fit_random, "random", None) or random, name)


# A Keras whose seed generator draws otherwise gets the global state seeded
# for the block, as before, rather than unseeded layers.
KERAS_SEEDS_PER_THREAD = getattr(seed_generator, "python_random", None) is random
if KERAS_SEEDS_PER_THREAD:
    seed_generator.python_random = _KerasSeedSource()


@contextmanager
def seeded(seed, *, global_seed=False, determinism=True):
    """Keras's layer seeds drawn from ``seed`` in this thread, and
    TensorFlow's op determinism on, for a block; all restored after.

    The data stream's shuffle takes ``seed`` itself. TensorFlow's global
    seed would pair with that seed in the shuffle: if the user set one, it
    is unset for the block, so that the same ``seed`` gives the same model
    whatever seeds the user set. It is set to ``seed`` only with
    ``global_seed``, for Keras's own batching, whose shuffle takes no seed:
    ``tf.random.set_seed`` clears TensorFlow's kernel caches, and the next
    call of a traced training step then pays 0.25-0.5 s to instantiate it
    again. Python's and NumPy's global random states are not touched.
    Without ``determinism``, op determinism is left as it is: Keras turns
    XLA off under it.
    """
    # No public API asks for TensorFlow's global seed or op determinism, or
    # turns the latter off.
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config

    global _determinism_users, _determinism_was_on
    outer = getattr(_fit_random, "random", None)
    _fit_random.random = random.Random(seed)
    python_state = None if KERAS_SEEDS_PER_THREAD else random.getstate()
    if python_state is not None:
        random.seed(seed)
    users_seed = context.global_seed()
    block_seed = seed if global_seed else None
    if users_seed != block_seed:
        tf.random.set_seed(block_seed)
    with _determinism_lock:  # on while any thread's seeded block runs, as the user had it after
        if determinism and _determinism_users == 0:
            _determinism_was_on = config.is_op_determinism_enabled()
            config.enable_op_determinism()
        _determinism_users += determinism
    try:
        yield
    finally:
        _fit_random.random = outer
        if python_state is not None:
            random.setstate(python_state)
        if users_seed != block_seed:
            tf.random.set_seed(users_seed)
        with _determinism_lock:
            _determinism_users -= determinism
            if determinism and _determinism_users == 0 and not _determinism_was_on:
                config.disable_op_determinism()


_determinism_lock = threading.Lock()
_determinism_users, _determinism_was_on = 0, False


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


class _RetracingNoise(logging.Filter):
    """Drops TensorFlow's warning that tf.functions are "retracing".

    TensorFlow counts traces per code object, so fitting a sixth model (a grid
    search does) traces Keras's training function "again" and warns, though
    each model's function is traced only once or twice.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextmanager
def quiet_retracing():
    logger, noise = logging.getLogger("tensorflow"), _RetracingNoise()
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)


def fit_model(
    model, X, y, *, batch_size, epochs, initial_epoch, callbacks, verbose, seed, validation_data, fit_params, reuse=True
):
    """Train ``model`` for ``epochs`` more epochs; its history as a dict.

    Arrays are fed as skae's own endless stream (``batches``), several
    steps a call through skae's loop (``counted_steps``), unless a ``fit__``
    parameter asks for Keras's batching and loop. With ``reuse``, a twin of
    the model trains in its place (``trained_twin``).
    """
    kwargs = {"batch_size": batch_size, "validation_data": validation_data, "verbose": verbose, **fit_params}
    if not model.optimizer.built:
        # Built inside the traced step, the optimizer's variables would make
        # TensorFlow trace the step twice: 0.3-0.5 s more per fit (digits).
        model.optimizer.build(model.trainable_variables)
    if not fit_params:
        n_batches = -(-len(X) // batch_size)
        kwargs.update(steps_per_epoch=n_batches, shuffle=False, batch_size=None)
        X, y = batches(X, y, batch_size, seed, endless=True), None
        if validation_data is not None:
            kwargs["validation_data"] = batches(*validation_data, batch_size, shuffle=False)
    with (
        quiet_retracing(),
        keras_reduce_mended(model.distribute_strategy),
        trained_twin(model) if reuse else nullcontext(model) as trainer,
        counted_steps(trainer, n_batches) if not fit_params and trainer.steps_per_execution > 1 else nullcontext(),
    ):
        fuse_adam(trainer.optimizer)
        history = trainer.fit(
            X, y, epochs=initial_epoch + epochs, initial_epoch=initial_epoch, callbacks=callbacks, **kwargs
        )
    return history.history


@contextmanager
def counted_steps(model, n_batches):
    """Train ``model`` in the block with a ``train_function`` of skae's own,
    for a fit fed one endless stream of ``n_batches`` batches an epoch: each
    call runs up to ``steps_per_execution`` steps, and no further than the
    epoch's end. Keras's own function is back after the block.

    Keras's loop of several steps reads a stream that ends with each epoch,
    and makes two iterators over it an epoch (one is thrown away), 3 ms each
    for skae's stream: a sixth of an epoch on digits. One endless stream is
    one iterator for the whole fit. The traced loop is kept on the model, so
    that a twin traces it once.
    """
    loop = vars(model).get("_skae_steps")
    if loop is None:
        step = model.train_step
        if model.jit_compile:
            step = tf.function(step, jit_compile=True, reduce_retracing=True)

        @tf.autograph.experimental.do_not_convert
        def steps(iterator, n):
            tf.while_loop(lambda i: i < n, lambda i: [_after(step(iterator.get_next()), i + 1)], [tf.constant(0)])
            return model.get_metrics_result()

        loop = model._skae_steps = tf.function(steps, reduce_retracing=True)
    done = 0

    def train_function(iterator):
        nonlocal done
        n = min(model.steps_per_execution, n_batches - done % n_batches)
        done += n
        return loop(iterator, tf.constant(n))

    kept, model.train_function = model.train_function, train_function
    try:
        yield
    finally:
        model.train_function = kept


def _after(logs, value):
    """``value``, computed once ``logs`` are."""
    with tf.control_dependencies(tf.nest.flatten(logs)):
        return tf.identity(value)


def fuse_adam(optimizer):
    """Have Keras's Adam update each variable with TensorFlow's fused Adam
    kernel (``ResourceApplyAdam``: the same formula, as one operation) where
    it can: less to trace (a first fit's fixed cost on digits fell from 0.46
    to 0.31-0.41 s) and about a quarter off a steady epoch of a
    784-512-256-30 network (benchmarks/run.py). Only the method of this
    instance changes: its class, configuration and saved form stay Adam's."""
    if type(optimizer) is keras.optimizers.Adam and not optimizer.amsgrad:
        optimizer._backend_update_step = MethodType(_fused_adam_update, optimizer)


def _fused_adam_update(optimizer, gradients, variables, learning_rate):
    if tf.distribute.has_strategy() or any(isinstance(gradient, tf.IndexedSlices) for gradient in gradients):
        return keras.optimizers.Adam._backend_update_step(optimizer, gradients, variables, learning_rate)
    step, constants = optimizer.iterations + 1, {}
    for gradient, variable in zip(gradients, variables):
        dtype, index = variable.dtype, optimizer._get_variable_index(variable)
        if dtype not in constants:  # once per dtype, not per variable: fewer operations to trace
            power = tf.cast(step, dtype)
            beta_1, beta_2 = tf.cast(optimizer.beta_1, dtype), tf.cast(optimizer.beta_2, dtype)
            constants[dtype] = dict(
                beta1_power=beta_1**power, beta2_power=beta_2**power, lr=tf.cast(learning_rate, dtype),
                beta1=beta_1, beta2=beta_2, epsilon=tf.cast(optimizer.epsilon, dtype),
            )  # fmt: skip
        tf.raw_ops.ResourceApplyAdam(
            var=variable.value.handle, m=optimizer._momentums[index].value.handle,
            v=optimizer._velocities[index].value.handle, grad=tf.cast(gradient, dtype), **constants[dtype],
        )  # fmt: skip


# -- one traced training step per architecture ---------------------------------
#
# Keras traces a model's training step on its first fit: about 0.5 s for a
# small network, most of a short fit. A grid search, cross-validation and
# clones fit many models of one architecture. Each is trained through a kept
# twin of that architecture, whose step is traced once: the model's values
# (weights, the optimizer's slots, seed states) are copied into the twin,
# the twin trains, and on success its values are copied back. The model
# stays the estimator's own; the twin never leaves this module.

# Twins kept, the least recently used dropped first.
KEPT_TWINS = 8
_twins = OrderedDict()
_twins_lock = threading.Lock()


@contextmanager
def trained_twin(model):
    """The model to call ``fit`` on in place of ``model``: its twin when one
    can be had, with ``model``'s values; they are copied back to ``model``
    when the block ends without error, and not otherwise."""
    key, config = _key_and_config(model)
    twin = _take_twin(key, config, model) if key is not None else None
    if twin is None:
        yield model
        return
    try:
        _copy_values(model, twin)
        yield twin
        _copy_values(twin, model)
    finally:
        with _twins_lock:
            _twins[key] = twin
            while len(_twins) > KEPT_TWINS:
                _twins.popitem(last=False)


def _take_twin(key, config, model):
    with _twins_lock:
        twin = _twins.pop(key, None)  # taken: no other fit can use it meanwhile
    if twin is None:
        try:
            twin = _built_from(config, model)
        except Exception:  # a model Keras cannot rebuild from its config trains itself
            return None
    return twin if _same_layout(model, twin) else None


def _built_from(config, model):
    """A new model from ``model``'s serialised ``config``, its optimizer built."""
    twin = keras.saving.deserialize_keras_object(config)
    twin.steps_per_execution = model.steps_per_execution
    twin.optimizer.build(twin.trainable_variables)
    return twin


def rebuilt(model):
    """A copy of ``model`` built under the current strategy's scope, with
    its values: a kept model moved to another ``distribute_strategy``."""
    copy = _built_from(keras.saving.serialize_keras_object(model), model)
    _copy_values(model, copy)
    return copy


def _values(model):
    return [*model.variables, *model.optimizer.variables]


def _same_layout(a, b):
    va, vb = _values(a), _values(b)
    return len(va) == len(vb) and all(x.shape == y.shape and x.dtype == y.dtype for x, y in zip(va, vb))


def _copy_values(source, target):
    for s, t in zip(_values(source), _values(target)):
        t.assign(s.value)


def architecture_key(model):
    """What a model's traced training step depends on, as a string, or None
    for a model that must train itself.

    The model's Keras config (layers, their arguments, the compile
    arguments) with the names Keras numbers (``dense_3``, ``adam_2``)
    replaced by their order of appearance, and the steps per call. A float
    learning rate is left out: the step reads it from a variable. A config
    that skae would refuse to load (a lambda, a class from outside Keras and
    skae) is not trusted to say all it does, and gives None. (A function is
    serialised by its name alone: the caller leaves out models built with
    the user's functions.)
    """
    return _key_and_config(model)[0]


def _key_and_config(model):
    """``architecture_key(model)`` and the serialised model a twin is built from."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns of a lambda it serialises
            config = keras.saving.serialize_keras_object(model)
        check_config(config)
    except Exception:  # not serialisable, or holding code skae does not know: trains itself
        return None, None
    names = {}
    _collect_names(config, names)
    renamed = _renamed(config, names)
    optimizer = renamed.get("compile_config", {}).get("optimizer", {}).get("config", {})
    if isinstance(optimizer.get("learning_rate"), float):
        del optimizer["learning_rate"]
    return json.dumps([renamed, model.steps_per_execution], sort_keys=True), config


def _collect_names(config, names):
    if isinstance(config, dict):
        if isinstance(config.get("name"), str):
            names.setdefault(config["name"], f"#{len(names)}")
        for key in sorted(config):
            _collect_names(config[key], names)
    elif isinstance(config, (list, tuple)):
        for item in config:
            _collect_names(item, names)


def _renamed(config, names):
    if isinstance(config, dict):
        return {key: _renamed(value, names) for key, value in config.items()}
    if isinstance(config, (list, tuple)):
        return [_renamed(item, names) for item in config]
    return names.get(config, config) if isinstance(config, str) else config


# A loss this many times its lowest value has diverged, though still finite.
GROWTH_FACTOR = 100


def check_losses(losses, learning_rate, *, kept_best=False):
    """Raise if training diverged to a loss that is not finite; warn if the
    loss grew by orders of magnitude from its lowest value, unless the fit
    kept its best epoch's weights (``kept_best``: early stopping), whose
    loss is not the last."""
    losses = np.asarray(losses, dtype=float)
    advice = (
        f"Lower learning_rate (learning_rate={learning_rate}) or scale X, for example with StandardScaler or "
        "MinMaxScaler."
    )
    if not np.all(np.isfinite(losses)):
        epoch = int(np.argmin(np.isfinite(losses))) + 1
        raise ValueError(f"Training diverged: the loss became {losses[epoch - 1]} in epoch {epoch}. {advice}")
    if not kept_best and len(losses) > 1 and losses.min() > 0 and losses[-1] > GROWTH_FACTOR * losses.min():
        best = int(np.argmin(losses)) + 1
        warn_caller(
            f"Training diverged: the loss grew from {losses.min():.4g} in epoch {best} to {losses[-1]:.4g} in epoch "
            f"{len(losses)}, {losses[-1] / losses.min():.0f} times as much. {advice}",
            ConvergenceWarning,
        )


def warn_caller(message, category):
    """Warn, pointing at the first caller outside skae and scikit-learn: the
    user's ``fit``, or their ``GridSearchCV.fit``."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in ("skae", "sklearn"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
