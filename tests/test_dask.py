"""Search and inference on a Dask cluster: the ``distributed`` extra."""

import os

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from dask_ml.wrappers import Incremental, ParallelPostFit  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skae import DenseAutoencoder  # noqa: E402

# What the Scaling page tells users to give each worker: TensorFlow's pools
# as wide as the worker's threads, so that 2 workers on 2 cores use 2 cores.
WORKER_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=WORKER_ENV
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def test_a_grid_search_on_the_cluster_finds_what_the_local_one_finds(client, small_digits):
    X_train, _ = small_digits
    search = GridSearchCV(
        DenseAutoencoder(epochs=8, tol=None, random_state=0),
        {"n_components": [2, 12], "learning_rate": [1e-3, 1e-2]},
        cv=2,
        n_jobs=-1,
    )
    with joblib.parallel_backend("dask"):
        on_cluster = search.fit(X_train).cv_results_
    local = GridSearchCV(search.estimator, search.param_grid, cv=2).fit(X_train)
    assert search.best_params_ == local.best_params_
    # Not to the last digit: Keras draws layers' seeds from Python's global
    # random state, which skae seeds for the fit, and a worker's other
    # threads (Dask's own) may draw from it meanwhile. One run in several
    # differed by 2% in one score.
    np.testing.assert_allclose(on_cluster["mean_test_score"], local.cv_results_["mean_test_score"], rtol=0.05)
    # the fits ran in the workers, whose TensorFlow saw the worker's variables
    assert set(client.run(lambda: os.environ.get("TF_NUM_INTRAOP_THREADS")).values()) == {"1"}


def test_transform_of_a_dask_array_gives_the_codes_in_memory(client, small_digits):
    X_train, X_test = small_digits
    model = DenseAutoencoder(4, epochs=3, random_state=0).fit(X_train)
    blocks = da.from_array(X_test, chunks=(30, 64))  # 4 blocks
    assert blocks.numblocks[0] > 1
    expected = model.transform(X_test)
    mapped = blocks.map_blocks(model.transform, dtype=np.float32, chunks=(30, 4)).compute()
    np.testing.assert_allclose(mapped, expected, rtol=1e-5, atol=1e-6)
    wrapped = ParallelPostFit(model).transform(blocks).compute()
    np.testing.assert_allclose(wrapped, expected, rtol=1e-5, atol=1e-6)


def test_incremental_trains_one_epoch_per_block(client, small_digits):
    X_train, X_test = small_digits
    blocks = da.from_array(X_train, chunks=(100, 64))
    wrapper = Incremental(DenseAutoencoder(4, random_state=0)).fit(blocks)
    fitted = wrapper.estimator_
    assert len(fitted.history_["loss"]) == blocks.numblocks[0] == 3
    assert fitted.transform(X_test).shape == (len(X_test), 4)



def test_skae_imports_no_part_of_dask():
    import json
    import subprocess
    import sys

    code = "import json, sys; from skae import DenseAutoencoder; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    packages = {name.split(".")[0] for name in json.loads(run.stdout.splitlines()[-1])}
    assert "tensorflow" in packages and not {"dask", "distributed", "dask_ml"} & packages
