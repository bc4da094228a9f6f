"""DenoisingAutoencoder: reconstruct clean inputs from corrupted ones."""

from numbers import Real

import keras
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import inherit_signature
from ._dense import DenseAutoencoder
from ._docs import fill_doc
from ._layers import NOISES, Corruption, corrupt
from ._seeds import layer_seed


@fill_doc
@inherit_signature
class DenoisingAutoencoder(DenseAutoencoder):
    """Dense autoencoder trained to undo a corruption of its input.

    During training each batch is corrupted afresh and the network learns to
    reconstruct the clean batch; ``transform``, ``inverse_transform``,
    ``predict`` and ``score`` see no noise. ``predict(X_noisy)`` is the
    denoised X. Corrupted values are clipped to the range of the training
    data, so that they look like real inputs.

    Read more in the :ref:`User Guide <denoising>`, and in DenseAutoencoder,
    whose architecture this shares.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code, the output of ``transform``.

    noise : {"gaussian", "masking", "salt_and_pepper"}, default="gaussian"
        The corruption. "gaussian" adds normal noise of standard deviation
        ``noise_level``; "masking" sets each input to zero with probability
        ``noise_level`` (dropout on the inputs, without rescaling);
        "salt_and_pepper" sets a fraction ``noise_level`` of the inputs to the
        minimum or the maximum of the training data, with even odds.

    noise_level : float, default=0.2
        Standard deviation ("gaussian") or probability (the others).

    hidden_layer_sizes : tuple of int, default=(512,)
%(hidden_layer_sizes)s

%(dense_parameters)s

    code_activation : str, default="linear"
        Activation of the code layer.

%(training_parameters)s

    Attributes
    ----------
%(fitted_attributes)s

%(dense_attributes)s

    See Also
    --------
    DenseAutoencoder : The same network without corruption.

    References
    ----------
    P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol, "Extracting and
    composing robust features with denoising autoencoders", ICML 2008.

    P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and P.-A. Manzagol,
    "Stacked denoising autoencoders", JMLR 11, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = DenoisingAutoencoder(n_components=16, noise_level=0.3, epochs=5, random_state=0).fit(X)
    >>> noisy = np.clip(X + np.random.default_rng(0).normal(0, 0.3, X.shape), 0, 1)
    >>> ae.predict(noisy).shape
    (1797, 64)
    """

    _parameter_constraints = {
        **DenseAutoencoder._parameter_constraints,
        "noise": [StrOptions(set(NOISES))],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *args, noise="gaussian", noise_level=0.2, **params):
        super().__init__(*args, **params)
        self.noise = noise
        self.noise_level = noise_level

    def _is_regularised(self):
        return self.noise_level > 0 or super()._is_regularised()

    def _build_network(self, X):
        if self.noise != "gaussian" and self.noise_level > 1:
            raise ValueError(f"noise_level is a probability for noise={self.noise!r}: at most 1. "
                             f"Received: noise_level={self.noise_level}")
        encoder, decoder = super()._build_network(X)
        corruption = Corruption(self.noise, self.noise_level, low=X.min(), high=X.max(), seed=layer_seed())
        return [(corruption, {}), *encoder], decoder

    def corrupt(self, X, random_state=None):
        """Corrupt X as training corrupts it.

        ``noise`` at ``noise_level``, clipped to the range of the training
        data: the inputs the network learned to denoise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean samples.
        random_state : int, RandomState instance or None, default=None
            Seed of the noise.

        Returns
        -------
        X_noisy : ndarray of shape (n_samples, n_features), dtype float32
            The corrupted samples.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skae import DenoisingAutoencoder
        >>> X = load_digits().data / 16
        >>> ae = DenoisingAutoencoder(16, noise="masking", noise_level=0.5, epochs=2, random_state=0).fit(X)
        >>> X_noisy = ae.corrupt(X[:100], random_state=0)
        >>> bool(((X_noisy == 0) | (X_noisy == X[:100])).all())
        True
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        layer, _ = self._encoder_layers()[0]  # the Corruption layer
        seed = keras.random.SeedGenerator(int(check_random_state(random_state).randint(2**31 - 1)))
        noisy = corrupt(keras.ops.convert_to_tensor(X), layer.noise, layer.level, layer.low, layer.high, seed)
        return self._to_input_layout(keras.ops.convert_to_numpy(noisy))
