"""
A grid search and encoding on a Dask cluster
============================================

skae's estimators pickle and load in a fresh process, so a Dask cluster can
run a grid search's fits on its workers (joblib's ``dask`` backend) and
encode an array block by block where the blocks lie. Here the cluster is a
``LocalCluster`` of two worker processes on this machine; a deployed
cluster is used the same way, through its scheduler's address. It needs the
``distributed`` extra: ``pip install "skae[distributed]"``.
"""

import time

import dask.array as da
import joblib
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from skae import DenseAutoencoder

X = (load_digits().data / 16).astype(np.float32)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

# %%
# The cluster
# -----------
# One thread per worker, and TensorFlow's thread pools as wide: without the
# two variables, each worker's TensorFlow would run as many threads per
# operation as the machine has cores.

cluster = LocalCluster(
    n_workers=2,
    threads_per_worker=1,
    dashboard_address=None,
    env={"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
)
client = Client(cluster)

# %%
# The search on the workers
# -------------------------
# ``n_jobs=-1`` under joblib's ``dask`` backend sends each fit to a worker.
# With ``random_state`` set, the best parameters are those of the same
# search run in this process, and so are the scores.

grid = {"n_components": [2, 8, 32]}
search = GridSearchCV(
    DenseAutoencoder(epochs=20, random_state=0), grid, cv=3, n_jobs=-1
)
start = time.perf_counter()
with joblib.parallel_backend("dask"):
    search.fit(X_train)
print(f"{len(grid['n_components']) * 3} fits on the cluster: {time.perf_counter() - start:.1f} s")
print("best:", search.best_params_)

fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
ax.errorbar(
    grid["n_components"],
    -search.cv_results_["mean_test_score"],
    yerr=search.cv_results_["std_test_score"],
    marker="o",
    capsize=3,
)
ax.set_xscale("log", base=2)
ax.set_xticks(grid["n_components"], [str(k) for k in grid["n_components"]])
ax.set_xlabel("n_components (code size)")
ax.set_ylabel("cross-validated reconstruction MSE")
ax.set_title("DenseAutoencoder on digits, fitted on two Dask workers")
plt.show()

# %%
# Encoding a Dask array
# ---------------------
# The refitted best model encodes each block of a Dask array on the
# workers; the codes are those that ``transform`` gives in memory.

blocks = da.from_array(X_test, chunks=(100, 64))
model = search.best_estimator_
codes = blocks.map_blocks(
    model.transform, dtype=np.float32, chunks=(100, model.n_components_)
).compute()
print(f"{blocks.numblocks[0]} blocks encoded on the cluster, codes of shape {codes.shape}")
print("largest difference from transform in memory:", np.abs(codes - model.transform(X_test)).max())

client.close()
cluster.close()
