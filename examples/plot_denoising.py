"""
Denoising digits
================

A ``DenoisingAutoencoder`` is trained on clean digits corrupted afresh at
every batch, and learns to give back the clean digit (Vincent et al. 2008).
Here it cleans held-out digits it has never seen, corrupted in the same way,
and PCA's projection of the noisy digits onto its components is the
baseline: projecting onto the main directions of the clean data also removes
some noise.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import DenoisingAutoencoder
from skae.plotting import plot_denoising

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
noisy = np.clip(X_test + np.random.default_rng(1).normal(0, 0.3, X_test.shape), 0, 1)

# %%
# Train on corrupted copies, score against the clean digits
# ---------------------------------------------------------
# Gaussian noise of standard deviation 0.3 on pixels that range from 0 to 1,
# clipped back to that range.

k = 16
ae = DenoisingAutoencoder(
    n_components=k, noise="gaussian", noise_level=0.3, random_state=0
).fit(X_train)
pca = PCA(k).fit(X_train)
cleaned = {
    "the noisy digits themselves": noisy,
    f"PCA ({k}) projection": pca.inverse_transform(pca.transform(noisy)),
    f"DenoisingAutoencoder ({k})": ae.predict(noisy),
}
print("held-out mean squared error against the clean digits:")
for name, images in cleaned.items():
    print(f"  {name:<30} {np.mean((images - X_test) ** 2):.4f}")

# %%
# Noisy, denoised, clean
# ----------------------
# ``plot_denoising`` draws the noisy inputs, the autoencoder's output and the
# clean digits, on one grey scale.

plot_denoising(ae, X_test, noisy)
plt.show()

# %%
# Other corruptions
# -----------------
# ``noise="masking"`` zeroes a random share of the pixels and
# ``"salt_and_pepper"`` sets them to the lowest or highest value. Without
# ``X_noisy``, ``plot_denoising`` corrupts the digits with the estimator's
# own training noise.

masked = DenoisingAutoencoder(
    n_components=k, noise="masking", noise_level=0.4, random_state=0
).fit(X_train)
plot_denoising(masked, X_test, random_state=0)
plt.show()
