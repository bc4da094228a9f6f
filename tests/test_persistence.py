"""A fitted estimator saved in one process loads in another and gives the same outputs;
skae's own file and skops files load safely."""

import pickle
import subprocess
import sys
import textwrap

import cloudpickle
import joblib
import keras
import numpy as np
import pytest
import skops.io as sio

import skae
from skae import (
    AutoencoderClassifier,
    AutoencoderOutlierDetector,
    ContractiveAutoencoder,
    ConvAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    StackedAutoencoder,
    VariationalAutoencoder,
    _speedups,
)
from skae._persistence import PackedModel, model_to_bytes

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
    "variational": VariationalAutoencoder(2, hidden_layer_sizes=(16,), **FAST),
    "variational_conv_gaussian": VariationalAutoencoder(2, image_shape=(8, 8), filters=(4,), loss="mse", **FAST),
    "outliers": AutoencoderOutlierDetector(DenoisingAutoencoder(4, hidden_layer_sizes=(16,), **FAST)),
    "outliers_combined": AutoencoderOutlierDetector(
        DenseAutoencoder(4, hidden_layer_sizes=(16,), **FAST), scoring="combined", n_neighbors="auto"
    ),
}

FORMATS = ("pickle", "cloudpickle", "joblib", "skae", "skops")

LOADER = textwrap.dedent(
    """
    import pickle, sys
    import cloudpickle, joblib, numpy as np, skops.io as sio
    import skae

    def from_file(load):
        def read(path):
            with open(path, "rb") as file:
                return load(file)
        return read

    LOADERS = {
        "pickle": from_file(pickle.load),
        "cloudpickle": from_file(cloudpickle.load),
        "joblib": from_file(joblib.load),
        "skae": skae.load,
        "skops": lambda path: sio.load(path, trusted=sio.get_untrusted_types(file=path)),
    }
    X = np.load(sys.argv[2])
    for name in sys.argv[3:]:
        for fmt, load in LOADERS.items():
            est = load(f"{sys.argv[1]}/{name}.{fmt}")
            if hasattr(est, "offset_"):  # an outlier detector
                np.save(f"{sys.argv[1]}/{name}.{fmt}.npy", est.decision_function(X))
                est.set_params(autoencoder__epochs=1).fit(X)  # and it fits again
                continue
            out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X)
            np.save(f"{sys.argv[1]}/{name}.{fmt}.npy", out)
            if hasattr(est, "inverse_transform"):
                np.save(f"{sys.argv[1]}/{name}.{fmt}.inverse.npy", est.inverse_transform(out))
            if hasattr(est, "sample"):  # a variational autoencoder's likelihoods
                np.save(f"{sys.argv[1]}/{name}.{fmt}.elbo.npy", est.score_samples(X))
            y = [np.arange(len(X)) % 3] if hasattr(est, "classes_") else []
            est.set_params(warm_start=True, epochs=1).fit(X, *y)  # and it trains on
    """
)


def outputs(est, X):
    if hasattr(est, "offset_"):
        return est.decision_function(X), None
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
        est.save(tmp_path / f"{name}.skae")
        sio.dump(est, tmp_path / f"{name}.skops")
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
        for fmt in FORMATS:
            np.testing.assert_array_equal(np.load(tmp_path / f"{name}.{fmt}.npy"), codes, err_msg=f"{name} {fmt}")
            if reconstruction is not None:
                np.testing.assert_array_equal(np.load(tmp_path / f"{name}.{fmt}.inverse.npy"), reconstruction)
            if hasattr(est, "sample"):
                np.testing.assert_array_equal(np.load(tmp_path / f"{name}.{fmt}.elbo.npy"), est.score_samples(X_test))


def test_pickled_state_holds_model_bytes_not_keras_objects(fitted):
    state = fitted["stack"].__getstate__()
    assert isinstance(state["model_"], PackedModel) and state["model_"].data[:2] == b"PK"  # a .keras zip
    assert "encoder_" not in state and "_forward" not in state  # rebuilt on loading, sharing model_'s layers
    loaded = pickle.loads(pickle.dumps(fitted["stack"]))
    assert loaded.encoder_.layers[1] is loaded.model_.get_layer(loaded.encoder_.layers[1].name)


def test_skops_trusts_only_skae_types(fitted):
    for name, est in fitted.items():
        untrusted = sio.get_untrusted_types(data=sio.dumps(est))
        assert untrusted and all(t.startswith("skae.") for t in untrusted), (name, untrusted)


def test_save_and_load_an_unfitted_estimator_with_keras_objects(tmp_path):
    est = dense(optimizer=keras.optimizers.SGD(momentum=0.5))
    est.set_params(random_state=np.random.RandomState(3), loss=keras.losses.MeanAbsoluteError())
    est.set_params(optimizer__nesterov=True)
    est.save(tmp_path / "ae.skae")
    loaded = skae.load(tmp_path / "ae.skae")
    assert not hasattr(loaded, "model_")
    params = loaded.get_params()
    assert isinstance(params["optimizer"], keras.optimizers.SGD) and params["optimizer"].momentum == 0.5
    assert isinstance(params["loss"], keras.losses.MeanAbsoluteError) and params["optimizer__nesterov"] is True
    assert params["random_state"].randint(1000) == np.random.RandomState(3).randint(1000)


def test_save_refuses_what_the_format_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="loss is a .*function"):
        dense(loss=lambda y, p: (y - p) ** 2).save(tmp_path / "ae.skae")
    with pytest.raises(TypeError, match=r"callbacks\[0\] is a .*EarlyStopping"):
        dense(callbacks=[keras.callbacks.EarlyStopping()]).save(tmp_path / "ae.skae")


def lambda_model_bytes(n_features):
    inputs = keras.Input((n_features,))
    return model_to_bytes(keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)))


def tampered(path, replace):
    """A copy of the zip at ``path`` with the members in ``replace`` rewritten."""
    import zipfile

    out = path.with_name("tampered_" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, replace.get(name, source.read(name)))
    return out


def test_load_refuses_a_tampered_file(fitted, tmp_path):
    import json

    fitted["dense"].save(tmp_path / "ae.skae")
    path = tmp_path / "ae.skae"
    with pytest.raises(ValueError, match="Lambda layer"):
        skae.load(tampered(path, {"models/0.keras": lambda_model_bytes(64)}))
    header = json.loads(__import__("zipfile").ZipFile(path).read("skae.json"))
    header["estimator"]["__estimator__"]["class"] = "Popen"
    with pytest.raises(ValueError, match="'Popen', which is not skae's"):
        skae.load(tampered(path, {"skae.json": json.dumps(header)}))
    header["estimator"]["__estimator__"]["class"] = "DenseAutoencoder"
    header["estimator"]["__estimator__"]["state"]["loss"] = {
        "__keras_object__": {"module": "os", "class_name": "system", "config": {}, "registered_name": None}
    }
    with pytest.raises(ValueError, match="'system' from module 'os'"):
        skae.load(tampered(path, {"skae.json": json.dumps(header)}))
    with pytest.raises(ValueError, match="not a file that skae's save wrote"):
        skae.load(tampered(path, {"skae.json": "[]"}))


def test_skops_and_pickle_refuse_a_lambda_model(fitted, monkeypatch):
    lambda_bytes = lambda_model_bytes(64)
    monkeypatch.setattr(PackedModel, "__init__", lambda self, model: setattr(self, "data", lambda_bytes))
    data = sio.dumps(fitted["dense"])
    with pytest.raises(ValueError, match="Lambda layer"):
        sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    with pytest.raises(ValueError, match="Lambda layer"):
        pickle.loads(pickle.dumps(fitted["dense"]))


@pytest.mark.skipif(not _speedups.ON["counted_steps"], reason="skae's loop is off (SKAE_SPEEDUPS=0 or the release)")
def test_a_model_that_trained_itself_through_skaes_loop_loads_and_trains_on_in_another_process(small_digits, tmp_path):
    # A callback of the user's makes the estimator train its own model, not a
    # twin; the loop skae traced is kept on that model, and must neither
    # travel in the pickle nor stop the loaded model from training on.
    X_train, X_test = small_digits
    ae = dense(callbacks=[keras.callbacks.TerminateOnNaN()], early_stopping=False).fit(X_train)  # all rows trained
    assert "_skae_steps" in vars(ae.model_)
    with open(tmp_path / "ae.pickle", "wb") as file:
        pickle.dump(ae, file)
    np.save(tmp_path / "X.npy", X_test)
    code = (
        "import pickle, sys, numpy as np; ae = pickle.load(open(sys.argv[1], 'rb')); X = np.load(sys.argv[2]); "
        "np.save(sys.argv[3], ae.transform(X)); ae.set_params(warm_start=True, epochs=1).fit(X); "
        "print(int(ae.model_.optimizer.iterations))"
    )
    paths = [tmp_path / "ae.pickle", tmp_path / "X.npy", tmp_path / "codes.npy"]
    run = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "codes.npy"), ae.transform(X_test))
    batches = -(-len(X_train) // 32), -(-len(X_test) // 32)
    assert int(run.stdout.split()[-1]) == FAST["epochs"] * batches[0] + batches[1]  # trained on, one pass of X_test
