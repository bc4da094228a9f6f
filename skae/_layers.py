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
class MeanL1(keras.regularizers.Regularizer):
    """L1 penalty on activations, averaged over the samples of a batch.

    Keras 3's ``regularizers.L1`` sums over the batch, so its strength would
    change with ``batch_size``; this one is the mean over samples of
    ``l1 * sum(|h|)``, as tf.keras 2 computed activity penalties.
    """

    def __init__(self, l1=0.01):
        self.l1 = float(l1)

    def __call__(self, x):
        n_samples = ops.cast(ops.shape(x)[0], x.dtype)
        return self.l1 * ops.sum(ops.abs(x)) / n_samples

    def get_config(self):
        return {"l1": self.l1}
