"""AutoencoderOutlierDetector: scikit-learn's outlier-detector contract around any family, and quality."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skae import (
    AutoencoderOutlierDetector,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
)

FAST = {"epochs": 3, "random_state": 0}


@pytest.fixture(scope="module")
def without_zeros(digits):
    """Digits with every 0 left out of training: the 0s of the test split are the novelties."""
    X_train, X_test, y_train, y_test = digits
    return X_train[y_train != 0], X_test, y_test == 0


@pytest.fixture(scope="module")
def detector(without_zeros):
    X_train, _, _ = without_zeros
    return AutoencoderOutlierDetector(DenseAutoencoder(16), random_state=0).fit(X_train)


def test_scores_decision_and_labels_agree(detector, without_zeros):
    X_train, X_test, _ = without_zeros
    scores = detector.score_samples(X_test)
    assert scores.shape == (len(X_test),) and scores.dtype == np.float64 and np.all(scores <= 0)
    assert_allclose(detector.decision_function(X_test), scores - detector.offset_)
    assert_array_equal(detector.predict(X_test), np.where(scores < detector.offset_, -1, 1))
    assert detector.n_features_in_ == 64 and detector.codes_.shape == (1085, 16)  # 90% of 1,206 rows trained on
    assert detector.autoencoder_.random_state is not None  # drawn from the detector's
    # the mean distance to the 5 nearest training codes
    distances = np.linalg.norm(detector.autoencoder_.transform(X_test[:3])[:, None] - detector.codes_[None], axis=2)
    assert_allclose(scores[:3], -np.sort(distances, axis=1)[:, :5].mean(axis=1), rtol=1e-5)
    # scoring="reconstruction" is the autoencoder's own score_samples
    mse = AutoencoderOutlierDetector(DenseAutoencoder(16, **FAST), scoring="reconstruction", random_state=0)
    mse.fit(X_train)
    assert_allclose(mse.score_samples(X_test), mse.autoencoder_.score_samples(X_test), rtol=1e-5)
    assert mse.codes_ is None


def test_the_unseen_digit_is_found_better_than_by_pca_and_lof(detector, without_zeros):
    X_train, X_test, unseen = without_zeros
    auc = roc_auc_score(unseen, -detector.score_samples(X_test))
    pca = PCA(16).fit(X_train)
    pca_errors = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, axis=1)
    lof = LocalOutlierFactor(novelty=True).fit(X_train)
    # measured 0.988 against PCA's 0.889 and LOF's 0.989: level with LOF
    lof_auc = roc_auc_score(unseen, -lof.score_samples(X_test))
    assert auc > roc_auc_score(unseen, pca_errors) + 0.05 and auc > lof_auc - 0.01
    # contamination="auto", calibrated on held-out digits: few seen digits flagged, many more unseen ones
    flagged = detector.predict(X_test) == -1
    assert flagged[~unseen].mean() < 0.03 and flagged[unseen].mean() > 0.15


@pytest.fixture(scope="module")
def combined(without_zeros):
    X_train, _, _ = without_zeros
    return AutoencoderOutlierDetector(DenseAutoencoder(16), scoring="combined", random_state=0).fit(X_train)


def test_the_combined_score_is_the_larger_standard_score_of_its_parts(combined, without_zeros):
    X_train, X_test, unseen = without_zeros
    ae, (distance_scale, error_scale) = combined.autoencoder_, combined.component_scales_
    distances = np.linalg.norm(ae.transform(X_test)[:, None] - combined.codes_[None], axis=2)
    distance = np.sort(distances, axis=1)[:, :5].mean(axis=1)
    scale = combined.feature_error_scale_
    assert scale.shape == (64,) and np.all(scale >= 0.1 * np.median(scale[scale > 0]) - 1e-12)
    error = np.mean(((ae.predict(X_test) - X_test) / scale) ** 2, axis=1)

    def standard(anomaly, part):
        floor, median, iqr = part
        return (np.log(np.maximum(anomaly, floor)) - median) / iqr

    expected = -np.maximum(standard(distance, distance_scale), standard(error, error_scale))
    assert_allclose(combined.score_samples(X_test), expected, rtol=1e-4, atol=1e-4)
    # its threshold is the upper whisker of the held-out rows' standard scores: few seen digits flagged,
    # ten times as large a share of the unseen ones (measured 0.010 and 0.108)
    flagged = combined.predict(X_test) == -1
    assert flagged[~unseen].mean() < 0.03 and flagged[unseen].mean() > 5 * flagged[~unseen].mean()
    # measured 0.951 against PCA's 0.889 (the code distance alone: 0.988)
    pca = PCA(16).fit(X_train)
    pca_errors = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, axis=1)
    assert roc_auc_score(unseen, -combined.score_samples(X_test)) > roc_auc_score(unseen, pca_errors) + 0.03


def test_auto_neighbours_and_the_default_code_follow_the_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 12))
    detector = AutoencoderOutlierDetector(n_neighbors="auto", scoring="combined", random_state=0).fit(X)
    assert detector.n_neighbors_ == 18  # a twentieth of the 360 rows trained on
    assert detector.autoencoder_.n_components == 3 and detector.codes_.shape == (360, 3)  # a quarter of 12
    assert detector.get_params()["n_neighbors"] == "auto"
    assert AutoencoderOutlierDetector(TABLE_AE, n_neighbors="auto").fit(X[:60]).n_neighbors_ == 5


@pytest.mark.parametrize("contamination", [0.05, 0.2])
def test_contamination_sets_the_share_flagged_in_training(without_zeros, contamination):
    X_train, _, _ = without_zeros
    labels = AutoencoderOutlierDetector(DenseAutoencoder(8, **FAST), contamination=contamination).fit_predict(X_train)
    assert set(np.unique(labels)) == {-1, 1}
    assert abs(np.mean(labels == -1) - contamination) < 0.01


@pytest.mark.parametrize(
    "autoencoder",
    [
        DenoisingAutoencoder(4, **FAST),
        ContractiveAutoencoder(4, hidden_layer_sizes=(), **FAST),
        ConvAutoencoder(image_shape=(8, 8), filters=(4, 2), **FAST),
        StackedAutoencoder([("a", DenseAutoencoder(16, **FAST)), ("b", DenseAutoencoder(4, **FAST))], **FAST),
    ],
    ids=["denoising", "contractive", "conv", "stacked"],
)
def test_any_family_detects(autoencoder, small_digits):
    X_train, X_test = small_digits
    detector = AutoencoderOutlierDetector(autoencoder).fit(X_train)
    assert detector.autoencoder_ is not autoencoder and not hasattr(autoencoder, "model_")  # a clone is fitted
    assert detector.decision_function(X_test).shape == (len(X_test),)
    assert np.isin(detector.predict(X_test), [-1, 1]).all()


def test_conv_detector_takes_images(small_digits):
    X_train, X_test = small_digits
    detector = AutoencoderOutlierDetector(ConvAutoencoder(image_shape=(8, 8), filters=(4, 2), **FAST), random_state=0)
    flat = detector.fit(X_train).score_samples(X_test)
    images = detector.fit(X_train.reshape(-1, 8, 8)).score_samples(X_test.reshape(-1, 8, 8))
    assert_allclose(images, flat, rtol=1e-5)


def test_grid_search_with_labelled_validation_data_and_a_pipeline(digits):
    X_train, _, y_train, _ = digits
    # mostly normal digits, and 3% of zeros among them: the outliers to find, labelled -1 as scikit-learn does
    rows = np.r_[np.flatnonzero(y_train != 0)[:600], np.flatnonzero(y_train == 0)[:18]]
    rows = np.random.default_rng(0).permutation(rows)
    X, y = X_train[rows] * 16, np.where(y_train[rows] == 0, -1, 1)
    # scoring="reconstruction": the training codes of 9 zeros a fold give the held-out zeros close neighbours
    detector = AutoencoderOutlierDetector(DenseAutoencoder(), scoring="reconstruction", random_state=0)
    pipe = make_pipeline(MinMaxScaler(), detector)
    grid = {"autoencoderoutlierdetector__autoencoder__n_components": [2, 12]}
    search = GridSearchCV(pipe, grid, scoring="roc_auc", cv=2).fit(X, y)
    assert search.best_params_["autoencoderoutlierdetector__autoencoder__n_components"] in (2, 12)
    assert 0.6 < search.best_score_ <= 1  # 0.73 measured: well above chance, on 300 rows a fold
    assert np.isin(search.predict(X[:5]), [-1, 1]).all()


def test_bad_input_and_a_failed_fit_leave_the_detector_as_it_was(detector, without_zeros):
    X_train, X_test, _ = without_zeros
    before = detector.score_samples(X_test)
    offset = detector.offset_
    bad = X_train.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        detector.fit(bad)
    assert detector.offset_ == offset
    assert_array_equal(detector.score_samples(X_test), before)
    with pytest.raises(ValueError, match="64 features"):
        detector.score_samples(X_test[:, :10])
    with pytest.raises(ValueError, match="contamination"):
        AutoencoderOutlierDetector(contamination=0.7).fit(X_train)


# -- tables: duplicates, ties, constant columns, extreme values --------------------

TABLE_AE = DenseAutoencoder(2, hidden_layer_sizes=(16,), epochs=10, random_state=0)


def table_with_far_rows(seed=0):
    """300 normal rows of 6 features and 15 rows far from them, apart from each other."""
    rng = np.random.default_rng(seed)
    far = rng.normal(size=(15, 6))
    far = 8 * far / np.linalg.norm(far, axis=1, keepdims=True)  # 8 standard deviations out, each its own way
    return rng.normal(size=(300, 6)), far


@pytest.mark.parametrize("scoring", ["code_distance", "combined"])
def test_copies_and_order_of_rows_change_nothing(scoring):
    normal, far = table_with_far_rows()
    X = np.r_[normal, far]
    # 20 rows repeated 8 times: some calibration rows then had a code distance
    # of 0, the log -708, and offset_ was -inf (no row flagged)
    copies = np.r_[far[::-1], np.repeat(normal[:20], 7, axis=0), normal[::-1]]
    plain = AutoencoderOutlierDetector(TABLE_AE, scoring=scoring, random_state=0).fit(X)
    copied = AutoencoderOutlierDetector(TABLE_AE, scoring=scoring, random_state=0).fit(copies)
    assert np.isfinite(plain.offset_) and plain.offset_ == copied.offset_
    assert_array_equal(copied.training_scores_[:15], plain.training_scores_[300:][::-1])
    assert_array_equal(copied.training_scores_[15:155], np.repeat(plain.training_scores_[:20], 7))
    assert_array_equal(copied.predict(X), plain.predict(X))
    flagged = plain.predict(X) == -1
    # measured 0.87 and 0.003 (code distance), 1.0 and 0.07 (combined)
    assert flagged[300:].mean() > 0.7 and flagged[:300].mean() < (0.05 if scoring == "code_distance" else 0.1)


def test_a_table_of_copies_of_one_row_is_refused():
    with pytest.raises(ValueError, match=r"X has 1 distinct row \(n_samples=50\)"):
        AutoencoderOutlierDetector(TABLE_AE).fit(np.ones((50, 3)))


@pytest.mark.parametrize("scoring", ["code_distance", "reconstruction", "combined"])
def test_ties_constant_integer_and_boolean_columns_and_one_extreme_value(scoring):
    rng = np.random.default_rng(1)
    normal, far = table_with_far_rows(seed=1)
    X = np.c_[np.r_[normal, far], np.zeros(315), rng.integers(0, 3, 315), rng.random(315) < 0.3]
    X[7, 0] = 1e4  # one value 10,000 standard deviations out
    pipe = make_pipeline(StandardScaler(), AutoencoderOutlierDetector(TABLE_AE, scoring=scoring, random_state=0))
    labels = pipe.fit_predict(X)
    detector = pipe[-1]
    assert np.isfinite(detector.offset_) and np.isfinite(detector.training_scores_).all()
    assert (np.delete(labels[:300], 7) == -1).mean() < 0.05
    assert_array_equal(pipe.predict(X), np.where(pipe.decision_function(X) < 0, -1, 1))
    if scoring == "code_distance":  # measured 0.73; the 2-value code does not carry column 0, nor row 7's value
        assert (labels[300:] == -1).mean() > 0.6
    elif scoring == "combined":  # the scaled error finds row 7; the code distance most far rows
        assert labels[7] == -1 and (labels[300:] == -1).mean() > 0.6
    else:  # the reconstruction misses it by 10,000 standard deviations; half the far rows (0.47 measured)
        assert labels[7] == -1 and (labels[300:] == -1).mean() > 0.3
    # the integer and boolean columns as they come from a DataFrame
    frame = pd.DataFrame(X[:, :7], columns=[f"x{i}" for i in range(7)])
    frame["count"], frame["flag"] = X[:, 7].astype(int), X[:, 8].astype(bool)
    assert_array_equal(pipe.fit_predict(frame), labels)


def test_training_rows_are_scored_without_themselves(detector, without_zeros):
    X_train, _, _ = without_zeros
    codes = detector.autoencoder_.transform(X_train)
    distances = np.linalg.norm(codes[:, None] - detector.codes_[None], axis=2)
    trained = distances.min(axis=1) == 0  # the rows whose codes are among the training codes
    assert trained.sum() == len(detector.codes_)
    # a trained row's nearest codes, its own left out; a held-out row's, all of them
    expected = np.where(trained, -np.sort(distances, axis=1)[:, 1:6].mean(axis=1),
                        -np.sort(distances, axis=1)[:, :5].mean(axis=1))  # fmt: skip
    assert_allclose(detector.training_scores_, expected, rtol=1e-4, atol=1e-6)
