"""
Convolutional autoencoder against PCA
=====================================

A ``ConvAutoencoder`` reads images as images: its filters slide over the
picture, so it learns local strokes and edges once and reuses them
everywhere. This example compares it with PCA at the same code size on two
image sets that ship with scikit-learn:

* the 8 x 8 digits, given as 64 flat columns and read as images through
  ``image_shape=(8, 8)``, with a 2 x 2 x 4 = 16-value spatial code;
* 16 x 16 grey patches cut from scikit-learn's two sample photographs, with
  the default architecture's 2 x 2 x 8 = 32-value code.

On digits the autoencoder's error is about two thirds of PCA's. On photo
patches the two are close, PCA slightly ahead with the default number of
epochs: small patches of natural photographs are nearly Gaussian, PCA's home
ground, and the autoencoder catches up only with about 60 epochs (see
``benchmarks/run.py``).

Saves ``plot_conv.png`` next to this script: held-out originals, then the
autoencoder's and PCA's reconstructions, with each one's mean squared error
over the whole held-out set. Among the patches, the more textured half is
shown, since flat patches of sky look alike in every row.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, load_sample_images
from sklearn.decomposition import PCA
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.model_selection import train_test_split

from skae import ConvAutoencoder

digits = load_digits().data / 16
photos = [image.mean(axis=2) / 255 for image in load_sample_images().images]
patches = np.concatenate([extract_patches_2d(p, (16, 16), max_patches=4000, random_state=0) for p in photos])

cases = {
    "digits, 8 x 8": (digits, dict(image_shape=(8, 8), filters=(32, 4))),
    "photo patches, 16 x 16": (patches, {}),
}
results = {}
for name, (X, params) in cases.items():
    X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
    ae = ConvAutoencoder(random_state=0, **params).fit(X_train)
    k = ae.n_components_
    flat_train, flat_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    pca = PCA(k).fit(flat_train)
    rows = {
        "original": X_test,
        f"ConvAutoencoder\n({k} values)": ae.predict(X_test),
        f"PCA ({k})": pca.inverse_transform(pca.transform(flat_test)).reshape(X_test.shape),
    }
    errors = {label: np.mean((images - X_test) ** 2) for label, images in rows.items()}
    ae_error, pca_error = list(errors.values())[1:]
    print(f"{name}, code of {k} values: held-out MSE {ae_error:.5f} (ConvAutoencoder), {pca_error:.5f} (PCA)")
    results[name] = rows, errors

n = 8
fig = plt.figure(figsize=(n + 1.5, 7.5), layout="constrained")
for subfig, (name, (rows, errors)) in zip(fig.subfigures(2, 1), results.items()):
    axes = subfig.subplots(len(rows), n)
    originals = rows["original"]
    # Flat patches of sky look alike in every method: show the more textured half.
    spread = originals.reshape(len(originals), -1).std(axis=1)
    shown = np.flatnonzero(spread >= np.median(spread))[:n]
    for row, (label, images) in enumerate(rows.items()):
        side = int(np.sqrt(images[0].size))
        for col, i in enumerate(shown):
            axes[row, col].imshow(images[i].reshape(side, side), cmap="gray", vmin=0, vmax=1)
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
        caption = label if row == 0 else f"{label}\nMSE {errors[label]:.4f}"
        axes[row, 0].set_ylabel(caption, rotation=0, ha="right", va="center", fontsize=9)
    subfig.suptitle(f"{name}: held-out images, then reconstructions from codes of equal size")
fig.savefig(Path(__file__).with_name("plot_conv.png"), dpi=100)
