"""Fast inference for fitted networks.

``keras.Model.predict`` costs tens of milliseconds per call whatever the
batch, which would make a one-row ``transform`` hundreds of times slower than
``PCA.transform``. A chain of dense layers is therefore run in numpy with the
weights copied out once after ``fit``; any other chain runs through one
``tf.function`` traced with a fixed signature, so that repeated calls never
retrace. Both give the Keras model's numbers (see tests/test_inference.py).
"""

import functools

import keras
import numpy as np
import tensorflow as tf
from scipy.special import erf, expit, softmax

from ._layers import GaussianCode, LinearPlus, TiedDense

# Rows per call of the traced function: bounds the memory of large batches.
CHUNK_ROWS = 4096


def _leaky_relu(x):
    return np.where(x > 0, x, np.float32(0.2) * x)


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def _selu(x):
    alpha, scale = np.float32(1.6732632423543772), np.float32(1.0507009873554805)
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _gelu(x):
    return np.float32(0.5) * x * (1 + erf(x / np.float32(np.sqrt(2))))


# Keras activation name -> numpy function; names not here use the traced path.
ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": expit,
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(x, np.float32(0)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * expit(x),
    "exponential": np.exp,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _selu,
    "gelu": _gelu,
    "softmax": lambda x: softmax(x, axis=-1),
}

# Layers that are the identity at inference time.
_IDENTITY_LAYERS = (
    keras.layers.Dropout,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    keras.layers.InputLayer,
)


def activation_name(function):
    """The registered name of a Keras activation function, or None."""
    name = keras.activations.serialize(function)
    return name if isinstance(name, str) else None


def _numpy_activation(function):
    return ACTIVATIONS.get(activation_name(function))


def _numpy(variable):
    # Not keras.ops.convert_to_numpy: its np.array(variable) trips NumPy 2's
    # DeprecationWarning on __array__ without a copy keyword.
    return variable.numpy()


def _affine(kernel, bias, activation):
    if bias is None:
        return lambda x: activation(x @ kernel)
    return lambda x: activation(x @ kernel + bias)


def _numpy_op(layer, call_kwargs):
    """A numpy function computing ``layer(x, **call_kwargs)``, or None."""
    kind = type(layer)
    if kind is keras.layers.Dense and getattr(layer, "quantization_mode", None) is None:
        activation = _numpy_activation(layer.activation)
        if activation is None:
            return None
        bias = _numpy(layer.bias) if layer.use_bias else None
        return _affine(_numpy(layer.kernel), bias, activation)
    if kind is TiedDense:
        kernel = _numpy(layer.kernel)
        if call_kwargs.get("transpose", False):
            return _affine(np.ascontiguousarray(kernel.T), _numpy(layer.transpose_bias), ACTIVATIONS["linear"])
        return _affine(kernel, _numpy(layer.bias), ACTIVATIONS["linear"])
    if kind is GaussianCode:  # its mean, at inference
        return _affine(_numpy(layer.kernel), _numpy(layer.bias), ACTIVATIONS["linear"])
    if kind is keras.layers.Activation:
        return _numpy_activation(layer.activation)
    if kind is keras.layers.Normalization:
        mean, variance = _numpy(layer.mean), _numpy(layer.variance)
        scale = np.maximum(np.sqrt(variance), np.float32(keras.config.epsilon()))
        return (lambda x: mean + x * scale) if layer.invert else (lambda x: (x - mean) / scale)
    if kind is LinearPlus:
        chain = _numpy_chain([(inner, {}) for inner in layer.chain])
        if chain is None:
            return None
        linear = _affine(_numpy(layer.kernel), _numpy(layer.bias), ACTIVATIONS["linear"])
        return lambda x: linear(x) + chain(x)
    if isinstance(layer, _IDENTITY_LAYERS) or getattr(layer, "identity_at_inference", False):
        return ACTIVATIONS["linear"]
    return None


class ForwardPass:
    """``model(X, training=False)`` for numpy ``X``, float32 in and out.

    ``kind`` says how: "numpy" (a chain of numpy operations) or "traced"
    (one ``tf.function``, kept as ``traced``).
    """

    def __init__(self, function, kind, traced=None):
        self.function, self.kind, self.traced = function, kind, traced

    def __call__(self, X):
        return self.function(X)


def _numpy_chain(steps):
    ops = [_numpy_op(layer, kwargs) for layer, kwargs in steps]
    if any(op is None for op in ops):
        return None

    def forward(X):
        for op in ops:
            X = op(X)
        return np.asarray(X, dtype=np.float32)

    return ForwardPass(forward, "numpy")


def traced_forward(function, input_shape):
    """Run ``function`` on numpy batches through one ``tf.function``.

    The function is traced once, for inputs of ``input_shape`` with any
    number of rows, and called on chunks of CHUNK_ROWS rows.
    """
    signature = tf.TensorSpec((None, *input_shape[1:]), tf.float32)
    # TensorFlow counts traces per code object and warns of "retracing" once
    # five estimators have each traced their own function once. A partial has
    # no code object, so each estimator's function is counted alone.
    # AutoGraph off: the function is a chain of layer calls, with no Python
    # control flow to convert, and AutoGraph cannot parse a lambda's source
    # (it warns, under Python 3.13 with a deprecation of its own).
    traced = tf.function(functools.partial(function), input_signature=[signature], autograph=False)

    def forward(X):
        return np.concatenate([traced(X[i : i + CHUNK_ROWS]).numpy() for i in range(0, len(X), CHUNK_ROWS)])

    return ForwardPass(forward, "traced", traced)


def _traced_chain(model):
    return traced_forward(lambda x: model(x, training=False), model.input_shape)


def compile_forward(model, steps):
    """A function computing ``model(X, training=False)`` for numpy ``X``.

    Parameters
    ----------
    model : keras.Model
        The model to run.
    steps : list of (keras.layers.Layer, dict)
        The layers the model chains, in order, with their call arguments.

    Returns
    -------
    ForwardPass
        Maps a float32 array to a float32 array.
    """
    return _numpy_chain(steps) or _traced_chain(model)
