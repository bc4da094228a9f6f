"""Data-parallel training under tf.distribute: ``distribute_strategy``.

TensorFlow's devices are fixed when its runtime starts, so each case runs in
a fresh process: a MirroredStrategy over two logical CPU devices of one
process, and a MultiWorkerMirroredStrategy over two worker processes on
127.0.0.1. The suite's own process keeps one device.
"""

import json
import os
import pickle
import socket
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone

from skae import DenseAutoencoder
from skae._distribute import StrategyRecipe

TWO_DEVICES = """
import json, pickle, sys
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
import skae  # before TensorFlow: its start-up lines filtered
from skae import (AutoencoderClassifier, ContractiveAutoencoder, ConvAutoencoder, DenoisingAutoencoder,
                  DenseAutoencoder, StackedAutoencoder, VariationalAutoencoder)
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split((X / 16).astype(np.float32), y, random_state=0)
results = {}

def mirrored(model):
    return all(isinstance(v.value, tf.distribute.DistributedValues) and len(v.value.values) == 2
               for v in [*model.variables, *model.optimizer.variables])

def error(model):
    return float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))

# One step of plain gradient descent on one batch of 32 rows, split 16 and 16
# between the devices, against one device: the same step.
sgd = dict(epochs=1, optimizer="sgd", learning_rate=0.5, tol=None, random_state=0)
dense = lambda n, **p: DenseAutoencoder(n, hidden_layer_sizes=(), epochs=1, **p)
one_step = {
    "dense": DenseAutoencoder(8, **sgd),
    "sparse tied": DenseAutoencoder(8, tied_weights=True, activity_regularization=0.1, **sgd),
    "contractive": ContractiveAutoencoder(8, contractive_weight=10.0, **sgd),
    "contractive closed form": ContractiveAutoencoder(8, hidden_layer_sizes=(), contractive_weight=10.0, **sgd),
    "conv": ConvAutoencoder(image_shape=(8, 8), **sgd),
    "stack": StackedAutoencoder([("outer", dense(16)), ("inner", dense(4))], **sgd),
    "classifier": AutoencoderClassifier(dense(16), **sgd),
}
results["one_step"], results["mirrored"] = {}, {}
for name, estimator in one_step.items():
    data = (X_train[:32], y_train[:32]) if name == "classifier" else (X_train[:32],)
    alone = clone(estimator).fit(*data)
    paired = clone(estimator).set_params(distribute_strategy=strategy).fit(*data)
    results["one_step"][name] = max(float(np.abs(a - b).max())
                                    for a, b in zip(alone.model_.get_weights(), paired.model_.get_weights()))
    parts = [s for _, s in paired.steps_] if name == "stack" else [paired.autoencoder_] if name == "classifier" else []
    results["mirrored"][name] = mirrored(paired.model_) and all(mirrored(p.model_) for p in parts)

# A few epochs of the defaults: held-out errors and accuracy.
few = dict(epochs=6, random_state=0)
held_out = {
    "dense": DenseAutoencoder(8, **few),
    "denoising": DenoisingAutoencoder(8, **few),
    "conv": ConvAutoencoder(image_shape=(8, 8), **few),
    # its KL term summed over each replica's half of the batch, as the reconstruction's is
    "variational": VariationalAutoencoder(8, **few),
}
rows = X_train[:600]
results["held_out"] = {
    name: [error(clone(e).fit(rows)), error(clone(e).set_params(distribute_strategy=strategy).fit(rows))]
    for name, e in held_out.items()
}
classifier = AutoencoderClassifier(DenseAutoencoder(16, epochs=4), epochs=20, random_state=0)
results["accuracy"] = [clone(classifier).fit(rows, y_train[:600]).score(X_test, y_test),
                       clone(classifier).set_params(distribute_strategy=strategy).fit(rows, y_train[:600])
                       .score(X_test, y_test)]

# A grid search clones (deep-copies) the strategy: every candidate trains under it.
search = GridSearchCV(DenseAutoencoder(epochs=3, random_state=0), {"n_components": [2, 12]}, cv=2)
local = clone(search).fit(rows)
search.set_params(estimator__distribute_strategy=strategy).fit(rows)
results["search"] = [search.best_params_ == local.best_params_,
                     np.allclose(search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"],
                                 rtol=0.05)]

# Pickled: the strategy as a recipe; trained on, the model moves back under it.
fitted = clone(held_out["dense"]).set_params(distribute_strategy=strategy).fit(rows)
with open(sys.argv[1] + "/fitted.pkl", "wb") as file:
    pickle.dump(fitted, file)
np.save(sys.argv[1] + "/codes.npy", fitted.transform(X_test))
# transform stays numpy's fast path, with the trained weights
results["inference"] = [fitted._forward["encoder"].kind,
                        float(np.abs(fitted.transform(X_test) - fitted.encoder_.predict(X_test, verbose=0)).max())]
loaded = pickle.loads(pickle.dumps(fitted))
saved = sys.argv[1] + "/fitted.skae"
fitted.save(saved)
results["recipe"] = [repr(loaded.distribute_strategy), repr(skae.load(saved).distribute_strategy)]
before = error(loaded)
loaded.partial_fit(rows)
results["moved"] = [mirrored(loaded.model_), loaded.model_.distribute_strategy is strategy, before, error(loaded)]

# Refused, leaving the estimator as it was.
results["refused"] = {}
for name, estimator in {
    "steps per call": DenseAutoencoder(distribute_strategy=strategy, compile__steps_per_execution=4),
    "unsupported": DenseAutoencoder(distribute_strategy=tf.distribute.experimental.CentralStorageStrategy()),
    "part's own": StackedAutoencoder(
        [("a", DenseAutoencoder(distribute_strategy=tf.distribute.OneDeviceStrategy("/cpu:1")))],
        distribute_strategy=strategy),
}.items():
    try:
        estimator.fit(X_train)
        results["refused"][name] = None
    except ValueError as error_:
        results["refused"][name] = [str(error_), hasattr(estimator, "model_")]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two_devices")
    run = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", TWO_DEVICES, str(folder)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_NUM_INTEROP_THREADS": "2"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1]), folder


def test_one_step_on_two_devices_is_the_step_on_one(two_devices):
    # each device computes the gradient of its half of the batch; summed, they
    # are the whole batch's, penalties included (sparsity, contractive)
    results, _ = two_devices
    assert len(results["one_step"]) == 7
    for name, difference in results["one_step"].items():
        # the stack's steps train an epoch of Adam first, whose update divides by the root of the squared
        # gradients: on the layers beside a linear path, which start at zero, it scales a rounding of the
        # gradients up to 2.6e-5 of the weights (measured)
        assert difference < (1e-4 if name == "stack" else 1e-5), name


def test_every_family_and_its_parts_train_with_mirrored_variables(two_devices):
    results, _ = two_devices
    assert all(results["mirrored"].values()), results["mirrored"]


def test_training_on_two_devices_matches_one_device(two_devices):
    results, _ = two_devices
    for name, (alone, paired) in results["held_out"].items():
        assert 0.8 < paired / alone < 1.25, (name, alone, paired)
    alone, paired = results["accuracy"]
    assert paired > 0.65 and abs(paired - alone) < 0.05
    assert results["search"] == [True, True]


def test_a_pickle_keeps_a_recipe_and_training_on_moves_under_the_strategy(two_devices):
    results, _ = two_devices
    expected = repr(StrategyRecipe("MirroredStrategy", ("/cpu:0", "/cpu:1")))
    assert results["recipe"] == [expected, expected]
    mirrored, same_strategy, before, after = results["moved"]
    assert mirrored and same_strategy and after < before


def test_transform_after_training_on_two_devices_is_the_fast_path(two_devices):
    kind, difference = two_devices[0]["inference"]
    assert kind == "numpy" and difference < 1e-5


def test_bad_strategies_are_refused_before_training(two_devices):
    refused = two_devices[0]["refused"]
    assert "keras-team/keras#19246" in refused["steps per call"][0]
    assert "CentralStorageStrategy is not one skae trains with" in refused["unsupported"][0]
    assert "parts train under its distribute_strategy" in refused["part's own"][0]
    assert not any(fitted for _, fitted in refused.values())


def test_a_model_trained_on_two_devices_loads_in_a_process_with_one(two_devices, digits):
    _, folder = two_devices
    with open(folder / "fitted.pkl", "rb") as file:
        loaded = pickle.load(file)
    X_train, X_test = digits[0], digits[1]
    np.testing.assert_allclose(loaded.transform(X_test), np.load(folder / "codes.npy"), rtol=1e-5, atol=1e-6)
    assert loaded.distribute_strategy == StrategyRecipe("MirroredStrategy", ("/cpu:0", "/cpu:1"))
    before = loaded.transform(X_test)
    with pytest.raises(ValueError, match=r"this process has no /cpu:1"):
        loaded.partial_fit(X_train)
    np.testing.assert_array_equal(loaded.transform(X_test), before)  # nothing changed
    one_device = clone(loaded).set_params(distribute_strategy=None, epochs=1).fit(X_train)
    assert one_device.transform(X_test).shape == before.shape


WORKER = """
import json, sys
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skae import DenseAutoencoder
import tensorflow as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy()  # the cluster from TF_CONFIG
X_train, X_test = train_test_split((load_digits().data / 16).astype(np.float32), random_state=0)
model = DenseAutoencoder(8, epochs=4, random_state=0, distribute_strategy=strategy).fit(X_train[:600])
error = float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "error": error,
                  "weights": [float(w.sum()) for w in model.model_.get_weights()]}))
"""


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_worker_processes_train_one_model(digits):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                 "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})},
        )
        for i in range(2)
    ]  # fmt: skip
    try:
        outputs = [p.communicate(timeout=300) for p in processes]
    finally:
        for p in processes:
            p.kill()
    for p, (_, stderr) in zip(processes, outputs):
        assert p.returncode == 0, stderr[-3000:]
    chief, other = (json.loads(stdout.splitlines()[-1]) for stdout, _ in outputs)
    assert chief["replicas"] == 2
    np.testing.assert_allclose(chief["weights"], other["weights"], rtol=1e-6)  # one model, kept in step
    X_train, X_test = digits[0], digits[1]
    alone = DenseAutoencoder(8, epochs=4, random_state=0).fit(X_train[:600])
    error = float(np.mean((alone.inverse_transform(alone.transform(X_test)) - X_test) ** 2))
    assert 0.8 < chief["error"] / error < 1.25, (chief["error"], error)


def test_a_multi_worker_strategy_needs_a_random_state():
    import tensorflow as tf

    class Fake(tf.distribute.MultiWorkerMirroredStrategy):
        def __init__(self):  # no cluster: only its class is read before the refusal
            pass

    model = DenseAutoencoder(distribute_strategy=Fake())
    with pytest.raises(ValueError, match="needs random_state set, the same on every worker"):
        model.fit(np.zeros((10, 4)))
    assert not hasattr(model, "model_")


def test_a_backend_other_than_tensorflow_is_refused_on_import():
    # A strategy is TensorFlow's: under another Keras backend skae refuses to
    # load at all. Keras's other backends need packages the tests do not
    # install (jax, torch), so Keras is told it runs one.
    code = "import keras; keras.backend.backend = lambda: 'jax'; from skae import DenseAutoencoder"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode != 0
    assert "ImportError: skae runs on Keras's TensorFlow backend. Received: KERAS_BACKEND='jax'" in run.stderr
