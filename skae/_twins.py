"""Training through a twin: one traced training step per architecture.

Keras traces a model's training step on its first fit: about 0.5 s for a
small network, most of a short fit. A grid search, cross-validation and
clones fit many models of one architecture. Each is trained through a kept
twin of that architecture, whose step is traced once: the model's values
(weights, the optimizer's slots, seed states) are copied into the twin,
the twin trains, and on success its values are copied back. The model
stays the estimator's own; the twin never leaves this module.
"""

import json
import threading
from collections import OrderedDict
from contextlib import contextmanager

import keras

from ._models import check_config

# Twins kept, the least recently used dropped first.
KEPT_TWINS = 8
_twins = OrderedDict()
_twins_lock = threading.Lock()


def release_twins():
    """Drop the models skae keeps to train later fits in (its *twins*).

    skae keeps, for each of the last eight network architectures it
    trained, a built copy whose training step is traced, so that a grid
    search's or a cross-validation's later fits of that architecture skip
    tracing it again (about 0.5 s a fit). Each twin holds its weights, its
    optimizer's slots (twice the weights for Adam) and its traced step, for
    the life of the process: call this to free them, for example after a
    search over large networks. Fitted estimators are unaffected: a twin is
    never an estimator's model. The next fit of each architecture traces its
    step again.

    Returns
    -------
    n_released : int
        How many twins were dropped.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> import skae
    >>> X = load_digits().data / 16
    >>> ae = skae.DenseAutoencoder(2, epochs=1, random_state=0).fit(X)
    >>> skae.release_twins() >= 1
    True
    >>> skae.release_twins()
    0
    """
    with _twins_lock:
        n_released = len(_twins)
        _twins.clear()
    return n_released


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
    learning rate is left out: the step reads it from a variable; so are
    seeds, which set only the values a twin is given. A config
    that skae would refuse to load (a lambda, a class from outside Keras and
    skae) is not trusted to say all it does, and gives None. (A function is
    serialised by its name alone: the caller leaves out models built with
    the user's functions.)
    """
    return _key_and_config(model)[0]


def _key_and_config(model):
    """``architecture_key(model)`` and the serialised model a twin is built from."""
    try:
        # No catch_warnings here, on every fit (it is not thread-safe): a
        # model with a function of the user's (which Keras may warn of
        # serialising) trains itself, and never gets here from a fit.
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
    if isinstance(config, dict):  # an initializer's or a layer's seed sets values the twin is given: left out
        return {key: _renamed(value, names) for key, value in config.items() if key != "seed"}
    if isinstance(config, (list, tuple)):
        return [_renamed(item, names) for item in config]
    return names.get(config, config) if isinstance(config, str) else config


