"""
An autoencoder where PCA would go
=================================

``DenseAutoencoder`` is a scikit-learn transformer, so it drops into a
pipeline wherever ``PCA`` would. On the digits bundled with scikit-learn we
put each in the same pipeline, ``MinMaxScaler -> reducer ->
LogisticRegression``, for codes of 2 to 32 values, and measure two things on
held-out digits: how well the code reconstructs the image, and how well a
linear classifier reads the digit off the code.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import DenseAutoencoder
from skae.plotting import plot_reconstructions

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)

# %%
# The same pipeline, two reducers
# -------------------------------
# The autoencoder has one hidden layer of 512 ReLU units on each side of a
# linear code; PCA is the linear baseline it should beat.


def evaluate(reducer):
    pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=2000))
    pipe.fit(X_train, y_train)
    scaled = pipe[0].transform(X_test)
    reconstructed = pipe[1].inverse_transform(pipe[1].transform(scaled))
    return np.mean((scaled - reconstructed) ** 2), pipe.score(X_test, y_test), pipe


sizes = [2, 4, 8, 16, 32]
results = {"PCA": [], "DenseAutoencoder": []}
fitted = {}
for k in sizes:
    for name, reducer in [
        ("PCA", PCA(k)),
        ("DenseAutoencoder", DenseAutoencoder(k, random_state=0)),
    ]:
        error, accuracy, pipe = evaluate(reducer)
        results[name].append((error, accuracy))
        fitted[name, k] = pipe
        print(
            f"k={k:<3} {name:<17} reconstruction MSE {error:.4f}   accuracy {accuracy:.3f}"
        )

# %%
# Error and accuracy against the code size
# ----------------------------------------
# Up to 16 values the autoencoder reconstructs better, by the widest margin
# for the smallest codes, where a curved code surface holds more than a flat
# one. At 32 values, half the size of the input, PCA keeps nearly everything
# and the two are level. A linear classifier also reads the digit better off
# the autoencoder's small codes; from about 16 values both codes keep nearly
# everything it needs.

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, style in [("PCA", "s--"), ("DenseAutoencoder", "o-")]:
    errors, accuracies = zip(*results[name])
    left.plot(sizes, errors, style, label=name)
    right.plot(sizes, accuracies, style, label=name)
for ax in (left, right):
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(k) for k in sizes])
    ax.set_xlabel("n_components (values in the code)")
    ax.legend()
left.set(yscale="log", ylabel="held-out reconstruction MSE", title="Reconstruction")
right.set(
    ylabel="held-out accuracy of LogisticRegression", title="A classifier on the code"
)
plt.show()

# %%
# What an 8-value code keeps
# --------------------------
# Held-out digits, the autoencoder's reconstructions and PCA's, each from a
# code of 8 numbers.

ae_pipe, pca_pipe = fitted["DenseAutoencoder", 8], fitted["PCA", 8]
plot_reconstructions(
    ae_pipe[1], ae_pipe[0].transform(X_test), baselines={"PCA (8)": pca_pipe[1]}
)
plt.show()
