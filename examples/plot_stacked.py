"""
Greedy layer-wise stacking
==========================

A ``StackedAutoencoder`` of three shallow autoencoders (64-48-32-16) on
scikit-learn's digits: each is trained on the cached codes of the one below,
then the stack is fine-tuned end to end, as Hinton and Salakhutdinov (2006)
trained deep autoencoders. PCA with as many components is the baseline.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import DenseAutoencoder, StackedAutoencoder
from skae.plotting import plot_history

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

# %%
# Greedy layer-wise training, then fine-tuning
# --------------------------------------------
# Each step is an ordinary skae autoencoder with its own parameters. The
# stack's own ``epochs`` is the fine-tuning; with the default 0 the greedy
# phase alone is the model.

steps = [
    (f"layer{i}", DenseAutoencoder(k, hidden_layer_sizes=(), epochs=60))
    for i, k in enumerate((48, 32, 16))
]
greedy = StackedAutoencoder(steps, random_state=0).fit(X_train)
tuned = StackedAutoencoder(steps, epochs=60, random_state=0).fit(X_train)
pca = PCA(16).fit(X_train)
errors = {
    "PCA (16)": np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2),
    "greedy\nphase only": -greedy.score(X_test),
    "greedy +\nfine-tuning": -tuned.score(X_test),
}
for name, error in errors.items():
    print(f"{name.replace(chr(10), ' '):<22} held-out reconstruction MSE {error:.5f}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
bars = ax.bar(
    list(errors), list(errors.values()), color=["0.6", "tab:orange", "tab:blue"]
)
ax.bar_label(bars, fmt="%.4f")
ax.margins(y=0.12)
ax.set(
    ylabel="held-out reconstruction MSE",
    title="Stacked 64-48-32-16 autoencoder against PCA",
)
plt.show()

# %%
# The greedy phase alone does about as well as PCA: each shallow step only
# sees the codes of the one below and cannot correct its errors. Fine-tuning
# the whole stack lets the layers adapt to one another, and the error falls
# well below PCA's.
#
# The history holds each step's greedy training under its name, over that
# step's own epochs, and the fine-tuning of the whole stack as ``loss``. Each
# step's loss is measured on its own input, the codes of the step below, so
# the levels of the curves are not comparable; only ``layer0_loss`` and
# ``loss`` are errors on the digits themselves.

plot_history(tuned)
plt.show()
