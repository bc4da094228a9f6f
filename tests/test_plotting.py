"""skae.plotting: what each figure draws, checked against the estimator's own numbers."""

import pickle

import numpy as np
import pytest
from matplotlib import pyplot as plt
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from skae import (
    AutoencoderClassifier,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
    VariationalAutoencoder,
)
from skae.plotting import (
    plot_activation_maximisation,
    plot_code,
    plot_denoising,
    plot_features,
    plot_history,
    plot_latent_grid,
    plot_reconstructions,
    plot_samples,
)

QUICK = dict(epochs=3, batch_size=32, random_state=0)


def tiles(ax, n_rows, n_cols, shape):
    """The tiles of the one image on ax, (rows, cols, *shape), read back from what was drawn."""
    [image] = ax.get_images()
    mosaic = np.ma.filled(image.get_array(), np.nan)
    h, w = shape[:2]
    assert mosaic.shape[:2] == (n_rows * (h + 1) - 1, n_cols * (w + 1) - 1)
    return np.array([[mosaic[i * (h + 1):i * (h + 1) + h, j * (w + 1):j * (w + 1) + w] for j in range(n_cols)]
                     for i in range(n_rows)])


def tick_texts(labels):
    return [label.get_text() for label in labels]


@pytest.fixture(scope="module")
def y(digits):
    return digits[2][:300]


@pytest.fixture(scope="module")
def conv(X):
    return ConvAutoencoder(image_shape=(8, 8), filters=(4, 2), **QUICK).fit(X)


# -- reconstructions ------------------------------------------------------------


def test_reconstructions_draw_originals_over_predictions(linear, X):
    ax = plot_reconstructions(linear, X, n_images=6)
    assert len(ax.figure.axes) == 1 and len(ax.get_images()) == 1
    drawn = tiles(ax, 2, 6, (8, 8))
    assert_allclose(drawn[0], X[:6].reshape(6, 8, 8))
    assert_allclose(drawn[1], linear.predict(X[:6]).reshape(6, 8, 8), rtol=1e-6)
    assert tick_texts(ax.get_yticklabels()) == ["original", "DenseAutoencoder"]
    assert ax.get_images()[0].get_clim() == (X[:6].min(), X[:6].max())  # one grey scale, the originals'
    assert "codes of 16 values" in ax.get_title()


def test_baselines_get_a_row_each(conv, X):
    pca = PCA(8).fit(X)
    ax = plot_reconstructions(conv, X, baselines={"PCA (8)": pca}, n_images=4)
    drawn = tiles(ax, 3, 4, (8, 8))
    assert_allclose(drawn[1], conv.predict(X[:4]).reshape(4, 8, 8), rtol=1e-6)
    assert_allclose(drawn[2], pca.inverse_transform(pca.transform(X[:4])).reshape(4, 8, 8), rtol=1e-5, atol=1e-6)
    assert tick_texts(ax.get_yticklabels()) == ["original", "ConvAutoencoder", "PCA (8)"]


def test_reconstructions_draw_on_a_given_ax(linear, X):
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_reconstructions(linear, X, n_images=3, ax=right) is right
    assert len(fig.axes) == 2 and not left.get_images() and len(right.get_images()) == 1


def test_reconstructions_of_images_use_the_conv_autoencoders_image_shape(conv, X):
    images = X[:4].reshape(4, 8, 8)
    drawn = tiles(plot_reconstructions(conv, X, n_images=4), 2, 4, (8, 8))
    assert_allclose(drawn[0], images)
    assert_allclose(drawn[1], conv.predict(X[:4]).reshape(4, 8, 8), rtol=1e-6)


def test_image_shape_is_given_when_samples_are_not_square(X):
    X_wide = np.hstack([X, X[:, :8]])  # 72 features: no square side
    ae = DenseAutoencoder(4, hidden_layer_sizes=(), **QUICK).fit(X_wide)
    with pytest.raises(ValueError, match="72 features as a square image: pass image_shape"):
        plot_reconstructions(ae, X_wide)
    with pytest.raises(ValueError, match=r"image_shape=\(8, 8\) holds 64 values, but each sample has 72"):
        plot_reconstructions(ae, X_wide, image_shape=(8, 8))
    drawn = tiles(plot_reconstructions(ae, X_wide, n_images=2, image_shape=(9, 8)), 2, 2, (9, 8))
    assert_allclose(drawn[0], X_wide[:2].reshape(2, 9, 8))


def test_figures_refuse_unfitted_estimators_and_classifiers(linear, X):
    with pytest.raises(NotFittedError):
        plot_reconstructions(DenseAutoencoder(), X)
    with pytest.raises(TypeError, match=r"needs a skae autoencoder.*plot_code\(clf.autoencoder_"):
        plot_code(AutoencoderClassifier(linear), X)
    with pytest.raises(ValueError, match="n_images must be at least 1"):
        plot_reconstructions(linear, X, n_images=0)


# -- denoising --------------------------------------------------------------------


def test_denoising_draws_noisy_denoised_and_clean_rows(linear, X):
    noisy = np.clip(X[:5] + np.random.default_rng(0).normal(0, 0.3, X[:5].shape), 0, 1).astype(np.float32)
    ax = plot_denoising(linear, X, noisy, n_images=5)
    drawn = tiles(ax, 3, 5, (8, 8))
    assert_allclose(drawn[0], noisy.reshape(5, 8, 8))
    assert_allclose(drawn[1], linear.predict(noisy).reshape(5, 8, 8), rtol=1e-6)
    assert_allclose(drawn[2], X[:5].reshape(5, 8, 8))
    assert tick_texts(ax.get_yticklabels()) == ["noisy", "denoised", "clean"]


def test_denoising_uses_the_estimators_own_corruption(X):
    ae = DenoisingAutoencoder(8, noise="masking", noise_level=0.5, hidden_layer_sizes=(), **QUICK).fit(X)
    drawn = tiles(plot_denoising(ae, X, n_images=20, random_state=0), 3, 20, (8, 8))
    noisy, clean = drawn[0], drawn[2]
    lit = clean > 0
    assert np.all((noisy == clean) | (noisy == 0))  # masking only zeroes inputs
    assert 0.4 < np.mean(noisy[lit] == 0) < 0.6  # about noise_level of them
    assert_allclose(drawn[1], ae.predict(noisy.reshape(20, 64)).reshape(20, 8, 8), rtol=1e-6)
    again = tiles(plot_denoising(ae, X, n_images=20, random_state=0), 3, 20, (8, 8))
    assert_array_equal(again[0], noisy)  # random_state fixes the noise


def test_denoising_without_noise_of_its_own_needs_noisy_inputs(linear, X):
    with pytest.raises(TypeError, match="does not corrupt its input in training.*pass X_noisy"):
        plot_denoising(linear, X)
    with pytest.raises(ValueError, match="X_noisy must have the shape of X"):
        plot_denoising(linear, X[:5], X[:5, :32])


# -- the code ---------------------------------------------------------------------


def test_a_2d_code_is_scattered_as_it_is_one_colour_per_class(X, y):
    ae = DenseAutoencoder(2, hidden_layer_sizes=(), **QUICK).fit(X)
    ax = plot_code(ae, X, y)
    codes = ae.transform(X)
    drawn = {text.get_text(): collection.get_offsets() for text, collection in
             zip(ax.get_legend().get_texts(), ax.collections)}
    assert sorted(drawn) == [str(label) for label in range(10)]
    for label, offsets in drawn.items():
        assert_allclose(offsets, codes[y == int(label)])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("code[0]", "code[1]")
    assert len({tuple(collection.get_facecolor()[0]) for collection in ax.collections}) == 10


def test_a_wider_code_is_projected_on_its_principal_components(linear, X, y):
    ax = plot_code(linear, X, y.astype(float) + np.linspace(0, 0.5, len(y)))  # continuous y: a colour bar
    [points] = ax.collections
    assert_allclose(points.get_offsets(), PCA(2).fit_transform(linear.transform(X)), rtol=1e-5, atol=1e-5)
    assert ax.get_xlabel().startswith("principal component 1 of the code (")
    assert "16-value code, projected on 2 principal components" in ax.get_title()
    assert len(ax.figure.axes) == 2 and ax.figure.axes[1].get_ylabel() == "y"  # the colour bar


def test_code_errors(X, y):
    ae = DenseAutoencoder(1, hidden_layer_sizes=(), **QUICK).fit(X)
    with pytest.raises(ValueError, match="1-value code: there is no 2-D view"):
        plot_code(ae, X)
    with pytest.raises(ValueError, match="one value per sample"):
        plot_code(DenseAutoencoder(2, hidden_layer_sizes=(), **QUICK).fit(X), X, y[:10])


# -- history ----------------------------------------------------------------------


def test_history_draws_each_term_and_its_validation_dashed(X):
    ae = ContractiveAutoencoder(8, fit__validation_split=0.25, **QUICK).fit(X)
    ax = plot_history(ae)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(ae.history_) == {
        "loss", "reconstruction_loss", "contractive_loss", "val_loss", "val_reconstruction_loss",
        "val_contractive_loss"}
    assert tick_texts(ax.get_legend().get_texts()) == sorted(lines, key=lambda key: ("val_" in key, key))
    for key, line in lines.items():
        assert_allclose(line.get_xdata(), [1, 2, 3])
        assert_allclose(line.get_ydata(), ae.history_[key])
        assert line.get_linestyle() == ("--" if key.startswith("val_") else "-")
        if key.startswith("val_"):
            assert line.get_color() == lines[key[4:]].get_color()
    assert ax.get_yscale() == "log" and (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss (log scale)")


def test_history_of_a_stack_and_of_a_classifier(X, y):
    steps = [("outer", DenseAutoencoder(16, hidden_layer_sizes=(), **QUICK)),
             ("inner", DenseAutoencoder(4, hidden_layer_sizes=(), epochs=5))]
    stack = StackedAutoencoder(steps, epochs=2).fit(X)
    lines = {line.get_label(): line for line in plot_history(stack, log_scale=False).get_lines()}
    assert set(lines) == {"loss", "outer_loss", "inner_loss", "outer_val_loss", "inner_val_loss"}
    assert len(lines["inner_loss"].get_xdata()) == 5 and len(lines["loss"].get_xdata()) == 2
    greedy_only = StackedAutoencoder(steps).fit(X)  # history_["loss"] is empty: not drawn
    drawn = {line.get_label() for line in plot_history(greedy_only).get_lines()}
    assert drawn == {"outer_loss", "inner_loss", "outer_val_loss", "inner_val_loss"}
    clf = AutoencoderClassifier(DenseAutoencoder(4, hidden_layer_sizes=(), **QUICK), **QUICK).fit(X, y)
    [line] = plot_history(clf).get_lines()
    assert_allclose(line.get_ydata(), clf.history_["loss"])


def test_history_of_nothing_trained_is_an_error(linear):
    emptied = pickle.loads(pickle.dumps(linear))
    emptied.history_ = {"loss": []}  # as after fitting for no epoch
    with pytest.raises(ValueError, match="history_ is empty: it was not trained"):
        plot_history(emptied)
    with pytest.raises(NotFittedError):
        plot_history(DenseAutoencoder())


# -- features ---------------------------------------------------------------------


def scaled(tiles):
    low = tiles.min(axis=(1, 2), keepdims=True)
    return (tiles - low) / (tiles.max(axis=(1, 2), keepdims=True) - low)


def test_dense_features_are_the_first_layers_weights_as_images(linear):
    ax = plot_features(linear)
    kernel = np.asarray(linear.encoder_.layers[1].kernel).T.reshape(16, 8, 8)
    drawn = tiles(ax, 4, 4, (8, 8)).reshape(16, 8, 8)
    assert_allclose(drawn, scaled(kernel), rtol=1e-5, atol=1e-6)
    assert tick_texts(ax.get_yticklabels()) == ["units 0-3", "units 4-7", "units 8-11", "units 12-15"]
    assert "(16 of 16)" in ax.get_title()
    drawn = tiles(plot_features(linear, n_features=5, n_cols=3), 2, 3, (8, 8)).reshape(6, 8, 8)
    assert_allclose(drawn[:5], scaled(kernel[:5]), rtol=1e-5, atol=1e-6)
    assert np.isnan(drawn[5]).all()  # the grid's empty slot is left blank


def test_conv_features_are_the_first_filters(conv):
    ax = plot_features(conv)
    kernel = np.moveaxis(np.asarray(conv.encoder_.layers[1].kernel)[:, :, 0], -1, 0)  # (4 filters, 3, 3)
    assert_allclose(tiles(ax, 2, 2, (3, 3)).reshape(4, 3, 3), scaled(kernel), rtol=1e-5, atol=1e-6)
    assert "3 x 3 filters of the first convolution" in ax.get_title()
    assert tick_texts(ax.get_yticklabels()) == ["filters 0-1", "filters 2-3"]


def test_rgb_filters_are_drawn_in_colour():
    photos = np.random.default_rng(0).uniform(size=(40, 6, 6, 3)).astype(np.float32)
    ae = ConvAutoencoder(filters=(4,), **QUICK).fit(photos)
    [image] = plot_features(ae).get_images()
    assert image.get_array().shape == (2 * 4 - 1, 2 * 4 - 1, 4)  # RGBA: a transparent gap


def test_a_stacks_features_are_its_first_steps(X):
    steps = [("outer", DenseAutoencoder(9, hidden_layer_sizes=(), **QUICK)),
             ("inner", DenseAutoencoder(3, hidden_layer_sizes=(), **QUICK))]
    stack = StackedAutoencoder(steps).fit(X)
    kernel = np.asarray(stack.steps_[0][1].encoder_.layers[1].kernel).T.reshape(9, 8, 8)
    assert_allclose(tiles(plot_features(stack), 3, 3, (8, 8)).reshape(9, 8, 8), scaled(kernel), rtol=1e-5,
                    atol=1e-6)


# -- activation maximisation -----------------------------------------------------


def test_a_linear_units_best_input_is_its_weight_vector(linear, X):
    units = [0, 5, 9]
    ax = plot_activation_maximisation(linear, X, units=units, random_state=0)
    kernel = np.asarray(linear.encoder_.layers[1].kernel)[:, units].T  # (3, 64)
    drawn = tiles(ax, 1, 3, (8, 8))[0]
    assert_allclose(drawn, scaled(kernel.reshape(3, 8, 8)), atol=1e-3)
    assert tick_texts(ax.get_xticklabels()) == ["unit 0", "unit 5", "unit 9"]
    norm = np.mean(np.linalg.norm(X, axis=1))
    assert f"norm {norm:.3g}" in ax.get_title()


def test_within_the_range_the_title_says_so(linear, X):
    ax = plot_activation_maximisation(linear, X, units=[0], constraint="range", n_steps=20, random_state=0)
    assert "within the range of X" in ax.get_title()


def test_activation_maximisation_checks_its_arguments(linear, X):
    with pytest.raises(ValueError, match=r"from 0 to n_components_ - 1 = 15. Received: units=\[16\]"):
        plot_activation_maximisation(linear, X, units=[16])
    with pytest.raises(ValueError, match=r'constraint must be "norm" or "range". Received: constraint=\'box\''):
        plot_activation_maximisation(linear, X, constraint="box")


# -- samples and the latent grid --------------------------------------------------


@pytest.fixture(scope="module")
def vae(X):
    return VariationalAutoencoder(3, hidden_layer_sizes=(32,), **QUICK).fit(X)


def test_samples_are_the_prior_draws_decoded(vae):
    ax = plot_samples(vae, n_samples=7, n_cols=4, random_state=3)
    drawn = tiles(ax, 2, 4, (8, 8))
    expected = vae.sample(7, random_state=3).reshape(7, 8, 8)
    assert_allclose(drawn.reshape(8, 8, 8)[:7], expected, rtol=1e-6)
    assert np.isnan(drawn[1, 3]).all()  # the grid's last place is blank
    assert ax.get_images()[0].get_clim() == (0, 1)  # a Bernoulli decoder's means
    assert "7 samples from the prior" in ax.get_title()


def test_the_latent_grid_decodes_prior_quantiles(vae):
    ax = plot_latent_grid(vae, n_steps=3, dims=(2, 0), quantiles=(0.1, 0.9))
    drawn = tiles(ax, 3, 3, (8, 8))
    q = 1.2815516  # the standard normal's 0.9 quantile
    assert tick_texts(ax.get_xticklabels()) == ["-1.28", "0.00", "1.28"]
    assert tick_texts(ax.get_yticklabels()) == ["1.28", "0.00", "-1.28"]  # the highest on top
    # top right: value 2 at its highest, value 0 at its highest, value 1 at the prior's mean
    assert_allclose(drawn[0, 2], vae.inverse_transform([[q, 0, q]]).reshape(8, 8), rtol=1e-5, atol=1e-6)
    assert_allclose(drawn[2, 0], vae.inverse_transform([[-q, 0, -q]]).reshape(8, 8), rtol=1e-5, atol=1e-6)
    assert ax.get_xlabel() == "code value 2" and ax.get_ylabel() == "code value 0"


def test_sample_figures_need_a_generative_autoencoder(vae, linear):
    with pytest.raises(TypeError, match="needs a VariationalAutoencoder. Received: DenseAutoencoder"):
        plot_samples(linear)
    with pytest.raises(TypeError, match="needs a VariationalAutoencoder"):
        plot_latent_grid(linear)
    with pytest.raises(NotFittedError):
        plot_samples(VariationalAutoencoder())
    with pytest.raises(ValueError, match="n_cols must be a positive integer"):
        plot_samples(vae, n_cols=0)
    with pytest.raises(ValueError, match="dims must name two different code values of the 3"):
        plot_latent_grid(vae, dims=(0, 3))
    with pytest.raises(ValueError, match="dims must name two different"):
        plot_latent_grid(vae, dims=(1, 1))
    with pytest.raises(ValueError, match="quantiles must be two probabilities"):
        plot_latent_grid(vae, quantiles=(0, 0.9))
    with pytest.raises(ValueError, match="n_steps must be an integer of at least 2"):
        plot_latent_grid(vae, n_steps=1)
