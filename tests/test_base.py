"""The shared base: input checks, training controls, fitted state, pickling.

Exercised through DenseAutoencoder, the simplest family.
"""

import json
import pickle
import warnings
from collections import OrderedDict
from contextlib import nullcontext

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split

from skae import (
    AutoencoderClassifier,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
    _training,
)
from skae._training import StopWhenConverged, auto_epochs, check_losses

RNG = np.random.default_rng(0)
X = RNG.random((40, 6))


@pytest.fixture(scope="module")
def fitted():
    return DenseAutoencoder(n_components=2, hidden_layer_sizes=(8,), epochs=1).fit(X)


def with_value(value):
    bad = X.copy()
    bad[3, 2] = value
    return bad


BAD_INPUTS = [
    (with_value(np.nan), ValueError, r"Input X contains NaN: 1 of its 40 rows .* make_pipeline\(SimpleImputer\(\)"),
    (with_value(np.inf), ValueError, "Input X contains infinity"),
    (with_value(1e39), ValueError, r"X has values that do not fit in float32 \(largest magnitude 1e\+39"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, "strings"),
    (np.array([[1.0, "b"], [2.0, "d"]], dtype=object), ValueError, "could not convert string to float"),
    (X[:, 0], ValueError, "Expected 2D array, got 1D array"),
    (X[:0], ValueError, "0 sample"),
    (sp.csr_matrix(X), TypeError, r"Sparse data was passed .* OneHotEncoder\(sparse_output=False\)"),
]


@pytest.mark.parametrize("bad, error, message", BAD_INPUTS)
def test_bad_training_data_is_rejected_and_leaves_estimator_unfitted(bad, error, message):
    ae = DenseAutoencoder(epochs=1)
    with pytest.raises(error, match=message):
        ae.fit(bad)
    assert not hasattr(ae, "model_") and not hasattr(ae, "n_features_in_")


@pytest.mark.parametrize("method", ["transform", "predict", "score_samples", "score"])
@pytest.mark.parametrize("bad, error, message", BAD_INPUTS)
def test_bad_data_after_fit_is_rejected(fitted, method, bad, error, message):
    with pytest.raises(error, match=message):
        getattr(fitted, method)(bad)


@pytest.mark.parametrize("method", ["transform", "predict", "score_samples"])
def test_wrong_number_of_features(fitted, method):
    with pytest.raises(ValueError, match="X has 5 features, but DenseAutoencoder is expecting 6 features"):
        getattr(fitted, method)(X[:, :5])


def test_inverse_transform_checks_code_width_and_values(fitted):
    with pytest.raises(ValueError, match=r"X has 3 features, but DenseAutoencoder.inverse_transform is expecting 2"):
        fitted.inverse_transform(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="contains NaN"):
        fitted.inverse_transform(np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="Expected 2D array"):
        fitted.inverse_transform(np.zeros(2))
    with pytest.raises(ValueError, match="do not fit in float32"):
        fitted.inverse_transform(np.full((4, 2), -1e39))


def test_n_components_larger_than_input():
    ae = DenseAutoencoder(n_components=7, epochs=1)
    with pytest.raises(ValueError, match="n_components=7 is more than n_features=6.*activity_regularization"):
        ae.fit(X)
    assert not hasattr(ae, "n_features_in_")


@pytest.mark.parametrize(
    "ae",
    [
        DenseAutoencoder(10, activity_regularization=1e-3, code_activation="relu"),
        DenseAutoencoder(10, dropout=0.1),
        DenseAutoencoder(10, hidden_layer_sizes=(4,)),  # the hidden layer is the bottleneck
        DenoisingAutoencoder(10),
        ContractiveAutoencoder(10),
    ],
    ids=["sparse", "dropout", "bottleneck", "denoising", "contractive"],
)
def test_an_overcomplete_code_is_allowed_where_something_stops_a_copy(ae):
    ae.set_params(epochs=2, random_state=0).fit(X)
    assert ae.transform(X).shape == (len(X), 10) and ae.n_components_ == 10
    assert ae.predict(X).shape == X.shape


@pytest.mark.parametrize("sizes", [(8, 0), (8, 2.5), ("8",)])
def test_hidden_layer_sizes_must_be_positive_integers(sizes):
    with pytest.raises(ValueError, match="hidden_layer_sizes must hold positive integers"):
        DenseAutoencoder(hidden_layer_sizes=sizes, epochs=1).fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "'n_components' parameter of DenseAutoencoder must be an int in the range"),
        ({"epochs": "many"}, "'epochs' parameter"),
        ({"dropout": 1.5}, "'dropout' parameter"),
        ({"learning_rate": -1.0}, "'learning_rate' parameter"),
    ],
)
def test_parameters_are_validated_at_fit(params, message):
    with pytest.raises(ValueError, match=message):
        DenseAutoencoder(**params).fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"activation": "relux"}, r"activation='relux' is not a name Keras knows. Valid names: .*\brelu\b"),
        ({"output_activation": "sigmod"}, r"output_activation='sigmod' .* Valid names: .*\bsigmoid\b"),
        ({"loss": "mse2"}, r"loss='mse2' .* Valid names: .*\bmean_squared_error\b"),
        ({"optimizer": "adamm"}, r"optimizer='adamm' .* Valid names: .*\badam\b"),
    ],
)
def test_unknown_keras_names_are_refused_by_skae(params, message):
    ae = DenseAutoencoder(2, epochs=1, **params)
    with pytest.raises(ValueError, match=message):
        ae.fit(X)
    assert not hasattr(ae, "model_") and not hasattr(ae, "n_features_in_")


def test_unfitted_estimator_says_so():
    for method in ("transform", "inverse_transform", "predict", "score_samples"):
        with pytest.raises(NotFittedError):
            getattr(DenseAutoencoder(), method)(X)


def test_diverging_fit_raises_and_leaves_estimator_unfitted(capsys):
    huge = X * 1e18
    ae = DenseAutoencoder(epochs=5, optimizer="sgd", learning_rate=10.0, random_state=0)
    with pytest.raises(ValueError, match="Training diverged: the loss became (nan|inf)"):
        ae.fit(huge)
    assert "Invalid loss" not in capsys.readouterr().out
    assert not hasattr(ae, "model_") and not hasattr(ae, "history_") and not hasattr(ae, "n_features_in_")


def test_a_fit_that_collapses_to_a_constant_output_warns(small_digits):
    X_train, _ = small_digits
    # learning_rate=1e4: the loss stays finite, the output is one image for every input
    with pytest.warns(ConvergenceWarning, match="collapsed to a constant output.*learning_rate=10000.0") as record:
        ae = DenseAutoencoder(8, epochs=5, learning_rate=1e4, linear_path=False, random_state=0).fit(X_train)
    assert record[0].filename == __file__
    assert ae.predict(X_train).std(axis=0).max() < 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        DenseAutoencoder(8, epochs=5, linear_path=False, random_state=0).fit(X_train)
        # with its linear path the fit keeps its best weights on held-out rows: the first, near PCA's
        kept = DenseAutoencoder(8, epochs=5, learning_rate=1e4, random_state=0).fit(X_train)
    assert kept.score(X_train) > 5 * ae.score(X_train)


class ScaleWeights(keras.callbacks.Callback):
    """Multiplies every weight by 3 after each epoch: the loss grows without bound."""

    def on_epoch_end(self, epoch, logs=None):
        for weight in self.model.trainable_weights:
            weight.assign(weight * 3)


def test_a_fit_whose_loss_grows_by_orders_of_magnitude_warns(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(4, hidden_layer_sizes=(16,), output_activation="linear", loss="mse", epochs=6,
                          early_stopping=False)  # fmt: skip
    grew = r"loss grew from .* in epoch 1 to .* in epoch 6.*learning_rate=0.001"
    with pytest.warns(ConvergenceWarning, match=grew) as w:
        ae.set_params(callbacks=[ScaleWeights()], random_state=0).fit(X_train)
    assert w[0].filename == __file__
    losses = ae.history_["loss"]
    assert np.isfinite(losses).all() and losses[-1] > 100 * min(losses)


def test_check_losses_tells_divergence_from_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check_losses([1.0, 0.5, 0.6, 0.4, 30.0], learning_rate=0.1)  # up and down, within 100 times its lowest
        check_losses([-5.0, -1.0, 200.0], learning_rate=0.1)  # a loss that can be negative: no ratio to judge by
        # early stopping kept the best epoch's weights (a linear path's start at PCA's solution: 1e-8)
        check_losses([1e-8, 2e-7, 4e-5], learning_rate=0.1, kept_best=True)
    with pytest.warns(ConvergenceWarning, match="grew from 0.5 in epoch 2 to 60 in epoch 3, 120 times"):
        check_losses([1.0, 0.5, 60.0], learning_rate=0.1)
    with pytest.raises(ValueError, match="the loss became inf in epoch 2"):
        check_losses([1.0, np.inf, np.nan], learning_rate=0.1)


def snapshot(ae):
    return ae.model_, ae.transform(X), ae.predict(X), {k: list(v) for k, v in ae.history_.items()}


def assert_unchanged(ae, before):
    model, codes, reconstruction, history = before
    assert ae.model_ is model
    assert_array_equal(ae.transform(X), codes)
    assert_array_equal(ae.predict(X), reconstruction)
    assert ae.history_ == history


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C after the first call's steps have changed the weights."""

    def on_train_batch_end(self, batch, logs=None):
        raise KeyboardInterrupt


def test_a_failed_refit_keeps_the_model_it_had():
    ae = DenseAutoencoder(n_components=2, hidden_layer_sizes=(8,), epochs=2, random_state=0).fit(X)
    before = snapshot(ae)
    with pytest.raises(ValueError, match="NaN"):
        ae.fit(with_value(np.nan))
    assert_unchanged(ae, before)
    with pytest.raises(ValueError, match="Training diverged"):
        ae.set_params(optimizer="sgd", learning_rate=10.0).fit(X * 1e18)
    assert_unchanged(ae, before)
    assert ae.n_features_in_ == 6


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_a_failed_partial_fit_or_warm_start_keeps_what_was_trained(how):
    ae = DenseAutoencoder(n_components=2, hidden_layer_sizes=(8,), epochs=2, batch_size=8, random_state=0).fit(X)
    ae.partial_fit(X)  # the optimizer has state to keep, too
    before = snapshot(ae)
    slots = [v.numpy() for v in ae.model_.optimizer.variables]

    def call(data):
        return ae.partial_fit(data) if how == "partial_fit" else ae.set_params(warm_start=True).fit(data)

    with pytest.raises(ValueError, match="Training diverged"):
        call(X * 1e18)  # the loss overflows
    assert_unchanged(ae, before)
    ae.set_params(callbacks=[Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        call(X)
    assert_unchanged(ae, before)
    for variable, value in zip(ae.model_.optimizer.variables, slots):
        assert_array_equal(variable.numpy(), value)
    ae.set_params(callbacks=None)
    call(X)  # and it trains on
    assert len(ae.history_["loss"]) > 0 and not np.array_equal(ae.transform(X), before[1])


def test_auto_epochs_sees_about_100k_samples():
    assert auto_epochs(1347) == 75
    assert auto_epochs(60_000) == 10
    assert auto_epochs(20) == 200


def test_shapes_and_fitted_attributes(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=3, hidden_layer_sizes=(16,), epochs=2).fit(X_train)
    assert ae.transform(X_test).shape == (len(X_test), 3)
    assert ae.transform(X_test).dtype == np.float32
    assert ae.inverse_transform(ae.transform(X_test)).shape == X_test.shape
    assert ae.predict(X_test).shape == X_test.shape
    assert ae.fit_transform(X_train).shape == (len(X_train), 3)
    assert ae.score_samples(X_test).shape == (len(X_test),)
    assert ae.n_components_ == 3 and ae.n_features_in_ == 64
    assert len(ae.history_["loss"]) == 2
    assert ae.encoder_.output_shape == (None, 3)
    assert ae.decoder_.input_shape == (None, 3) and ae.decoder_.output_shape == (None, 64)
    # encoder_ and decoder_ share their layers with model_
    model_weights = {id(w) for w in ae.model_.weights}
    assert {id(w) for w in ae.encoder_.weights + ae.decoder_.weights} == model_weights


def test_predict_is_decode_of_encode_and_score_is_mean_score_samples(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=4, hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X_train)
    assert_allclose(ae.predict(X_test), ae.inverse_transform(ae.transform(X_test)), rtol=1e-5, atol=1e-6)
    expected = -np.mean((X_test - ae.predict(X_test)) ** 2, axis=1)
    assert_allclose(ae.score_samples(X_test), expected, rtol=1e-5)
    assert ae.score_samples(X_test).dtype == np.float32
    assert ae.score(X_test) == pytest.approx(expected.mean(), rel=1e-5)


def test_score_samples_flags_anomalies(digits):
    X_train, X_test, _, _ = digits
    ae = DenseAutoencoder(n_components=8, epochs=20, random_state=0).fit(X_train)
    noise = np.random.default_rng(0).random((20, 64)).astype(np.float32)
    assert ae.score_samples(noise).max() < np.median(ae.score_samples(X_test))


def test_same_random_state_gives_identical_transform(small_digits):
    X_train, X_test = small_digits
    params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=3)
    first = DenseAutoencoder(random_state=7, **params).fit(X_train).transform(X_test)
    second = DenseAutoencoder(random_state=7, **params).fit(X_train).transform(X_test)
    other = DenseAutoencoder(random_state=8, **params).fit(X_train).transform(X_test)
    assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_random_state_is_self_contained(small_digits):
    """The same random_state gives the same model whatever global seeds the user set."""
    X_train, X_test = small_digits
    params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=3, random_state=0)
    reference = DenseAutoencoder(**params).fit(X_train).transform(X_test)
    tf.random.set_seed(123)
    assert_array_equal(DenseAutoencoder(**params).fit(X_train).transform(X_test), reference)
    keras.utils.set_random_seed(5)
    assert_array_equal(DenseAutoencoder(**params).fit(X_train).transform(X_test), reference)
    tf.random.set_seed(None)


def test_seeded_fits_in_threads_give_the_models_they_give_alone(small_digits):
    # As in a Dask worker or joblib's threading backend: fits in threads, and
    # another thread drawing from Python's global random state meanwhile.
    # Each fit draws Keras's layer seeds from its own seed, in its own thread.
    import random
    import threading
    from concurrent.futures import ThreadPoolExecutor

    X_train, X_test = small_digits

    def codes(seed):
        params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=2, random_state=seed)
        return DenseAutoencoder(**params).fit(X_train).transform(X_test)

    alone = [codes(seed) for seed in range(4)]
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    drawer = threading.Thread(target=draw)
    drawer.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            in_threads = list(pool.map(codes, range(4)))
    finally:
        stop.set()
        drawer.join()
    for expected, got in zip(alone, in_threads):
        assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: DenseAutoencoder(4, hidden_layer_sizes=(16,), dropout=0.1, **kw),
        lambda **kw: DenoisingAutoencoder(4, hidden_layer_sizes=(16,), **kw),
        lambda **kw: ConvAutoencoder(image_shape=(8, 8), filters=(4, 2), **kw),
    ],
    ids=["dense", "denoising", "conv"],
)
def test_a_seeded_fit_trains_with_xla_when_asked_and_is_reproducible(small_digits, make):
    # Keras turns XLA off under op determinism, which a seeded fit turns on:
    # where the user asks for XLA, skae leaves determinism off instead.
    X_train, X_test = small_digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = (make(epochs=2, random_state=0, compile__jit_compile=True).fit(X_train) for _ in range(2))
    assert not [w for w in caught if "jit_compile" in str(w.message)]  # Keras warns when it turns XLA off
    assert first.model_.jit_compile is True
    assert_array_equal(first.transform(X_test), second.transform(X_test))
    assert make(epochs=1, random_state=0).fit(X_train).model_.jit_compile is False  # not asked: off on a CPU


def test_a_seeded_xla_fit_gives_the_same_model_in_another_process(small_digits, tmp_path):
    # What a user who refits elsewhere sees: the compiled step is not only
    # reproducible within one process.
    import subprocess
    import sys

    X_train, X_test = small_digits
    np.save(tmp_path / "X.npy", np.concatenate([X_train, X_test]))
    code = (
        "import sys, numpy as np; from skae import DenseAutoencoder; X = np.load(sys.argv[1]); "
        "ae = DenseAutoencoder(4, hidden_layer_sizes=(16,), dropout=0.1, epochs=2, random_state=0, "
        f"compile__jit_compile=True).fit(X[:{len(X_train)}]); np.save(sys.argv[2], ae.transform(X[{len(X_train)}:]))"
    )
    subprocess.run([sys.executable, "-c", code, tmp_path / "X.npy", tmp_path / "codes.npy"], check=True)
    here = DenseAutoencoder(4, hidden_layer_sizes=(16,), dropout=0.1, epochs=2, random_state=0,
                            compile__jit_compile=True).fit(X_train)  # fmt: skip
    assert_array_equal(np.load(tmp_path / "codes.npy"), here.transform(X_test))


def test_a_keras_of_unknown_seed_generator_gets_the_global_state_seeded(small_digits, monkeypatch):
    # Where skae cannot give Keras's seed generator a per-thread source, it
    # seeds Python's global state for the block, as before, and restores it.
    import random

    X_train, X_test = small_digits
    params = dict(n_components=4, hidden_layer_sizes=(16,), epochs=1, random_state=0)
    expected = DenseAutoencoder(**params).fit(X_train).transform(X_test)
    monkeypatch.setattr(_training, "KERAS_SEEDS_PER_THREAD", False)
    random.seed(1)
    after = random.random()
    random.seed(1)
    assert_array_equal(DenseAutoencoder(**params).fit(X_train).transform(X_test), expected)
    assert random.random() == after


def test_seeded_fit_leaves_global_random_state_alone(small_digits):
    import random

    from tensorflow.python.eager import context

    X_train, _ = small_digits
    np.random.seed(123)
    random.seed(123)
    expected = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    DenseAutoencoder(epochs=1, random_state=0).fit(X_train)
    assert (np.random.rand(), random.random()) == expected
    # TensorFlow's global seed is as the user left it: unset, or theirs
    DenseAutoencoder(epochs=1, random_state=0, fit__shuffle=True).fit(X_train)
    assert context.global_seed() is None
    tf.random.set_seed(7)
    DenseAutoencoder(epochs=1, random_state=0).fit(X_train)
    assert context.global_seed() == 7
    tf.random.set_seed(None)


def test_pickle_round_trip_gives_identical_outputs(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=4, hidden_layer_sizes=(16,), tied_weights=True, epochs=2).fit(X_train)
    loaded = pickle.loads(pickle.dumps(ae))
    assert_array_equal(loaded.transform(X_test), ae.transform(X_test))
    assert_array_equal(loaded.predict(X_test), ae.predict(X_test))
    codes = ae.transform(X_test)
    assert_array_equal(loaded.inverse_transform(codes), ae.inverse_transform(codes))
    assert loaded.history_["loss"] == ae.history_["loss"]
    # the loaded encoder still shares its layers with the loaded model
    assert {id(w) for w in loaded.encoder_.weights} <= {id(w) for w in loaded.model_.weights}


def test_set_output_pandas_gives_feature_names(small_digits):
    pd = pytest.importorskip("pandas")
    X_train, X_test = small_digits
    columns = [f"pixel{i}" for i in range(64)]
    ae = DenseAutoencoder(n_components=3, epochs=1).set_output(transform="pandas")
    codes = ae.fit_transform(pd.DataFrame(X_train, columns=columns))
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["denseautoencoder0", "denseautoencoder1", "denseautoencoder2"]
    assert list(ae.get_feature_names_out()) == list(codes.columns)
    assert list(ae.feature_names_in_) == columns
    assert list(ae.transform(pd.DataFrame(X_test, columns=columns)).columns) == list(codes.columns)


def test_routed_and_learning_rate_parameters_reach_the_optimizer(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(epochs=1, learning_rate=0.01, optimizer__beta_1=0.5).fit(X_train)
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.01)
    assert ae.model_.optimizer.beta_1 == 0.5
    assert clone(ae).get_params()["optimizer__beta_1"] == 0.5
    ae.set_params(optimizer__beta_1=0.25).fit(X_train)
    assert ae.model_.optimizer.beta_1 == 0.25
    sgd = DenseAutoencoder(epochs=1, optimizer="sgd", optimizer__momentum=0.9).fit(X_train)
    assert isinstance(sgd.model_.optimizer, keras.optimizers.SGD)
    assert sgd.model_.optimizer.momentum == 0.9


def test_optimizer_instance_is_copied_for_each_fit(small_digits):
    X_train, _ = small_digits
    optimizer = keras.optimizers.RMSprop(learning_rate=0.002)
    ae = DenseAutoencoder(epochs=1, optimizer=optimizer, early_stopping=False).fit(X_train)
    assert ae.model_.optimizer is not optimizer
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.002)
    first = ae.model_.optimizer
    ae.fit(X_train)  # a second, fresh model trains with a fresh copy
    assert ae.model_.optimizer is not first and ae.model_.optimizer is not optimizer
    assert int(ae.model_.optimizer.iterations) == -(-len(X_train) // ae.batch_size)  # not the first's steps too
    assert int(optimizer.iterations) == 0  # the user's instance never trains


@pytest.mark.parametrize(
    "params, steps_per_execution",
    [
        ({"epochs": 2}, 10),  # one call to Keras per epoch, however short the fit
        ({"epochs": 10}, 10),
        ({"epochs": 10, "batch_size": 8}, 16),  # 38 batches per epoch: 16 per call, the rest in a short call
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


def test_unknown_keyword_is_rejected_at_construction():
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['n_component'\]\. Routed"):
        DenseAutoencoder(n_component=3)
    # swapped in for BernoulliRBM or MLPRegressor: told skae's names
    with pytest.raises(TypeError, match=r"\['learning_rate_init', 'n_iter'\]\. In skae 'learning_rate_init' is "
                       r"learning_rate, 'n_iter' is epochs\."):  # fmt: skip
        DenseAutoencoder(n_iter=20, learning_rate_init=0.01)
    ae = DenseAutoencoder(3, optimizer__beta_1=0.5)
    ae.foo = 1  # an attribute set by hand is not a parameter
    assert "foo" not in ae.get_params() and ae.get_params()["optimizer__beta_1"] == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'n_component'"):
        ae.set_params(n_component=4)


def test_early_stopping_holds_out_validation_data_and_keeps_the_best_weights(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(epochs=300, early_stopping=True, n_iter_no_change=2, random_state=0).fit(X_train)
    assert len(ae.history_["val_loss"]) == len(ae.history_["loss"]) < 300
    assert np.argmin(ae.history_["val_loss"]) < len(ae.history_["loss"]) - 1  # stopped after its best epoch...
    _, X_val = train_test_split(X_train, test_size=0.1, random_state=ae._random_state)
    kept = ae.model_.evaluate(X_val, X_val, verbose=0)
    assert_allclose(kept, min(ae.history_["val_loss"]), rtol=1e-4)  # ... and kept that epoch's weights


def test_training_stops_when_the_loss_has_converged(small_digits):
    X_train, _ = small_digits
    # as MLPRegressor: no improvement of more than tol for more than n_iter_no_change epochs in a row
    on_training_loss = dict(early_stopping=False, random_state=0)
    ae = DenseAutoencoder(4, epochs=300, tol=1.0, n_iter_no_change=3, **on_training_loss).fit(X_train)
    assert len(ae.history_["loss"]) == 5  # the first epoch improves on nothing; four without improvement
    ae = DenseAutoencoder(4, epochs=40, tol=None, n_iter_no_change=1, **on_training_loss).fit(X_train)
    assert len(ae.history_["loss"]) == 40  # tol=None: every epoch
    default = DenseAutoencoder(4, epochs=40, **on_training_loss).fit(X_train)
    assert len(default.history_["loss"]) == 40  # the loss still falls by more than 1e-4 an epoch
    assert_allclose(default.history_["loss"], ae.history_["loss"], rtol=1e-6)


@pytest.mark.parametrize(
    "losses, stopped_after",
    [
        ([1.0, 0.5, 0.49995, 0.4999, 0.49985, 0.4998], 5),  # gains of 5e-5 count as none, in a row
        ([1.0, 0.5, 0.49995, 0.4998, 0.49975, 0.4997, 0.49965], 7),  # a gain of 1.5e-4 on the best resets the count
        ([1.0, 0.9998, 0.9996, 0.9994, 0.9992, 0.9990], None),  # a slow but steady fall never stops
        ([1.0, 0.5, 0.6, np.nan, 0.7, 0.8], 6),  # non-finite losses are not counted
    ],
)
def test_stopping_rule_counts_epochs_without_improvement_as_mlpregressor_does(losses, stopped_after):
    rule = StopWhenConverged("loss", 1e-4, 2, restore_best=False)
    rule.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    rule.model.stop_training = False  # as Model.fit sets it
    rule.on_train_begin()
    stopped = None
    for epoch, loss in enumerate(losses):
        rule.on_epoch_end(epoch, {"loss": loss})
        if rule.model.stop_training and stopped is None:
            stopped = epoch + 1
    assert stopped == stopped_after


def test_user_callbacks_and_progress_bar(small_digits, capsys):
    X_train, _ = small_digits
    epochs_seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))
    DenseAutoencoder(epochs=3, callbacks=[callback], verbose=1).fit(X_train)
    assert epochs_seen == [0, 1, 2]
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "loss" in out
    DenseAutoencoder(epochs=2).fit(X_train)
    assert capsys.readouterr().out == ""


def test_warm_start_and_partial_fit_continue_training(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(epochs=2, warm_start=True, random_state=0).fit(X_train)
    model, before = ae.model_, ae.score(X_test)
    ae.set_params(epochs=10).fit(X_train)
    assert ae.model_ is model and ae.score(X_test) > before

    online = DenseAutoencoder(random_state=0)
    for _ in range(3):
        online.partial_fit(X_train)
    assert len(online.history_["loss"]) == 3
    model = online.model_
    online.partial_fit(X_train)
    assert online.model_ is model and len(online.history_["loss"]) == 4


def test_fit_without_warm_start_builds_a_new_model(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(epochs=1).fit(X_train)
    model = ae.model_
    assert ae.fit(X_train).model_ is not model



def test_tensorboard_callback_writes_logs(small_digits, tmp_path):
    X_train, _ = small_digits
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "instance"))
    DenseAutoencoder(epochs=2, callbacks=[board]).fit(X_train)
    assert list((tmp_path / "instance").rglob("events.out.tfevents.*"))
    # A TensorBoard instance cannot be pickled; its class with routed
    # arguments, built at fit time, can.
    ae = DenseAutoencoder(epochs=1, callbacks=[keras.callbacks.TensorBoard], callbacks__log_dir=str(tmp_path / "cls"))
    ae.fit(X_train)
    assert list((tmp_path / "cls").rglob("events.out.tfevents.*"))
    assert pickle.loads(pickle.dumps(ae)).transform(X_train).shape == (len(X_train), 2)


def test_families_take_their_parents_parameters_by_signature():
    import inspect

    from skae import ContractiveAutoencoder, DenoisingAutoencoder

    dense = list(inspect.signature(DenseAutoencoder).parameters)
    assert dense[0] == "n_components" and dense[-1] == "routed_params" and "epochs" in dense
    denoising = inspect.signature(DenoisingAutoencoder).parameters
    assert list(denoising)[:3] == ["n_components", "noise", "noise_level"]
    assert set(dense) <= set(denoising)
    contractive = inspect.signature(ContractiveAutoencoder).parameters
    assert contractive["code_activation"].default == "sigmoid"
    assert list(contractive).count("code_activation") == 1

    ae = DenoisingAutoencoder(5, noise="masking", hidden_layer_sizes=(7,), epochs=2)
    assert (ae.n_components, ae.noise, ae.hidden_layer_sizes, ae.epochs) == (5, "masking", (7,), 2)
    assert clone(ae).get_params() == ae.get_params()
    expected = "DenoisingAutoencoder(epochs=2, hidden_layer_sizes=(7,), n_components=5, noise='masking')"
    assert " ".join(repr(ae).split()) == expected


# -- training through a twin (skae._training.trained_twin) ------------------

TWIN_CASES = {
    "dense": lambda: DenseAutoencoder(4, hidden_layer_sizes=(16,), epochs=2, random_state=0),
    "tied_sparse": lambda: DenseAutoencoder(
        4, tied_weights=True, activity_regularization=1e-3, code_activation="relu", epochs=2, random_state=0
    ),
    "denoising": lambda: DenoisingAutoencoder(4, noise="masking", epochs=2, random_state=0),
    "contractive": lambda: ContractiveAutoencoder(4, hidden_layer_sizes=(), epochs=2, random_state=0),
    "conv": lambda: ConvAutoencoder(image_shape=(8, 8), filters=(4,), epochs=2, random_state=0),
    "stack": lambda: StackedAutoencoder(
        [("a", DenseAutoencoder(16, epochs=2)), ("b", DenseAutoencoder(4, epochs=2))], epochs=2, random_state=0
    ),
    "classifier": lambda: AutoencoderClassifier(DenseAutoencoder(8, epochs=2), epochs=2, random_state=0),
    "early_stopping": lambda: DenseAutoencoder(4, epochs=3, early_stopping=True, tol=None, random_state=0),
}


@pytest.fixture
def no_twins(monkeypatch):
    """An empty set of kept twins for the test, and the previous one after it."""
    monkeypatch.setattr(_training, "_twins", OrderedDict())
    return _training._twins


def traced(model):
    """Whether ``model`` traced a training loop of its own: Keras's, or skae's (kept on it)."""
    return model.train_function is not None or "_skae_steps" in vars(model)


def fitted_outputs(make, X, y):
    est = make().fit(X, y) if y is not None else make().fit(X)
    outputs = est.predict_proba(X) if y is not None else est.transform(X)
    return est, outputs, est.history_["loss"]


@pytest.mark.parametrize("name", TWIN_CASES)
def test_a_fit_through_a_twin_gives_the_fit_of_the_model_itself(name, small_digits, no_twins, monkeypatch):
    X = small_digits[0][:200]
    y = np.arange(len(X)) % 3 if name == "classifier" else None
    make = TWIN_CASES[name]
    first, first_out, first_loss = fitted_outputs(make, X, y)  # builds the twin and traces its step
    assert len(no_twins) >= 1
    twins = {id(twin) for twin in no_twins.values()}
    second, second_out, second_loss = fitted_outputs(make, X, y)  # trains through the kept twin
    assert {id(twin) for twin in no_twins.values()} == twins, "the second fit should reuse the twins"
    assert not traced(second.model_), "the estimator's own model never traced a step"
    assert id(second.model_) not in twins
    monkeypatch.setattr(_training, "trained_twin", nullcontext)
    alone, alone_out, alone_loss = fitted_outputs(make, X, y)
    assert traced(alone.model_)
    assert_allclose(first_loss, alone_loss, rtol=1e-5)
    assert_allclose(second_loss, alone_loss, rtol=1e-5)
    assert_allclose(second_out, alone_out, rtol=1e-4, atol=1e-6)
    # the twin's later training leaves a fitted estimator's model alone
    before = second.transform(X) if y is None else second.predict_proba(X)
    fitted_outputs(make, X[::-1].copy(), y)
    assert_array_equal(second.transform(X) if y is None else second.predict_proba(X), before)


def test_partial_fit_through_a_twin_continues_training(small_digits, no_twins):
    X = small_digits[0]
    ae = DenseAutoencoder(4, random_state=0)
    for _ in range(3):
        ae.partial_fit(X)
    assert not traced(ae.model_) and len(no_twins) == 1
    assert int(ae.model_.optimizer.iterations) == 3 * int(np.ceil(len(X) / ae.batch_size))
    assert ae.history_["loss"][2] < ae.history_["loss"][0]


def my_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


class Recorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.trained = self.model


def test_the_users_callbacks_and_functions_see_the_estimators_own_model(small_digits, no_twins):
    X = small_digits[0]
    recorder = Recorder()
    ae = DenseAutoencoder(4, epochs=2, callbacks=[recorder]).fit(X)
    assert recorder.trained is ae.model_
    DenseAutoencoder(4, epochs=2, loss=my_loss).fit(X)
    assert len(no_twins) == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one epoch: the keys are the point
def test_an_architecture_key_leaves_out_numbered_names_and_the_learning_rate(small_digits):
    X = small_digits[0]
    key = _training.architecture_key
    a, b = (DenseAutoencoder(4, epochs=1, learning_rate=lr).fit(X).model_ for lr in (1e-3, 1e-2))
    assert key(a) == key(b)
    assert key(a) != key(DenseAutoencoder(5, epochs=1).fit(X).model_)
    assert key(a) != key(DenseAutoencoder(4, epochs=1, activation="tanh").fit(X).model_)
    assert key(a) != key(DenseAutoencoder(4, epochs=1, optimizer="sgd").fit(X).model_)
    assert key(a) != key(DenseAutoencoder(4, epochs=1, loss="mse").fit(X).model_)
    assert key(a) != key(ContractiveAutoencoder(4, epochs=1).fit(X).model_)
    lambda_loss = DenseAutoencoder(4, epochs=1).fit(X).model_
    lambda_loss.compile(optimizer="adam", loss=lambda y_true, y_pred: keras.ops.mean((y_true - y_pred) ** 2))
    assert key(lambda_loss) is None
    weak, strong = (ContractiveAutoencoder(4, hidden_layer_sizes=(), epochs=1, contractive_weight=w) for w in (0.1, 1))
    assert key(weak.fit(X).model_) != key(strong.fit(X).model_)


def test_fits_in_threads_each_take_a_twin_or_their_own(small_digits, no_twins):
    """Fits of one architecture in two threads at once: one takes the kept
    twin, the other makes its own, and each estimator keeps what it trained."""
    from joblib import Parallel, delayed

    X = small_digits[0]
    untrained = DenseAutoencoder(4, epochs=1).fit(X[:1]).score(X)
    no_twins.clear()  # that one row's fit ran one step per call: another architecture
    fitted = Parallel(n_jobs=2, backend="threading")(
        delayed(DenseAutoencoder(4, epochs=5).fit)(X) for _ in range(4)
    )
    assert len({id(est.model_) for est in fitted}) == 4 and len(no_twins) == 1
    for est in fitted:
        assert not traced(est.model_) and len(est.history_["loss"]) == 5
        assert est.score(X) > untrained
        assert_allclose(est.predict(X), est.model_(X, training=False).numpy(), atol=1e-5)


def test_the_least_recently_used_twin_is_dropped(small_digits, no_twins, monkeypatch):
    monkeypatch.setattr(_training, "KEPT_TWINS", 2)
    X = small_digits[0]
    for k in (2, 3, 4, 2):
        DenseAutoencoder(k, hidden_layer_sizes=(), linear_path=False, epochs=1).fit(X)
    widths = [json.loads(key)[0]["config"]["layers"][-1]["config"]["units"] for key in no_twins]
    code_widths = [json.loads(key)[0]["config"]["layers"][1]["config"]["units"] for key in no_twins]
    assert len(no_twins) == 2 and widths == [64, 64] and code_widths == [4, 2]
