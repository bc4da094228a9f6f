"""
Novelty detection with ``AutoencoderOutlierDetector``
=====================================================

An autoencoder trained on normal data gives normal samples codes near those
of its training data, and reconstructs them well; a sample unlike anything it
was trained on lands elsewhere, and is reconstructed poorly.
:class:`~skae.AutoencoderOutlierDetector` makes a scikit-learn outlier
detector of it: ``score_samples`` (higher is more normal),
``decision_function`` (negative for outliers) and ``predict`` (+1 inlier,
-1 outlier), as :class:`~sklearn.ensemble.IsolationForest` has.

Here the novelty is a digit the autoencoder has never seen. For each digit
in turn, we train on the other nine and ask how well the scores of held-out
digits single out the unseen one, against PCA's reconstruction error and
:class:`~sklearn.neighbors.LocalOutlierFactor` on the pixels.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor

from skae import AutoencoderOutlierDetector, DenseAutoencoder
from skae.plotting import plot_reconstructions

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.3, random_state=0
)

# %%
# Each digit in turn as the novelty
# ---------------------------------
# The area under the ROC curve of the held-out digits' scores, the unseen
# digit against the nine others: 1 when every unseen digit scores below
# every seen one, 0.5 for chance. The detector scores by the distance from a
# sample's code to its 5 nearest training codes (its default); the same
# fitted autoencoder's reconstruction error is its ``scoring="reconstruction"``.

k = 16
names = ["detector (code distance)", "reconstruction error", f"PCA ({k})", "LOF"]
auc = {name: [] for name in names}
detectors = {}
for digit in range(10):
    seen = X_train[y_train != digit]
    unseen = y_test == digit
    detector = AutoencoderOutlierDetector(DenseAutoencoder(k), random_state=0)
    detector.fit(seen)
    pca = PCA(k).fit(seen)
    pca_error = np.mean(
        (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2, axis=1
    )
    lof = LocalOutlierFactor(novelty=True).fit(seen)
    anomaly = {
        names[0]: -detector.score_samples(X_test),
        names[1]: -detector.autoencoder_.score_samples(X_test),
        names[2]: pca_error,
        names[3]: -lof.score_samples(X_test),
    }
    for name, values in anomaly.items():
        auc[name].append(roc_auc_score(unseen, values))
    detectors[digit] = detector

fig, ax = plt.subplots(figsize=(9, 4.6), layout="constrained")
width = 0.2
for i, (name, values) in enumerate(auc.items()):
    ax.bar(
        np.arange(10) + (i - 1.5) * width,
        values,
        width=width,
        label=f"{name}: mean {np.mean(values):.3f}",
    )
ax.set_xticks(range(10))
ax.set(
    xlabel="the digit left out of training",
    ylabel="ROC AUC on held-out digits",
    ylim=(0.5, 1.01),
    title="Spotting a digit never seen in training",
)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
plt.show()

# %%
# The distance between codes finds the unseen digit best, for nearly every
# digit: in the autoencoder's 16-number code, digits of one kind lie
# together, more so than in the 64 pixels where LOF measures its distances.
# The reconstruction error beats PCA's, but a 1 is hard for it: a vertical
# stroke is part of many other digits, so an autoencoder trained without
# ones still draws them fairly well.
#
# The threshold
# -------------
# The detector trained without threes. ``contamination="auto"`` puts the
# threshold (``decision_function`` = 0) at the upper whisker of a box plot
# of the held-out tenth of its training data: samples beyond it are
# unusual for data the autoencoder never trained on.

digit, detector = 3, detectors[3]
decision = detector.decision_function(X_test)
flagged = detector.predict(X_test) == -1
print(f"seen digits flagged: {flagged[y_test != digit].mean():.1%}")
print(f"threes flagged: {flagged[y_test == digit].mean():.1%}")
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
bins = np.linspace(decision.min(), decision.max(), 40)
ax.hist(
    decision[y_test != digit], bins=bins, color="0.6", label="seen digits (held out)"
)
ax.hist(
    decision[y_test == digit],
    bins=bins,
    histtype="step",
    linewidth=2,
    color="tab:red",
    label=f"{digit}s, never seen in training",
)
ax.axvline(0, color="k", linestyle=":", label="threshold: outliers to its left")
ax.set(
    xlabel="decision_function (minus the distance to the nearest codes, less the offset)",
    ylabel="held-out digits",
    title=f"AutoencoderOutlierDetector trained without {digit}s",
)
ax.legend()
plt.show()

# %%
# The threshold flags few seen digits and a good share of the threes; it is
# set without knowing how many outliers to expect. Given a share,
# ``contamination=0.1`` flags that share of the training data's scores
# instead. Or rank by ``score_samples`` and look at the lowest first:
#
# The most unusual digits
# -----------------------
# The twelve held-out digits that score lowest, over the autoencoder's
# reconstructions of them. Most are threes, redrawn as the seen digits they
# look most like.

worst = np.argsort(detector.score_samples(X_test))[:12]
print("their labels:", y_test[worst])
plot_reconstructions(detector.autoencoder_, X_test[worst], n_images=12)
plt.show()
