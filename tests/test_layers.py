"""Custom layers and regularizers: maths and safe serialization."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose

from skae import DenseAutoencoder
from skae._layers import MeanL1, TiedDense

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
    regularizers = [layer.activity_regularizer for layer in loaded.layers if layer.activity_regularizer]
    assert len(regularizers) == 1 and isinstance(regularizers[0], MeanL1) and regularizers[0].l1 == 0.01


def test_mean_l1_is_the_per_sample_mean():
    h = np.array([[1.0, -2.0], [0.0, 3.0]], dtype=np.float32)
    assert float(MeanL1(0.5)(h)) == pytest.approx(0.5 * 6 / 2)


def test_tied_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="Received: units=0"):
        TiedDense(0)
