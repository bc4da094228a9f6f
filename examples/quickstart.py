"""
Quickstart: an autoencoder where PCA would go
=============================================

On the digits bundled with scikit-learn, put ``DenseAutoencoder`` and ``PCA``
in the same pipeline, ``MinMaxScaler -> reducer -> LogisticRegression``, and
compare their held-out reconstruction error and the accuracy of the
classifier on their codes. Saves ``quickstart.png`` next to this script:
originals over each method's reconstructions.

Run with ``python examples/quickstart.py`` (about a minute on 2 cores).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import DenseAutoencoder

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)


def evaluate(reducer):
    pipe = make_pipeline(MinMaxScaler(), reducer, LogisticRegression(max_iter=2000))
    pipe.fit(X_train, y_train)
    scaled = pipe[0].transform(X_test)
    reconstructed = pipe[1].inverse_transform(pipe[1].transform(scaled))
    return np.mean((scaled - reconstructed) ** 2), pipe.score(X_test, y_test), scaled, reconstructed


rows = {}  # k=8 images for the figure
print(f"{'k':>3} | {'method':<16} | {'reconstruction MSE':>18} | {'accuracy':>8}")
print("-" * 55)
for k in (2, 8, 16):
    for name, reducer in [("PCA", PCA(k)), ("DenseAutoencoder", DenseAutoencoder(k, random_state=0))]:
        error, accuracy, scaled, reconstructed = evaluate(reducer)
        print(f"{k:>3} | {name:<16} | {error:>18.4f} | {accuracy:>8.3f}")
        if k == 8:
            rows.update({"original": scaled, name: reconstructed})

n = 10
fig, axes = plt.subplots(3, n, figsize=(n, 3.4))
for row, label in enumerate(["original", "PCA", "DenseAutoencoder"]):
    for col in range(n):
        ax = axes[row, col]
        ax.imshow(rows[label][col].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
fig.suptitle("Held-out digits and their reconstructions from an 8-number code")
fig.tight_layout()
out = Path(__file__).with_name("quickstart.png")
fig.savefig(out, dpi=100)
print(f"\nSaved {out}")
