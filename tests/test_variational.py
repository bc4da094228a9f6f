"""VariationalAutoencoder: the ELBO it trains on and reports, its samples, its Gaussian decoder."""

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import FactorAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from skae import AutoencoderClassifier, AutoencoderOutlierDetector, StackedAutoencoder, VariationalAutoencoder
from skae._layers import GaussianCode


@pytest.fixture(scope="module")
def vae(digits):
    X_train, _, _, _ = digits
    return VariationalAutoencoder(4, hidden_layer_sizes=(64,), epochs=30, random_state=0).fit(X_train)


def posterior(vae, X):
    """Mean and log-variance of q(z | x), from the code layer's weights."""
    code = next(layer for layer in vae.model_.layers if isinstance(layer, GaussianCode))
    hidden = keras.Model(vae.model_.inputs[0], code.input)(X).numpy().astype(np.float64)
    weights = [w.numpy().astype(np.float64) for w in (code.kernel, code.bias, code.log_variance_kernel,
                                                       code.log_variance_bias)]  # fmt: skip
    return hidden @ weights[0] + weights[1], hidden @ weights[2] + weights[3]


def test_transform_is_the_posterior_mean_and_predict_decodes_it(vae, digits):
    _, X_test, _, _ = digits
    codes = vae.transform(X_test)
    assert codes.shape == (len(X_test), 4)
    assert_array_equal(codes, vae.transform(X_test))  # no draw at inference
    assert_allclose(codes, posterior(vae, X_test)[0], atol=1e-4)
    assert_allclose(vae.predict(X_test), vae.inverse_transform(codes), atol=1e-6)
    assert vae.output_activation_ == "sigmoid" and vae.noise_variance_ is None  # data in [0, 1]: Bernoulli
    assert list(vae.get_feature_names_out()) == [f"variationalautoencoder{i}" for i in range(4)]


def test_the_loss_is_minus_the_elbo_per_feature(digits):
    X_train, _, _, _ = digits
    for beta in (1.0, 0.5):
        history = VariationalAutoencoder(2, hidden_layer_sizes=(32,), beta=beta, epochs=3,
                                         random_state=0).fit(X_train).history_  # fmt: skip
        expected = (np.array(history["reconstruction_loss"]) + beta * np.array(history["kl_loss"])) / 64
        assert_allclose(history["loss"], expected, rtol=1e-4)


def test_score_samples_is_the_elbo(vae, digits):
    # Against an estimate of E_q[log p(x | z)] - KL from 2,000 draws per row, in float64.
    _, X_test, _, _ = digits
    X = X_test[:40]
    mean, log_variance = posterior(vae, X)
    kl = 0.5 * np.sum(mean**2 + np.exp(log_variance) - 1 - log_variance, axis=1)
    rng = np.random.default_rng(1)
    likelihood = np.zeros(len(X))
    for i, x in enumerate(X):
        z = mean[i] + np.exp(0.5 * log_variance[i]) * rng.standard_normal((2000, 4))
        p = np.clip(vae.inverse_transform(z.astype(np.float32)).astype(np.float64), 1e-7, 1 - 1e-7)
        likelihood[i] = np.mean(np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1))
    elbo = vae.score_samples(X)
    assert elbo.dtype == np.float64 and elbo.shape == (40,)
    assert_allclose(elbo, likelihood - kl, rtol=0.03)
    # score_samples's draws are shared by the rows: a bias of a few tenths of a nat
    assert abs(np.mean(elbo) - np.mean(likelihood - kl)) < 0.02 * abs(np.mean(elbo))
    # a row's score is its own: the same alone, among others, and on every call
    assert_allclose(vae.score_samples(X[5:6]), elbo[5:6], rtol=1e-5)
    assert_allclose(vae.score_samples(X[::-1]), elbo[::-1], rtol=1e-5)
    assert vae.score(X) == pytest.approx(np.mean(elbo))


def test_the_elbo_beats_independent_pixels(vae, digits):
    # Held out, the model is more likely than one Bernoulli per pixel at its
    # mean. Grey pixels cap both below 0: a row's likelihood is at most its own
    # cross-entropy with itself (-13.8 nats on digits, the floor), the
    # independent pixels are at -27.2, and the VAE is to close a tenth of that gap.
    X_train, X_test, _, _ = digits

    def log_likelihood(p):
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return np.mean(np.sum(X_test * np.log(p) + (1 - X_test) * np.log(1 - p), axis=1))

    independent, floor = log_likelihood(X_train.mean(axis=0)), log_likelihood(X_test)
    assert vae.score(X_test) > independent + 0.1 * (floor - independent), (vae.score(X_test), independent, floor)


def test_samples_come_from_the_prior_in_the_layout_fit_was_given(vae, digits):
    samples = vae.sample(6, random_state=0)
    assert samples.shape == (6, 64) and samples.dtype == np.float32
    assert samples.min() >= 0 and samples.max() <= 1
    assert_array_equal(samples, vae.sample(6, random_state=0))
    assert not np.allclose(samples, vae.sample(6, random_state=1))
    z = np.random.RandomState(0).standard_normal((6, 4))
    assert_allclose(samples, vae.inverse_transform(z), atol=1e-6)
    images = VariationalAutoencoder(2, epochs=10, random_state=0).fit(digits[0][:300].reshape(-1, 8, 8))
    assert images.image_shape_ == (8, 8, 1)  # image-shaped X: convolutional
    assert images.sample(3, random_state=0).shape == (3, 8, 8)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        vae.sample(0)
    with pytest.raises(NotFittedError):
        VariationalAutoencoder().sample(2)


def test_a_larger_beta_keeps_the_posterior_closer_to_the_prior(digits):
    X_train, _, _, _ = digits
    kl = [VariationalAutoencoder(4, hidden_layer_sizes=(32,), beta=beta, epochs=8, random_state=0)
          .fit(X_train).history_["kl_loss"][-1] for beta in (1.0, 4.0)]  # fmt: skip
    assert kl[1] < 0.7 * kl[0], kl


def test_a_gaussian_decoder_learns_the_noise_and_the_density():
    # Linear-Gaussian data, 2 factors and noise of variance 0.1 in each of 10
    # features: the likelihood FactorAnalysis fits in closed form is the best a
    # linear VAE can do, and one Gaussian per feature is far behind.
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(1500, 2)) @ rng.normal(size=(2, 10)) + rng.normal(scale=0.1**0.5, size=(1500, 10)))
    X = X.astype(np.float32)
    X_train, X_test = X[:1000], X[1000:]
    vae = VariationalAutoencoder(2, hidden_layer_sizes=(), epochs=400, random_state=0).fit(X_train)
    assert vae.output_activation_ == "linear" and vae.noise_variance_.shape == (10,)
    assert 0.07 < np.median(vae.noise_variance_) < 0.15, vae.noise_variance_
    factor_analysis = FactorAnalysis(2).fit(X_train).score(X_test)
    independent = np.mean(np.sum(-0.5 * (np.log(2 * np.pi * X_train.var(axis=0)) + (X_test - X_train.mean(axis=0))**2
                                         / X_train.var(axis=0)), axis=1))  # fmt: skip
    assert vae.score(X_test) > factor_analysis - 0.3, (vae.score(X_test), factor_analysis)
    assert vae.score(X_test) > independent + 5, (vae.score(X_test), independent)


def test_the_outlier_detector_flags_the_least_likely_samples(digits):
    # Fitted on 0s to 4s, the ELBO ranks 5s to 9s as less likely.
    X_train, X_test, y_train, y_test = digits
    detector = AutoencoderOutlierDetector(
        VariationalAutoencoder(4, hidden_layer_sizes=(64,), epochs=15), scoring="reconstruction", random_state=0,
    ).fit(X_train[y_train < 5])  # fmt: skip
    scores = detector.score_samples(X_test)
    assert_allclose(scores, detector.autoencoder_.score_samples(X_test))
    assert roc_auc_score(y_test < 5, scores) > 0.8
    assert np.isfinite(detector.offset_)
    flagged = detector.predict(X_test) == -1
    assert 0 < flagged[y_test < 5].mean() < 0.2 and flagged[y_test >= 5].mean() > flagged[y_test < 5].mean()


def test_a_gaussian_elbo_of_either_sign_gives_a_sound_threshold():
    # Standardised rows have ELBOs above 0 and below: the "auto" threshold
    # takes them as the logarithms they are.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)).astype(np.float32) * 0.05
    X[:8] += 3
    detector = AutoencoderOutlierDetector(VariationalAutoencoder(2, hidden_layer_sizes=(16,), epochs=30),
                                          scoring="reconstruction", random_state=0).fit(X)  # fmt: skip
    assert (detector.score_samples(X[8:]) > 0).mean() > 0.5 and np.isfinite(detector.offset_)
    flagged = detector.predict(X) == -1
    assert flagged[:8].all() and flagged[8:].mean() < 0.1


def test_as_a_pretrained_encoder_it_gives_its_mean(digits):
    # A classifier and a stack fine-tune the encoder as a deterministic one:
    # no draws, no KL term in their losses.
    X_train, X_test, y_train, _ = digits
    clf = AutoencoderClassifier(VariationalAutoencoder(8, hidden_layer_sizes=(32,), epochs=3), epochs=2,
                                random_state=0).fit(X_train, y_train)  # fmt: skip
    assert clf.model_.losses == [] or all(float(loss) == 0 for loss in clf.model_.losses)
    features = keras.Model(clf.model_.inputs[0], clf.model_.layers[-2].output)
    assert_array_equal(features(X_test[:5], training=True), features(X_test[:5], training=True))
    stack = StackedAutoencoder([("vae", VariationalAutoencoder(8, hidden_layer_sizes=(32,), epochs=2)),
                                ("inner", VariationalAutoencoder(2, hidden_layer_sizes=(), epochs=2))],
                               epochs=2, random_state=0).fit(X_train)  # fmt: skip
    assert stack.transform(X_test).shape == (len(X_test), 2)
    assert np.isfinite(stack.history_["loss"]).all()
