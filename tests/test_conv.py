"""ConvAutoencoder: layouts, image sizes, errors and quality."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA

from skae import ConvAutoencoder

RNG = np.random.default_rng(0)
FAST = dict(epochs=1, filters=(4, 2), batch_size=16)


@pytest.mark.parametrize(
    "sample_shape, image_shape, network_shape",
    [
        ((28, 28), None, (28, 28, 1)),
        ((8, 8, 1), None, (8, 8, 1)),
        ((7, 9), None, (7, 9, 1)),
        ((32, 32, 3), None, (32, 32, 3)),
        ((64,), (8, 8), (8, 8, 1)),
        ((63,), (7, 9), (7, 9, 1)),
        ((3072,), (32, 32, 3), (32, 32, 3)),
        ((3072,), (32, 32), (32, 32, 3)),
        ((12,), (1, -1), (1, 12, 1)),
        ((12,), (-1, 4), (3, 4, 1)),
    ],
)
def test_layouts_and_sizes_round_trip(sample_shape, image_shape, network_shape):
    X = RNG.random((40, *sample_shape), dtype=np.float32)
    ae = ConvAutoencoder(image_shape=image_shape, **FAST).fit(X)
    assert ae.image_shape_ == network_shape and ae.sample_shape_ == sample_shape
    codes = ae.transform(X)
    h, w = (-(-side // 4) for side in network_shape[:2])  # two halvings, sides rounded up
    assert codes.shape == (40, h * w * 2) == (40, ae.n_components_)
    assert len(ae.get_feature_names_out()) == codes.shape[1]
    assert ae.inverse_transform(codes).shape == X.shape
    assert ae.predict(X).shape == X.shape
    assert ae.model_.output_shape[1:] == network_shape


def test_dense_bottleneck_gives_n_components():
    X = RNG.random((30, 7, 9), dtype=np.float32)
    ae = ConvAutoencoder(n_components=5, **FAST).fit(X)
    assert ae.transform(X).shape == (30, 5)
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape


@pytest.mark.parametrize("pooling, upsampling", [("strided", "nearest"), ("max", "transposed")])
def test_pooling_and_upsampling_options(pooling, upsampling):
    X = RNG.random((30, 7, 9), dtype=np.float32)
    ae = ConvAutoencoder(pooling=pooling, upsampling=upsampling, **FAST).fit(X)
    assert ae.predict(X).shape == X.shape
    layers = {type(layer).__name__ for layer in ae.model_.layers}
    assert ("MaxPooling2D" in layers) == (pooling == "max")
    assert ("Conv2DTranspose" in layers) == (upsampling == "transposed")


def test_matches_keras_and_is_traced_once():
    X = RNG.random((50, 8, 8), dtype=np.float32)
    ae = ConvAutoencoder(**FAST).fit(X)
    assert_allclose(ae.transform(X), ae.encoder_(X[..., None]).numpy().reshape(50, -1), rtol=1e-5, atol=1e-6)
    assert_allclose(ae.predict(X), ae.model_(X[..., None]).numpy()[..., 0], rtol=1e-5, atol=1e-6)
    for rows in (1, 3, 50):
        ae.transform(X[:rows])
    assert ae._forward["encoder"].traced.experimental_get_tracing_count() == 1


@pytest.mark.parametrize(
    "params",
    [{"filters": (32, 4)}, {"n_components": 16, "filters": (32,)}],
    ids=["spatial code 2x2x4", "dense code 16"],
)
def test_beats_pca_at_equal_code_size_on_digits(digits, params):
    X_train, X_test, _, _ = digits
    ae = ConvAutoencoder(image_shape=(8, 8), random_state=0, **params).fit(X_train)
    assert ae.n_components_ == 16
    pca = PCA(16).fit(X_train)
    ae_error = np.mean((ae.predict(X_test) - X_test) ** 2)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert ae_error < pca_error


@pytest.mark.parametrize("n_components, filters", [(None, (32, 64, 8)), (5, (32, 64))])
def test_filters_auto_suit_the_code(n_components, filters):
    X = RNG.random((20, 8, 8), dtype=np.float32)
    ae = ConvAutoencoder(n_components, epochs=1).fit(X)
    assert ae.filters_ == filters
    convs = [layer for layer in ae.encoder_.layers if type(layer).__name__ == "Conv2D"]
    assert [layer.filters for layer in convs] == list(filters)
    assert ae.n_components_ == (n_components or 8)  # 8 x 8 halved three times, 8 channels


@pytest.mark.slow
def test_dense_code_beats_pca_on_28x28_digits(mnist):
    X_train, X_test, _, _ = mnist
    X_train, X_test = X_train[:2000], X_test[:500]
    ae = ConvAutoencoder(32, image_shape=(28, 28), epochs=12, random_state=0).fit(X_train)  # 0.59x measured
    assert ae.filters_ == (32, 64) and ae.loss_ == "binary_crossentropy"
    pca = PCA(32).fit(X_train)
    ae_error = np.mean((ae.predict(X_test) - X_test) ** 2)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    assert ae_error < 0.75 * pca_error, (ae_error, pca_error)


@pytest.mark.parametrize("n_components, code_activation", [(None, "linear"), (3, "relu")])
def test_decoder_mirrors_encoder(n_components, code_activation):
    X = RNG.random((20, 8, 8, 2), dtype=np.float32)
    ae = ConvAutoencoder(n_components, filters=(4, 6, 3), epochs=1).fit(X)
    encoder_convs = [layer for layer in ae.encoder_.layers if type(layer).__name__ == "Conv2D"]
    decoder_convs = [layer for layer in ae.decoder_.layers if "Conv2D" in type(layer).__name__]
    assert [layer.filters for layer in encoder_convs] == [4, 6, 3]
    assert [layer.filters for layer in decoder_convs] == [6, 4, 4, 2]  # back to the input's 2 channels
    assert [layer.strides for layer in encoder_convs] == [(2, 2)] * 3
    # the code is linear when it is the last convolution's output, else the dense layer is the code
    assert encoder_convs[-1].activation.__name__ == code_activation
    assert decoder_convs[-1].activation.__name__ == ae.output_activation_ == "sigmoid"


def test_three_channel_images_train():
    X = RNG.random((60, 32, 32, 3), dtype=np.float32)
    ae = ConvAutoencoder(filters=(8, 4), epochs=3, random_state=0).fit(X)
    assert ae.history_["loss"][-1] < ae.history_["loss"][0]
    assert ae.transform(X).shape == (60, 8 * 8 * 4)


@pytest.mark.parametrize(
    "X, params, message",
    [
        (RNG.random((10, 64)), {}, "X is flat, with 64 features: pass image_shape"),
        (RNG.random((10, 64)), {"image_shape": (7, 7)}, "cannot be read as images of image_shape=\\(7, 7\\)"),
        (RNG.random((10, 8, 8)), {"image_shape": (4, 16)}, "X holds images of shape \\(8, 8\\)"),
        (RNG.random((10, 64)), {"image_shape": (-1, -1)}, "one side -1 at most"),
        (RNG.random((10, 20)), {"image_shape": (2.5, 8)}, "image_shape must hold integers. Received: .*2.5, 8"),
        (RNG.random((10, 2, 2, 2, 2)), {}, "X.ndim=5"),
        (RNG.random((10, 8, 8)), {"filters": (4, 4, 4, 4, 4)}, "too deep for images of 8 x 8"),
        (RNG.random((10, 8, 8)), {"filters": ()}, "filters must be positive integers"),
    ],
)
def test_bad_images_and_architectures_are_rejected(X, params, message):
    ae = ConvAutoencoder(epochs=1, **params)
    with pytest.raises(ValueError, match=message):
        ae.fit(X)
    assert not hasattr(ae, "model_") and not hasattr(ae, "n_features_in_")


def test_images_of_another_size_after_fit_are_rejected():
    ae = ConvAutoencoder(**FAST).fit(RNG.random((20, 8, 8)))
    with pytest.raises(ValueError, match="fitted on samples of shape \\(8, 8\\)"):
        ae.transform(RNG.random((5, 8, 9)))
    with pytest.raises(ValueError, match="X has 7 features, but ConvAutoencoder is expecting 8"):
        ae.transform(RNG.random((5, 7, 8)))
