"""DenseAutoencoder: simple, deep, sparse and tied-weight autoencoders."""

from numbers import Integral, Real

import keras
import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._autoencoder import BaseAutoencoder
from ._base import inherit_signature, resolve_output_activation
from ._docs import fill_doc
from ._inference import ACTIVATIONS
from ._layers import LinearPlus, SparsityPenalty, TiedDense
from ._network import chain
from ._seeds import dense, glorot_uniform, layer_seed
from ._training import BeforeEachEpoch

# Code activations flat on one side, whose units start on for nearly every row.
ONE_SIDED = {"relu", "relu6", "elu", "selu", "softplus", "silu", "gelu", "leaky_relu"}
# A code unit whose output spans less than this over the first rows is started again.
CONSTANT_RANGE = 1e-4


@fill_doc
@inherit_signature
class DenseAutoencoder(BaseAutoencoder):
    """Autoencoder of fully connected layers, a non-linear drop-in for PCA.

    The encoder maps each sample through ``hidden_layer_sizes`` to a code of
    ``n_components`` units; the decoder mirrors it back to the input's size.
    One class covers the classic variants:

    - simple: ``hidden_layer_sizes=()``, a single code layer;
    - deep: e.g. ``hidden_layer_sizes=(128, 64, 10), n_components=2``;
    - sparse: ``activity_regularization > 0``, an L1 penalty on the code;
    - tied: ``tied_weights=True``, each decoder kernel the transpose of its
      encoder kernel (half the weights; biases stay untied).

    Read more in the :ref:`User Guide <dense>`.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code, the output of ``transform``.

    hidden_layer_sizes : tuple of int, default=(512,)
%(hidden_layer_sizes)s One wide layer is the best default measured
        from 8 x 8 to 28 x 28 digits: at 30 components on 28 x 28 digits,
        (512,) reconstructs held-out images with 0.81 times the error of
        (128,), for 1.8 times the fit time.

%(dense_parameters)s

    code_activation : str, default="linear"
        Activation of the code layer. Linear keeps every code unit alive;
        "relu" or "sigmoid" suit a sparse code. A non-linear code's units
        start centred on their input (a ReLU unit on for nearly every row),
        and a unit whose output is constant over the first rows of X (a
        dead ReLU unit, a sigmoid at its bound) is started again before
        each of epochs 1 to 8 and each epoch that is a power of two.

%(training_parameters)s

    Attributes
    ----------
%(fitted_attributes)s

%(dense_attributes)s

    See Also
    --------
    sklearn.decomposition.PCA : The linear method this generalises.
    sklearn.neural_network.MLPRegressor : A dense network for supervised targets.

    References
    ----------
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data
    with neural networks", Science 313(5786), 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = DenseAutoencoder(n_components=8, epochs=5, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 8)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    >>> ae.output_activation_
    'sigmoid'
    >>> ae.components_.shape  # the first hidden layer's 512 units
    (512, 64)
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [str],
        "code_activation": [str],
        "output_activation": [str],
        "tied_weights": ["boolean"],
        "activity_regularization": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "linear_path": [StrOptions({"auto"}), "boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512,),
        activation="relu",
        code_activation="linear",
        output_activation="auto",
        tied_weights=False,
        activity_regularization=0.0,
        dropout=0.0,
        linear_path="auto",
        **params,
    ):
        super().__init__(**params)
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.tied_weights = tied_weights
        self.activity_regularization = activity_regularization
        self.dropout = dropout
        self.linear_path = linear_path

    @property
    def components_(self):
        check_is_fitted(self)
        layers = [inner for layer, _ in self._encoder_layers() for inner in getattr(layer, "chain", [layer])]
        first = next(layer for layer in layers if isinstance(layer, (keras.layers.Dense, TiedDense)))
        return first.kernel.numpy().T.copy()

    def _check_architecture(self, n_features):
        sizes = checked_hidden_sizes(self.hidden_layer_sizes)
        if min([*sizes, self.n_components]) > n_features and not self._is_regularised():
            # an overcomplete code with no narrower layer and nothing to stop it copying its input
            raise ValueError(
                f"n_components={self.n_components} is more than n_features={n_features}, and no layer is narrower "
                "than the input: without a regulariser the network can learn to copy X. Set "
                "activity_regularization or dropout, use DenoisingAutoencoder or ContractiveAutoencoder, or choose "
                f"n_components of at most {n_features}."
            )
        return sizes

    def _is_regularised(self):
        """Whether something keeps an overcomplete code from copying X."""
        return self.activity_regularization > 0 or self.dropout > 0

    def _layer(self, units, activation):
        if self.tied_weights:
            return [(TiedDense(units, glorot_uniform()), {}), (keras.layers.Activation(activation), {})]
        return [(dense(units, activation), {})]

    def _dropout(self):
        return [(keras.layers.Dropout(self.dropout, seed=layer_seed()), {})] if self.dropout > 0 else []

    def _uses_linear_path(self):
        """Whether each half adds a linear map, started at PCA's solution, to its layers."""
        fits = not self.tied_weights and self.code_activation == "linear"
        if self.linear_path is True and not fits:
            raise ValueError(
                "linear_path=True needs a linear code of untied weights: the code is PCA's plus the network's. "
                f"Received: code_activation={self.code_activation!r}, tied_weights={self.tied_weights}."
            )
        return fits if self.linear_path == "auto" else self.linear_path

    def _build_network(self, X):
        hidden = self._check_architecture(X.shape[1])
        self.output_activation_ = resolve_output_activation(self.output_activation, X)
        if self._uses_linear_path():
            return self._network_with_linear_path(X, hidden)
        encoder = []
        for units in hidden:
            encoder += self._layer(units, self.activation) + self._dropout()
        encoder += self._layer(self.n_components, self.code_activation)
        if self.activity_regularization > 0:
            encoder.append((SparsityPenalty(self.activity_regularization), {}))

        # The decoder mirrors the encoder; tied, it reuses its kernels transposed.
        widths = [*reversed(hidden), X.shape[1]]
        activations = [self.activation] * len(hidden) + [self.output_activation_]
        tied = [layer for layer, _ in encoder if isinstance(layer, TiedDense)][::-1]
        decoder = []
        for i, (units, activation) in enumerate(zip(widths, activations)):
            if self.tied_weights:
                decoder += [(tied[i], {"transpose": True}), (keras.layers.Activation(activation), {})]
            else:
                decoder += self._layer(units, activation)
            if i < len(hidden):
                decoder += self._dropout()
        return encoder, decoder

    def _starts_well(self):
        return self._uses_linear_path()

    def _build(self, X, *, train=True):
        super()._build(X, train=train)
        if train and self._uses_linear_path():
            self._start_at_pca(X)
        elif train:
            rows = self._first_rows(X)
            self._start_output_at_mean(rows)
            if self.code_activation != "linear":
                self._centre_code(rows)

    def _centre_code(self, rows):
        """Shift each code unit's bias so that its input is 0 at its median
        over ``rows``, the first rows of X (half the rows on either side of a
        sigmoid's midpoint) or, for an activation flat on one side (ReLU),
        at its first percentile: the unit starts on for nearly every row
        and learns where to cut. From random biases, or from the median, a
        ReLU code unit could go dead for every row in Adam's first steps,
        and stay so (up to 12 of 32 on 28 x 28 digits from the median)."""
        code, inputs = _code_inputs(rows, self._layers("encoder"))
        _centre(code, inputs, self._code_quantile())

    def _code_quantile(self):
        return 0.01 if self.code_activation in ONE_SIDED else 0.5

    def _training_callbacks(self, X):
        if self.code_activation == "linear" or self._uses_linear_path():
            return []
        return [BeforeEachEpoch(self._restarter(self._first_rows(X)))]

    def _restarter(self, rows):
        """What starts again, before an epoch, every code unit whose output
        is constant over ``rows`` (a ReLU unit off for all of them, a sigmoid
        one at its bound), in the model that trains (``model_`` or its twin,
        whose layers are at the same positions): its bias moved as at the
        start (``_centre_code``). Even from the centred start, 1 or 2 of 8
        ReLU units and 4 to 6 of 32 died in the first epochs on 28 x 28
        digits, and none came back. The unit's weights in the decoder are
        left as they are: set to 0 (the reconstruction unchanged), the L1
        penalty alone moved the unit, and 2 or 3 of 32 died again."""
        encoder = [(self.model_.layers.index(layer), kwargs) for layer, kwargs in self._layers("encoder")]
        activation = ACTIVATIONS.get(self.code_activation, keras.activations.get(self.code_activation))
        quantile = self._code_quantile()

        def restart(model, epoch):
            # units died in the first epochs, if at all: checked before each of
            # epochs 1 to 8, then before every epoch that is a power of two
            if epoch == 0 or (epoch > 8 and epoch & (epoch - 1)):
                return
            code, inputs = _code_inputs(rows, [(model.layers[i], kwargs) for i, kwargs in encoder])
            constant = np.ptp(np.asarray(activation(inputs)), axis=0) < CONSTANT_RANGE
            if constant.any():
                _centre(code, inputs, quantile, units=constant)

        return restart

    def _start_at_pca(self, X):
        """Set the linear maps to PCA's solution on X (its first rows,
        ``_first_rows``): the code is PCA's, the reconstruction PCA's; through a
        sigmoid output, nearly so (the inverse of the sigmoid's slope at
        1/2, and the logit of the mean)."""
        rows = self._first_rows(X)
        n_components = min(self.n_components, *rows.shape)
        with np.errstate(divide="ignore", invalid="ignore"):  # constant X: PCA divides its variance ratios by 0
            pca = PCA(n_components, random_state=self._random_state).fit(rows)
        components = np.zeros((self.n_components, rows.shape[1]))
        components[:n_components] = pca.components_
        mean = pca.mean_
        encoder, decoder = (next(layer for layer, _ in self._layers(part) if isinstance(layer, LinearPlus))
                            for part in ("encoder", "decoder"))  # fmt: skip
        encoder.kernel.assign(components.T)
        encoder.bias.assign(-mean @ components.T)
        if self.output_activation_ == "sigmoid":
            mean = np.clip(mean, 0.02, 0.98)
            decoder.kernel.assign(4 * components)
            decoder.bias.assign(np.log(mean / (1 - mean)))
        else:
            decoder.kernel.assign(components)
            decoder.bias.assign(mean)

    def _network_with_linear_path(self, X, hidden):
        """Each half one LinearPlus: a linear map beside the hidden layers,
        whose last kernel starts at zero, so that the network starts as its
        linear maps, which ``_start_at_pca`` sets to PCA's solution."""

        def half(widths, units):
            layers = []
            for width in widths:
                layers += [dense(width, self.activation)]
                layers += [layer for layer, _ in self._dropout()]
            return LinearPlus(units, [*layers, keras.layers.Dense(units, kernel_initializer="zeros")])

        encoder = [(half(hidden, self.n_components), {})]
        if self.activity_regularization > 0:
            encoder.append((SparsityPenalty(self.activity_regularization), {}))
        decoder = [(half(hidden[::-1], X.shape[1]), {})]
        if self.output_activation_ != "linear":
            decoder.append((keras.layers.Activation(self.output_activation_), {}))
        return encoder, decoder


def checked_hidden_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a list of ints, refused unless all are positive integers."""
    sizes = list(hidden_layer_sizes)
    if not all(isinstance(size, Integral) and size >= 1 for size in sizes):
        raise ValueError(
            f"hidden_layer_sizes must hold positive integers. Received: hidden_layer_sizes={hidden_layer_sizes!r}"
        )
    return [int(size) for size in sizes]


def _code_inputs(rows, encoder):
    """The code layer of ``encoder``, a model's encoder layers, and its inputs for ``rows``.
    In TensorFlow's ops, not numpy's: OpenBLAS's threads, left spinning after
    a product between epochs, took the cores from the training (a fit on
    digits 1.5 times as long)."""
    index = max(i for i, (layer, _) in enumerate(encoder) if layer.weights)
    code = encoder[index][0]
    hidden = chain(rows, encoder[:index])
    return code, (keras.ops.matmul(hidden, code.kernel) + code.bias).numpy()


def _centre(code, inputs, quantile, units=slice(None)):
    """Shift the bias of the code layer's ``units`` so that their ``inputs`` are 0 at ``quantile``."""
    bias = code.bias.numpy()
    bias[units] -= np.quantile(inputs[:, units], quantile, axis=0)
    code.bias.assign(bias)
