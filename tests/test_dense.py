"""DenseAutoencoder: quality, architectures and training controls."""

import pickle

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import DenseAutoencoder
from skae._base import auto_epochs
from skae._layers import TiedDense


def reconstruction_error(X, X_reconstructed):
    return float(np.mean((X - X_reconstructed) ** 2))


@pytest.mark.parametrize("k", [2, 8, 16])
def test_defaults_beat_pca_on_held_out_digits(digits, k):
    X_train, X_test, _, _ = digits
    pca = PCA(k).fit(X_train)
    pca_error = reconstruction_error(X_test, pca.inverse_transform(pca.transform(X_test)))
    ae = DenseAutoencoder(n_components=k, random_state=0).fit(X_train)
    ae_error = reconstruction_error(X_test, ae.predict(X_test))
    assert ae_error < 0.9 * pca_error, (k, ae_error, pca_error)


def test_auto_epochs_sees_about_100k_samples():
    assert auto_epochs(1347) == 75
    assert auto_epochs(60_000) == 10
    assert auto_epochs(20) == 200


def test_shapes_and_fitted_attributes(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=3, hidden_layer_sizes=(16,), epochs=2).fit(X_train)
    assert ae.transform(X_test).shape == (len(X_test), 3)
    assert ae.transform(X_test).dtype == np.float32
    assert ae.inverse_transform(ae.transform(X_test)).shape == X_test.shape
    assert ae.predict(X_test).shape == X_test.shape
    assert ae.fit_transform(X_train).shape == (len(X_train), 3)
    assert ae.score_samples(X_test).shape == (len(X_test),)
    assert ae.n_components_ == 3 and ae.n_features_in_ == 64
    assert len(ae.history_["loss"]) == 2
    assert ae.encoder_.output_shape == (None, 3)
    assert ae.decoder_.input_shape == (None, 3) and ae.decoder_.output_shape == (None, 64)
    # encoder_ and decoder_ share their layers with model_
    model_weights = {id(w) for w in ae.model_.weights}
    assert {id(w) for w in ae.encoder_.weights + ae.decoder_.weights} == model_weights


def test_predict_is_decode_of_encode_and_score_is_mean_score_samples(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=4, hidden_layer_sizes=(16,), epochs=2, random_state=0).fit(X_train)
    assert_allclose(ae.predict(X_test), ae.inverse_transform(ae.transform(X_test)), rtol=1e-5, atol=1e-6)
    expected = -np.mean((X_test - ae.predict(X_test)) ** 2, axis=1)
    assert_allclose(ae.score_samples(X_test), expected, rtol=1e-5)
    assert ae.score(X_test) == pytest.approx(expected.mean(), rel=1e-5)


def test_score_samples_flags_anomalies(digits):
    X_train, X_test, _, _ = digits
    ae = DenseAutoencoder(n_components=8, epochs=20, random_state=0).fit(X_train)
    noise = np.random.default_rng(0).random((20, 64)).astype(np.float32)
    assert ae.score_samples(noise).max() < np.median(ae.score_samples(X_test))


def test_output_activation_auto(small_digits):
    X_train, _ = small_digits
    unit = DenseAutoencoder(epochs=1).fit(X_train)
    assert unit.output_activation_ == "sigmoid"
    centred = DenseAutoencoder(epochs=1).fit(X_train - 0.5)
    assert centred.output_activation_ == "linear"
    forced = DenseAutoencoder(epochs=1, output_activation="tanh").fit(X_train)
    assert forced.output_activation_ == "tanh"
    assert forced.model_.layers[-1].activation is keras.activations.tanh


def test_simple_tutorial_autoencoder(small_digits):
    """The Keras blog's: one 32-unit ReLU code, sigmoid output, cross-entropy."""
    X_train, X_test = small_digits
    ae = DenseAutoencoder(
        n_components=32, hidden_layer_sizes=(), code_activation="relu", loss="binary_crossentropy", epochs=3
    ).fit(X_train)
    dense = [layer for layer in ae.model_.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [32, 64]
    assert [keras.activations.serialize(layer.activation) for layer in dense] == ["relu", "sigmoid"]
    assert ae.transform(X_test).min() >= 0


def test_deep_symmetric_autoencoder_to_2d(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=2, hidden_layer_sizes=(128, 64, 10), epochs=2).fit(X_train)
    widths = [layer.units for layer in ae.model_.layers if isinstance(layer, keras.layers.Dense)]
    assert widths == [128, 64, 10, 2, 10, 64, 128, 64]
    assert ae.transform(X_test).shape == (len(X_test), 2)


def test_tied_weights_share_transposed_kernels(small_digits):
    X_train, X_test = small_digits
    sizes, k, n = (32, 16), 4, 64
    tied = DenseAutoencoder(n_components=k, hidden_layer_sizes=sizes, tied_weights=True, epochs=3).fit(X_train)
    untied = DenseAutoencoder(n_components=k, hidden_layer_sizes=sizes, epochs=1).fit(X_train)

    widths = [n, *sizes, k]
    kernels = sum(a * b for a, b in zip(widths, widths[1:]))
    biases = sum(widths[1:]) + sum(widths[:-1])
    assert tied.model_.count_params() == kernels + biases
    assert untied.model_.count_params() == 2 * kernels + biases

    layers = [layer for layer in tied.model_.layers if isinstance(layer, TiedDense)]
    assert len(layers) == 3
    kernels = {id(layer.kernel) for layer in layers}
    assert kernels <= {id(w) for w in tied.encoder_.weights} and kernels <= {id(w) for w in tied.decoder_.weights}
    # Decode by hand with the transposed encoder kernels: decoder_ must agree.
    h = tied.transform(X_test)
    for i, layer in enumerate(reversed(layers)):
        h = h @ keras.ops.convert_to_numpy(layer.kernel).T + keras.ops.convert_to_numpy(layer.transpose_bias)
        h = np.maximum(h, 0) if i < 2 else 1 / (1 + np.exp(-h))
    assert_allclose(tied.inverse_transform(tied.transform(X_test)), h, rtol=1e-4, atol=1e-5)


def test_activity_regularization_lowers_code_activation(small_digits):
    X_train, X_test = small_digits
    params = dict(n_components=16, code_activation="relu", epochs=20, random_state=0)
    plain = DenseAutoencoder(**params).fit(X_train)
    sparse = DenseAutoencoder(activity_regularization=0.05, **params).fit(X_train)
    assert sparse.transform(X_test).mean() < 0.5 * plain.transform(X_test).mean()


def test_dropout_trains_but_does_not_change_inference(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=4, hidden_layer_sizes=(32,), dropout=0.3, epochs=2, random_state=0).fit(X_train)
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in ae.model_.layers) == 2
    assert_array_equal(ae.transform(X_test), ae.transform(X_test))
    assert_allclose(ae.predict(X_test), ae.model_(X_test, training=False).numpy(), rtol=1e-5, atol=1e-6)


def test_same_random_state_gives_identical_transform(small_digits):
    X_train, X_test = small_digits
    params = dict(n_components=4, hidden_layer_sizes=(16,), dropout=0.1, epochs=3)
    first = DenseAutoencoder(random_state=7, **params).fit(X_train).transform(X_test)
    second = DenseAutoencoder(random_state=7, **params).fit(X_train).transform(X_test)
    other = DenseAutoencoder(random_state=8, **params).fit(X_train).transform(X_test)
    assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_seeded_fit_leaves_global_random_state_alone(small_digits):
    X_train, _ = small_digits
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    DenseAutoencoder(epochs=1, random_state=0).fit(X_train)
    assert np.random.rand() == expected


def test_pickle_round_trip_gives_identical_outputs(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=4, hidden_layer_sizes=(16,), tied_weights=True, epochs=2).fit(X_train)
    loaded = pickle.loads(pickle.dumps(ae))
    assert_array_equal(loaded.transform(X_test), ae.transform(X_test))
    assert_array_equal(loaded.predict(X_test), ae.predict(X_test))
    codes = ae.transform(X_test)
    assert_array_equal(loaded.inverse_transform(codes), ae.inverse_transform(codes))
    assert loaded.history_["loss"] == ae.history_["loss"]
    # the loaded encoder still shares its layers with the loaded model
    assert {id(w) for w in loaded.encoder_.weights} <= {id(w) for w in loaded.model_.weights}


def test_pipeline_grid_search_picks_by_reconstruction_score(digits):
    X_train, _, _, _ = digits
    pipe = Pipeline([("scale", MinMaxScaler()), ("ae", DenseAutoencoder(epochs=15, random_state=0))])
    grid = {"ae__n_components": [2, 12], "ae__hidden_layer_sizes": [(), (32,)]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X_train[:600])
    scores = search.cv_results_["mean_test_score"]
    assert search.best_index_ == int(np.argmax(scores))
    assert np.all(scores < 0)
    assert search.best_params_["ae__n_components"] == 12


def test_pretraining_step_before_a_classifier(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline(
        [("ae", DenseAutoencoder(n_components=16, random_state=0)), ("clf", LogisticRegression(max_iter=1000))]
    )
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.85


def test_set_output_pandas_gives_feature_names(small_digits):
    pd = pytest.importorskip("pandas")
    X_train, X_test = small_digits
    columns = [f"pixel{i}" for i in range(64)]
    ae = DenseAutoencoder(n_components=3, epochs=1).set_output(transform="pandas")
    codes = ae.fit_transform(pd.DataFrame(X_train, columns=columns))
    assert isinstance(codes, pd.DataFrame)
    assert list(codes.columns) == ["denseautoencoder0", "denseautoencoder1", "denseautoencoder2"]
    assert list(ae.get_feature_names_out()) == list(codes.columns)
    assert list(ae.feature_names_in_) == columns
    assert list(ae.transform(pd.DataFrame(X_test, columns=columns)).columns) == list(codes.columns)


def test_routed_and_learning_rate_parameters_reach_the_optimizer(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(epochs=1, learning_rate=0.01, optimizer__beta_1=0.5).fit(X_train)
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.01)
    assert ae.model_.optimizer.beta_1 == 0.5
    assert clone(ae).get_params()["optimizer__beta_1"] == 0.5
    ae.set_params(optimizer__beta_1=0.25).fit(X_train)
    assert ae.model_.optimizer.beta_1 == 0.25
    sgd = DenseAutoencoder(epochs=1, optimizer="sgd", optimizer__momentum=0.9).fit(X_train)
    assert isinstance(sgd.model_.optimizer, keras.optimizers.SGD)
    assert sgd.model_.optimizer.momentum == 0.9


def test_optimizer_instance_is_copied_for_each_fit(small_digits):
    X_train, _ = small_digits
    optimizer = keras.optimizers.RMSprop(learning_rate=0.002)
    ae = DenseAutoencoder(epochs=1, optimizer=optimizer).fit(X_train)
    assert ae.model_.optimizer is not optimizer
    assert float(ae.model_.optimizer.learning_rate) == pytest.approx(0.002)
    ae.fit(X_train)  # a second, fresh model trains with a fresh copy


def test_unknown_keyword_is_rejected_at_fit(small_digits):
    X_train, _ = small_digits
    with pytest.raises(TypeError, match=r"unexpected parameters \['n_component'\]"):
        DenseAutoencoder(n_component=3).fit(X_train)


def test_early_stopping_holds_out_validation_data(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(epochs=300, early_stopping=True, n_iter_no_change=2, random_state=0).fit(X_train)
    assert len(ae.history_["val_loss"]) == len(ae.history_["loss"]) < 300


def test_user_callbacks_and_progress_bar(small_digits, capsys):
    X_train, _ = small_digits
    epochs_seen = []
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))
    DenseAutoencoder(epochs=3, callbacks=[callback], verbose=1).fit(X_train)
    assert epochs_seen == [0, 1, 2]
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "loss" in out
    DenseAutoencoder(epochs=2).fit(X_train)
    assert capsys.readouterr().out == ""


def test_warm_start_and_partial_fit_continue_training(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(epochs=2, warm_start=True, random_state=0).fit(X_train)
    model, before = ae.model_, ae.score(X_test)
    ae.set_params(epochs=10).fit(X_train)
    assert ae.model_ is model and ae.score(X_test) > before

    online = DenseAutoencoder(random_state=0)
    for _ in range(3):
        online.partial_fit(X_train)
    assert len(online.history_["loss"]) == 3
    model = online.model_
    online.partial_fit(X_train)
    assert online.model_ is model and len(online.history_["loss"]) == 4


def test_fit_without_warm_start_builds_a_new_model(small_digits):
    X_train, _ = small_digits
    ae = DenseAutoencoder(epochs=1).fit(X_train)
    model = ae.model_
    assert ae.fit(X_train).model_ is not model
