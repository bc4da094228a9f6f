"""skae.inspection: the inputs that excite each code unit most."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skae import ConvAutoencoder
from skae.inspection import maximise_activation

QUICK = dict(epochs=3, batch_size=32, random_state=0)


def test_found_inputs_keep_the_norm_and_beat_every_training_sample(deep, X):
    units = list(range(8))
    found = maximise_activation(deep, X, units=units, n_steps=150, step_size=0.1, random_state=0)
    assert found.shape == (8, 64) and found.dtype == np.float32
    norm = np.mean(np.linalg.norm(X, axis=1))
    assert_allclose(np.linalg.norm(found, axis=1), norm, rtol=1e-4)
    rescaled = X * (norm / np.linalg.norm(X, axis=1, keepdims=True))  # the training rows, at the same norm
    best_sample = deep.transform(rescaled).max(axis=0)
    reached = deep.transform(found)[units, units]
    assert np.all(reached > best_sample)


def test_within_the_range_a_linear_units_best_input_is_a_corner_of_the_box(linear, X):
    # Maximising w.x + b with each x_i in [low_i, high_i] gives x_i = high_i where w_i > 0, low_i where w_i < 0.
    units = [0, 5, 9]
    found = maximise_activation(linear, X, units=units, constraint="range", n_steps=200, step_size=0.1, random_state=0)
    low, high = X.min(axis=0), X.max(axis=0)
    assert np.all((found >= low - 1e-6) & (found <= high + 1e-6))
    assert_allclose(found[:, low == high], np.broadcast_to(low[low == high], (3, np.sum(low == high))))
    w = np.asarray(linear.encoder_.layers[1].kernel)[:, units].T  # (3, 64)
    steep = np.abs(w) > 0.05 * np.linalg.norm(w, axis=1, keepdims=True)  # reached the bound within 200 steps
    assert_allclose(found[steep], np.where(w > 0, high, low)[steep], atol=1e-6)
    reached = linear.transform(found)[range(3), units]
    assert np.all(reached > linear.transform(X)[:, units].max(axis=0))


def test_inputs_come_in_the_layout_of_fit(X):
    images = X.reshape(-1, 8, 8)
    conv = ConvAutoencoder(4, filters=(4,), **QUICK).fit(images)
    found = maximise_activation(conv, images, units=[1, 2], n_steps=30, random_state=0)
    assert found.shape == (2, 8, 8)
    assert np.all(conv.transform(found)[[0, 1], [1, 2]] > conv.transform(images)[:, [1, 2]].max(axis=0))


def test_arguments_are_checked(linear, X):
    with pytest.raises(ValueError, match=r"from 0 to n_components_ - 1 = 15. Received: units=\[16\]"):
        maximise_activation(linear, X, units=[16])
    with pytest.raises(ValueError, match=r'constraint must be "norm" or "range". Received: constraint=\'box\''):
        maximise_activation(linear, X, constraint="box")
