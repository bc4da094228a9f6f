"""
What the units learned
======================

Three views of autoencoders trained on digits, each one call to
``skae.plotting``:

* the weights of each first-layer unit, drawn as an 8 x 8 image: the input
  pattern the unit responds to most;
* activation maximisation: for each unit of the code, the input of a fixed
  norm, or within the data's range, that makes it fire most, found by
  gradient ascent (Erhan et al. 2009), which sees through all the layers
  below the code;
* the learning curves.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skae import DenseAutoencoder
from skae.plotting import plot_activation_maximisation, plot_features, plot_history

X = load_digits().data / 16

# %%
# First-layer features of a sparse autoencoder
# --------------------------------------------
# One layer of 36 ReLU units with an L1 penalty on their activity and tied
# weights: each digit is to be drawn from a few units, so the units learn
# parts and prototypes of digits, such as rings and vertical strokes. Each
# tile is scaled on its own, from its lowest weight (black) to its highest
# (white). The outermost pixels are blank in almost
# every digit, so their weights get almost no gradient and stay near their
# random start: the speckled borders.

sparse = DenseAutoencoder(
    n_components=36,
    hidden_layer_sizes=(),
    code_activation="relu",
    activity_regularization=1e-3,
    tied_weights=True,
    epochs=150,
    random_state=0,
).fit(X)
plot_features(sparse)
plt.show()

# %%
# What excites each code unit of a deep autoencoder
# -------------------------------------------------
# A 64-36-8 encoder with a tanh code. Each input starts random, then 200
# steps of gradient ascent raise one code unit, under one of two
# constraints.
#
# Top, ``constraint="norm"``: the input keeps the mean norm of the digits.
# The inputs found do not look like digits: under a norm constraint alone
# the ascent spends the norm wherever the encoder's weights are largest,
# negative pixel values and the blank border included, where the weights
# never left their random start. What excites a unit most need not look
# like anything in the data.
#
# Bottom, ``constraint="range"``: each pixel stays within the range it takes
# in the digits, so the border, blank in every digit, stays blank, and no
# pixel goes below zero. What is left is the part of the image the unit
# reads: the strokes that raise it are lit, those that lower it are dark.

deep = DenseAutoencoder(
    n_components=8,
    hidden_layer_sizes=(36,),
    code_activation="tanh",
    early_stopping=True,
    random_state=0,
).fit(X)
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 3.6), layout="constrained")
plot_activation_maximisation(deep, X, random_state=0, ax=top)
plot_activation_maximisation(deep, X, constraint="range", random_state=0, ax=bottom)
plt.show()

# %%
# Learning curves
# ---------------
# With ``early_stopping=True`` a tenth of the digits is held out; training
# stops when its loss has not improved by more than ``tol`` for more than
# ``n_iter_no_change`` epochs in a row, and the best weights are kept.

plot_history(deep)
plt.show()
