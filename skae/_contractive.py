"""ContractiveAutoencoder: a penalty on the Jacobian of the encoder."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import inherit_signature
from ._dense import DenseAutoencoder
from ._docs import fill_doc
from ._inference import traced_forward
from ._models import ContractiveModel


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
    components), before the output started at the mean of X: at 0.01 now
    0.52 and 0.98. Codes of two to eight sigmoid units beat PCA's error on
    both (see the User Guide): the output starts at the mean of X, so that
    no code unit saturates in Adam's first steps.

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
