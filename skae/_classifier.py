"""AutoencoderClassifier: a classifier on a pretrained encoder."""

from numbers import Integral, Number

import keras
import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import BaseAutoencoder
from ._base import KerasEstimator, inherit_signature, validate_dense
from ._docs import fill_doc
from ._inference import compile_forward
from ._network import Network, chain
from ._seeds import dense
from ._training import auto_epochs

# scikit-learn's semi-supervised convention: this label marks an unlabelled sample.
UNLABELLED = -1


def unlabelled_mask(y):
    """True where ``y`` is -1, for numeric and object (e.g. string) labels."""
    if y.dtype.kind in "iuf":
        return y == UNLABELLED
    if y.dtype == object:
        return np.array([isinstance(v, Number) and v == UNLABELLED for v in y], dtype=bool)
    return np.zeros(len(y), dtype=bool)


@fill_doc(
    epochs='The training parameters control the training of the classifier; "auto" counts the labelled samples only.'
)
@inherit_signature
class AutoencoderClassifier(ClassifierMixin, KerasEstimator):
    """A softmax classifier on the encoder of an autoencoder trained on all X.

    Unsupervised pretraining for when labels are few. ``fit(X, y)`` follows
    scikit-learn's semi-supervised convention: samples labelled -1 are
    unlabelled. The autoencoder is fitted on every sample of X; its encoder,
    with its trained layers, becomes the lower part of a network whose head
    (the code standardised with its mean and variance over X, optional
    hidden layers, then a softmax over the classes) is trained on the
    labelled samples only.

    Read more in the :ref:`User Guide <classifier>`.

    Parameters
    ----------
    autoencoder : skae autoencoder
        Unfitted; any family, ``StackedAutoencoder`` included. It is cloned,
        and the clone fitted on all of X. Its own parameters (``epochs``,
        ``random_state``, ...) govern its training; a ``random_state`` of
        None is drawn from the classifier's.

    hidden_layer_sizes : tuple of int, default=()
        Widths of dense hidden layers between the code and the softmax.

    activation : str, default="relu"
        Activation of those hidden layers.

    freeze : bool or int, default=True
        Which encoder layers keep their pretrained weights while the head
        trains: True all of them, False none (the whole network is
        fine-tuned on the labels), an int the first ``freeze`` layers that
        have weights, counted from the input.

    pretrain : bool, default=True
        False builds the same network with the autoencoder's initial random
        weights and trains it in the same way, ``freeze`` included, on the
        labelled samples alone: the baseline that isolates what pretraining
        brings. With ``freeze=True`` it compares the pretrained code with
        random features; with ``freeze=False``, pretrained with random
        initial weights. Unlabelled samples are then not used.

%(classifier_training_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (unlabelled -1 excluded).

    autoencoder_ : skae autoencoder
        The fitted clone of ``autoencoder``. Its encoder's layers are the
        lower layers of ``model_``: when they are fine-tuned
        (``freeze=False``), ``autoencoder_.transform`` gives the fine-tuned
        code.

    model_ : keras.Model
        The classifier: the encoder's layers, then the head.

    history_ : dict of str to list of float
        Loss per epoch of the classifier's training (``"loss"``, and
        ``"val_loss"`` with early stopping).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when X has string column names.

    See Also
    --------
    StackedAutoencoder : Greedy layer-wise pretraining of a deep encoder.
    sklearn.semi_supervised.SelfTrainingClassifier : The -1 convention.

    References
    ----------
    D. Erhan, Y. Bengio, A. Courville, P.-A. Manzagol, P. Vincent and
    S. Bengio, "Why does unsupervised pre-training help deep learning?",
    JMLR 11, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderClassifier, DenseAutoencoder
    >>> X, y = load_digits(return_X_y=True)
    >>> y_few = np.where(np.arange(len(y)) < 200, y, -1)  # 200 labels, the rest unlabelled
    >>> clf = AutoencoderClassifier(DenseAutoencoder(16, epochs=5), random_state=0)
    >>> clf.fit(X / 16, y_few).classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints = {
        **KerasEstimator._parameter_constraints,
        "autoencoder": [HasMethods(["fit", "transform"])],
        "hidden_layer_sizes": ["array-like"],
        "activation": [str],
        "freeze": ["boolean", Interval(Integral, 0, None, closed="left")],
        "pretrain": ["boolean"],
    }

    def __init__(
        self,
        autoencoder,
        *,
        hidden_layer_sizes=(),
        activation="relu",
        freeze=True,
        pretrain=True,
        loss="sparse_categorical_crossentropy",
        **params,
    ):
        super().__init__(loss=loss, **params)
        self.autoencoder = autoencoder
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.freeze = freeze
        self.pretrain = pretrain

    # -- fitting -----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the autoencoder on all of X, then the classifier on the labelled samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, labelled and unlabelled.
        y : array-like of shape (n_samples,)
            Class labels; -1 marks an unlabelled sample.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._fit(X, y, partial=False)
        return self

    def _validate_fit_data(self, X, y, *, reset):
        if not isinstance(self.autoencoder, BaseAutoencoder):
            raise TypeError(
                f"autoencoder must be a skae autoencoder (DenseAutoencoder, StackedAutoencoder, ...). "
                f"Received: {type(self.autoencoder).__name__}"
            )
        X, y = validate_dense(self, X, y, reset=reset, allow_nd=self._accepts_images)
        unlabelled = unlabelled_mask(y)
        if unlabelled.all():
            raise ValueError(
                f"y has no labelled samples: all {len(y)} are -1, which marks unlabelled samples. "
                f"{type(self).__name__} needs labels to train its classifier."
            )
        labels = y[~unlabelled]
        if reset:
            check_classification_targets(labels)
            self.classes_ = np.unique(labels)
            if len(self.classes_) < 2:
                convention = (
                    f" The {unlabelled.sum()} samples labelled -1 are unlabelled (scikit-learn's semi-supervised "
                    "convention): a binary problem written as {-1, +1} must be relabelled, for example to {0, 1}."
                )
                raise ValueError(
                    f"y has one class, {self.classes_.tolist()}, among its labelled samples: "
                    f"{type(self).__name__} needs at least two.{convention if unlabelled.any() else ''}"
                )
        elif not np.isin(labels, self.classes_).all():
            raise ValueError(f"y has labels {np.setdiff1d(labels, self.classes_)} not seen in the first fit.")
        codes = np.full(len(y), UNLABELLED)
        codes[~unlabelled] = np.searchsorted(self.classes_, labels)
        return X, codes

    @property
    def _accepts_images(self):
        return self.autoencoder._accepts_images

    def _build(self, X, *, train=True):
        autoencoder, network_X = self._fit_part(self.autoencoder, X, train=train and self.pretrain)
        self.autoencoder_ = autoencoder
        encoder = autoencoder._encoder_layers()
        codes = autoencoder._transform(network_X)
        with self._seeded():
            head = [(keras.layers.Flatten(), {})] if len(autoencoder.encoder_.output_shape) > 2 else []
            # Codes standardised over all of X, as a StandardScaler before a linear model would.
            head.append((keras.layers.Normalization(mean=codes.mean(axis=0), variance=codes.var(axis=0)), {}))
            head += [(dense(units, self.activation), {}) for units in self.hidden_layer_sizes]
            head.append((dense(len(self.classes_), "softmax"), {}))
            inputs = keras.Input(network_X.shape[1:])
            self.model_ = keras.Model(inputs, chain(chain(inputs, encoder), head), name="autoencoderclassifier")
        for layer in self._frozen_layers(encoder):
            layer.trainable = False
        self._network = Network(classifier=encoder + head)
        self.model_.compile(**self._get_compile_kwargs(self.loss))

    def _frozen_layers(self, encoder):
        weighted = [layer for layer, _ in encoder if layer.weights]
        if isinstance(self.freeze, (bool, np.bool_)):
            return weighted if self.freeze else []
        if self.freeze > len(weighted):
            raise ValueError(
                f"freeze={self.freeze} asks for more layers than the encoder has: {len(weighted)} with weights."
            )
        return weighted[: self.freeze]

    def _n_epochs(self, X, y):
        return auto_epochs(np.count_nonzero(y != UNLABELLED)) if self.epochs == "auto" else self.epochs

    def _train(self, X, y, **kwargs):
        labelled = y != UNLABELLED
        network_X = self.autoencoder_._network_layout(X[labelled])
        super()._train(network_X, y[labelled], **kwargs)
        encoder = self.autoencoder_._encoder_layers()
        if kwargs["epochs"] and any(layer.trainable and layer.weights for layer, _ in encoder):
            self.autoencoder_._refresh_inference()  # its encoder was fine-tuned

    def _refresh_inference(self):
        self._forward = {"model": compile_forward(self.model_, self._layers("classifier"))}

    # -- prediction --------------------------------------------------------------

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._forward["model"](self.autoencoder_._network_layout(X)).astype(np.float64)

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]
