"""DenseAutoencoder: quality against PCA and the architectures it expresses."""

import joblib
import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import DenseAutoencoder
from skae._layers import LinearPlus, TiedDense


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


@pytest.mark.slow
def test_defaults_beat_pca_on_held_out_28x28_digits(mnist):
    """Defaults chosen on 8 x 8 digits must hold at 784 features (measured 0.51x)."""
    X_train, X_test, _, _ = mnist
    pca = PCA(30).fit(X_train)
    pca_error = reconstruction_error(X_test, pca.inverse_transform(pca.transform(X_test)))
    ae = DenseAutoencoder(30, random_state=0).fit(X_train)
    assert ae.loss_ == "binary_crossentropy"
    assert reconstruction_error(X_test, ae.predict(X_test)) < 0.6 * pca_error


def keras_twin(n_features, hidden, k, learning_rate, mean=None):
    """DenseAutoencoder's network for [0, 1] data, written in Keras; with
    ``mean``, its output starts at it, as skae's does."""
    inputs = keras.Input((n_features,))
    h = inputs
    for units in hidden:
        h = keras.layers.Dense(units, activation="relu")(h)
    h = keras.layers.Dense(k)(h)
    for units in reversed(hidden):
        h = keras.layers.Dense(units, activation="relu")(h)
    output = keras.layers.Dense(n_features, activation="sigmoid")
    model = keras.Model(inputs, output(h))
    if mean is not None:
        mean = np.clip(mean, 0.02, 0.98)
        output.bias.assign(np.log(mean / (1 - mean)))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    return model


@pytest.mark.slow
def test_level_with_the_same_network_written_in_keras(mnist):
    """skae trains its network as well as hand-written Keras does, same data, epochs and batches."""
    X_train, X_test, _, _ = mnist
    params = dict(hidden_layer_sizes=(256,), batch_size=64, learning_rate=2e-3, epochs=8, linear_path=False)
    ae = DenseAutoencoder(30, random_state=0, **params).fit(X_train)
    keras.utils.set_random_seed(0)
    twin = keras_twin(784, (256,), 30, params["learning_rate"], mean=X_train[:2551].mean(axis=0))
    twin.fit(X_train, X_train, epochs=params["epochs"], batch_size=params["batch_size"], verbose=0)
    ratio = reconstruction_error(X_test, ae.predict(X_test)) / reconstruction_error(X_test, twin.predict(X_test))
    assert 0.9 < ratio < 1.1, ratio


def test_loss_auto(small_digits):
    X_train, _ = small_digits
    assert DenseAutoencoder(epochs=1).fit(X_train).loss_ == "binary_crossentropy"
    assert DenseAutoencoder(epochs=1).fit(X_train - 0.5).loss_ == "mse"  # linear output
    assert DenseAutoencoder(epochs=1, output_activation="sigmoid").fit(2 * X_train).loss_ == "mse"  # not in [0, 1]
    assert DenseAutoencoder(epochs=1, output_activation="tanh").fit(X_train).loss_ == "mse"
    given = DenseAutoencoder(epochs=1, loss="mae").fit(X_train)
    assert given.loss_ == "mae" and keras.losses.get(given.model_.loss) is keras.losses.mean_absolute_error


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
    ae = DenseAutoencoder(n_components=2, hidden_layer_sizes=(128, 64, 10), linear_path=False, epochs=2).fit(X_train)
    widths = [layer.units for layer in ae.model_.layers if isinstance(layer, keras.layers.Dense)]
    assert widths == [128, 64, 10, 2, 10, 64, 128, 64]
    assert ae.transform(X_test).shape == (len(X_test), 2)


def test_tied_weights_share_transposed_kernels(small_digits):
    X_train, X_test = small_digits
    sizes, k, n = (32, 16), 4, 64
    tied = DenseAutoencoder(n_components=k, hidden_layer_sizes=sizes, tied_weights=True, epochs=3).fit(X_train)
    untied = DenseAutoencoder(n_components=k, hidden_layer_sizes=sizes, linear_path=False, epochs=1).fit(X_train)

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


# A penalty this strong may silence the code altogether: the point is that it lowers it.
@pytest.mark.filterwarnings("ignore:.*collapsed to a constant output:sklearn.exceptions.ConvergenceWarning")
def test_activity_regularization_lowers_code_activation(small_digits):
    X_train, X_test = small_digits
    params = dict(n_components=16, code_activation="relu", epochs=20, random_state=0)
    plain = DenseAutoencoder(**params).fit(X_train)
    sparse = DenseAutoencoder(activity_regularization=0.05, **params).fit(X_train)
    assert sparse.transform(X_test).mean() < 0.5 * plain.transform(X_test).mean()


def test_dropout_trains_but_does_not_change_inference(small_digits):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(n_components=4, hidden_layer_sizes=(32,), dropout=0.3, epochs=2, random_state=0).fit(X_train)
    layers = [inner for layer in ae.model_.layers for inner in getattr(layer, "chain", [layer])]  # a linear path's too
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in layers) == 2
    clean = ae.model_(X_test, training=False).numpy()
    assert_allclose(ae.predict(X_test), clean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ae.model_(X_test, training=True).numpy(), clean, atol=1e-3)  # dropout in training


def test_pipeline_grid_search_picks_by_reconstruction_score(digits):
    X_train, _, _, _ = digits
    pipe = Pipeline([("scale", MinMaxScaler()), ("ae", DenseAutoencoder(epochs=15, random_state=0))])
    grid = {"ae__n_components": [2, 12], "ae__hidden_layer_sizes": [(), (32,)]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X_train[:600])
    scores = search.cv_results_["mean_test_score"]
    assert search.best_index_ == int(np.argmax(scores))
    assert np.all(scores < 0)
    assert search.best_params_["ae__n_components"] == 12


def test_pipeline_memory_fits_the_autoencoder_once_per_fold(digits, tmp_path):
    X_train, _, y_train, _ = digits
    X, y = X_train[:300], y_train[:300]

    def search(memory):
        ae = DenseAutoencoder(4, hidden_layer_sizes=(16,), epochs=3, random_state=0)
        pipe = Pipeline([("ae", ae), ("clf", LogisticRegression(max_iter=300))], memory=memory)
        return GridSearchCV(pipe, {"clf__C": [0.1, 1.0, 10.0]}, cv=2).fit(X, y)

    cached = search(joblib.Memory(tmp_path, verbose=0))
    fits = list(tmp_path.rglob("output.pkl"))  # one per cached fit of the autoencoder
    assert len(fits) == 3  # one per fold and the refit on all of X, not one per candidate and fold (7)
    assert_allclose(cached.cv_results_["mean_test_score"], search(None).cv_results_["mean_test_score"])


def test_pretraining_step_before_a_classifier(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = Pipeline(
        [("ae", DenseAutoencoder(n_components=16, random_state=0)), ("clf", LogisticRegression(max_iter=1000))]
    )
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.85



@pytest.mark.parametrize("params", [{}, {"tied_weights": True}, {"hidden_layer_sizes": ()}])
def test_components_are_the_first_layers_weights_one_row_per_unit(small_digits, params):
    X_train, X_test = small_digits
    ae = DenseAutoencoder(4, **{"hidden_layer_sizes": (16,), **params}, epochs=2, random_state=0)
    assert not hasattr(ae, "components_")
    components = ae.fit(X_train).components_
    units = 16 if ae.hidden_layer_sizes else 4
    assert components.shape == (units, 64) and components.dtype == np.float32
    # the first layer's pre-activations are X @ components_.T + bias
    first = ae.encoder_.layers[1]
    first = getattr(first, "chain", [first])[0]  # with a linear path: the first of the layers beside it
    linear = keras.activations.get(getattr(first, "activation", None) or "linear") is keras.activations.linear
    if linear:
        assert_allclose(X_test @ components.T + first.bias.numpy(), first(X_test).numpy(), atol=1e-4)
    assert_allclose(components, first.kernel.numpy().T)
    components[:] = 0  # a copy: the model is untouched
    assert np.abs(ae.components_).max() > 0


# -- the linear path: PCA's solution to start from -----------------------------------


def standardised(X):
    return ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)


def test_the_linear_path_starts_at_pcas_solution():
    from sklearn.datasets import load_wine

    X = standardised(load_wine().data)
    # a step too small to move the weights: the network is as it started
    ae = DenseAutoencoder(4, epochs=1, learning_rate=1e-12, random_state=0).fit(X)
    assert isinstance(ae.model_.layers[1], LinearPlus) and ae.output_activation_ == "linear"
    pca = PCA(4).fit(X)
    codes = ae.transform(X)
    signs = np.sign(np.sum(codes * pca.transform(X), axis=0))  # PCA's axes are defined up to their signs
    assert_allclose(codes * signs, pca.transform(X), atol=1e-4)
    assert_allclose(ae.predict(X), pca.inverse_transform(pca.transform(X)), atol=1e-4)
    assert ae._forward["model"].kind == "numpy"


@pytest.mark.parametrize("table, k", [("wine", 6), ("breast_cancer", 15)])
def test_the_defaults_are_never_behind_pca_on_a_small_table(table, k):
    """Half the width on few rows, where the network without its linear path
    had 1.2 and 1.6 times PCA's held-out error (benchmarks/run.py --only tables)."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    X = getattr(datasets, f"load_{table}")().data
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    scale = lambda X: ((X - X_train.mean(axis=0)) / X_train.std(axis=0)).astype(np.float32)  # noqa: E731
    X_train, X_test = scale(X_train), scale(X_test)
    pca = PCA(k).fit(X_train)
    pca_error = reconstruction_error(X_test, pca.inverse_transform(pca.transform(X_test)))
    ae = DenseAutoencoder(k, random_state=0).fit(X_train)
    assert "val_loss" in ae.history_  # early_stopping="auto": the held-out rows choose the epoch
    assert reconstruction_error(X_test, ae.predict(X_test)) <= 1.001 * pca_error


def test_a_linear_path_needs_a_linear_untied_code(small_digits):
    X_train, _ = small_digits
    for params in ({"tied_weights": True}, {"code_activation": "relu"}):
        with pytest.raises(ValueError, match="linear_path=True needs a linear code of untied weights"):
            DenseAutoencoder(linear_path=True, epochs=1, **params).fit(X_train)
        ae = DenseAutoencoder(epochs=1, **params).fit(X_train)  # "auto": without one
        assert not any(isinstance(layer, LinearPlus) for layer in ae.model_.layers)
        assert "val_loss" not in ae.history_


def test_a_dataframe_with_categorical_columns_through_a_column_transformer():
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, 200), "income": rng.lognormal(10, 1, 200),
        "city": rng.choice(["Lyon", "Oslo", "Pune"], 200), "owner": rng.random(200) < 0.4,
    })  # fmt: skip
    frame.loc[::17, "income"] = np.nan
    encode = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
        (OneHotEncoder(sparse_output=False), ["city"]),
        remainder="passthrough",
    )
    pipe = make_pipeline(encode, DenseAutoencoder(3, epochs=2, random_state=0)).set_output(transform="pandas")
    codes = pipe.fit_transform(frame)
    assert list(codes.columns) == ["denseautoencoder0", "denseautoencoder1", "denseautoencoder2"]
    assert codes.shape == (200, 3) and np.isfinite(codes.to_numpy()).all()
    assert list(pipe[-1].feature_names_in_)[:3] == ["pipeline__age", "pipeline__income", "onehotencoder__city_Lyon"]
    # the remedies the errors name
    with pytest.raises(ValueError, match=r"contains NaN: 12 of its 200 rows.*SimpleImputer"):
        DenseAutoencoder(epochs=1).fit(frame[["age", "income"]])
    frame["zone"] = rng.integers(0, 12, 200)
    sparse = make_column_transformer((OneHotEncoder(), ["city", "zone"]))  # 2 of 15 values set: sparse output
    with pytest.raises(TypeError, match=r"OneHotEncoder\(sparse_output=False\)"):
        make_pipeline(sparse, DenseAutoencoder(epochs=1)).fit(frame)
