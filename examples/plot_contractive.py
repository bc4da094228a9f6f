"""
Contractive against plain: how flat the code is
===============================================

A ``ContractiveAutoencoder`` adds to its reconstruction loss the squared
Frobenius norm of the Jacobian of its code with respect to its input,
weighted by ``contractive_weight`` (Rifai et al. 2011):

.. math::

    \\mathcal{L} = \\frac{1}{n} \\sum_i \\ell\\big(x_i, g(f(x_i))\\big)
    + \\frac{\\lambda}{d} \\, \\frac{1}{n} \\sum_i \\lVert J_f(x_i) \\rVert_F^2

where :math:`\\ell` is the reconstruction loss per feature (cross-entropy here,
as pixels lie in [0, 1]) and :math:`d` the number of input features, so that
:math:`\\lambda` means the same for 64 pixels as for 784. The larger
:math:`\\lambda`, the less the code moves when the input moves, and the more
reconstruction suffers. With :math:`\\lambda = 0` it is a plain
autoencoder. This sweep measures both terms on held-out digits.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import ContractiveAutoencoder
from skae.plotting import plot_history

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

# %%
# A sweep over the penalty's weight
# ---------------------------------
# ``squared_jacobian_norms`` differentiates the code at each held-out digit.

weights = [0.0, 1e-2, 1e-1, 1.0, 10.0]
norms, errors = [], []
for weight in weights:
    ae = ContractiveAutoencoder(
        n_components=8, contractive_weight=weight, random_state=0
    ).fit(X_train)
    norms.append(ae.squared_jacobian_norms(X_test).mean())
    errors.append(np.mean((ae.predict(X_test) - X_test) ** 2))
    print(
        f"contractive_weight={weight:<7g} mean ||J||_F^2 = {norms[-1]:8.4f}   reconstruction MSE = {errors[-1]:.4f}"
    )

# %%
# The trade-off
# -------------
# The Jacobian norm falls by orders of magnitude as the weight grows, while
# the reconstruction error rises slowly at first. The plain autoencoder
# (weight 0) is drawn at the left edge of the logarithmic axis.

positions = [1e-5] + weights[1:]
fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
ax.plot(positions, norms, "o-", color="tab:blue")
ax.set(xscale="log", yscale="log", xlabel="contractive_weight")
ax.set_xticks(positions, ["0 (plain)"] + [f"{w:g}" for w in weights[1:]])
ax.set_ylabel("mean squared Jacobian norm (held out)", color="tab:blue")
twin = ax.twinx()
twin.plot(positions, errors, "s--", color="tab:red")
twin.set_ylabel("reconstruction MSE (held out)", color="tab:red")
ax.set_title("Digits, 8-value code: a flatter code costs reconstruction")
plt.show()

# %%
# Both terms during training
# --------------------------
# The history of the last model reports the terms of its loss apart:
# ``reconstruction_loss``, and ``contractive_loss``, the unweighted penalty.
# ``loss`` is the first plus ``contractive_weight / 64`` times the second. With
# this heaviest weight the penalty wins at first: the code goes flat and the
# reconstruction stalls near the mean digit. Later the network finds
# directions worth their cost in penalty, one after another: each step up of
# the penalty is a step down of the reconstruction.

plot_history(ae)
plt.show()
