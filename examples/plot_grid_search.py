"""
Grid search over the architecture
=================================

An autoencoder's architecture is a set of constructor parameters, so
``GridSearchCV`` searches it like any other. Without a scorer it uses the
estimator's ``score``: the negative mean squared reconstruction error, higher
is better. Here we search the hidden layers and the code size of a
``DenseAutoencoder`` on digits with 3-fold cross-validation, then a
classifier's ``C`` after it, with the pipeline caching the autoencoder.
"""

import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skae import DenseAutoencoder

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

# %%
# The search
# ----------
# Six architectures: no hidden layer (a linear autoencoder when the code is
# linear), one hidden layer of 64 units, or two of 128 and 64; with codes of
# 8 or 16 values. Each is trained for 40 epochs.

grid = {"hidden_layer_sizes": [(), (64,), (128, 64)], "n_components": [8, 16]}
search = GridSearchCV(DenseAutoencoder(epochs=40, random_state=0), grid, cv=3).fit(
    X_train
)
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    print(
        f"{str(params['hidden_layer_sizes']):<10} n_components={params['n_components']:<3} "
        f"cross-validated MSE {-score:.4f}"
    )
print("best:", search.best_params_)
print(f"held-out reconstruction MSE of the refitted best: {-search.score(X_test):.4f}")

# %%
# Cross-validated error of each architecture
# ------------------------------------------
# Bars are the mean over the three folds, whiskers one standard deviation.
# Hidden layers pay off at both code sizes, and the best network is the
# deepest one with the wider code.

results = search.cv_results_
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
positions = np.arange(len(grid["hidden_layer_sizes"]))
for offset, k in zip((-0.2, 0.2), grid["n_components"]):
    rows = [
        i for i, params in enumerate(results["params"]) if params["n_components"] == k
    ]
    ax.bar(
        positions + offset,
        -results["mean_test_score"][rows],
        width=0.4,
        yerr=results["std_test_score"][rows],
        capsize=3,
        label=f"n_components={k}",
    )
ax.set_xticks(positions, ["no hidden layer", "(64,)", "(128, 64)"])
ax.set(
    xlabel="hidden_layer_sizes",
    ylabel="cross-validated reconstruction MSE",
    title="GridSearchCV over a DenseAutoencoder's architecture",
)
ax.legend()
plt.show()

# %%
# Searching the steps after the autoencoder: let the pipeline cache it
# ---------------------------------------------------------------------
# When the grid varies only what comes after the autoencoder, here a
# classifier's ``C``, every candidate would refit the same autoencoder on the
# same fold. ``Pipeline(memory=...)`` keeps each fitted step and reuses it:
# the autoencoder is fitted once per fold and once for the refit, 4 times
# instead of 13 for these 4 values of ``C`` and 3 folds. Set ``random_state``
# so that the model the cache keeps is the one a rerun would train.

y = load_digits().target
with tempfile.TemporaryDirectory() as cache:
    pipe = Pipeline(
        [
            ("ae", DenseAutoencoder(16, epochs=20, random_state=0)),
            ("clf", LogisticRegression(max_iter=1000)),
        ],
        memory=cache,
    )
    start = time.perf_counter()
    search = GridSearchCV(pipe, {"clf__C": [0.1, 1, 10, 100]}, cv=3).fit(X, y)
    print(
        f"cached search: {time.perf_counter() - start:.0f} s, best C {search.best_params_['clf__C']}, "
        f"accuracy {search.best_score_:.3f}"
    )
