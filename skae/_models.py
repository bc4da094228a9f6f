"""skae's Keras model classes, and the check that a serialised Keras object is only Keras's and skae's.

The bottom of skae's imports beside ``_layers``: it knows nothing of
estimators. Importing it registers skae's layers and models with Keras.
"""

import math

import keras
import tensorflow as tf
from keras import ops

from ._layers import Corruption, DecoderVariance, GaussianCode, LinearPlus, SparsityPenalty, TiedDense

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


def log_likelihood(x, x_hat, log_variance=None):
    """log p(x | z) of each row, in nats, for a decoder whose output is ``x_hat``.

    Bernoulli where ``log_variance`` is None (``x_hat`` the probabilities,
    clipped as Keras clips them for cross-entropy), else Gaussian of mean
    ``x_hat`` and that log-variance per feature.
    """
    if log_variance is None:
        p = ops.clip(x_hat, keras.config.epsilon(), 1.0 - keras.config.epsilon())
        pointwise = x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p)
    else:
        pointwise = -0.5 * (ops.square(x - x_hat) * ops.exp(-log_variance) + log_variance + math.log(2 * math.pi))
    return ops.sum(ops.reshape(pointwise, (ops.shape(x)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="skae")
class VariationalModel(keras.Model):
    """Functional autoencoder whose loss is minus the ELBO, per feature.

    The code layer (``GaussianCode``) adds each batch's KL divergence from
    the prior to the model's losses; ``compute_loss`` returns
    ``(-log p(x | z) + beta * KL) / d`` averaged over the batch, for inputs of
    ``d`` values: minus the evidence lower bound of Kingma and Welling (2014)
    divided by ``d``, so that its numbers read as the other families'
    per-feature losses do. The decoder is Gaussian, its variance learned,
    when the model holds a ``DecoderVariance`` layer, and Bernoulli
    otherwise. ``history`` reports ``reconstruction_loss`` (-log p(x | z) per
    sample) and ``kl_loss`` (KL per sample) next to ``loss``.

    Parameters
    ----------
    *args, **kwargs
        As for a functional ``keras.Model``: inputs, outputs, name.
    beta : float
        Weight of the KL term (1 for the ELBO itself).
    """

    def __init__(self, *args, beta, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta = float(beta)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def decoder_log_variance(self):
        """The Gaussian decoder's log-variance per feature, or None (Bernoulli)."""
        for layer in self.layers:
            if isinstance(layer, DecoderVariance):
                return layer.log_variance
        return None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction = -ops.mean(log_likelihood(y, y_pred, self.decoder_log_variance()))
        kl = ops.sum(self.losses) if self.losses else ops.zeros(())
        n_features = math.prod(x.shape[1:])
        n_samples = ops.shape(x)[0]
        # Under a tf.distribute strategy Keras divides each replica's loss by
        # the number of replicas, whose gradients are then summed.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.reconstruction_tracker.update_state(reconstruction, sample_weight=n_samples)
        self.kl_tracker.update_state(kl, sample_weight=n_samples)
        return (reconstruction + self.beta * kl) / n_features / replicas

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def custom_objects():
    """skae's Keras classes by the names Keras files give them."""
    classes = [
        TiedDense, SparsityPenalty, Corruption, LinearPlus, GaussianCode, DecoderVariance, ContractiveModel,
        VariationalModel,
    ]  # fmt: skip
    # scikeras's pickling registers a class again under a bare name
    # (">ContractiveModel"); files written after it name the class so.
    return {name: cls for cls in classes for name in (f"skae>{cls.__name__}", f">{cls.__name__}")}


def check_config(config):
    """Refuse a serialised Keras object that would run code skae did not write."""
    skae_names = custom_objects()
    for entry in _class_entries(config):
        name, module = entry.get("class_name"), entry.get("module")
        if name in ("Lambda", "__lambda__"):
            raise ValueError(
                "The model holds a Lambda layer or function, whose code would run on loading; skae never writes "
                "one, so the file was not made by skae or was changed after. It is refused."
            )
        if not (is_keras_module(module) or (module == "builtins" and name == "function") or module is None):
            if entry.get("registered_name") not in skae_names:
                raise ValueError(
                    f"The model names the class {name!r} from module {module!r}, which is neither Keras's nor "
                    "skae's; skae loads no other code. It is refused."
                )


def is_keras_module(module):
    return isinstance(module, str) and module.split(".")[0] == "keras"


def _class_entries(config):
    """Every serialised Keras object (a dict with a ``class_name``) in ``config``."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield config
        for value in config.values():
            yield from _class_entries(value)
    elif isinstance(config, list):
        for value in config:
            yield from _class_entries(value)
