"""Every use of a private part of Keras or TensorFlow, each behind a gate and a switch.

Each name in ``KNOWN_GOOD`` is on only

- within the Keras and TensorFlow releases it is known to work with (the
  range skae's CI runs, lowest and newest); outside it the name is off, and
  the ``"skae"`` logger says why at debug level;
- unless the environment variable ``SKAE_SPEEDUPS`` is ``0`` when skae is
  imported: then every name is off, and a fit runs through Keras's public
  ``Model.fit`` and TensorFlow's public API alone.

Off, a fit gives the same model to float32 rounding, more slowly
(``tests/test_speedups.py`` compares each with the public path on one seed;
``benchmarks/run.py --only fixed`` measures the time, run with
``SKAE_SPEEDUPS=0`` beside). Nothing outside this module names a private
part of Keras or TensorFlow.
"""

import logging
import os
import re
import threading
from contextlib import contextmanager, nullcontext
from types import MethodType

import keras
import tensorflow as tf

SWITCH = "SKAE_SPEEDUPS"

# For each name, the releases it is known to work with, as [lowest, first
# past the newest tested) (major, minor) pairs of Keras and TensorFlow.
_KERAS, _TENSORFLOW = ((3, 8), (3, 16)), ((2, 16), (2, 22))
KNOWN_GOOD = {
    # skae's loop of several steps a call as the model's train_function
    "counted_steps": {"keras": _KERAS, "tensorflow": _TENSORFLOW},
    # TensorFlow's fused Adam kernel in Keras's Adam update
    "fused_adam": {"keras": _KERAS, "tensorflow": _TENSORFLOW},
    # op determinism turned on for a seeded fit and back off after
    "op_determinism": {"tensorflow": _TENSORFLOW},
}

logger = logging.getLogger("skae")


def release(version):
    """``"3.15.1"`` as ``(3, 15)``."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])


def _why_off(name, releases):
    if os.environ.get(SWITCH, "").strip() == "0":
        return f"{SWITCH}=0"
    for package, (lowest, past) in KNOWN_GOOD[name].items():
        found = releases[package]
        if not lowest <= found < past:
            return (
                f"{package} {'.'.join(map(str, found))} is outside the releases it is known to work with, "
                f"{'.'.join(map(str, lowest))} to before {'.'.join(map(str, past))}"
            )
    return None


def resolve(releases=None):
    """Which names are on, ``{name: bool}``, for the running (or given) releases."""
    releases = releases or {"keras": release(keras.__version__), "tensorflow": release(tf.__version__)}
    on = {}
    for name in KNOWN_GOOD:
        reason = _why_off(name, releases)
        if reason is not None:
            logger.debug("skae's %s is off: %s; the public path trains instead.", name, reason)
        on[name] = reason is None
    return on


ON = resolve()


# -- several steps a call, an epoch's worth exactly ------------------------------
#
# Keras pays a fixed Python cost per training step; up to STEPS_PER_EXECUTION
# steps a call make small networks on CPU 1.5-2x faster to train. Keras's own
# loop of several steps runs whole calls only: fed skae's endless stream with
# ``steps_per_epoch``, an epoch of 57 batches at 16 steps a call would run 64.
# ``counted_steps`` runs no further than the epoch's end. The public path
# runs a number of steps that divides the epoch (``steps_per_execution``).

STEPS_PER_EXECUTION = 16


def steps_per_execution(n_batches):
    """Steps per call for an epoch of ``n_batches``: up to 16 through
    ``counted_steps``; on the public path the most, up to 16, that divide
    the epoch (1 for a prime number of batches above 16)."""
    if ON["counted_steps"]:
        return min(n_batches, STEPS_PER_EXECUTION)
    return max(steps for steps in range(1, STEPS_PER_EXECUTION + 1) if n_batches % steps == 0)


def counted_steps(model, n_batches):
    """A block in which ``model`` trains with a ``train_function`` of skae's
    own (where ``counted_steps`` is on, else as Keras has it), for a fit fed
    one endless stream of ``n_batches`` batches an epoch: each call runs up
    to ``steps_per_execution`` steps, and no further than the epoch's end.
    Keras's own function is back after the block.

    It rests on Keras's trainer calling ``model.train_function(iterator)``
    once per ``steps_per_execution`` steps and reading its logs. The traced
    loop is kept on the model (``_skae_steps``), so that a twin traces it once.
    """
    if not ON["counted_steps"] or model.steps_per_execution == 1:
        return nullcontext()
    return _counted_steps(model, n_batches)


@contextmanager
def _counted_steps(model, n_batches):
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


# -- Adam as one kernel --------------------------------------------------------------


def fuse_adam(optimizer):
    """Where ``fused_adam`` is on, have Keras's Adam update each variable
    with TensorFlow's fused Adam kernel (``ResourceApplyAdam``: the same
    formula, as one operation): less to trace (a first fit's fixed cost on
    digits 0.31-0.41 s against 0.46) and about a quarter off a steady epoch
    of a 784-512-256-30 network. Only the method of this instance changes:
    its class, configuration and saved form stay Adam's.

    It replaces Keras's private ``Optimizer._backend_update_step`` and reads
    the private slots ``_momentums`` and ``_velocities``."""
    if ON["fused_adam"] and type(optimizer) is keras.optimizers.Adam and not optimizer.amsgrad:
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


# -- op determinism for a block ------------------------------------------------------
#
# TensorFlow's public API turns op determinism on (for good) but has no call
# that asks whether it is on or turns it off. A seeded fit turns it on for its
# block and back off after, as the user had it, through the private
# ``tensorflow.python.framework.config``. Where ``op_determinism`` is off, the
# process's own setting stands: fits on CPU are reproducible without it (the
# suite passes with SKAE_SPEEDUPS=0); on a GPU, call
# ``tf.config.experimental.enable_op_determinism()`` first.


def op_determinism(on=True):
    """A block under op determinism (``on``), restored after; any thread's
    block keeps it on until the last one ends."""
    if not (on and ON["op_determinism"]):
        return nullcontext()
    return _op_determinism()


_determinism = {"users": 0, "was_on": False}
_determinism_lock = threading.Lock()


@contextmanager
def _op_determinism():
    from tensorflow.python.framework import config

    with _determinism_lock:
        if _determinism["users"] == 0:
            _determinism["was_on"] = config.is_op_determinism_enabled()
            config.enable_op_determinism()
        _determinism["users"] += 1
    try:
        yield
    finally:
        with _determinism_lock:
            _determinism["users"] -= 1
            if _determinism["users"] == 0 and not _determinism["was_on"]:
                config.disable_op_determinism()
