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

from ._base import validate_dense
from ._dense import DenseAutoencoder
from ._persistence import SkaeEstimator


def _default_autoencoder():
    return DenseAutoencoder()


# contamination="auto": a sample is an outlier when the log of its anomaly (code
# distance or error) lies beyond the upper whisker of a box plot of the logs of
# the held-out samples' anomalies.
WHISKER = 1.5


def _log_floor(anomaly):
    """The least anomaly whose logarithm counts: a thousandth of the median
    positive one. Below it (a code that coincides with a training code, an
    error of 0) the logarithm would run to -708 and the whisker to infinity."""
    positive = anomaly[anomaly > 0]
    return 1e-3 * np.median(positive) if len(positive) else 1.0


def _upper_whisker(anomaly, floor):
    """The anomaly at the upper whisker of a box plot of the logarithms."""
    q1, q3 = np.percentile(np.log(np.maximum(anomaly, floor)), [25, 75])
    return np.exp(q3 + WHISKER * (q3 - q1))


def _is_fitted(name):
    return name.endswith("_") and not name.startswith("__")


class AutoencoderOutlierDetector(SkaeEstimator, OutlierMixin, BaseEstimator):
    """Outlier and novelty detection by an autoencoder: distance between codes,
    or reconstruction error.

    An autoencoder trained on (mostly) normal data gives normal samples
    codes near those of the training data, and reconstructs them well;
    unusual samples land elsewhere in the code space, and are reconstructed
    poorly. The detector trains a clone of ``autoencoder`` on the distinct
    rows of X, less a held-out ``calibration_fraction``, and scores a sample
    by the mean
    distance from its code to the ``n_neighbors`` nearest codes of the
    training data (``scoring="code_distance"``, the default: on digits and
    28 x 28 digits with one digit left out, it found the unseen digit better
    on average than the reconstruction error, PCA's error, IsolationForest
    and LocalOutlierFactor; see the :ref:`User Guide <outliers>`), or by its
    mean squared reconstruction error (``scoring="reconstruction"``). The
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
        fitted. None is ``DenseAutoencoder()``. When its ``random_state`` is
        None, one is drawn from the detector's.

    contamination : "auto" or float, default="auto"
        Sets ``offset_``. A float in (0, 0.5] is the share of outliers
        expected among the distinct rows of X: the threshold is that
        quantile of their ``score_samples``, as IsolationForest's. "auto"
        flags a sample whose anomaly's logarithm lies beyond the upper
        whisker of a box plot of the held-out anomalies' logarithms (the
        third quartile plus 1.5 times the interquartile range), each
        anomaly taken as at least a thousandth of the median: a threshold
        that assumes no share, finite whatever the data.

    scoring : {"code_distance", "reconstruction"}, default="code_distance"
        "code_distance" scores a sample by minus the mean Euclidean distance
        from its code to the ``n_neighbors`` nearest codes of the training
        data, which the detector keeps (``n_samples x n_components``
        floats); "reconstruction" by minus its mean squared reconstruction
        error, the autoencoder's own ``score_samples``.

    n_neighbors : int, default=5
        The number of nearest training codes for ``scoring="code_distance"``.

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
        ``scoring="code_distance"``; None for "reconstruction".

    n_neighbors_ : int
        ``n_neighbors`` as it was at ``fit``.

    offset_ : float
        The threshold on ``score_samples``: ``decision_function`` is
        ``score_samples - offset_``.

    training_scores_ : ndarray of shape (n_samples,)
        The score of each row of fit's X: a trained row's without its own
        code among its neighbours (with ``scoring="code_distance"``), a
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
        "autoencoder": [HasMethods(["fit", "transform", "score_samples"]), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "scoring": [StrOptions({"code_distance", "reconstruction"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
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
        before = {name: value for name, value in vars(self).items() if _is_fitted(name)}
        try:
            self._fit(X)
        except BaseException:  # all or nothing: what the detector had before the call
            for name in [name for name in vars(self) if _is_fitted(name)]:
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
        autoencoder = _default_autoencoder() if self.autoencoder is None else clone(self.autoencoder)
        if autoencoder.get_params().get("random_state", 0) is None and self.random_state is not None:
            autoencoder.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        trained, held_out = train_test_split(np.arange(len(rows)), test_size=self.calibration_fraction,
                                             random_state=rng)  # fmt: skip
        autoencoder.fit(rows[trained])
        codes = autoencoder.transform(rows[trained]) if self.scoring == "code_distance" else None
        if codes is not None and len(codes) <= self.n_neighbors:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} needs more training rows than that, but X has {len(rows)} distinct "
                f"rows, {len(codes)} of them trained on (calibration_fraction={self.calibration_fraction})."
            )
        scores = np.empty(len(rows))
        if codes is None:
            scores[:] = autoencoder.score_samples(rows)
        else:  # each training row scored without its own code, as LocalOutlierFactor scores its training data
            neighbours = NearestNeighbors(n_neighbors=self.n_neighbors).fit(codes)
            scores[trained] = -neighbours.kneighbors()[0].mean(axis=1)
            scores[held_out] = self._scores(autoencoder, codes, self.n_neighbors, rows[held_out])
        if self.contamination == "auto":
            offset = -_upper_whisker(-scores[held_out], floor=_log_floor(-scores))
        else:  # as IsolationForest: predict(X) flags that share of the (distinct) rows of X
            offset = np.percentile(self._scores(autoencoder, codes, self.n_neighbors, rows), 100 * self.contamination)
        self.autoencoder_, self.codes_, self.offset_ = autoencoder, codes, float(offset)
        self.training_scores_ = scores[inverse]
        self.n_neighbors_ = self.n_neighbors

    @staticmethod
    def _scores(autoencoder, codes, n_neighbors, X):
        """Minus the anomaly of each sample of X: the mean distance from its
        code to its ``n_neighbors`` nearest ``codes``, or with no codes its
        reconstruction error."""
        if codes is None:  # the autoencoder's own score
            return autoencoder.score_samples(X).astype(np.float64)
        neighbours = NearestNeighbors(n_neighbors=n_neighbors).fit(codes)
        distances, _ = neighbours.kneighbors(autoencoder.transform(X))
        return -distances.mean(axis=1, dtype=np.float64)

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
        return self._scores(self.autoencoder_, self.codes_, self.n_neighbors_, X)

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
