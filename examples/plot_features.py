"""
What the units learned
======================

Three views of a trained ``DenseAutoencoder`` on digits, each one call to
``skae.plotting``:

* the weights of each first-layer unit, drawn as an 8 x 8 image: the input
  pattern each unit responds to most;
* activation maximisation: for each unit of the code, the input of a fixed
  norm that makes it fire most, found by gradient ascent (Erhan et al. 2009),
  which sees through all the layers below the code;
* the learning curves.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skae import DenseAutoencoder
from skae.plotting import plot_activation_maximisation, plot_features, plot_history

X = load_digits().data / 16
ae = DenseAutoencoder(
    n_components=8, hidden_layer_sizes=(36,), code_activation="tanh", early_stopping=True, random_state=0
).fit(X)

# %%
# First-layer features
# --------------------
# Each tile is scaled on its own, from its most negative weight (black) to
# its most positive (white). Many units weigh a stroke of a digit against
# the pixels around it.

plot_features(ae)
plt.show()

# %%
# What excites each code unit
# ---------------------------
# Each input starts random, then 200 steps of gradient ascent raise one code
# unit while the input keeps the mean norm of the digits.

plot_activation_maximisation(ae, X, random_state=0)
plt.show()

# %%
# Learning curves
# ---------------
# With ``early_stopping=True`` a tenth of the digits is held out; training
# stops when its loss has not improved for ``n_iter_no_change`` epochs.

plot_history(ae)
plt.show()
