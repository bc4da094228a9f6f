"""What every autoencoder shares: the network from encoder and decoder
layers, one layout path for X, transform and inverse_transform on a fast
forward pass."""

from abc import abstractmethod

import keras
import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._base import KerasEstimator, as_float32
from ._chunks import ChunkedRows
from ._inference import compile_forward
from ._network import Network, chain
from ._training import warn_caller

# A network starts from the first rows of X, at most this many values of
# them (8 MB of float32): 2,551 rows of 784 pixels. The linear path starts at
# PCA's solution on them, the output at their mean.
START_VALUES = 2_000_000


class BaseAutoencoder(TransformerMixin, ClassNamePrefixFeaturesOutMixin, KerasEstimator):
    """Base class of skae's autoencoders. Not meant to be used directly.

    A family subclasses it, declares its own ``_parameter_constraints`` and
    ``__init__``, and implements ``_build_network(X)``, which returns the
    encoder's and the decoder's layers as two lists of ``(layer, call_kwargs)``.
    The base assembles ``model_``, ``encoder_`` and ``decoder_`` from them,
    trains ``model_`` to reconstruct X, and runs inference without
    ``Model.predict`` (see ``skae._inference``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        # The network computes in float32, and so do transform's outputs.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.n_components_

    def _validate_fit_data(self, X, y, *, reset):
        if isinstance(X, (np.memmap, ChunkedRows)):
            X = self._validate_rows_on_disk(X, reset=reset)
        else:
            X = self._validate_X(X, reset=reset)
        return X, X  # the target is the input

    def _validate_rows_on_disk(self, X, *, reset):
        """A memmap, checked a chunk at a time, as rows that training reads
        a chunk at a time (``skae._chunks``)."""
        if self.early_stopping is True:
            raise ValueError(
                "early_stopping=True holds out a random part of X in memory: fit X in memory, or fit the memmap "
                "with early_stopping=False (tol stops on the training loss)."
            )
        if self._keras_fit_params():
            raise ValueError("fit__ parameters ask Keras to batch X in memory; a memmap is read a chunk at a time.")
        rows = X if isinstance(X, ChunkedRows) else ChunkedRows.checked(X)
        validate_data(self, rows[:1], reset=reset, allow_nd=self._accepts_images)  # the width, as for an array
        return self._in_network_layout(rows, reset=reset)

    # -- one layout path: fit's X in, the network's layout inside, fit's X out --

    def _validate_X(self, X, *, reset):
        """Validated X, float32, in the layout of the network's input."""
        return self._in_network_layout(super()._validate_X(X, reset=reset), reset=reset)

    def _in_network_layout(self, X, *, reset):
        if reset:
            self.sample_shape_ = X.shape[1:]
            self._resolve_network_shape(self.sample_shape_)
        return self._network_layout(X)

    def _resolve_network_shape(self, sample_shape):
        """Fix the shape of one sample as the network sees it, from the shape
        of one sample of fit's X: a family that reads X as images resolves
        its image shape here."""

    def _network_shape(self):
        """The shape of one sample as the network sees it."""
        return self.sample_shape_

    def _network_layout(self, X):
        """X, validated, reshaped for the network."""
        if X.shape[1:] != self.sample_shape_:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} was fitted on samples "
                f"of shape {self.sample_shape_}."
            )
        return X.reshape((len(X), *self._network_shape()))

    def _to_input_layout(self, X):
        """Network outputs in the layout of fit's X."""
        return X.reshape((len(X), *self.sample_shape_))

    # -- fitting ---------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present so that the autoencoder fits in a Pipeline.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, y, partial=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one more epoch, building the network on the first call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, y, partial=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to X, then return its codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        codes : ndarray of shape (n_samples, `n_components_`), dtype float32
            The codes of X.
        """
        return self._transform(self._fit(X, y, partial=False))

    @abstractmethod
    def _build_network(self, X):
        """The encoder's and the decoder's layers for X (in the network's
        layout), as two lists of ``(layer, call_kwargs)``."""

    def _build(self, X, *, train=True):
        with self._seeded():
            encoder, decoder = self._build_network(X)
            inputs = keras.Input(X.shape[1:])
            self.model_ = self._make_model(inputs, chain(chain(inputs, encoder), decoder), encoder)
        self._network = Network(encoder=encoder, decoder=decoder)
        self.loss_ = self._auto_loss(X) if self.loss == "auto" else self.loss
        self.model_.compile(**self._get_compile_kwargs(self.loss_))
        self._link()

    def _auto_loss(self, X):
        """``loss="auto"``: cross-entropy for a sigmoid output of [0, 1] data."""
        in_unit_range = X.min() >= 0 and X.max() <= 1
        return "binary_crossentropy" if self.output_activation_ == "sigmoid" and in_unit_range else "mse"

    def _make_model(self, inputs, outputs, encoder):
        """The Keras model of the whole autoencoder: a family with its own
        loss returns a model class that computes it."""
        return keras.Model(inputs, outputs, name=type(self).__name__.lower())

    def _first_rows(self, X):
        """The first rows of X, at most START_VALUES values, flat."""
        n_rows = max(1, START_VALUES // int(np.prod(X.shape[1:])))
        return np.asarray(X[:n_rows], dtype=np.float32).reshape(min(len(X), n_rows), -1)

    def _start_output_at_mean(self, rows):
        """Start the output layer's bias where its activation gives the mean
        of ``rows``, the first rows of X. Started at 0, a sigmoid output is 1/2 for every pixel of
        mostly dark images: every sample's gradient then asks the code for
        the same thing, a bounded code unit is pushed to its bound within
        Adam's first steps and learns nothing after (every two- and
        four-unit sigmoid code on 8 x 8 digits did, in Keras alone too)."""
        decoder = self._layers("decoder")
        biased = [(layer, kwargs) for layer, kwargs in decoder if getattr(layer, "bias", None) is not None]
        layer, kwargs = biased[-1]
        bias = layer.transpose_bias if kwargs.get("transpose") else layer.bias
        # a convolution's bias is one per channel, the last axis
        mean = rows.reshape(len(rows), -1, bias.shape[-1]).mean(axis=(0, 1))
        if self.output_activation_ == "sigmoid":
            mean = np.clip(mean, 0.02, 0.98)
            mean = np.log(mean / (1 - mean))
        elif self.output_activation_ == "tanh":
            mean = np.arctanh(np.clip(mean, -0.96, 0.96))
        elif self.output_activation_ != "linear":
            return
        bias.assign(mean.astype(np.float32))

    def _link(self):
        """Make ``encoder_`` and ``decoder_`` from the layers of ``model_``."""
        inputs = keras.Input(self.model_.input_shape[1:])
        codes = chain(inputs, self._layers("encoder"))
        self.encoder_ = keras.Model(inputs, codes, name="encoder")
        code_inputs = keras.Input(codes.shape[1:])
        self.decoder_ = keras.Model(code_inputs, chain(code_inputs, self._layers("decoder")), name="decoder")
        self.n_components_ = int(np.prod(codes.shape[1:]))

    def _refresh_inference(self):
        """Copy the trained weights into the fast forward passes."""
        self._forward = {
            "encoder": compile_forward(self.encoder_, self._layers("encoder")),
            "decoder": compile_forward(self.decoder_, self._layers("decoder")),
            "model": compile_forward(self.model_, self._layers("encoder", "decoder")),
        }

    def _check_trained(self, X):
        # One output for every input (the mean of X at best): too few epochs,
        # or a step so large that training collapsed without a NaN loss.
        sample = X[:2000].reshape(len(X[:2000]), -1)
        spread = sample.std(axis=0).max() if len(sample) > 1 else 0
        if spread > 0 and self._forward["model"](X[:2000]).reshape(len(sample), -1).std(axis=0).max() < 1e-3 * spread:
            warn_caller(
                f"{type(self).__name__}'s reconstruction is the same for every sample: training collapsed to a "
                f"constant output, the mean of X at best. If the loss fell steadily, train longer (epochs="
                f"{self.epochs}); if it jumped or rose, lower learning_rate (learning_rate={self.learning_rate}) "
                "or scale X, for example with StandardScaler or MinMaxScaler.",
                ConvergenceWarning,
            )

    # -- as a part of another estimator ------------------------------------------
    # What StackedAutoencoder and AutoencoderClassifier use of the autoencoders
    # they are built from (fitted by KerasEstimator._fit_part): the layers of
    # each half, the code of X already in the network's layout, and
    # _network_layout, _network_shape and _refresh_inference above.

    def _encoder_layers(self):
        return self._layers("encoder")

    def _decoder_layers(self):
        return self._layers("decoder")

    def _image_shape(self):
        """The shape of one sample as an image, when the estimator knows it."""
        return self.sample_shape_ if len(self.sample_shape_) > 1 else None

    def _encode(self, X):
        """Codes of network-layout X, in the encoder's output layout (feature
        maps stay images); of rows on disk, computed a chunk at a time."""
        if isinstance(X, ChunkedRows):
            return np.concatenate([self._forward["encoder"](chunk) for chunk in X.chunks()])
        return self._forward["encoder"](X)

    # -- inference -------------------------------------------------------------

    def transform(self, X):
        """Encode X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, `n_components_`), dtype float32
            The code of each sample.
        """
        check_is_fitted(self)
        return self._transform(self._validate_X(X, reset=False))

    def _transform(self, X):
        codes = self._encode(X)
        return codes.reshape(len(codes), -1)

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features), dtype float32
            The reconstruction decoded from each code.
        """
        check_is_fitted(self)
        codes = as_float32(check_array(X, dtype="numeric", input_name="X"))
        if codes.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {codes.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"is expecting {self.n_components_} features (n_components_, the width of "
                "transform's output)."
            )
        codes = codes.reshape((len(codes), *self.decoder_.input_shape[1:]))
        return self._to_input_layout(self._forward["decoder"](codes))

    def predict(self, X):
        """Reconstruct X: ``inverse_transform(transform(X))`` in one pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features), dtype float32
            The reconstruction of each sample.
        """
        check_is_fitted(self)
        return self._to_input_layout(self._forward["model"](self._validate_X(X, reset=False)))

    def score_samples(self, X):
        """Negative mean squared reconstruction error of each sample.

        Higher is more normal, as for scikit-learn's outlier detectors, so
        the lowest scores flag anomalies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float32
            ``-mean((X - predict(X)) ** 2)`` over the features of each sample.
            float32, the precision of the network's reconstruction.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        errors = (X - self._forward["model"](X)) ** 2
        return -errors.reshape(len(X), -1).mean(axis=1, dtype=np.float64).astype(np.float32)

    def score(self, X, y=None):
        """Negative mean squared reconstruction error over X.

        The default score of ``GridSearchCV``: higher is a better
        reconstruction, whatever ``loss`` the network was trained with.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-mean((X - predict(X)) ** 2)``.
        """
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    # -- pickling ----------------------------------------------------------------

    _rebuilt_on_load = (*KerasEstimator._rebuilt_on_load, "encoder_", "decoder_")

    def _relink(self):
        self._link()
        self._refresh_inference()
