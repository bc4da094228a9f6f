"""skae._twins: a fit trains a kept twin of its model's architecture."""

import json
from collections import OrderedDict
from contextlib import nullcontext

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skae import (
    AutoencoderClassifier,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
    VariationalAutoencoder,
    _training,
    _twins,
)

TWIN_CASES = {
    "dense": lambda: DenseAutoencoder(4, hidden_layer_sizes=(16,), epochs=2, random_state=0),
    "tied_sparse": lambda: DenseAutoencoder(
        4, tied_weights=True, activity_regularization=1e-3, code_activation="relu", epochs=2, random_state=0
    ),
    "denoising": lambda: DenoisingAutoencoder(4, noise="masking", epochs=2, random_state=0),
    "contractive": lambda: ContractiveAutoencoder(4, hidden_layer_sizes=(), epochs=2, random_state=0),
    "conv": lambda: ConvAutoencoder(image_shape=(8, 8), filters=(4,), epochs=2, random_state=0),
    "stack": lambda: StackedAutoencoder(
        [("a", DenseAutoencoder(16, epochs=2)), ("b", DenseAutoencoder(4, epochs=2))], epochs=2, random_state=0
    ),
    "classifier": lambda: AutoencoderClassifier(DenseAutoencoder(8, epochs=2), epochs=2, random_state=0),
    "early_stopping": lambda: DenseAutoencoder(4, epochs=3, early_stopping=True, tol=None, random_state=0),
    "variational": lambda: VariationalAutoencoder(2, hidden_layer_sizes=(16,), epochs=2, random_state=0),
}


@pytest.fixture
def no_twins(monkeypatch):
    """An empty set of kept twins for the test, and the previous one after it."""
    monkeypatch.setattr(_twins, "_twins", OrderedDict())
    return _twins._twins


def traced(model):
    """Whether ``model`` traced a training loop of its own: Keras's, or skae's (kept on it)."""
    return model.train_function is not None or "_skae_steps" in vars(model)


def fitted_outputs(make, X, y):
    est = make().fit(X, y) if y is not None else make().fit(X)
    outputs = est.predict_proba(X) if y is not None else est.transform(X)
    return est, outputs, est.history_["loss"]


@pytest.mark.parametrize("name", TWIN_CASES)
def test_a_fit_through_a_twin_gives_the_fit_of_the_model_itself(name, small_digits, no_twins, monkeypatch):
    X = small_digits[0][:200]
    y = np.arange(len(X)) % 3 if name == "classifier" else None
    make = TWIN_CASES[name]
    first, first_out, first_loss = fitted_outputs(make, X, y)  # builds the twin and traces its step
    assert len(no_twins) >= 1
    twins = {id(twin) for twin in no_twins.values()}
    second, second_out, second_loss = fitted_outputs(make, X, y)  # trains through the kept twin
    assert {id(twin) for twin in no_twins.values()} == twins, "the second fit should reuse the twins"
    assert not traced(second.model_), "the estimator's own model never traced a step"
    assert id(second.model_) not in twins
    monkeypatch.setattr(_training, "trained_twin", nullcontext)
    alone, alone_out, alone_loss = fitted_outputs(make, X, y)
    assert traced(alone.model_)
    assert_allclose(first_loss, alone_loss, rtol=1e-5)
    assert_allclose(second_loss, alone_loss, rtol=1e-5)
    assert_allclose(second_out, alone_out, rtol=1e-4, atol=1e-6)
    # the twin's later training leaves a fitted estimator's model alone
    before = second.transform(X) if y is None else second.predict_proba(X)
    fitted_outputs(make, X[::-1].copy(), y)
    assert_array_equal(second.transform(X) if y is None else second.predict_proba(X), before)


def test_partial_fit_through_a_twin_continues_training(small_digits, no_twins):
    X = small_digits[0]
    ae = DenseAutoencoder(4, random_state=0)
    for _ in range(3):
        ae.partial_fit(X)
    assert not traced(ae.model_) and len(no_twins) == 1
    assert int(ae.model_.optimizer.iterations) == 3 * int(np.ceil(len(X) / ae.batch_size))
    assert ae.history_["loss"][2] < ae.history_["loss"][0]


def my_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


class Recorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.trained = self.model


def test_the_users_callbacks_and_functions_see_the_estimators_own_model(small_digits, no_twins):
    X = small_digits[0]
    recorder = Recorder()
    ae = DenseAutoencoder(4, epochs=2, callbacks=[recorder]).fit(X)
    assert recorder.trained is ae.model_
    DenseAutoencoder(4, epochs=2, loss=my_loss).fit(X)
    assert len(no_twins) == 0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # one epoch: the keys are the point
def test_an_architecture_key_leaves_out_numbered_names_and_the_learning_rate(small_digits):
    X = small_digits[0]
    key = _twins.architecture_key
    a, b = (DenseAutoencoder(4, epochs=1, learning_rate=lr).fit(X).model_ for lr in (1e-3, 1e-2))
    assert key(a) == key(b)
    assert key(a) != key(DenseAutoencoder(5, epochs=1).fit(X).model_)
    assert key(a) != key(DenseAutoencoder(4, epochs=1, activation="tanh").fit(X).model_)
    assert key(a) != key(DenseAutoencoder(4, epochs=1, optimizer="sgd").fit(X).model_)
    assert key(a) != key(DenseAutoencoder(4, epochs=1, loss="mse").fit(X).model_)
    assert key(a) != key(ContractiveAutoencoder(4, epochs=1).fit(X).model_)
    lambda_loss = DenseAutoencoder(4, epochs=1).fit(X).model_
    lambda_loss.compile(optimizer="adam", loss=lambda y_true, y_pred: keras.ops.mean((y_true - y_pred) ** 2))
    with pytest.warns(UserWarning, match="lambda"):  # Keras's; a fit with the user's function never asks for a key
        assert key(lambda_loss) is None
    weak, strong = (ContractiveAutoencoder(4, hidden_layer_sizes=(), epochs=1, contractive_weight=w) for w in (0.1, 1))
    assert key(weak.fit(X).model_) != key(strong.fit(X).model_)


def test_fits_in_threads_each_take_a_twin_or_their_own(small_digits, no_twins):
    """Fits of one architecture in two threads at once: one takes the kept
    twin, the other makes its own, and each estimator keeps what it trained."""
    from joblib import Parallel, delayed

    X = small_digits[0]
    untrained = DenseAutoencoder(4, epochs=1).fit(X[:1]).score(X)
    no_twins.clear()  # that one row's fit ran one step per call: another architecture
    fitted = Parallel(n_jobs=2, backend="threading")(
        delayed(DenseAutoencoder(4, epochs=5).fit)(X) for _ in range(4)
    )
    assert len({id(est.model_) for est in fitted}) == 4 and len(no_twins) == 1
    for est in fitted:
        assert not traced(est.model_) and len(est.history_["loss"]) == 5
        assert est.score(X) > untrained
        assert_allclose(est.predict(X), est.model_(X, training=False).numpy(), atol=1e-5)


def test_the_least_recently_used_twin_is_dropped(small_digits, no_twins, monkeypatch):
    monkeypatch.setattr(_twins, "KEPT_TWINS", 2)
    X = small_digits[0]
    for k in (2, 3, 4, 2):
        DenseAutoencoder(k, hidden_layer_sizes=(), linear_path=False, epochs=1).fit(X)
    widths = [json.loads(key)[0]["config"]["layers"][-1]["config"]["units"] for key in no_twins]
    code_widths = [json.loads(key)[0]["config"]["layers"][1]["config"]["units"] for key in no_twins]
    assert len(no_twins) == 2 and widths == [64, 64] and code_widths == [4, 2]


def test_release_twins_frees_the_kept_twins_and_leaves_fitted_estimators_alone(small_digits, no_twins):
    import gc
    import weakref

    import skae

    X = small_digits[0]
    ae = DenseAutoencoder(4, epochs=2, random_state=0).fit(X)
    codes = ae.transform(X)
    (twin,) = no_twins.values()
    kept = weakref.ref(twin)
    del twin
    assert skae.release_twins() == 1 and len(no_twins) == 0
    gc.collect()
    assert kept() is None, "nothing else holds the twin"
    assert_array_equal(ae.transform(X), codes)
    again = DenseAutoencoder(4, epochs=2, random_state=0).fit(X)  # traces a new twin, and fits the same model
    assert len(no_twins) == 1
    assert_allclose(again.transform(X), codes, rtol=1e-5, atol=1e-6)
    assert skae.release_twins() == 1 and skae.release_twins() == 0
