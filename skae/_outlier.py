"""AutoencoderOutlierDetector: outliers by the distance between codes or by
the reconstruction error, around any skae autoencoder."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import is_fitted_name, validate_dense
from ._dense import DenseAutoencoder
from ._persistence import SkaeEstimator


def _default_autoencoder(n_features):
    """A code a quarter of the width (2 to 256 values): on the tables and
    digits of benchmarks/run.py --only tables it found more outliers than
    2 values or half the width."""
    return DenseAutoencoder(int(np.clip(n_features // 4, 2, 256)))


def _auto_neighbours(n_trained):
    """n_neighbors="auto": a twentieth of the training rows, at least 5."""
    return int(min(max(5, n_trained // 20), n_trained - 1))


# contamination="auto": a sample is an outlier when the log of its anomaly lies
# beyond the upper whisker of a box plot of the logs of the held-out samples'
# anomalies.
WHISKER = 1.5


def _log_floor(anomaly):
    """The least anomaly whose logarithm counts: a thousandth of the median
    positive one. Below it (a code that coincides with a training code, an
    error of 0) the logarithm would run to -708 and the whisker to infinity."""
    positive = anomaly[anomaly > 0]
    return 1e-3 * np.median(positive) if len(positive) else 1.0


def _log_scale(anomaly):
    """Floor, median and interquartile range of the logarithms of held-out
    anomalies: what turns an anomaly into a standard score."""
    floor = _log_floor(anomaly)
    q1, median, q3 = np.percentile(np.log(np.maximum(anomaly, floor)), [25, 50, 75])
    return np.array([floor, median, max(q3 - q1, 1e-12)])


def _standard(anomaly, scale):
    floor, median, iqr = scale
    return (np.log(np.maximum(anomaly, floor)) - median) / iqr


def _upper_whisker(values):
    """The upper whisker of a box plot of the values."""
    q1, q3 = np.percentile(values, [25, 75])
    return q3 + WHISKER * (q3 - q1)


def _feature_scale(errors):
    """Each feature's typical absolute reconstruction error (the median over
    held-out rows), at least a tenth of the median positive one: a pixel
    that is almost always blank does not make every stroke through it an
    outlier (a thousandth found fewer of them: the Tables page)."""
    scale = np.median(errors, axis=0)
    return np.maximum(scale, 100 * _log_floor(scale))


def _scaled_error(errors, scale):
    """Mean over the features of each error squared, in units of its scale."""
    return np.mean((errors / scale) ** 2, axis=1)


class AutoencoderOutlierDetector(SkaeEstimator, OutlierMixin, BaseEstimator):
    """Outlier and novelty detection by an autoencoder: distance between codes,
    reconstruction error, or both.

    An autoencoder trained on (mostly) normal data gives normal samples
    codes near those of the training data, and reconstructs them well;
    unusual samples land elsewhere in the code space, or are reconstructed
    poorly. The detector trains a clone of ``autoencoder`` on the distinct
    rows of X, less a held-out ``calibration_fraction``, and scores a sample
    by the mean distance from its code to the ``n_neighbors`` nearest codes
    of the training data (``scoring="code_distance"``, the default: on
    digits and 28 x 28 digits with one digit left out, it found the unseen
    digit better on average than the reconstruction error, PCA's error,
    IsolationForest and LocalOutlierFactor), by its mean squared
    reconstruction error (``scoring="reconstruction"``), or by both
    (``scoring="combined"``): the code distance, and the reconstruction
    error with each feature's error in units of that feature's typical
    error on the held-out rows, each made a standard score (its logarithm
    less the held-out rows' median, over their interquartile range), the
    larger of the two counting. "combined" finds a row far from the others
    in the code space and a row whose reconstruction misses it in a feature
    the code does not carry; with ``n_neighbors="auto"`` it found the most
    outliers hidden among the training rows of real tables and digits
    (``training_scores_``), see the :ref:`User Guide <outliers>`. The
    held-out samples, which the autoencoder has not seen, score as new data
    will: ``contamination="auto"`` sets the threshold from them.

    As for scikit-learn's detectors, ``score_samples`` is higher for more
    normal samples, ``decision_function`` is ``score_samples - offset_``
    (negative for outliers) and ``predict`` returns +1 for inliers and -1
    for outliers. The detector is meant for new data (novelty detection, as
    ``LocalOutlierFactor(novelty=True)``); ``fit_predict`` labels its own
    training data, which scores as more normal than new data would. For
    the training data themselves, ``training_scores_`` scores each row
    without its own code among the neighbours, as LocalOutlierFactor's
    ``negative_outlier_factor_`` does.

    Copies of a row count once: training, scores and threshold are those of
    the distinct rows, the same whatever the number of copies or the order
    of the rows.

    Read more in the :ref:`User Guide <outliers>`.

    Parameters
    ----------
    autoencoder : skae autoencoder, default=None
        The autoencoder to train: any family. It is cloned, and the clone
        fitted. None is a ``DenseAutoencoder`` with its defaults and a code
        a quarter of the width of X (2 to 256 values). When its
        ``random_state`` is None, one is drawn from the detector's.

    contamination : "auto" or float, default="auto"
        Sets ``offset_``. A float in (0, 0.5] is the share of outliers
        expected among the distinct rows of X: the threshold is that
        quantile of their ``score_samples``, as IsolationForest's. "auto"
        flags a sample whose anomaly's logarithm (with
        ``scoring="combined"``, its standard score, and where the
        autoencoder's ``score_samples`` is a log-likelihood of either sign,
        as a ``VariationalAutoencoder``'s ELBO, the anomaly itself: logarithms
        already) lies beyond the upper whisker of a box plot of the held-out rows'
        (the third quartile plus 1.5 times the interquartile range), each
        anomaly taken as at least a thousandth of the median: a threshold
        that assumes no share, finite whatever the data.

    scoring : {"code_distance", "reconstruction", "combined"}, default="code_distance"
        "code_distance" scores a sample by minus the mean Euclidean distance
        from its code to the ``n_neighbors`` nearest codes of the training
        data, which the detector keeps (``n_samples x n_components``
        floats); "reconstruction" by minus its mean squared reconstruction
        error, the autoencoder's own ``score_samples`` (a
        ``VariationalAutoencoder``'s is its ELBO); "combined" by minus
        the larger of the standard scores of its code distance and of its
        scaled reconstruction error (above).

    n_neighbors : int or "auto", default=5
        The number of nearest training codes a code's distance is measured
        to. "auto" is a twentieth of the training rows, at least 5: a
        cluster of outliers smaller than that finds no neighbourhood of its
        own. Where the outliers to find are among the training rows
        (``training_scores_``) "auto" found more of them on the real tables
        and digits of the benchmark; where the training data are clean and
        the outliers new (novelty detection), 5 found more.

    calibration_fraction : float, default=0.1
        Share of X held out of the autoencoder's training to calibrate the
        scores and the "auto" threshold.

    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split, and the autoencoder when its own
        ``random_state`` is None.

    Attributes
    ----------
    autoencoder_ : skae autoencoder
        The fitted clone of ``autoencoder``.

    codes_ : ndarray of shape (n_training_samples, n_components)
        The codes of the distinct rows the autoencoder trained on, for
        scoring "combined" and "code_distance"; None for "reconstruction".

    n_neighbors_ : int
        The number of nearest training codes, as ``n_neighbors`` gave it at
        ``fit``.

    feature_error_scale_ : ndarray of shape (n_features,) or None
        Each feature's median absolute reconstruction error over the
        held-out rows (at least a tenth of the median feature's), the
        unit of its error with ``scoring="combined"``; None otherwise.

    component_scales_ : ndarray of shape (2, 3) or None
        With ``scoring="combined"``, for the code distance and the scaled
        reconstruction error: the floor below which a value counts as the
        floor, then the median and the interquartile range of the
        logarithms over the held-out rows; None otherwise.

    offset_ : float
        The threshold on ``score_samples``: ``decision_function`` is
        ``score_samples - offset_``.

    training_scores_ : ndarray of shape (n_samples,)
        The score of each row of fit's X: a trained row's without its own
        code among its neighbours (with a code distance in the score), a
        held-out row's as new data's. For the unsupervised use, where the
        outliers to find are among the training data.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when X has string column names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outliers by random partitions.
    sklearn.neighbors.LocalOutlierFactor : Outliers by local density.
    sklearn.covariance.EllipticEnvelope : Outliers of a Gaussian.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector, DenseAutoencoder
    >>> X, y = load_digits(return_X_y=True)
    >>> detector = AutoencoderOutlierDetector(DenseAutoencoder(16, epochs=20), random_state=0)
    >>> detector.fit(X[y != 0] / 16).predict(X[:3] / 16)  # a 0, a 1 and a 2
    array([-1,  1,  1])
    """

    _parameter_constraints = {
        "autoencoder": [HasMethods(["fit", "transform", "inverse_transform", "score_samples"]), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "scoring": [StrOptions({"code_distance", "reconstruction", "combined"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "calibration_fraction": [Interval(Real, 0, 0.5, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, autoencoder=None, *, contamination="auto", scoring="code_distance", n_neighbors=5,
        calibration_fraction=0.1, random_state=None,
    ):  # fmt: skip
        self.autoencoder = autoencoder
        self.contamination = contamination
        self.scoring = scoring
        self.n_neighbors = n_neighbors
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the autoencoder on the distinct rows of X, keep its codes,
        score X and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, mostly normal.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted detector.
        """
        before = {name: value for name, value in vars(self).items() if is_fitted_name(name)}
        try:
            self._fit(X)
        except BaseException:  # all or nothing: what the detector had before the call
            for name in [name for name in vars(self) if is_fitted_name(name)]:
                delattr(self, name)
            vars(self).update(before)
            raise
        return self

    def _fit(self, X):
        X = validate_dense(self, X, reset=True, allow_nd=True)
        # Training, scores and threshold are those of the distinct rows, in
        # sorted order: the same whatever the number of copies of a row, or
        # the order of the rows.
        rows, inverse = np.unique(X.reshape(len(X), -1), axis=0, return_inverse=True)
        rows, inverse = rows.reshape((len(rows), *X.shape[1:])), inverse.reshape(-1)
        if len(rows) < 2:
            raise ValueError(
                f"X has {len(rows)} distinct row (n_samples={len(X)}): an outlier detector needs at least two."
            )
        rng = check_random_state(self.random_state)
        autoencoder = clone(self.autoencoder) if self.autoencoder is not None else _default_autoencoder(
            int(np.prod(X.shape[1:])))  # fmt: skip
        if autoencoder.get_params().get("random_state", 0) is None and self.random_state is not None:
            autoencoder.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        trained, held_out = train_test_split(np.arange(len(rows)), test_size=self.calibration_fraction,
                                             random_state=rng)  # fmt: skip
        n_neighbors = _auto_neighbours(len(trained)) if self.n_neighbors == "auto" else self.n_neighbors
        if self.scoring != "reconstruction" and len(trained) <= n_neighbors:
            raise ValueError(
                f"n_neighbors={n_neighbors} needs more training rows than that, but X has {len(rows)} distinct "
                f"rows, {len(trained)} of them trained on (calibration_fraction={self.calibration_fraction})."
            )
        autoencoder.fit(rows[trained])
        self.autoencoder_, self.n_neighbors_ = autoencoder, n_neighbors
        self.codes_ = autoencoder.transform(rows[trained]) if self.scoring != "reconstruction" else None
        self.feature_error_scale_ = self.component_scales_ = None
        # One index of the training codes serves every row; a trained row is
        # scored without its own code, as LocalOutlierFactor scores its training data.
        neighbours = None if self.codes_ is None else NearestNeighbors(n_neighbors=n_neighbors).fit(self.codes_)
        anomalies = self._anomalies(rows, neighbours, held_out=held_out)  # each row as new data
        if self.scoring == "combined":  # each part's scale, from the held-out rows, which score as new data will
            self.component_scales_ = np.array([_log_scale(part[held_out]) for part in anomalies.values()])
        new_data = self._combined(anomalies)
        if neighbours is not None:
            anomalies["code_distance"][trained] = neighbours.kneighbors()[0].mean(axis=1)
        scores = self._combined(anomalies)
        if self.contamination != "auto":  # as IsolationForest: predict(X) flags that share of the distinct rows
            offset = np.percentile(new_data, 100 * self.contamination)
        elif self.scoring == "combined":  # the standard scores are logarithms already
            offset = -_upper_whisker(-scores[held_out])
        elif np.any(scores > 0):  # minus a log-likelihood (a variational autoencoder's ELBO): a logarithm already
            offset = -_upper_whisker(-scores[held_out])
        else:
            floor = _log_floor(-scores)
            offset = -np.exp(_upper_whisker(np.log(np.maximum(-scores[held_out], floor))))
        self.offset_ = float(offset)
        self.training_scores_ = scores[inverse]

    def _anomalies(self, X, neighbours, *, held_out=None):
        """Each part of the anomaly of each sample of X, by name: the mean
        distance from its code to its nearest training codes, and its
        reconstruction error (squared, mean over the features; with
        "combined", each feature's error in units of its scale, which fit
        sets from the ``held_out`` rows). X is encoded once: "combined"
        decodes the same codes."""
        anomalies = {}
        codes = None if neighbours is None else self.autoencoder_.transform(X)
        if codes is not None:
            anomalies["code_distance"] = neighbours.kneighbors(codes)[0].mean(axis=1, dtype=np.float64)
        if self.scoring == "reconstruction":
            anomalies["reconstruction"] = -self.autoencoder_.score_samples(X).astype(np.float64)
        elif self.scoring == "combined":
            errors = np.abs(self.autoencoder_.inverse_transform(codes) - X).reshape(len(X), -1).astype(np.float64)
            if held_out is not None:
                self.feature_error_scale_ = _feature_scale(errors[held_out])
            anomalies["reconstruction"] = _scaled_error(errors, self.feature_error_scale_)
        return anomalies

    def _combined(self, anomalies):
        """Scores from the parts of the anomaly: minus the one part, or minus
        the larger of the parts' standard scores."""
        if self.scoring != "combined":
            return -next(iter(anomalies.values()))
        return -np.max([_standard(part, scale) for part, scale in zip(anomalies.values(), self.component_scales_)],
                       axis=0)  # fmt: skip

    def score_samples(self, X):
        """Minus each sample's anomaly: higher is more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the mean distance from each sample's code to its
            ``n_neighbors`` nearest training codes, or minus its mean
            squared reconstruction error (``scoring``).
        """
        check_is_fitted(self)
        X = validate_dense(self, X, reset=False, allow_nd=True)
        neighbours = None if self.codes_ is None else NearestNeighbors(n_neighbors=self.n_neighbors_).fit(self.codes_)
        return self._combined(self._anomalies(X, neighbours))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Below 0 for outliers, 0 or above for inliers.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where ``decision_function(X) < 0``, else +1.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)
