"""
The 2-D code of digits
======================

With ``n_components=2`` an autoencoder is a visualisation method, like PCA's
first two components. Here both draw the 1797 digits bundled with
scikit-learn in the plane, coloured by the digit. A nearest-neighbour
classifier on the 2-D points measures how well each map keeps the classes
apart, and the training history shows the autoencoder's learning curves.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from skae import DenseAutoencoder
from skae.plotting import plot_code, plot_history

X, y = load_digits(return_X_y=True)
X = X / 16

# %%
# Two maps of the digits
# ----------------------
# The autoencoder is 64-256-64-2 and back, with early stopping on a held-out
# tenth of the digits. ``plot_code`` scatters its code; for PCA we draw the
# two components by hand.

ae = DenseAutoencoder(
    n_components=2,
    hidden_layer_sizes=(256, 64),
    epochs=300,
    early_stopping=True,
    n_iter_no_change=20,
    random_state=0,
).fit(X)
pca = PCA(2).fit(X)

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
for digit in range(10):
    left.scatter(
        *pca.transform(X[y == digit]).T,
        s=10,
        alpha=0.8,
        color=plt.get_cmap("tab10")(digit),
    )
left.set(
    xlabel="principal component 1",
    ylabel="principal component 2",
    title="PCA: the first two components",
)
plot_code(ae, X, y, ax=right)
plt.show()

# %%
# How far apart the classes lie
# -----------------------------
# The 5-nearest-neighbour accuracy in each plane, by 5-fold cross-validation
# over the maps of all digits (the maps themselves saw no labels).

knn = KNeighborsClassifier(5)
for name, points in [("PCA", pca.transform(X)), ("DenseAutoencoder", ae.transform(X))]:
    print(
        f"{name:<17} 5-NN accuracy in 2-D: {cross_val_score(knn, points, y, cv=5).mean():.3f}"
    )

# %%
# The learning curves
# -------------------
# ``history_`` holds the training and validation loss of each epoch; early
# stopping ended training when the validation loss stopped improving and
# restored the best weights.

plot_history(ae)
plt.show()
