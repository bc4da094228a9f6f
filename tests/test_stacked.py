"""StackedAutoencoder: the greedy phase, the assembled stack, fine-tuning."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skae import ContractiveAutoencoder, ConvAutoencoder, DenoisingAutoencoder, DenseAutoencoder, StackedAutoencoder

SHALLOW = dict(hidden_layer_sizes=(), epochs=5, batch_size=16)


class RecordingAutoencoder(DenseAutoencoder):
    """Keeps the data each fit was given."""

    seen = []

    def _fit(self, X, y, **kwargs):
        RecordingAutoencoder.seen.append(np.array(X))
        return super()._fit(X, y, **kwargs)


def two_dense_steps(outer=16, inner=4, **params):
    return [
        ("outer", DenseAutoencoder(outer, **{**SHALLOW, **params})),
        ("inner", DenseAutoencoder(inner, **{**SHALLOW, **params})),
    ]


def test_each_step_trains_once_on_the_codes_of_the_one_below(small_digits):
    X, _ = small_digits
    RecordingAutoencoder.seen = []
    steps = [(f"s{i}", RecordingAutoencoder(k, **SHALLOW)) for i, k in enumerate((24, 12, 4))]
    stack = StackedAutoencoder(steps, random_state=0).fit(X)
    seen = RecordingAutoencoder.seen
    assert len(seen) == 3  # one fit per step, no step run again per epoch of the next
    assert_allclose(seen[0], X)
    assert_allclose(seen[1], stack.steps_[0][1].transform(X), rtol=1e-5, atol=1e-6)
    assert_allclose(seen[2], stack.steps_[1][1].transform(seen[1]), rtol=1e-5, atol=1e-6)
    assert [step.n_features_in_ for _, step in stack.steps_] == [64, 24, 12]
    # the user's steps are left unfitted
    assert not any(hasattr(step, "model_") for _, step in steps)


def test_the_stack_is_made_of_the_steps_trained_layers(small_digits):
    X, X_test = small_digits
    stack = StackedAutoencoder(two_dense_steps(), random_state=0).fit(X)
    stack_layers = {id(layer) for layer in stack.model_.layers}
    for _, step in stack.steps_:
        for layer in step.model_.layers[1:]:  # all but the input
            assert id(layer) in stack_layers
    (_, outer), (_, inner) = stack.steps_
    assert stack.n_components_ == 4
    assert_allclose(stack.transform(X_test), inner.transform(outer.transform(X_test)), rtol=1e-5, atol=1e-6)
    reconstruction = outer.inverse_transform(inner.inverse_transform(stack.transform(X_test)))
    assert_allclose(stack.predict(X_test), reconstruction, rtol=1e-5, atol=1e-6)


def test_fine_tuning_lowers_the_reconstruction_error(digits):
    X_train, X_test, _, _ = digits
    steps = two_dense_steps(32, 8, epochs=20)
    greedy = StackedAutoencoder(steps, random_state=0).fit(X_train)
    tuned = StackedAutoencoder(steps, epochs=30, random_state=0).fit(X_train)
    assert_allclose(tuned.history_["outer_loss"], greedy.history_["outer_loss"])  # same greedy phase
    assert 0 < len(tuned.history_["loss"]) <= 30 and greedy.history_["loss"] == []  # tol may stop it sooner
    assert tuned.score(X_test) > greedy.score(X_test)
    # the fitted steps hold the fine-tuned layers
    (_, outer), (_, inner) = tuned.steps_
    assert_allclose(tuned.transform(X_test), inner.transform(outer.transform(X_test)), rtol=1e-4, atol=1e-5)


def test_a_fine_tuned_deep_stack_beats_pca(digits):
    X_train, X_test, _, _ = digits
    stack = StackedAutoencoder(two_dense_steps(32, 8, epochs=20), epochs=40, random_state=0).fit(X_train)
    pca = PCA(8).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert -stack.score(X_test) < pca_error


def test_conv_steps_then_a_dense_step(small_digits):
    X, X_test = small_digits
    steps = [
        ("conv1", ConvAutoencoder(image_shape=(8, 8), filters=(8,), epochs=2)),
        ("conv2", ConvAutoencoder(filters=(4,), epochs=2)),
        ("dense", DenseAutoencoder(6, **SHALLOW)),
    ]
    stack = StackedAutoencoder(steps, epochs=1, random_state=0).fit(X)
    (_, conv1), (_, conv2), (_, dense) = stack.steps_
    assert conv2.sample_shape_ == (4, 4, 8)  # the first step's feature maps, as images
    assert dense.n_features_in_ == 2 * 2 * 4  # the second's, flattened
    assert stack.transform(X_test).shape == (len(X_test), 6)
    assert stack.predict(X_test).shape == X_test.shape
    assert stack.inverse_transform(stack.transform(X_test)).shape == X_test.shape
    codes = dense.transform(conv2.transform(conv1.transform(X_test).reshape(-1, 4, 4, 8)))
    assert_allclose(stack.transform(X_test), codes, rtol=1e-4, atol=1e-5)


def test_step_parameters_are_reachable_and_grid_searchable(small_digits):
    X, _ = small_digits
    stack = StackedAutoencoder(two_dense_steps())
    params = stack.get_params()
    assert params["inner__n_components"] == 4 and params["outer"] is stack.steps[0][1]
    stack.set_params(inner__n_components=3, outer=DenoisingAutoencoder(12, **SHALLOW))
    assert stack.steps[1][1].n_components == 3 and isinstance(stack.steps[0][1], DenoisingAutoencoder)
    # fine-tuned long enough that the wider code wins by about 20% on every seed tried, not by luck
    stack.set_params(epochs=20, learning_rate=0.01, random_state=0)
    search = GridSearchCV(stack, {"inner__n_components": [1, 8]}, cv=2).fit(X)
    assert search.best_params_ == {"inner__n_components": 8}  # a wider code reconstructs better
    assert search.best_estimator_.n_components_ == 8


def test_pickle_round_trip(small_digits):
    X, X_test = small_digits
    stack = StackedAutoencoder(two_dense_steps(), epochs=2, random_state=0).fit(X)
    loaded = pickle.loads(pickle.dumps(stack))
    assert_allclose(loaded.transform(X_test), stack.transform(X_test))
    assert_allclose(loaded.predict(X_test), stack.predict(X_test))


@pytest.mark.parametrize(
    "steps, error, message",
    [
        ([], ValueError, "steps must be a non-empty list"),
        ([("pca", PCA(2))], TypeError, "Step 'pca' is a PCA: each step must be a skae autoencoder"),
        ([("a", DenseAutoencoder(4)), ("a", DenseAutoencoder(2))], ValueError, "Received: \\['a', 'a'\\]"),
        ([("epochs", DenseAutoencoder(4))], ValueError, "not parameter names. Received: \\['epochs'\\]"),
        ([("fit", DenseAutoencoder(4))], ValueError, "Received: \\['fit'\\]"),
    ],
)
def test_bad_steps_are_rejected(small_digits, steps, error, message):
    stack = StackedAutoencoder(steps)
    with pytest.raises(error, match=message):
        stack.fit(small_digits[0])
    assert not hasattr(stack, "model_") and not hasattr(stack, "steps_")


def test_a_failing_step_leaves_the_stack_unfitted(small_digits):
    X, _ = small_digits
    stack = StackedAutoencoder([("outer", DenseAutoencoder(8, **SHALLOW)), ("inner", DenseAutoencoder(20))])
    with pytest.raises(ValueError, match="n_components=20 is more than n_features=8"):
        stack.fit(X)
    assert not hasattr(stack, "model_") and not hasattr(stack, "steps_")


def test_corrupt_is_offered_when_the_first_step_is_denoising(small_digits):
    X_train, X_test = small_digits
    plain = StackedAutoencoder([("a", DenseAutoencoder(8, hidden_layer_sizes=(), epochs=1))])
    assert not hasattr(plain, "corrupt")
    step = DenoisingAutoencoder(8, hidden_layer_sizes=(), noise="masking", noise_level=0.5, epochs=1)
    stack = StackedAutoencoder([("a", step), ("b", DenseAutoencoder(4, hidden_layer_sizes=(), epochs=1))])
    assert hasattr(stack, "corrupt")
    noisy = stack.fit(X_train).corrupt(X_test, random_state=0)
    assert noisy.shape == X_test.shape and np.all((noisy == 0) | (noisy == X_test))
    assert 0.3 < np.mean((noisy == 0) & (X_test != 0)) / np.mean(X_test != 0) < 0.7  # about half masked
    assert np.array_equal(noisy, stack.steps_[0][1].corrupt(X_test, random_state=0))


def test_a_stack_of_sigmoid_codes_does_not_collapse(digits):
    """Contractive steps of 8 and 2 sigmoid units collapsed in two fits of three before each
    step's output started at the mean of X; measured 0.86-0.92 of PCA's error now."""
    X_train, X_test, _, _ = digits
    steps = [("outer", ContractiveAutoencoder(8, epochs=5)), ("inner", ContractiveAutoencoder(2, epochs=5))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stack = StackedAutoencoder(steps, epochs=5, random_state=0).fit(X_train)
    assert np.all(stack.transform(X_test).std(axis=0) > 0.05)
    pca = PCA(2).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert np.mean((stack.predict(X_test) - X_test) ** 2) < pca_error
