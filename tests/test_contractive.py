"""ContractiveAutoencoder: the penalty, its gradient and its bookkeeping."""

import pickle
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

from skae import ContractiveAutoencoder, DenseAutoencoder
from skae._contractive import ContractiveModel


def finite_difference_norms(ae, X, eps=1e-3):
    """||d transform(x) / d x||_F^2 per sample, by central differences."""
    X = X.astype(np.float64)
    norms = np.zeros(len(X))
    for i in range(X.shape[1]):
        step = np.zeros_like(X)
        step[:, i] = eps
        up = ae.transform((X + step).astype(np.float32)).astype(np.float64)
        down = ae.transform((X - step).astype(np.float32)).astype(np.float64)
        norms += (((up - down) / (2 * eps)) ** 2).sum(axis=1)
    return norms


def mean_norm_and_error(ae, X):
    """Held-out mean squared Jacobian norm (of any dense encoder) and MSE."""
    x = tf.convert_to_tensor(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        codes = ae.encoder_(x)
    norms = tf.reduce_sum(tape.batch_jacobian(codes, x) ** 2, axis=[1, 2])
    return float(tf.reduce_mean(norms)), float(np.mean((ae.predict(X) - X) ** 2))


def assert_default_weight_contracts(X_train, X_test, k, **params):
    """The default weight: Jacobian norm <= 0.5x the plain network's, error <= 1.3x."""
    defaults = ContractiveAutoencoder().get_params()
    same = {key: defaults[key] for key in ("hidden_layer_sizes", "code_activation", "learning_rate")}
    plain = DenseAutoencoder(k, random_state=0, **same, **params)
    contractive = ContractiveAutoencoder(k, random_state=0, **params)
    plain_norm, plain_error = mean_norm_and_error(plain.fit(X_train), X_test)
    norm, error = mean_norm_and_error(contractive.fit(X_train), X_test)
    assert norm < 0.5 * plain_norm, (norm, plain_norm)
    assert error < 1.3 * plain_error, (error, plain_error)


def test_default_weight_contracts_and_keeps_reconstruction(digits):
    X_train, X_test, _, _ = digits
    assert_default_weight_contracts(X_train, X_test, 8, epochs=40)


@pytest.mark.slow
def test_default_weight_means_the_same_at_784_features(mnist):
    X_train, X_test, _, _ = mnist
    # the measured setting (0.27x the norm, 0.89x the error); 2,000 rows for 20 epochs at
    # learning rate 0.001 contracted too little (0.70x)
    assert_default_weight_contracts(X_train, X_test[:500], 32)


def test_reported_norms_match_finite_differences(small_digits):
    X_train, X_test = small_digits
    ae = ContractiveAutoencoder(n_components=4, hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X_train)
    assert_allclose(ae.squared_jacobian_norms(X_test[:20]), finite_difference_norms(ae, X_test[:20]), rtol=2e-2)


def test_jacobian_one_unit_at_a_time_equals_batch_jacobian(small_digits, monkeypatch):
    X_train, X_test = small_digits
    ae = ContractiveAutoencoder(n_components=4, hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X_train)
    looped = ae.model_.squared_jacobian_norms(X_test).numpy()
    monkeypatch.setattr("skae._models.LOOPED_UNITS", 0)  # wider codes: batch_jacobian
    assert_allclose(looped, ae.model_.squared_jacobian_norms(X_test).numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("tied", [False, True])
def test_closed_form_equals_autodiff_for_one_sigmoid_layer(small_digits, tied):
    X_train, X_test = small_digits
    ae = ContractiveAutoencoder(n_components=6, hidden_layer_sizes=(), tied_weights=tied, epochs=2).fit(X_train)
    model = ae.model_
    assert model._closed_form_kernel() is not None
    closed = model.squared_jacobian_norms(X_test).numpy()
    autodiff = model.squared_jacobian_norms(X_test, closed_form=False).numpy()
    assert_allclose(closed, autodiff, rtol=1e-4)


def test_closed_form_is_only_used_for_one_sigmoid_layer(small_digits):
    X_train, _ = small_digits
    deep = ContractiveAutoencoder(n_components=4, hidden_layer_sizes=(8,), epochs=1).fit(X_train)
    relu = ContractiveAutoencoder(n_components=4, hidden_layer_sizes=(), code_activation="relu", epochs=1).fit(X_train)
    assert deep.model_._closed_form_kernel() is None and relu.model_._closed_form_kernel() is None


@pytest.mark.parametrize("hidden", [(), (16,)])
def test_penalty_sees_the_current_weights(small_digits, hidden):
    """A penalty built from weights copied into constants would not move."""
    X_train, X_test = small_digits
    # tanh, not ReLU: central differences across a ReLU's kink miss the Jacobian by more than rtol
    ae = ContractiveAutoencoder(n_components=4, hidden_layer_sizes=hidden, activation="tanh", contractive_weight=0.1,
                                epochs=1, random_state=0)
    ae.fit(X_train)
    batch = X_test[:32]
    before = float(np.mean(ae.model_.squared_jacobian_norms(batch)))
    ae.partial_fit(X_train)
    after = float(np.mean(ae.model_.squared_jacobian_norms(batch)))
    assert after != pytest.approx(before, rel=1e-3)
    # ... and what the loss penalises is the Jacobian of today's encoder
    assert_allclose(ae.model_.squared_jacobian_norms(batch).numpy(), finite_difference_norms(ae, batch), rtol=2e-2)


def test_history_reports_the_penalty_next_to_reconstruction(small_digits):
    X_train, _ = small_digits
    weight = 0.05
    ae = ContractiveAutoencoder(n_components=4, contractive_weight=weight, epochs=3, early_stopping=True).fit(X_train)
    history = ae.history_
    assert {"loss", "reconstruction_loss", "contractive_loss", "val_loss"} <= set(history)
    # the penalty counts per input feature, as the mean reconstruction loss does
    penalty = weight * np.asarray(history["contractive_loss"]) / X_train.shape[1]
    expected = np.add(history["reconstruction_loss"], penalty)
    assert_allclose(history["loss"], expected, rtol=1e-4)
    assert all(value > 0 for value in history["contractive_loss"])


def test_norms_are_traced_once(small_digits):
    X_train, X_test = small_digits
    ae = ContractiveAutoencoder(n_components=4, epochs=1).fit(X_train)
    for rows in (1, 5, 50, 1):
        assert ae.squared_jacobian_norms(X_test[:rows]).shape == (rows,)
    assert ae._forward["jacobian"].traced.experimental_get_tracing_count() == 1


def test_pickle_and_keras_saving_keep_the_penalty(small_digits, tmp_path):
    X_train, X_test = small_digits
    ae = ContractiveAutoencoder(n_components=4, contractive_weight=0.02, epochs=1).fit(X_train)
    loaded = pickle.loads(pickle.dumps(ae))
    assert isinstance(loaded.model_, ContractiveModel) and loaded.model_.contractive_weight == 0.02
    assert_allclose(loaded.squared_jacobian_norms(X_test), ae.squared_jacobian_norms(X_test), rtol=1e-6)
    loaded.set_params(warm_start=True, epochs=1).fit(X_train)
    assert "contractive_loss" in loaded.history_

    path = tmp_path / "cae.keras"
    ae.model_.save(path)
    model = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(model, ContractiveModel)
    # Keras's eager call against skae's traced one: float32 rounding apart.
    assert_allclose(model.squared_jacobian_norms(X_test).numpy(), ae.squared_jacobian_norms(X_test), rtol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_two_unit_sigmoid_code_does_not_collapse(digits, seed):
    """Two sigmoid units on 8 x 8 digits collapsed to a constant in every fit before the
    output started at the mean of X; measured 0.92-0.95 of PCA's held-out error now."""
    X_train, X_test, _, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the collapse warning
        ae = ContractiveAutoencoder(2, epochs=5, random_state=seed).fit(X_train)
    assert np.all(ae.transform(X_test).std(axis=0) > 0.05)  # 0.22-0.29 measured
    pca = PCA(2).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert np.mean((ae.predict(X_test) - X_test) ** 2) < pca_error


def test_a_network_starts_at_the_mean_and_its_code_units_on(small_digits):
    X_train, _ = small_digits
    # a step too small to move anything: the weights are the start's
    start = dict(linear_path=False, learning_rate=1e-12, epochs=1, random_state=0)
    relu = DenseAutoencoder(8, code_activation="relu", **start).fit(X_train)
    assert np.all((relu.transform(X_train) > 0).mean(axis=0) >= 0.98)  # on for nearly every row
    sigmoid = DenseAutoencoder(8, code_activation="sigmoid", **start).fit(X_train)
    assert_allclose(np.median(sigmoid.transform(X_train), axis=0), 0.5, atol=0.02)  # its midpoint at the median
    output = relu.predict(X_train).mean(axis=0)
    assert_allclose(output, np.clip(X_train.mean(axis=0), 0.02, 0.98), atol=0.1)


@pytest.mark.parametrize("activation, bias", [("relu", -1e3), ("sigmoid", 1e3)])
@pytest.mark.parametrize("through", ["twin", "model"])
def test_a_dead_code_unit_is_started_again_before_the_next_epoch(small_digits, activation, bias, through):
    X_train, _ = small_digits
    # a callback of the user's trains model_ itself, none a twin of it
    callbacks = [keras.callbacks.Callback()] if through == "model" else None
    ae = DenseAutoencoder(4, code_activation=activation, hidden_layer_sizes=(16,), epochs=1, callbacks=callbacks,
                          random_state=0).fit(X_train)  # fmt: skip
    code = [layer for layer in ae.encoder_.layers if isinstance(layer, keras.layers.Dense)][-1]
    code.bias.assign(np.where(np.arange(4) == 1, bias, code.bias.numpy()))  # unit 1 dead: off, or at 1, for every row
    ae._refresh_inference()
    assert ae.transform(X_train)[:, 1].std() == 0
    before = ae.transform(X_train)[:, [0, 2, 3]]
    ae.partial_fit(X_train)
    codes = ae.transform(X_train)
    assert codes[:, 1].std() > 1e-3
    if activation == "relu":
        assert (codes[:, 1] > 0).mean() > 0.5  # started on for nearly every row, one epoch before
    else:
        assert 0.05 < np.median(codes[:, 1]) < 0.95
    # the live units were left as they were, then trained one epoch
    assert np.corrcoef(before[:, 0], codes[:, 0])[0, 1] > 0.9


def test_a_dead_code_unit_of_a_loaded_model_is_started_again_in_another_process(small_digits, tmp_path):
    X_train, _ = small_digits
    ae = DenseAutoencoder(4, code_activation="relu", hidden_layer_sizes=(16,), epochs=1, random_state=0).fit(X_train)
    code = [layer for layer in ae.encoder_.layers if isinstance(layer, keras.layers.Dense)][-1]
    code.bias.assign(np.where(np.arange(4) == 1, -1e3, code.bias.numpy()))  # unit 1 off for every row
    ae._refresh_inference()
    assert ae.transform(X_train)[:, 1].std() == 0
    with open(tmp_path / "ae.pickle", "wb") as file:
        pickle.dump(ae, file)
    np.save(tmp_path / "X.npy", X_train)
    code = (
        "import pickle, sys, numpy as np; ae = pickle.load(open(sys.argv[1], 'rb')); X = np.load(sys.argv[2]); "
        "ae.partial_fit(X); print((ae.transform(X)[:, 1] > 0).mean())"
    )
    run = subprocess.run([sys.executable, "-c", code, tmp_path / "ae.pickle", tmp_path / "X.npy"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert float(run.stdout.split()[-1]) > 0.5
