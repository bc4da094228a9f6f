"""Custom layers and regularizers: maths and safe serialization."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

from skae import DenseAutoencoder
from skae._layers import SparsityPenalty, TiedDense

X = np.random.default_rng(0).normal(size=(100, 12)).astype(np.float32)


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
    penalties = [layer for layer in loaded.layers if isinstance(layer, SparsityPenalty)]
    assert len(penalties) == 1 and penalties[0].l1 == 0.01


def test_sparsity_penalty_is_the_per_sample_mean_while_training():
    h = np.array([[1.0, -2.0], [0.0, 3.0]], dtype=np.float32)
    layer = SparsityPenalty(0.5)
    np.testing.assert_array_equal(layer(h, training=True), h)
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(0.5 * 6 / 2)
    np.testing.assert_array_equal(layer(h), h)
    assert not layer.losses


def test_tied_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="Received: units=0"):
        TiedDense(0)
