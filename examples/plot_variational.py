"""
Generating digits with a variational autoencoder
================================================

A ``VariationalAutoencoder`` learns a code that is a distribution: each
digit is encoded to a Gaussian over a 2-value code, and the KL term of its
loss keeps those Gaussians close to the standard normal prior. Decoding
draws from the prior then gives new digits, and a grid over the code shows
the smooth manifold it learned, as in Kingma and Welling (2014) and the
Keras example that draws the latent space of MNIST.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import VariationalAutoencoder
from skae.plotting import plot_code, plot_latent_grid, plot_samples

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0)

# %%
# Fit, and score held-out digits
# ------------------------------
# The pixels lie in [0, 1], so the decoder is Bernoulli (``loss="auto"``).
# ``score`` is the mean ELBO of the digits, a lower bound on their
# log-likelihood in nats: higher is better, and it is what ``GridSearchCV``
# maximises. ``predict`` reconstructs through the posterior mean.

vae = VariationalAutoencoder(n_components=2, random_state=0).fit(X_train)
pca = PCA(2).fit(X_train)
print(f"held-out ELBO: {vae.score(X_test):.1f} nats per digit")
print("held-out reconstruction error with a 2-value code:")
print(f"  VariationalAutoencoder  {np.mean((vae.predict(X_test) - X_test) ** 2):.4f}")
print(f"  PCA                     {np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2):.4f}")

# %%
# The codes of held-out digits
# ----------------------------
# ``transform`` returns each digit's posterior mean. The prior pulls the
# codes into one round cloud around the origin, the classes side by side.

plot_code(vae, X_test, y_test)
plt.show()

# %%
# New digits, drawn from the prior
# --------------------------------
# ``sample`` draws codes from N(0, I) and decodes them; ``plot_samples``
# draws a grid of them. They are the decoder's means, so they look like
# smoothed digits; some fall between two classes.

plot_samples(vae, n_samples=30, random_state=0)
plt.show()

# %%
# The latent manifold
# -------------------
# ``plot_latent_grid`` decodes a regular grid over the prior's quantiles,
# 5% to 95% on each axis: one digit shades into the next as the code moves.

plot_latent_grid(vae, n_steps=15)
plt.show()
