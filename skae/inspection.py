"""What an autoencoder learned, computed as arrays.

As ``sklearn.inspection`` computes partial dependence apart from its
display, the computations behind ``skae.plotting``'s figures that are more
than a forward pass live here, and return arrays.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["maximise_activation"]


def maximise_activation(estimator, X, *, units=None, constraint="norm", n_steps=200, step_size=0.1, random_state=None):
    """Find, for code units, an input that makes the unit fire most.

    For each unit, start from a random input and run gradient ascent on the
    unit's value, projecting the input back after each step: without a
    constraint the activation grows with the input's scale, not its pattern
    (Erhan et al. 2009). :func:`skae.plotting.plot_activation_maximisation`
    draws the result.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        The encoder whose code units are maximised.
    X : array-like of shape (n_samples, n_features) or images
        Samples like the training data: they set the norm, or the range, of the inputs.
    units : sequence of int, default=None
        The code units to maximise; None takes the first ones, up to 16.
    constraint : {"norm", "range"}, default="norm"
        "norm" keeps each input's L2 norm at the mean norm of the rows of X,
        as Erhan et al. do; the ascent may then use values the data never
        takes, negative pixels say. "range" keeps each input value within
        the range its feature takes in X, so a feature constant in X (the
        blank border of digits) stays at that constant.
    n_steps : int, default=200
        Gradient-ascent steps.
    step_size : float, default=0.1
        Length of a step, as a fraction of the mean norm of the rows of X.
    random_state : int or None, default=None
        Seed of the random starting inputs.

    Returns
    -------
    inputs : ndarray, dtype float32
        One input per unit, in the layout of the estimator's training data:
        of shape ``(len(units), *estimator.sample_shape_)``.

    References
    ----------
    D. Erhan, Y. Bengio, A. Courville and P. Vincent, "Visualizing
    higher-layer features of a deep network", University of Montreal
    technical report 1341, 2009.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> from skae.inspection import maximise_activation
    >>> X = load_digits().data / 16
    >>> ae = DenseAutoencoder(n_components=8, epochs=2, random_state=0).fit(X)
    >>> inputs = maximise_activation(ae, X, units=[0, 3], n_steps=20, random_state=0)
    >>> inputs.shape
    (2, 64)
    >>> bool(ae.transform(inputs)[0, 0] > ae.transform(X)[:, 0].max())
    True
    """
    check_is_fitted(estimator)
    X = np.asarray(X, dtype=np.float64)
    units = list(range(min(estimator.n_components_, 16))) if units is None else [int(unit) for unit in units]
    if not units or not all(0 <= unit < estimator.n_components_ for unit in units):
        raise ValueError(f"units must be code units, from 0 to n_components_ - 1 = {estimator.n_components_ - 1}. "
                         f"Received: units={units}")
    if constraint not in ("norm", "range"):
        raise ValueError(f'constraint must be "norm" or "range". Received: constraint={constraint!r}')
    found, _ = _ascend(estimator, units, X, constraint, n_steps, step_size, random_state)
    return found.astype(np.float32).reshape((len(units), *estimator.sample_shape_))


def _ascend(ae, units, X, constraint, n_steps, step_size, random_state):
    """Projected gradient ascent on each unit of the code; flat inputs and
    the mean row norm of X."""
    import tensorflow as tf

    shape = ae.encoder_.input_shape[1:]
    flat = X.reshape(len(X), -1)
    norm = float(np.mean(np.linalg.norm(flat, axis=1)))
    rng = np.random.default_rng(random_state)
    per_sample = (-1,) + (1,) * len(shape)

    def norms(t):  # each sample's L2 norm, broadcastable against t
        return tf.reshape(tf.norm(tf.reshape(t, (len(units), -1)), axis=1), per_sample)

    if constraint == "norm":
        start = rng.normal(size=(len(units), flat.shape[1]))
        start *= norm / np.linalg.norm(start, axis=1, keepdims=True)

        def project(t):
            return t * (norm / norms(t))  # back onto the sphere
    else:
        low, high = flat.min(axis=0), flat.max(axis=0)
        start = rng.uniform(low, high, size=(len(units), flat.shape[1]))
        low, high = (tf.constant(bound.reshape(shape), tf.float32) for bound in (low, high))

        def project(t):
            return tf.clip_by_value(t, low, high)  # back into the box

    x = tf.Variable(start.reshape((len(units), *shape)), dtype=tf.float32)
    target = tf.one_hot(units, ae.n_components_)
    for _ in range(n_steps):
        with tf.GradientTape() as tape:
            codes = tf.reshape(ae.encoder_(x, training=False), (len(units), -1))
            objective = tf.reduce_sum(codes * target)
        gradient = tape.gradient(objective, x)
        x.assign(project(x + step_size * norm * gradient / (norms(gradient) + 1e-12)))
    return x.numpy().reshape(len(units), -1).astype(np.float64), norm
