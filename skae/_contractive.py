"""ContractiveAutoencoder: a penalty on the Jacobian of the encoder."""

import math
from numbers import Real

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import inherit_signature
from ._dense import DenseAutoencoder
from ._docs import fill_doc
from ._inference import traced_forward
from ._layers import TiedDense

# Codes up to this wide take the Jacobian one unit at a time. Against
# batch_jacobian's vectorised loop, on 2 cores with a batch of unknown size,
# a training step took 0.61 times as long for 64-128-8 and 0.76 for 784-128-32
# (tracing 1.1 s longer at 32 units), and no oneDNN "supports DT_INT32 only"
# line is logged; wider codes use batch_jacobian, whose tracing does not grow.
LOOPED_UNITS = 64


@keras.saving.register_keras_serializable(package="skae")
class ContractiveModel(keras.Model):
    """Functional autoencoder whose loss adds the contractive penalty.

    ``compute_loss`` returns the reconstruction loss plus
    ``contractive_weight`` times the batch mean of ``||J(x)||_F^2`` over the
    number of input features, where J is the Jacobian of the code with
    respect to the input. The penalty is
    computed in the training step from the layers' variables, so it always
    sees the current weights. ``history`` reports ``reconstruction_loss`` and
    ``contractive_loss`` (the unweighted penalty) next to ``loss``.

    Parameters
    ----------
    *args, **kwargs
        As for a functional ``keras.Model``: inputs, outputs, name.
    encoder_steps : list of (str, dict)
        Names and call arguments of the layers from input to code.
    contractive_weight : float
        Weight of the penalty in the loss.
    """

    def __init__(self, *args, encoder_steps, contractive_weight, **kwargs):
        super().__init__(*args, **kwargs)
        self.encoder_steps = [[name, dict(call_kwargs)] for name, call_kwargs in encoder_steps]
        self.contractive_weight = float(contractive_weight)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.contractive_tracker = keras.metrics.Mean(name="contractive_loss")

    def encode(self, x):
        for name, call_kwargs in self.encoder_steps:
            x = self.get_layer(name)(x, training=False, **call_kwargs)
        return x

    def _closed_form_kernel(self):
        """The kernel W when the encoder is one sigmoid layer h = s(Wx + b)."""
        layers = [self.get_layer(name) for name, _ in self.encoder_steps]
        layers = [layer for layer in layers if not getattr(layer, "identity_at_inference", False)]
        if len(layers) == 1 and type(layers[0]) is keras.layers.Dense:
            if layers[0].activation is keras.activations.sigmoid:
                return layers[0].kernel
        if len(layers) == 2 and type(layers[0]) is TiedDense and type(layers[1]) is keras.layers.Activation:
            if layers[1].activation is keras.activations.sigmoid:
                return layers[0].kernel
        return None

    def squared_jacobian_norms(self, x, closed_form=None):
        """``||d code / d x||_F^2`` for each sample of ``x``.

        For a single sigmoid layer the closed form of Rifai et al. (2011),
        ``sum_j (h_j (1 - h_j))^2 sum_i W_ij^2``, is used; otherwise the exact
        Jacobian by automatic differentiation. ``closed_form=False`` forces
        the latter.
        """
        kernel = self._closed_form_kernel() if closed_form is not False else None
        if kernel is not None:
            h = self.encode(x)
            return ops.sum((h * (1 - h)) ** 2 * ops.sum(kernel**2, axis=0), axis=1)
        x = tf.convert_to_tensor(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            codes = self.encode(x)
            width = math.prod(codes.shape[1:])
            codes = ops.reshape(codes, (-1, width))
            units = [codes[:, j] for j in range(width)] if width <= LOOPED_UNITS else None
        if units is None:
            jacobian = tape.batch_jacobian(codes, x)
            return ops.sum(ops.reshape(jacobian**2, (ops.shape(x)[0], -1)), axis=1)
        # One backward pass per code unit: samples are independent, so the
        # gradient of unit j summed over the batch is each sample's row j.
        rows = [ops.reshape(tape.gradient(unit, x), (ops.shape(x)[0], -1)) for unit in units]
        return ops.sum(ops.stack([ops.sum(row**2, axis=1) for row in rows]), axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction = super().compute_loss(x, y, y_pred, sample_weight, training)
        penalty = ops.mean(self.squared_jacobian_norms(x))
        # Per input feature, as the reconstruction loss is a mean over features.
        n_features = math.prod(x.shape[1:])
        # weighted by batch size, as Keras weighs its own loss tracker
        n_samples = ops.shape(x)[0]
        # Under a tf.distribute strategy Keras divides each replica's loss by
        # the number of replicas, whose gradients are then summed: the
        # penalty too, and the trackers see the undivided values.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.reconstruction_tracker.update_state(reconstruction * replicas, sample_weight=n_samples)
        self.contractive_tracker.update_state(penalty, sample_weight=n_samples)
        return reconstruction + self.contractive_weight * penalty / n_features / replicas

    def get_config(self):
        return {
            **super().get_config(),
            "encoder_steps": self.encoder_steps,
            "contractive_weight": self.contractive_weight,
        }


@fill_doc(history_="It also holds ``reconstruction_loss`` and ``contractive_loss`` (the unweighted penalty) per epoch.")
@inherit_signature
class ContractiveAutoencoder(DenseAutoencoder):
    r"""Dense autoencoder whose code resists small moves of its input.

    The loss adds ``contractive_weight`` times the squared Frobenius norm of
    the Jacobian of the code h = f(x) with respect to the input, averaged over
    the batch and divided by the number of input features (Rifai et al.,
    2011). The penalty flattens the code in
    directions the data do not vary in, while reconstruction keeps it
    sensitive along the data. It is exact for any encoder: by automatic
    differentiation inside the Keras training step, or, for a single sigmoid
    code layer (``hidden_layer_sizes=()``), by its closed form
    ``sum_j (h_j (1 - h_j))^2 sum_i W_ij^2``.

    The exact penalty costs time. Measured on 2 cores (``benchmarks/run.py``),
    time per epoch over a DenseAutoencoder of the same architecture: 1.05x
    to 1.2x for a 64-8 encoder (closed form), 1.7x for 64-128-8 and 4x for
    784-256-32 (automatic differentiation: one backward pass per code unit).

    The default ``learning_rate`` is 0.01, ten times DenseAutoencoder's:
    the sigmoid code learns slowly. Held-out error over PCA's with the
    defaults at learning rates 0.001, 0.003 and 0.01: 0.96, 0.79 and 0.64 on
    8 x 8 digits (8 components); 1.78, 1.21 and 1.09 on 28 x 28 digits (32
    components). A code of two to four sigmoid units may collapse to a
    constant output (``fit`` warns); on 28 x 28 digits it did at every
    learning rate tried: for such a code, use DenseAutoencoder.

    Read more in the :ref:`User Guide <contractive>`.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code, the output of ``transform``.

    contractive_weight : float, default=0.1
        Weight :math:`\lambda` of the penalty, counted per input feature:
        the loss is ``mean(loss(x, x_hat)) + contractive_weight / d *
        mean(||J(x)||_F^2)`` for inputs of ``d`` features, as the
        reconstruction loss is a mean over the features. The weight so means
        the same at any input width. Measured with the defaults (held-out,
        against the same network without the penalty, same learning rate):
        on 8 x 8 digits with 8 components, 0.1 makes the squared Jacobian
        norm 0.10 times as large for 1.09 times the reconstruction error; on
        28 x 28 digits with 32 components, 0.27 times for 0.89 times.

    hidden_layer_sizes : tuple of int, default=(128,)
%(hidden_layer_sizes)s Narrower than DenseAutoencoder's default: the
        exact penalty costs one backward pass per code unit through every
        layer.

%(dense_parameters)s

    code_activation : str, default="sigmoid"
        Activation of the code layer. A saturating code, as in the paper: with
        an unbounded code and untied weights the network could shrink the
        code and enlarge the decoder to dodge the penalty.

%(training_parameters)s

    Attributes
    ----------
%(fitted_attributes)s

%(dense_attributes)s

    See Also
    --------
    DenseAutoencoder : The same network without the penalty.
    DenoisingAutoencoder : Robustness learned from corrupted inputs instead.

    References
    ----------
    S. Rifai, P. Vincent, X. Muller, X. Glorot and Y. Bengio, "Contractive
    auto-encoders: explicit invariance during feature extraction", ICML 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractiveAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = ContractiveAutoencoder(n_components=8, epochs=5, random_state=0).fit(X)
    >>> ae.transform(X[:2]).shape
    (2, 8)
    >>> sorted(ae.history_)
    ['contractive_loss', 'loss', 'reconstruction_loss']
    >>> ae.squared_jacobian_norms(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **DenseAutoencoder._parameter_constraints,
        "contractive_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *args,
        contractive_weight=0.1,
        hidden_layer_sizes=(128,),
        code_activation="sigmoid",
        learning_rate=0.01,
        **params,
    ):
        super().__init__(
            *args,
            hidden_layer_sizes=hidden_layer_sizes,
            code_activation=code_activation,
            learning_rate=learning_rate,
            **params,
        )
        self.contractive_weight = contractive_weight

    def _is_regularised(self):
        return self.contractive_weight > 0 or super()._is_regularised()

    def _make_model(self, inputs, outputs, encoder):
        return ContractiveModel(
            inputs,
            outputs,
            encoder_steps=[(layer.name, kwargs) for layer, kwargs in encoder],
            contractive_weight=self.contractive_weight,
            name=type(self).__name__.lower(),
        )

    def squared_jacobian_norms(self, X):
        """Squared Frobenius norm of the encoder's Jacobian at each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at which to differentiate the code.

        Returns
        -------
        norms : ndarray of shape (n_samples,)
            ``||d transform(x) / d x||_F^2`` for each sample: the quantity
            the penalty averages.
        """
        check_is_fitted(self)
        return self._forward["jacobian"](self._validate_X(X, reset=False)).astype(np.float64)

    def _refresh_inference(self):
        super()._refresh_inference()
        # One traced function: eager batch_jacobian would retrace on every call.
        self._forward["jacobian"] = traced_forward(self.model_.squared_jacobian_norms, self.model_.input_shape)
