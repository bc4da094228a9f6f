"""scikit-learn's API checks for every public skae estimator.

Estimators are discovered from ``skae.__all__``, so a new family is checked
without editing this file. They are run with few epochs to keep the suite
fast: the checks test the API contract, not the quality of the fit.
"""

import inspect

from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils.estimator_checks import parametrize_with_checks

import skae

FAST = {"epochs": 3, "batch_size": 16}

# The checks feed flat X of many widths: ConvAutoencoder reads each row as a
# one-pixel-high image, image_shape=(1, -1), and uses small filters. Estimators
# built from autoencoders get small ones.
CHECK_PARAMS = {
    "ConvAutoencoder": {"image_shape": (1, -1), "filters": (4, 2)},
    "StackedAutoencoder": {
        "steps": [
            ("outer", skae.DenseAutoencoder(2, hidden_layer_sizes=(), **FAST)),
            ("inner", skae.DenseAutoencoder(1, hidden_layer_sizes=(), **FAST)),
        ]
    },
    "AutoencoderOutlierDetector": {"autoencoder": skae.DenseAutoencoder(1, hidden_layer_sizes=(4,), **FAST)},
    # A tiny autoencoder, fine-tuned with a larger step: check_classifiers_train asks for accuracy > 0.83.
    # Its linear path would hold out a tenth of the check's 30 to 60 rows, and train the rest from PCA's
    # 2-value code of 2 to 4 features for 3 epochs: the check measures that training, not the contract.
    "AutoencoderClassifier": {
        "autoencoder": skae.DenseAutoencoder(2, hidden_layer_sizes=(), linear_path=False, **FAST),
        "freeze": False,
        "learning_rate": 0.01,
    },
}

# Each expected failure with the reason it cannot pass.
EXPECTED_FAILURES = {
    "check_do_not_raise_errors_in_init_or_set_params": (
        "The check passes every signature name, **routed_params included, as a keyword: routed_params=-1. "
        "skae refuses a keyword that is neither a parameter nor routed (optimizer__beta_1) at construction, "
        "as Python refuses an unknown keyword to scikit-learn's estimators, so that a typo such as "
        "n_component=3 fails where it is written."
    ),
}
CLASSIFIER_EXPECTED_FAILURES = {
    "check_classifiers_classes": (
        "-1 marks an unlabelled sample (scikit-learn's semi-supervised convention), but the check's "
        "binary problem has classes -1 and 1; scikit-learn exempts its own semi-supervised classifiers by name."
    ),
}


ROW_ORDER_EXPECTED_FAILURES = {
    "check_methods_sample_order_invariance": (
        "float32 matrix products may round differently by a row's position in the batch; through a stack of "
        "encoders and decoders, a linear path added to the layers beside it, or a variational code's mean of "
        "about 0.03 (7e-8 apart), this reaches 1e-7, above the check's rtol of 1e-7. Flaky, so not strict."
    ),
}

DETECTOR_EXPECTED_FAILURES = {
    "check_methods_subset_invariance": (
        "The check's X is 3 * uniform, and the detector's 1-value codes reach 2 to 4, where one unit in the last "
        "place of float32 is 2.4e-7; float32 matrix products round differently for a batch of 20 rows and for one row "
        "at a time, and the code's distance to its neighbours moves by that unit, above the check's atol of 1e-7. It "
        "passed or failed with the trained weights. Flaky, so not strict."
    ),
    "check_methods_sample_order_invariance": (
        "As above: the autoencoder's linear path rounds a row by its position in the batch (1e-7), which can move "
        "a row whose score lies on offset_ to the other side of it. Flaky, so not strict."
    ),
}


def expected_failures(estimator):
    if "routed_params" not in inspect.signature(type(estimator)).parameters:
        return DETECTOR_EXPECTED_FAILURES  # the outlier detector takes its own parameters only
    if is_classifier(estimator):
        return {**EXPECTED_FAILURES, **CLASSIFIER_EXPECTED_FAILURES}
    row_order_sensitive = type(estimator).__name__ in ("StackedAutoencoder", "VariationalAutoencoder")
    if row_order_sensitive or "linear_path" in estimator.get_params():
        return {**EXPECTED_FAILURES, **ROW_ORDER_EXPECTED_FAILURES}
    return EXPECTED_FAILURES


def public_estimators():
    for name in skae.__all__:
        cls = getattr(skae, name)
        if inspect.isclass(cls) and issubclass(cls, BaseEstimator):
            yield cls


def fast_instance(cls):
    params = CHECK_PARAMS.get(cls.__name__, {})
    accepted = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in FAST.items() if k in accepted}, **params)


ESTIMATORS = [fast_instance(cls) for cls in public_estimators()]


def test_every_family_is_discovered():
    assert {type(e).__name__ for e in ESTIMATORS} == set(skae._ESTIMATORS)
    assert set(skae.__all__) == {*skae._ESTIMATORS, "load", "release_twins"}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
