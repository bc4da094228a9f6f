"""A fitted estimator saved in one process loads in another and gives the same outputs."""

import pickle
import subprocess
import sys
import textwrap

import cloudpickle
import joblib
import numpy as np
import pytest

from skae import (
    AutoencoderClassifier,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
)
from skae._persistence import PackedModel

FAST = {"epochs": 2, "random_state": 0}


def dense(k=4, **params):
    return DenseAutoencoder(k, hidden_layer_sizes=(16,), **FAST, **params)


CONFIGURATIONS = {
    "dense": dense(),
    "tied_sparse": dense(tied_weights=True, activity_regularization=1e-3, code_activation="relu"),
    "denoising": DenoisingAutoencoder(4, hidden_layer_sizes=(16,), noise="masking", **FAST),
    "contractive": ContractiveAutoencoder(4, hidden_layer_sizes=(), **FAST),
    "conv_max": ConvAutoencoder(image_shape=(8, 8), filters=(4, 2), pooling="max", **FAST),
    "conv_nearest": ConvAutoencoder(4, image_shape=(8, 8), filters=(4,), upsampling="nearest", **FAST),
    "stack": StackedAutoencoder(
        [
            ("conv", ConvAutoencoder(image_shape=(8, 8), filters=(4,), **FAST)),
            ("cae", ContractiveAutoencoder(4, **FAST)),
        ],
        **FAST,
    ),
    "classifier": AutoencoderClassifier(ContractiveAutoencoder(4, hidden_layer_sizes=(), **FAST), **FAST),
}

LOADER = textwrap.dedent(
    """
    import pickle, sys
    import cloudpickle, joblib, numpy as np
    X = np.load(sys.argv[2])
    for name in sys.argv[3:]:
        for fmt, load in [("pickle", pickle.load), ("cloudpickle", cloudpickle.load), ("joblib", joblib.load)]:
            with open(f"{sys.argv[1]}/{name}.{fmt}", "rb") as file:
                est = load(file)
            out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X)
            np.save(f"{sys.argv[1]}/{name}.{fmt}.npy", out)
            if hasattr(est, "inverse_transform"):
                np.save(f"{sys.argv[1]}/{name}.{fmt}.inverse.npy", est.inverse_transform(out))
            y = [np.arange(len(X)) % 3] if hasattr(est, "classes_") else []
            est.set_params(warm_start=True, epochs=1).fit(X, *y)  # and it trains on
    """
)


def outputs(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X), None
    codes = est.transform(X)
    return codes, est.inverse_transform(codes)


@pytest.fixture(scope="module")
def fitted(small_digits):
    X_train, _ = small_digits
    y = np.arange(len(X_train)) % 3
    return {
        name: est.fit(X_train, y) if name == "classifier" else est.fit(X_train) for name, est in CONFIGURATIONS.items()
    }


def test_every_configuration_loads_in_a_fresh_process(fitted, small_digits, tmp_path):
    _, X_test = small_digits
    # Pickling a bare Keras model goes through scikeras's process-wide
    # __reduce__, which registers ContractiveModel again under a bare name;
    # the estimators' own pickles must load in a new process all the same.
    pickle.dumps(fitted["contractive"].model_)
    for name, est in fitted.items():
        for fmt, dump in [("pickle", pickle.dump), ("cloudpickle", cloudpickle.dump), ("joblib", joblib.dump)]:
            with open(tmp_path / f"{name}.{fmt}", "wb") as file:
                dump(est, file)
    np.save(tmp_path / "X.npy", X_test)
    run = subprocess.run(
        # Warnings as errors, as a downstream test suite may run: loading, inference and training pass.
        [sys.executable, "-W", "error::DeprecationWarning", "-c", LOADER, str(tmp_path), str(tmp_path / "X.npy")]
        + list(fitted),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    for name, est in fitted.items():
        codes, reconstruction = outputs(est, X_test)
        for fmt in ("pickle", "cloudpickle", "joblib"):
            np.testing.assert_array_equal(np.load(tmp_path / f"{name}.{fmt}.npy"), codes, err_msg=f"{name} {fmt}")
            if reconstruction is not None:
                np.testing.assert_array_equal(np.load(tmp_path / f"{name}.{fmt}.inverse.npy"), reconstruction)


def test_pickled_state_holds_model_bytes_not_keras_objects(fitted):
    state = fitted["stack"].__getstate__()
    assert isinstance(state["model_"], PackedModel) and state["model_"].data[:2] == b"PK"  # a .keras zip
    assert "encoder_" not in state and "_forward" not in state  # rebuilt on loading, sharing model_'s layers
    loaded = pickle.loads(pickle.dumps(fitted["stack"]))
    assert loaded.encoder_.layers[1] is loaded.model_.get_layer(loaded.encoder_.layers[1].name)
