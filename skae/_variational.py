"""VariationalAutoencoder: a generative autoencoder that samples and scores likelihoods."""

from numbers import Integral, Real

import numpy as np
from keras import ops
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import BaseAutoencoder
from ._base import inherit_signature, resolve_output_activation
from ._conv import ConvAutoencoder, resolve_image_shape
from ._dense import checked_hidden_sizes
from ._docs import fill_doc
from ._inference import traced_forward
from ._layers import DecoderVariance, GaussianCode, kl_divergence
from ._models import VariationalModel, log_likelihood
from ._network import chain
from ._seeds import dense, glorot_uniform, layer_seed

# Draws of the code per row for the ELBO that score_samples estimates: the
# same draws of standard normal noise for every row and call, so that a
# row's score depends on that row alone.
ELBO_DRAWS = 16


@fill_doc
@inherit_signature
class VariationalAutoencoder(BaseAutoencoder):
    """Variational autoencoder: a code that is a distribution, a decoder that generates.

    The encoder maps each sample through ``hidden_layer_sizes`` to the mean
    and log-variance of a Gaussian posterior q(z | x) over a code of
    ``n_components`` values; in training the decoder reconstructs from a
    draw of it (the reparameterisation trick), and the loss is minus the
    evidence lower bound (ELBO) of Kingma and Welling (2014),
    ``-log p(x | z) + beta * KL(q(z | x) || N(0, I))``, summed over the
    features as the ELBO is and divided by their number ``d``, so that the
    loss reads per feature, as the other families' means of their
    reconstruction losses do. The decoder's output is the mean of
    p(x | z): Bernoulli for data in [0, 1] (binary cross-entropy), Gaussian
    otherwise, its variance per feature learned with the network
    (``noise_variance_``).

    ``transform`` returns the posterior mean, which is deterministic;
    ``inverse_transform`` decodes codes to the decoder's mean; ``sample``
    decodes draws from the prior; ``score_samples`` is each sample's ELBO,
    a lower bound on its log-likelihood in nats, and ``score`` their mean,
    what ``GridSearchCV`` maximises, as for ``GaussianMixture``.

    Read more in the :ref:`User Guide <variational>`.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code: the dimension of the latent space.

    hidden_layer_sizes : tuple of int, default=(512,)
%(hidden_layer_sizes)s

    activation : str, default="relu"
        Activation of the hidden layers, as Keras names it.

    output_activation : str, default="auto"
        Activation of the decoder's mean. "auto" is "sigmoid" when the
        training data lie in [0, 1] and "linear" otherwise.

    image_shape : tuple of int or None, default=None
        ``(h, w)`` or ``(h, w, c)``, to read a flat X as images, as
        ``ConvAutoencoder`` does. Given, or for X of shape (n, h, w) or
        (n, h, w, c), encoder and decoder are convolutional: ``filters``
        blocks of stride 2 down, the mirror image up, the Gaussian code a
        dense layer between (``hidden_layer_sizes`` is then not used).

    filters : tuple of int or "auto", default="auto"
        Filters of each convolutional encoder block, input side first, for
        images; "auto" is (32, 64).

    kernel_size : int, default=3
        Side of the convolution kernels, for images.

    beta : float, default=1.0
        Weight of the KL term: 1 trains on the ELBO itself; above 1 (a
        beta-VAE, Higgins et al., 2017) pulls the posterior harder to the
        prior, for smoother samples and less detailed reconstructions;
        below 1 the other way. ``score_samples`` is the ELBO whatever
        ``beta``.

%(variational_training_parameters)s

    Attributes
    ----------
%(fitted_attributes)s

    output_activation_ : str
        The output activation used, with "auto" resolved.

    image_shape_ : tuple of int or None
        ``(h, w, c)`` of the images the network sees; None for flat rows.

    noise_variance_ : ndarray or None
        The variance of the Gaussian decoder per feature, learned in
        training, of the shape of one sample as the network sees it
        (``(n_features_in_,)`` for flat rows); None for a Bernoulli decoder.

    See Also
    --------
    DenseAutoencoder : A deterministic code, for reconstruction and features.
    sklearn.mixture.GaussianMixture : A density model with ``sample`` and
        ``score_samples``.

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-encoding variational Bayes", ICLR 2014.

    I. Higgins et al., "beta-VAE: learning basic visual concepts with a
    constrained variational framework", ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> X = load_digits().data / 16
    >>> vae = VariationalAutoencoder(n_components=2, epochs=5, random_state=0).fit(X)
    >>> vae.transform(X[:3]).shape
    (3, 2)
    >>> vae.sample(4, random_state=0).shape
    (4, 64)
    >>> vae.score_samples(X[:3]).shape
    (3,)
    >>> sorted(vae.history_)
    ['kl_loss', 'loss', 'reconstruction_loss']
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [str],
        "output_activation": [str],
        "image_shape": ["array-like", None],
        "filters": ["array-like", StrOptions({"auto"})],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"auto", "binary_crossentropy", "mse"})],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512,),
        activation="relu",
        output_activation="auto",
        image_shape=None,
        filters="auto",
        kernel_size=3,
        beta=1.0,
        **params,
    ):
        super().__init__(**params)
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.beta = beta

    # -- flat rows or images: ConvAutoencoder's layout path ------------------------

    _accepts_images = True

    def _resolve_network_shape(self, sample_shape):
        self.image_shape_ = resolve_image_shape(sample_shape, self.image_shape)

    def _network_shape(self):
        return self.sample_shape_ if self.image_shape_ is None else self.image_shape_

    def _image_shape(self):
        return self.image_shape_

    # -- the network -------------------------------------------------------------

    def _build_network(self, X):
        code = (GaussianCode(self.n_components, glorot_uniform(), seed=layer_seed()), {})
        if self.image_shape_ is not None:
            # ConvAutoencoder's network with a dense code, that code Gaussian
            conv = ConvAutoencoder(
                self.n_components, filters=self.filters, kernel_size=self.kernel_size, activation=self.activation,
                output_activation=self.output_activation,
            )  # fmt: skip
            conv.image_shape_, conv.n_features_in_ = self.image_shape_, self.n_features_in_
            encoder, decoder = conv._build_network(X)
            encoder[-1] = code
            self.output_activation_ = conv.output_activation_
        else:
            hidden = checked_hidden_sizes(self.hidden_layer_sizes)
            self.output_activation_ = resolve_output_activation(self.output_activation, X)
            encoder = [*((dense(units, self.activation), {}) for units in hidden), code]
            decoder = [(dense(units, self.activation), {}) for units in reversed(hidden)]
            decoder.append((dense(X.shape[1], self.output_activation_), {}))
        if (self._auto_loss(X) if self.loss == "auto" else self.loss) == "mse":
            decoder.append((DecoderVariance(), {}))
        return encoder, decoder

    def _encoder_layers(self):
        # A stack's fine-tuning and a classifier's train the encoder as a
        # deterministic one, on the posterior mean: no draws, no KL term,
        # as a contractive step's penalty is part of its own training only.
        *hidden, (code, _) = self._layers("encoder")
        return [*hidden, (code, {"draw": False})]

    def _decoder_layers(self):
        # ... and the decoder as one of the mean, without its variance
        return [(layer, kwargs) for layer, kwargs in self._layers("decoder") if not isinstance(layer, DecoderVariance)]

    def _make_model(self, inputs, outputs, encoder):
        return VariationalModel(inputs, outputs, beta=self.beta, name=type(self).__name__.lower())

    def _build(self, X, *, train=True):
        super()._build(X, train=train)
        if train:
            # The decoder starts at the mean of X, a Gaussian one with X's
            # variance: the likelihood starts where a model of independent
            # features would be, and no code unit is pushed to a bound.
            rows = self._first_rows(X)
            self._start_output_at_mean(rows)
            variance = self._decoder_variance()
            if variance is not None:
                log_variance = np.log(np.maximum(rows.var(axis=0), 1e-6)).astype(np.float32)
                variance.assign(log_variance.reshape(variance.shape))

    def _decoder_variance(self):
        """The Gaussian decoder's log-variance weight, or None (Bernoulli)."""
        return self.model_.decoder_log_variance()

    @property
    def noise_variance_(self):
        check_is_fitted(self)
        log_variance = self._decoder_variance()
        return None if log_variance is None else np.exp(log_variance.numpy().astype(np.float64))

    # -- likelihoods and samples ---------------------------------------------------

    def _refresh_inference(self):
        super()._refresh_inference()
        noise = np.random.default_rng(0).standard_normal((ELBO_DRAWS, self.n_components_)).astype(np.float32)
        encoder, decoder = self._layers("encoder"), self._layers("decoder")
        code = encoder[-1][0]
        log_variance = self._decoder_variance()

        def elbo(x):
            mean, code_log_variance = code.moments(chain(x, encoder[:-1]))
            # every row's code drawn ELBO_DRAWS times, rows outer: (rows * draws, code)
            z = ops.reshape(mean[:, None] + ops.exp(0.5 * code_log_variance)[:, None] * noise, (-1, code.units))
            x_hat = chain(z, decoder)
            likelihood = log_likelihood(ops.repeat(x, ELBO_DRAWS, axis=0), x_hat, log_variance)
            return ops.mean(ops.reshape(likelihood, (-1, ELBO_DRAWS)), axis=1) - kl_divergence(mean, code_log_variance)

        self._forward["elbo"] = traced_forward(elbo, self.model_.input_shape)

    def score_samples(self, X):
        """Evidence lower bound (ELBO) of each sample, in nats.

        ``E_q[log p(x | z)] - KL(q(z | x) || N(0, I))``, a lower bound on
        the log-likelihood of x under the model: higher is more likely, as
        for scikit-learn's density models and outlier detectors, so that
        ``AutoencoderOutlierDetector(VariationalAutoencoder(...),
        scoring="reconstruction")`` flags the least likely samples. The
        expectation is estimated from 16 draws of the code per sample,
        the same standard normal draws for every sample and every call:
        a sample's score does not depend on the others', and repeats.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            The ELBO of each sample, float64.
        """
        check_is_fitted(self)
        return self._forward["elbo"](self._validate_X(X, reset=False)).astype(np.float64)

    def score(self, X, y=None):
        """Mean ELBO of the samples of X, in nats: what ``GridSearchCV`` maximises.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``mean(score_samples(X))``.
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None):
        """Generate samples: draws from the prior N(0, I), decoded.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of the code.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), dtype float32
            The decoder's mean for each draw (pixel intensities for images),
            in the layout ``fit`` was given.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer. Received: n_samples={n_samples!r}")
        codes = check_random_state(random_state).standard_normal((n_samples, self.n_components_))
        return self.inverse_transform(codes)
