"""Bad input gets a clear error from skae before Keras sees it."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skae import DenseAutoencoder

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
    (with_value(np.nan), ValueError, "Input X contains NaN"),
    (with_value(np.inf), ValueError, "Input X contains infinity"),
    (np.array([["a", "b"], ["c", "d"]]), ValueError, "strings"),
    (np.array([[1.0, "b"], [2.0, "d"]], dtype=object), ValueError, "could not convert string to float"),
    (X[:, 0], ValueError, "Expected 2D array, got 1D array"),
    (X[:0], ValueError, "0 sample"),
    (sp.csr_matrix(X), TypeError, "Sparse data was passed"),
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


def test_n_components_larger_than_input():
    ae = DenseAutoencoder(n_components=7, epochs=1)
    with pytest.raises(ValueError, match="n_components=7 must be at most n_features=6"):
        ae.fit(X)
    assert not hasattr(ae, "n_features_in_")


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


def test_failed_refit_does_not_leave_the_old_model(fitted):
    ae = DenseAutoencoder(n_components=2, epochs=1).fit(X)
    with pytest.raises(ValueError):
        ae.fit(with_value(np.nan))
    assert not hasattr(ae, "model_")
