"""StackedAutoencoder: greedy layer-wise training, then the whole stack."""

from numbers import Integral

import keras
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import _BaseComposition, available_if
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import BaseAutoencoder
from ._base import inherit_signature
from ._docs import fill_doc
from ._scikeras import ROUTING_PREFIXES, is_routed


@fill_doc(
    epochs="For the stack, the epochs of fine-tuning after the greedy phase: 0, the default, keeps the greedy phase "
    "alone. The other training parameters also control fine-tuning only; each step trains with its own.",
    history_='It also holds each step\'s own history under its name, as ``"<name>_loss"``.',
)
@inherit_signature
class StackedAutoencoder(BaseAutoencoder, _BaseComposition):
    """Autoencoders trained one on the codes of the other, then as one.

    The greedy phase fits the first step on X, runs X once through its
    encoder and keeps the codes, fits the second step on those codes, and so
    on: a lower step is never run again while the ones above it train. The
    stack is then one Keras model, the steps' encoders in order and their
    decoders in reverse order, sharing the trained layers, and ``epochs``
    fine-tunes it end to end (Hinton and Salakhutdinov 2006).

    Any skae autoencoder can be a step. A convolutional step hands the next
    one its feature maps: as images to another ``ConvAutoencoder``, flattened
    to a dense step. Each step's training-time layers (corruption, dropout,
    sparsity penalties) stay in the stack; a contractive step's penalty is
    part of its own training only, not of fine-tuning.

    Read more in the :ref:`User Guide <stacked>`.

    Parameters
    ----------
    steps : list of (str, autoencoder) tuples
        The layers of the stack, input side first: unfitted skae
        autoencoders, each with its own architecture and training
        parameters. As in ``Pipeline``, ``set_params(name__param=value)`` and
        ``GridSearchCV`` reach a step's parameters by its name. A step whose
        ``random_state`` is None gets one drawn from the stack's.

%(training_parameters)s

    Attributes
    ----------
%(fitted_attributes)s

    steps_ : list of (str, autoencoder) tuples
        The fitted steps, in order. They share their layers with ``model_``,
        so after fine-tuning each holds its fine-tuned layer.

    See Also
    --------
    AutoencoderClassifier : A classifier on a pretrained encoder.

    References
    ----------
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data
    with neural networks", Science 313, 2006.

    J. Masci, U. Meier, D. Ciresan and J. Schmidhuber, "Stacked convolutional
    auto-encoders for hierarchical feature extraction", ICANN 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder, StackedAutoencoder
    >>> X = load_digits().data / 16
    >>> stack = StackedAutoencoder(
    ...     [("outer", DenseAutoencoder(32, hidden_layer_sizes=(), epochs=5)),
    ...      ("inner", DenseAutoencoder(8, hidden_layer_sizes=(), epochs=5))],
    ...     epochs=2, random_state=0,
    ... ).fit(X)
    >>> stack.transform(X[:3]).shape
    (3, 8)
    >>> stack.steps_[1][1].n_features_in_
    32
    >>> sorted(stack.history_)
    ['inner_loss', 'inner_val_loss', 'loss', 'outer_loss', 'outer_val_loss']
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "steps": [list],
        "epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(self, steps, *, epochs=0, **params):
        super().__init__(epochs=epochs, **params)
        self.steps = steps

    # -- the steps, as parameters ------------------------------------------------

    # scikit-learn's _BaseComposition, as for Pipeline: a step by its name,
    # its parameters as "<name>__<param>"; plus the routed parameters.

    def get_params(self, deep=True):
        return {**self._get_params("steps", deep=deep), **self._routed_params()}

    def set_params(self, **params):
        vars(self).update({k: params.pop(k) for k in list(params) if is_routed(k)})
        return self._set_params("steps", **params)

    def _steps_are_pairs(self):
        return isinstance(self.steps, list) and all(isinstance(s, tuple) and len(s) == 2 for s in self.steps)

    def _check_steps(self):
        if not self.steps or not self._steps_are_pairs():
            raise ValueError(f"steps must be a non-empty list of (name, autoencoder) tuples. Received: {self.steps!r}")
        names = [name for name, _ in self.steps]
        for name, step in self.steps:
            if not isinstance(step, BaseAutoencoder):
                raise TypeError(
                    f"Step {name!r} is a {type(step).__name__}: each step must be a skae autoencoder "
                    "(DenseAutoencoder, ConvAutoencoder, ...)."
                )
        reserved = set(self._get_param_names()) | ROUTING_PREFIXES
        bad = [n for n in names if not isinstance(n, str) or "__" in n or n in reserved or names.count(n) > 1]
        if bad:
            raise ValueError(
                f"Step names must be unique strings without '__' that are not parameter names. Received: {bad}"
            )

    @property
    def _accepts_images(self):
        steps = getattr(self, "steps_", None) or self.steps
        try:
            return steps[0][1]._accepts_images
        except (TypeError, IndexError, AttributeError):
            return False  # fit's check of the steps says what is wrong

    # -- fitting -----------------------------------------------------------------

    def _validate_fit_data(self, X, y, *, reset):
        if reset:
            self._check_steps()
        return super()._validate_fit_data(X, y, reset=reset)

    def _build(self, X, *, train=True):
        """The greedy phase, then the stack assembled from the fitted steps."""
        self.steps_, codes = [], X
        for i, (name, step) in enumerate(self.steps):
            if self.verbose:
                print(f"[StackedAutoencoder] step {i + 1} of {len(self.steps)}, {name}: {codes.shape[1:]} in")
            step, step_X = self._fit_part(step, codes, train=train, seed_offset=i)
            self.steps_.append((name, step))
            codes = step._encode(step_X)  # computed once, kept for the next step
            if i + 1 < len(self.steps) and not self.steps[i + 1][1]._accepts_images:
                codes = codes.reshape(len(codes), -1)
        super()._build(X, train=train)

    def _build_network(self, X):
        encoder, decoder, shape = [], [], X.shape[1:]
        for _, step in self.steps_:
            step_encoder, step_decoder = step._encoder_layers(), step._decoder_layers()
            step_shape = tuple(step._network_shape())
            if step_shape != tuple(shape):  # images to a dense step, flat X to a conv step...
                step_encoder = [(keras.layers.Reshape(step_shape), {}), *step_encoder]
                step_decoder = [*step_decoder, (keras.layers.Reshape(shape), {})]
            encoder += step_encoder
            decoder = step_decoder + decoder
            shape = tuple(step.encoder_.output_shape[1:])
        return encoder, decoder

    @available_if(lambda self: _first_step_corrupts(self))
    def corrupt(self, X, random_state=None):
        """Corrupt X as the first step's training corrupts it.

        Offered when the first step is a ``DenoisingAutoencoder``.

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
        """
        check_is_fitted(self)
        return self.steps_[0][1].corrupt(X, random_state=random_state)

    def _image_shape(self):
        return self.steps_[0][1]._image_shape()

    def _auto_loss(self, X):
        return self.steps_[0][1].loss_  # the first step's output is the stack's

    def _train(self, X, y, **kwargs):
        super()._train(X, y, **kwargs)
        for name, step in self.steps_:
            if kwargs["epochs"]:
                step._refresh_inference()  # fine-tuning trained its layers
            self.history_.update({f"{name}_{key}": list(values) for key, values in step.history_.items()})


def _first_step_corrupts(stack):
    try:
        return hasattr((getattr(stack, "steps_", None) or stack.steps)[0][1], "corrupt")
    except (TypeError, IndexError, KeyError):
        return False
