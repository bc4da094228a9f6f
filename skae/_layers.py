"""Custom Keras layers and regularizers, serializable under the ``skae`` package."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="skae")
class TiedDense(keras.layers.Layer):
    """A dense layer whose kernel, transposed, is also a decoder kernel.

    ``layer(x)`` computes ``x @ kernel + bias``; ``layer(h, transpose=True)``
    computes ``h @ kernel.T + transpose_bias``. Calling the same layer on both
    sides of an autoencoder ties the weights: one kernel, two untied biases.
    The layer has no activation, so that each side can have its own.

    Parameters
    ----------
    units : int
        Width of the forward output.
    kernel_initializer : str or keras.initializers.Initializer
        Initializer of the shared kernel.
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer. Received: units={units}")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        n_inputs = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(n_inputs, self.units),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.transpose_bias = self.add_weight(
            name="transpose_bias", shape=(n_inputs,), initializer="zeros"
        )

    def call(self, inputs, transpose=False):
        if transpose:
            return ops.matmul(inputs, ops.transpose(self.kernel)) + self.transpose_bias
        return ops.matmul(inputs, self.kernel) + self.bias

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="skae")
class SparsityPenalty(keras.layers.Layer):
    """The identity, adding an L1 penalty on its input to the training loss.

    The penalty is the mean over the samples of a batch of ``l1 * sum(|x|)``.
    Keras's ``activity_regularizer`` would be simpler, but Keras 3 releases
    differ on whether they divide it by the batch size; this is the same in
    all of them.

    Parameters
    ----------
    l1 : float
        Strength of the penalty.
    """

    # skae's fast inference may skip the layer (see skae._inference).
    identity_at_inference = True

    def __init__(self, l1, **kwargs):
        super().__init__(**kwargs)
        self.l1 = float(l1)

    def call(self, inputs, training=False):
        if training:
            n_samples = ops.cast(ops.shape(inputs)[0], inputs.dtype)
            self.add_loss(self.l1 * ops.sum(ops.abs(inputs)) / n_samples)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "l1": self.l1}


@keras.saving.register_keras_serializable(package="skae")
class LinearPlus(keras.layers.Layer):
    """A linear map beside a chain of layers: ``x @ kernel + bias + f(x)``.

    The linear map starts at zero, for its owner to set (an autoencoder sets
    it to PCA's solution); so should the chain's last layer, so that the
    layer starts as the linear map alone.

    Parameters
    ----------
    units : int
        Width of the output: of the linear map and of the chain's last layer.
    layers : list of keras.layers.Layer
        The chain ``f``, called in order; Keras passes the training flag on.
    """

    def __init__(self, units, layers, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer. Received: units={units}")
        self.units = units
        self.chain = [keras.saving.deserialize_keras_object(layer) if isinstance(layer, dict) else layer
                      for layer in layers]  # fmt: skip

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        shape = input_shape
        for layer in self.chain:
            if not layer.built:  # a loaded layer's chain comes built
                layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        x = inputs
        for layer in self.chain:
            x = layer(x)
        return ops.matmul(inputs, self.kernel) + self.bias + x

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        layers = [keras.saving.serialize_keras_object(layer) for layer in self.chain]
        return {**super().get_config(), "units": self.units, "layers": layers}


NOISES = ("gaussian", "masking", "salt_and_pepper")


def corrupt(x, noise, level, low, high, seed):
    """Corrupt ``x`` as a denoising autoencoder's training input.

    Parameters
    ----------
    x : tensor
        Clean inputs.
    noise : {"gaussian", "masking", "salt_and_pepper"}
        "gaussian" adds normal noise of standard deviation ``level``;
        "masking" sets each value to zero with probability ``level``;
        "salt_and_pepper" sets each value, with probability ``level``, to
        ``low`` or ``high`` (even odds).
    level : float
        Standard deviation or probability, as above.
    low, high : float
        The range of the training data: corrupted values are clipped to it.
    seed : keras.random.SeedGenerator
        Source of randomness; each call draws fresh noise.

    Returns
    -------
    tensor
        The corrupted inputs, of ``x``'s shape and dtype.
    """
    shape = ops.shape(x)
    if noise == "gaussian":
        corrupted = x + level * keras.random.normal(shape, dtype=x.dtype, seed=seed)
    elif noise == "masking":
        corrupted = ops.where(keras.random.uniform(shape, dtype=x.dtype, seed=seed) < level, 0.0, x)
    elif noise == "salt_and_pepper":
        hit = keras.random.uniform(shape, dtype=x.dtype, seed=seed) < level
        salt = keras.random.uniform(shape, dtype=x.dtype, seed=seed) < 0.5
        corrupted = ops.where(hit, ops.where(salt, high, low), x)
    else:
        raise ValueError(f"noise must be one of {NOISES}. Received: noise={noise!r}")
    return ops.clip(corrupted, low, high)


@keras.saving.register_keras_serializable(package="skae")
class Corruption(keras.layers.Layer):
    """Corrupts its input during training; the identity at inference.

    Parameters
    ----------
    noise, level, low, high
        As for :func:`corrupt`.
    seed : int or None
        Seed of the layer's random generator.
    """

    # skae's fast inference may skip the layer (see skae._inference).
    identity_at_inference = True

    def __init__(self, noise, level, low, high, seed=None, **kwargs):
        super().__init__(**kwargs)
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}. Received: noise={noise!r}")
        self.noise = noise
        self.level = float(level)
        self.low = float(low)
        self.high = float(high)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return corrupt(inputs, self.noise, self.level, self.low, self.high, self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "noise": self.noise,
            "level": self.level,
            "low": self.low,
            "high": self.high,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="skae")
class GaussianCode(keras.layers.Layer):
    """A diagonal Gaussian posterior q(z | x): its mean at inference, a draw
    from it in training.

    Two affine maps of the input give the mean and the log-variance of each
    of ``units`` code values. In training the layer returns
    ``mean + exp(log_variance / 2) * eps``, eps standard normal (the
    reparameterisation of Kingma and Welling, 2014), and adds the KL
    divergence of q(z | x) from the standard normal prior, in nats and
    averaged over the batch, to the layer's losses; at inference, or called
    with ``draw=False`` (an encoder fine-tuned as a deterministic one), it
    returns the mean.

    Parameters
    ----------
    units : int
        Width of the code.
    kernel_initializer : str or keras.initializers.Initializer
        Initializer of the mean's kernel; the log-variance's starts at zero,
        so that every row starts with the prior's unit variance.
    seed : int or None
        Seed of the layer's random generator.
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer. Received: units={units}")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        shape = (input_shape[-1], self.units)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=self.kernel_initializer)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.log_variance_kernel = self.add_weight(name="log_variance_kernel", shape=shape, initializer="zeros")
        self.log_variance_bias = self.add_weight(name="log_variance_bias", shape=(self.units,), initializer="zeros")

    def moments(self, inputs):
        """The posterior's mean and log-variance for each row of ``inputs``."""
        mean = ops.matmul(inputs, self.kernel) + self.bias
        # bounded, so that exp() stays finite in float32 whatever a step does
        log_variance = ops.clip(ops.matmul(inputs, self.log_variance_kernel) + self.log_variance_bias, -30.0, 20.0)
        return mean, log_variance

    def call(self, inputs, training=False, draw=True):
        mean, log_variance = self.moments(inputs)
        if not training:
            return mean
        if not draw:
            # The log-variance weights get a zero gradient rather than none,
            # so that an optimizer fine-tuning the mean does not warn of them.
            return mean + 0.0 * log_variance
        self.add_loss(ops.mean(kl_divergence(mean, log_variance)))
        noise = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_variance) * noise

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "seed": self.seed,
        }


def kl_divergence(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, 1)) of each row, in nats."""
    return 0.5 * ops.sum(ops.square(mean) + ops.exp(log_variance) - 1.0 - log_variance, axis=-1)


@keras.saving.register_keras_serializable(package="skae")
class DecoderVariance(keras.layers.Layer):
    """The identity, holding the log-variance of a Gaussian decoder.

    A variational autoencoder's decoder gives the mean of p(x | z); for real
    data it is a Gaussian whose variance, one per feature, is learned with
    the network. The variance is not a function of z, so it is a weight of
    this layer, which ``VariationalModel`` reads in its loss.
    """

    # skae's fast inference may skip the layer (see skae._inference).
    identity_at_inference = True

    def build(self, input_shape):
        self.log_variance = self.add_weight(name="log_variance", shape=tuple(input_shape[1:]), initializer="zeros")

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
