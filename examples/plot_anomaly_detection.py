"""
Anomaly detection with ``score_samples``
========================================

An autoencoder trained on normal data reconstructs normal data well and
anything unlike it poorly, so its reconstruction error flags anomalies.
``score_samples`` returns minus each sample's mean squared reconstruction
error: as for scikit-learn's outlier detectors, the lower the score, the
more anomalous the sample.

Here the anomaly is a digit the autoencoder has never seen. For each digit
in turn, we train on the other nine and ask how well the scores of held-out
digits single out the unseen one. PCA's reconstruction error at the same
code size is the baseline.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import DenseAutoencoder
from skae.plotting import plot_reconstructions

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.3, random_state=0
)

# %%
# Each digit in turn as the anomaly
# ---------------------------------
# The area under the ROC curve of the held-out digits' scores, the unseen
# digit against the nine others: 1 when every unseen digit scores below
# every seen one, 0.5 for chance.

k = 16
auc = {"DenseAutoencoder": [], f"PCA ({k})": []}
models = {}
for digit in range(10):
    seen = X_train[y_train != digit]
    ae = DenseAutoencoder(k, random_state=0).fit(seen)
    pca = PCA(k).fit(seen)
    pca_scores = -np.mean(
        (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, axis=1
    )
    unseen = y_test == digit
    auc["DenseAutoencoder"].append(roc_auc_score(unseen, -ae.score_samples(X_test)))
    auc[f"PCA ({k})"].append(roc_auc_score(unseen, -pca_scores))
    models[digit] = ae
    print(
        f"digit {digit} unseen: ROC AUC {auc['DenseAutoencoder'][-1]:.3f} (DenseAutoencoder), "
        f"{auc[f'PCA ({k})'][-1]:.3f} (PCA)"
    )

fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for offset, (name, values) in zip((-0.2, 0.2), auc.items()):
    ax.bar(
        np.arange(10) + offset,
        values,
        width=0.4,
        label=f"{name}: mean {np.mean(values):.3f}",
    )
ax.set_xticks(range(10))
ax.set(
    xlabel="the digit left out of training",
    ylabel="ROC AUC on held-out digits",
    ylim=(0.5, 1.01),
    title="Spotting a digit never seen in training by its reconstruction error",
)
ax.legend(loc="lower right")
plt.show()

# %%
# The autoencoder separates the unseen digit better than PCA for every digit.
# A 1 is the hardest: a vertical stroke is part of many other digits, so the
# autoencoder trained without ones still draws them fairly well.
#
# The scores of one model
# -----------------------
# The model trained without threes: the scores of held-out digits, threes
# apart. A threshold at the 5th percentile of the seen digits' scores flags
# one seen digit in twenty, and a far larger share of the threes (printed
# below): a useful alarm, though not a perfect one.

digit, ae = 3, models[3]
scores = ae.score_samples(X_test)
threshold = np.percentile(scores[y_test != digit], 5)
print(f"threes below the threshold: {np.mean(scores[y_test == digit] < threshold):.0%}")
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
bins = np.linspace(np.log10(-scores).min(), np.log10(-scores).max(), 40)
ax.hist(
    np.log10(-scores[y_test != digit]),
    bins=bins,
    color="0.6",
    label="seen digits (held out)",
)
ax.hist(
    np.log10(-scores[y_test == digit]),
    bins=bins,
    histtype="step",
    linewidth=2,
    color="tab:red",
    label=f"{digit}s, never seen in training",
)
ax.axvline(
    np.log10(-threshold),
    color="k",
    linestyle=":",
    label="5th percentile of the seen digits' scores",
)
ax.set(
    xlabel="log10 of the reconstruction error (minus score_samples)",
    ylabel="held-out digits",
    title=f"DenseAutoencoder trained without {digit}s",
)
ax.legend()
plt.show()

# %%
# The lowest-scored digits
# ------------------------
# The twelve held-out digits this model reconstructs worst, over its
# reconstructions. Most are threes, redrawn as the seen digits they look
# most like.

worst = np.argsort(scores)[:12]
print("their labels:", y_test[worst])
plot_reconstructions(ae, X_test[worst], n_images=12)
plt.show()
