"""The shared base: input checks, training controls, fitted state, pickling.

Exercised through DenseAutoencoder, the simplest family.
"""

import pickle
import warnings

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split

from skae import (
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
)

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
    # stopped once 3 epochs in a row beat the best by no more than tol (3 tol in all) ...
    best_before = min(ae.history_["val_loss"][:-3])
    assert min(ae.history_["val_loss"][-3:]) > best_before - 3 * ae.tol
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
