"""Fast inference gives the Keras model's numbers, and custom layers serialize."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

from skae import DenseAutoencoder
from skae import _inference
from skae._inference import ACTIVATIONS
from skae._layers import MeanL1, TiedDense

RNG = np.random.default_rng(0)
X = RNG.normal(size=(300, 12)).astype(np.float32)


def assert_matches_keras(ae, X, rtol=1e-5):
    assert_allclose(ae.transform(X), ae.encoder_(X).numpy(), rtol=rtol, atol=1e-5)
    assert_allclose(ae.predict(X), ae.model_(X).numpy(), rtol=rtol, atol=1e-5)
    codes = ae.transform(X)
    assert_allclose(ae.inverse_transform(codes), ae.decoder_(codes).numpy(), rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("tied", [False, True])
def test_numpy_path_matches_keras_for_every_activation(activation, tied):
    ae = DenseAutoencoder(
        n_components=3, hidden_layer_sizes=(16,), activation=activation, tied_weights=tied, epochs=1, random_state=0
    ).fit(X)
    assert ae._forward["encoder"].kind == "numpy" and ae._forward["model"].kind == "numpy"
    # exp between layers amplifies float32 rounding differences of the two paths
    assert_matches_keras(ae, X, rtol=1e-4 if activation == "exponential" else 1e-5)


def test_other_layers_use_one_traced_function_without_retracing():
    ae = DenseAutoencoder(n_components=3, hidden_layer_sizes=(16,), activation="mish", epochs=1).fit(X)
    forward = ae._forward["encoder"]
    assert forward.kind == "traced"
    assert_matches_keras(ae, X)
    for n_rows in (1, 7, 300, 1):
        ae.transform(X[:n_rows])
    assert forward.traced.experimental_get_tracing_count() == 1


def test_traced_path_runs_large_batches_in_chunks(monkeypatch):
    monkeypatch.setattr(_inference, "CHUNK_ROWS", 64)
    ae = DenseAutoencoder(n_components=3, hidden_layer_sizes=(16,), activation="mish", epochs=1).fit(X)
    assert_allclose(ae.transform(X), ae.encoder_(X).numpy(), rtol=1e-5, atol=1e-5)


def test_one_row_gives_the_same_numbers_as_a_batch():
    ae = DenseAutoencoder(n_components=3, hidden_layer_sizes=(16,), epochs=1, random_state=0).fit(X)
    one_by_one = np.vstack([ae.transform(X[i : i + 1]) for i in range(20)])
    assert_allclose(one_by_one, ae.transform(X[:20]), rtol=1e-6, atol=1e-6)


def test_tied_layer_and_sparse_penalty_save_and_load_safely(tmp_path):
    ae = DenseAutoencoder(
        n_components=3, hidden_layer_sizes=(16,), tied_weights=True, activity_regularization=0.01, epochs=2
    ).fit(X)
    path = tmp_path / "model.keras"
    ae.model_.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert_allclose(loaded(X).numpy(), ae.predict(X), rtol=1e-5, atol=1e-6)
    tied = [layer for layer in loaded.layers if isinstance(layer, TiedDense)]
    assert len(tied) == 2
    regularizers = [layer.activity_regularizer for layer in loaded.layers if layer.activity_regularizer]
    assert len(regularizers) == 1 and isinstance(regularizers[0], MeanL1) and regularizers[0].l1 == 0.01


def test_mean_l1_is_the_per_sample_mean():
    h = np.array([[1.0, -2.0], [0.0, 3.0]], dtype=np.float32)
    assert float(MeanL1(0.5)(h)) == pytest.approx(0.5 * 6 / 2)


def test_tied_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="Received: units=0"):
        TiedDense(0)
