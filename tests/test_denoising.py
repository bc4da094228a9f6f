"""DenoisingAutoencoder and the corruption it trains on."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA

from skae import DenoisingAutoencoder
from skae._layers import Corruption, corrupt

CLEAN = np.random.default_rng(0).uniform(0.2, 0.8, size=(400, 50)).astype(np.float32)


def test_denoises_digits_better_than_pca_and_than_the_noisy_input(digits):
    X_train, X_test, _, _ = digits
    noisy = np.clip(X_test + np.random.default_rng(1).normal(0, 0.3, X_test.shape), 0, 1).astype(np.float32)
    k = 16
    ae = DenoisingAutoencoder(n_components=k, noise="gaussian", noise_level=0.3, random_state=0).fit(X_train)
    pca = PCA(k).fit(X_train)

    def error(X):
        return np.mean((X - X_test) ** 2)

    assert error(ae.predict(noisy)) < error(pca.inverse_transform(pca.transform(noisy)))
    assert error(ae.predict(noisy)) < 0.5 * error(noisy)


def test_gaussian_noise_has_the_requested_standard_deviation():
    seed = keras.random.SeedGenerator(0)
    noise = keras.ops.convert_to_numpy(corrupt(CLEAN, "gaussian", 0.05, 0.0, 1.0, seed)) - CLEAN
    assert noise.std() == pytest.approx(0.05, rel=0.03)
    assert abs(noise.mean()) < 0.002


def test_masking_zeroes_the_requested_fraction():
    seed = keras.random.SeedGenerator(0)
    corrupted = keras.ops.convert_to_numpy(corrupt(CLEAN, "masking", 0.3, 0.0, 1.0, seed))
    assert np.mean(corrupted == 0) == pytest.approx(0.3, abs=0.01)
    kept = corrupted != 0
    assert_array_equal(corrupted[kept], CLEAN[kept])


def test_salt_and_pepper_sets_the_requested_fraction_to_the_extremes():
    seed = keras.random.SeedGenerator(0)
    corrupted = keras.ops.convert_to_numpy(corrupt(CLEAN, "salt_and_pepper", 0.2, 0.1, 0.9, seed))
    low, high = np.mean(corrupted == np.float32(0.1)), np.mean(corrupted == np.float32(0.9))
    assert low + high == pytest.approx(0.2, abs=0.01)
    assert low == pytest.approx(high, abs=0.01)


def test_corruption_stays_in_the_training_range():
    seed = keras.random.SeedGenerator(0)
    corrupted = keras.ops.convert_to_numpy(corrupt(CLEAN, "gaussian", 2.0, 0.2, 0.8, seed))
    assert corrupted.min() == pytest.approx(0.2) and corrupted.max() == pytest.approx(0.8)
    assert np.mean((corrupted == np.float32(0.2)) | (corrupted == np.float32(0.8))) > 0.5


def test_corruption_is_fresh_each_call_and_follows_the_seed():
    first, same = keras.random.SeedGenerator(3), keras.random.SeedGenerator(3)
    a = keras.ops.convert_to_numpy(corrupt(CLEAN, "masking", 0.5, 0.0, 1.0, first))
    b = keras.ops.convert_to_numpy(corrupt(CLEAN, "masking", 0.5, 0.0, 1.0, first))
    assert not np.array_equal(a, b)
    assert_array_equal(a, keras.ops.convert_to_numpy(corrupt(CLEAN, "masking", 0.5, 0.0, 1.0, same)))


def test_corruption_layer_only_corrupts_while_training():
    layer = Corruption("gaussian", 0.1, 0.0, 1.0, seed=0)
    assert_array_equal(keras.ops.convert_to_numpy(layer(CLEAN)), CLEAN)
    assert not np.allclose(keras.ops.convert_to_numpy(layer(CLEAN, training=True)), CLEAN)
    with pytest.raises(ValueError, match="Received: noise='pink'"):
        Corruption("pink", 0.1, 0.0, 1.0)


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_and_pepper"])
def test_inference_is_deterministic_and_seeded(small_digits, noise):
    X_train, X_test = small_digits
    params = dict(n_components=4, noise=noise, noise_level=0.3, epochs=2)
    ae = DenoisingAutoencoder(random_state=0, **params).fit(X_train)
    # Inference is the network without its corruption; in training mode Keras corrupts.
    clean = ae.model_(X_test, training=False).numpy()
    assert_allclose(ae.predict(X_test), clean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ae.model_(X_test, training=True).numpy(), clean, atol=1e-3)
    again = DenoisingAutoencoder(random_state=0, **params).fit(X_train)
    assert_array_equal(again.transform(X_test), ae.transform(X_test))
    assert ae._forward["model"].kind == "numpy"  # the corruption is skipped at inference


def test_the_corruption_is_built_from_the_training_range(small_digits):
    X_train, _ = small_digits
    ae = DenoisingAutoencoder(noise="salt_and_pepper", noise_level=0.1, epochs=1).fit(2 * X_train - 1)
    layer = next(layer for layer in ae.model_.layers if isinstance(layer, Corruption))
    assert (layer.noise, layer.level, layer.low, layer.high) == ("salt_and_pepper", 0.1, -1.0, 1.0)


def test_probability_noise_levels_above_one_are_rejected(small_digits):
    X_train, _ = small_digits
    with pytest.raises(ValueError, match="noise_level is a probability"):
        DenoisingAutoencoder(noise="masking", noise_level=1.5).fit(X_train)
