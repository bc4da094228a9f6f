"""Fast inference gives the Keras model's numbers, without retracing."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skae import DenseAutoencoder, _inference
from skae._inference import ACTIVATIONS

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


def test_plain_arrays_and_other_inputs_give_the_same_codes():
    """Plain float arrays skip validate_data; everything else goes through it."""
    ae = DenseAutoencoder(n_components=3, hidden_layer_sizes=(16,), epochs=1, random_state=0).fit(X)
    expected = ae.transform(X[:10])
    assert_allclose(ae.transform(X[:10].tolist()), expected, rtol=1e-6)
    assert_allclose(ae.transform(X[:10].astype(np.float64)), expected, rtol=1e-6)
    assert_allclose(ae.transform(np.asfortranarray(X[:10])), expected, rtol=1e-6)


def test_many_estimators_on_the_traced_path_do_not_warn_of_retracing(caplog):
    for _ in range(7):
        ae = DenseAutoencoder(n_components=2, hidden_layer_sizes=(4,), activation="mish", epochs=1).fit(X[:50])
        ae.transform(X[:3])
        ae.transform(X[:5])
    assert "retracing" not in caplog.text


def test_a_classifiers_dense_head_runs_in_numpy():
    """The head's Normalization layer has a numpy op, so a dense classifier never traces."""
    from skae import AutoencoderClassifier

    y = (X[:, 0] > 0).astype(int)
    clf = AutoencoderClassifier(DenseAutoencoder(3, hidden_layer_sizes=(16,), epochs=1), epochs=1, random_state=0)
    clf.fit(X, y)
    assert clf._forward["model"].kind == "numpy"
    assert_allclose(clf.predict_proba(X), clf.model_(X).numpy(), rtol=1e-5, atol=1e-6)
