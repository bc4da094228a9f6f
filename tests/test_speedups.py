"""skae._speedups: each private speed-up against the public path, its gate and its switch."""

import json
import logging
import os
import subprocess
import sys
from contextlib import nullcontext

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy.testing import assert_allclose

from skae import DenseAutoencoder, _speedups, _training


def needs(name):
    return pytest.mark.skipif(not _speedups.ON[name], reason=f"{name} is off here (SKAE_SPEEDUPS=0 or the release)")


@pytest.mark.parametrize(
    "params, steps_per_execution",
    [
        ({"epochs": 2}, 10),  # one call to Keras per epoch, however short the fit
        ({"epochs": 10}, 10),
        # 38 batches an epoch: 16 per call, the rest in a short call; on the public path 2, which divides 38
        ({"epochs": 10, "batch_size": 8}, _speedups.steps_per_execution(38)),
        ({"epochs": 2, "compile__steps_per_execution": 4}, 4),  # the user's choice wins
        ({"epochs": 3, "fit__shuffle": False}, 10),  # Keras's batching and loop
    ],
)
def test_steps_per_call_and_per_epoch(small_digits, params, steps_per_execution):
    X_train, _ = small_digits  # 300 rows
    ae = DenseAutoencoder(4, hidden_layer_sizes=(), early_stopping=False, **params).fit(X_train)
    assert ae.model_.steps_per_execution == steps_per_execution
    batches = -(-300 // ae.batch_size)
    assert int(ae.model_.optimizer.iterations) == params["epochs"] * batches  # each epoch one pass over X
    ae.set_params(warm_start=True, epochs=1).fit(X_train[:100])  # the traced loop is kept
    assert ae.model_.steps_per_execution == steps_per_execution
    assert int(ae.model_.optimizer.iterations) == params["epochs"] * batches + -(-100 // ae.batch_size)


@needs("counted_steps")
def test_several_steps_per_call_read_one_stream_and_train_as_one_step_per_call(small_digits, monkeypatch):
    """38 batches an epoch at 16 steps per call: skae's loop runs 16, 16 and
    6 steps an epoch from one iterator for the whole fit, and trains the
    model that one step per call trains. Keras's own loop is the model's
    again after the fit."""
    X_train, _ = small_digits  # 300 rows
    monkeypatch.setattr(_training, "trained_twin", nullcontext)  # the estimator's own model trains
    iterators, iterate = [], tf.data.Dataset.__iter__
    monkeypatch.setattr(tf.data.Dataset, "__iter__", lambda stream: iterators.append(stream) or iterate(stream))
    make = lambda steps: DenseAutoencoder(  # noqa: E731
        4, epochs=5, batch_size=8, tol=None, early_stopping=False, random_state=0, compile__steps_per_execution=steps
    )
    several = make(16).fit(X_train)
    assert len(iterators) == 1 and int(several.model_.optimizer.iterations) == 5 * 38
    one = make(1).fit(X_train)
    assert_allclose(several.history_["loss"], one.history_["loss"], rtol=1e-6)
    assert_allclose(several.transform(X_train), one.transform(X_train), rtol=1e-5, atol=1e-6)
    assert several.model_.train_function is None  # Keras's fit makes its own again
    several.model_.fit(X_train, X_train, batch_size=8, epochs=1, verbose=0)
    assert int(several.model_.optimizer.iterations) == 6 * 38


def fitted_in_a_process(tmp_path, X, switch):
    """Losses, codes and weights of a seeded fit in a new process with SKAE_SPEEDUPS set as given."""
    np.save(tmp_path / "X.npy", X)
    code = (
        "import sys, json, numpy as np; from skae import DenseAutoencoder, _speedups; X = np.load(sys.argv[1]); "
        "ae = DenseAutoencoder(4, hidden_layer_sizes=(32,), epochs=15, batch_size=16, early_stopping=False, "
        "random_state=0).fit(X); "
        "np.savez(sys.argv[2], codes=ae.transform(X), losses=ae.history_['loss'], "
        "on=json.dumps(_speedups.ON), "
        "steps=ae.model_.steps_per_execution, iterations=int(ae.model_.optimizer.iterations), "
        "*ae.model_.get_weights())"
    )
    env = {**os.environ, _speedups.SWITCH: switch}
    subprocess.run([sys.executable, "-c", code, tmp_path / "X.npy", tmp_path / f"fit{switch}.npz"], check=True, env=env)
    return np.load(tmp_path / f"fit{switch}.npz")


def test_the_switch_trains_through_the_public_path_to_the_same_model(small_digits, tmp_path):
    """SKAE_SPEEDUPS=0: every speed-up off, and the same seeded fit to float32
    rounding (its Adam as Keras's, 19 batches an epoch, 1 step a call as 19 is prime)."""
    X = small_digits[0]  # 300 rows: 19 batches of 16
    public, fast = fitted_in_a_process(tmp_path, X, "0"), fitted_in_a_process(tmp_path, X, "1")
    assert not any(json.loads(str(public["on"])).values())
    assert int(public["steps"]) == 1
    assert int(public["iterations"]) == int(fast["iterations"]) == 15 * 19
    if all(json.loads(str(fast["on"])).values()):
        assert int(fast["steps"]) == 16
    assert_allclose(public["losses"], fast["losses"], rtol=1e-4)
    assert_allclose(public["codes"], fast["codes"], rtol=1e-3, atol=1e-4)
    weights = [key for key in public.files if key.startswith("arr_")]
    for key in weights:
        assert_allclose(public[key], fast[key], rtol=1e-3, atol=1e-4)


def dense_network(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(48, "relu"), keras.layers.Dense(8), keras.layers.Dense(48, "relu"),
         keras.layers.Dense(64)]
    )  # fmt: skip
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", steps_per_execution=1)
    return model


@needs("fused_adam")
def test_the_fused_adam_update_follows_kerass_adam_for_300_steps(small_digits):
    """The same formula: equal to float32 rounding after 5 steps; after 300,
    each variable within 0.1% of how far it moved (rounding grows in training)."""
    X = small_digits[0]  # 300 rows, 20 batches of 15: 300 steps in 15 epochs
    kerass, fused = dense_network(0), dense_network(0)
    start = kerass.get_weights()
    _speedups.fuse_adam(fused.optimizer)
    assert "_backend_update_step" in vars(fused.optimizer) and "_backend_update_step" not in vars(kerass.optimizer)
    for model in (kerass, fused):
        model.fit(X[:75], X[:75], batch_size=15, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(fused.get_weights(), kerass.get_weights()):
        assert_allclose(a, b, atol=1e-6)
    fits = [model.fit(X, X, batch_size=15, epochs=15, shuffle=False, verbose=0) for model in (kerass, fused)]
    assert int(fused.optimizer.iterations) == 305
    assert_allclose(fits[1].history["loss"], fits[0].history["loss"], rtol=1e-4)
    for a, b, a0 in zip(fused.get_weights(), kerass.get_weights(), start):
        assert np.linalg.norm(a - b) <= 1e-3 * np.linalg.norm(b - a0)
    for a, b in zip(fused.optimizer.variables[1:], kerass.optimizer.variables[1:]):  # the moments
        assert np.linalg.norm(a.numpy() - b.numpy()) <= 1e-3 * np.linalg.norm(b.numpy())


def test_a_release_outside_the_known_range_turns_a_speedup_off_and_says_why(caplog, monkeypatch):
    monkeypatch.delenv(_speedups.SWITCH, raising=False)
    with caplog.at_level(logging.DEBUG, logger="skae"):
        on = _speedups.resolve({"keras": (3, 99), "tensorflow": (2, 21)})
    assert on == {"counted_steps": False, "fused_adam": False, "op_determinism": True}
    assert "keras 3.99 is outside the releases it is known to work with, 3.8 to before 3.16" in caplog.text
    assert all(_speedups.resolve({"keras": (3, 8), "tensorflow": (2, 16)}).values())
    assert _speedups.release("3.15.1") == (3, 15) and _speedups.release("2.21.0rc1") == (2, 21)


@pytest.mark.parametrize("n_batches, expected", [(10, 10), (38, 2), (48, 16), (57, 3), (19, 1), (3, 3)])
def test_the_public_path_runs_a_number_of_steps_a_call_that_divides_the_epoch(monkeypatch, n_batches, expected):
    monkeypatch.setitem(_speedups.ON, "counted_steps", False)
    assert _speedups.steps_per_execution(n_batches) == expected
    monkeypatch.setitem(_speedups.ON, "counted_steps", True)
    assert _speedups.steps_per_execution(n_batches) == min(n_batches, 16)


def test_the_public_path_trains_whole_epochs_whatever_the_steps_a_call(small_digits, monkeypatch):
    """Keras runs whole calls: where the steps a call do not divide the
    epoch (the user's 16 for 38 batches), each epoch is a stream of its own
    (Keras iterates it twice an epoch: later epochs see other orders)."""
    monkeypatch.setitem(_speedups.ON, "counted_steps", False)
    monkeypatch.setattr(_training, "trained_twin", nullcontext)  # a twin traced with the speed-up on is not used
    X = small_digits[0]  # 300 rows: 38 batches of 8
    params = dict(epochs=3, batch_size=8, early_stopping=False, random_state=0)
    users = DenseAutoencoder(4, compile__steps_per_execution=16, **params).fit(X)
    assert "_skae_steps" not in vars(users.model_)
    assert int(users.model_.optimizer.iterations) == 3 * 38
    own = DenseAutoencoder(4, **params).fit(X)
    assert own.model_.steps_per_execution == 2 and int(own.model_.optimizer.iterations) == 3 * 38
    assert_allclose(own.history_["loss"][0], users.history_["loss"][0], rtol=1e-5)
    assert_allclose(own.history_["loss"], users.history_["loss"], rtol=1e-3)


@needs("op_determinism")
def test_op_determinism_is_on_for_a_seeded_block_and_as_the_user_had_it_after():
    from tensorflow.python.framework import config

    assert not config.is_op_determinism_enabled()
    with _speedups.op_determinism():
        assert config.is_op_determinism_enabled()
        with _speedups.op_determinism():
            pass
        assert config.is_op_determinism_enabled()  # the outer block still runs
    assert not config.is_op_determinism_enabled()
    with _speedups.op_determinism(on=False):
        assert not config.is_op_determinism_enabled()


def test_no_module_but_speedups_names_a_private_part_of_keras_or_tensorflow():
    import pathlib
    import re

    import skae

    private = re.compile(r"keras\.src|tensorflow\.python|\._backend_update_step|_momentums|_velocities")
    for path in pathlib.Path(skae.__file__).parent.glob("*.py"):
        if path.name != "_speedups.py":
            assert not private.search(path.read_text()), path.name
