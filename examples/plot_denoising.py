"""
Denoising digits
================

Train a ``DenoisingAutoencoder`` on clean digits corrupted afresh with
Gaussian noise at every batch, then ask it to clean held-out digits it has
never seen, corrupted the same way. PCA's projection of the noisy digits is
the baseline. Saves ``plot_denoising.png`` next to this script: noisy,
denoised and clean rows.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import DenoisingAutoencoder

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
noisy = np.clip(X_test + np.random.default_rng(1).normal(0, 0.3, X_test.shape), 0, 1)

k = 16
ae = DenoisingAutoencoder(n_components=k, noise="gaussian", noise_level=0.3, random_state=0).fit(X_train)
pca = PCA(k).fit(X_train)
rows = {
    "noisy": noisy,
    f"PCA ({k})": pca.inverse_transform(pca.transform(noisy)),
    f"denoising AE ({k})": ae.predict(noisy),
    "clean": X_test,
}

print("mean squared error against the clean digits:")
for name, images in rows.items():
    print(f"  {name:<20} {np.mean((images - X_test) ** 2):.4f}")

n = 10
fig, axes = plt.subplots(len(rows), n, figsize=(n, 1.1 * len(rows) + 0.5))
for row, (name, images) in enumerate(rows.items()):
    for col in range(n):
        axes[row, col].imshow(images[col].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
    axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
fig.suptitle("Held-out digits with Gaussian noise (sd 0.3), cleaned by PCA and by a denoising autoencoder")
fig.tight_layout()
fig.savefig(Path(__file__).with_name("plot_denoising.png"), dpi=100)
