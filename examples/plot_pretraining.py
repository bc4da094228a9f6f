"""
Greedy layer-wise stacking and pretraining with few labels
==========================================================

Two of the oldest uses of autoencoders, on scikit-learn's digits.

Left: a ``StackedAutoencoder`` of three shallow autoencoders
(64-48-32-16), each trained on the cached codes of the one below, then
fine-tuned end to end. Held-out reconstruction error of the greedy phase
alone, after fine-tuning, and of PCA with 16 components.

Right: an ``AutoencoderClassifier`` when labels are few. The rest of the
training digits are kept, labelled -1 (unlabelled), as scikit-learn's
semi-supervised estimators expect. A ``ConvAutoencoder`` is pretrained on all
of them and its encoder, frozen, feeds a small softmax head trained on the
labels (Masci et al. 2011). The baseline is the same network trained whole
from random weights on the labels alone (``pretrain=False, freeze=False``).

Saves ``plot_pretraining.png`` next to this script.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderClassifier, ConvAutoencoder, DenseAutoencoder, StackedAutoencoder

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0)

# -- greedy stacking, then fine-tuning ------------------------------------------
steps = [(f"layer{i}", DenseAutoencoder(k, hidden_layer_sizes=(), epochs=60)) for i, k in enumerate((48, 32, 16))]
greedy = StackedAutoencoder(steps, random_state=0).fit(X_train)
tuned = StackedAutoencoder(steps, epochs=60, random_state=0).fit(X_train)
pca = PCA(16).fit(X_train)
errors = {
    "PCA (16)": np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2),
    "greedy\nphase only": -greedy.score(X_test),
    "greedy +\nfine-tuning": -tuned.score(X_test),
}
print("held-out reconstruction MSE:", {name.replace("\n", " "): round(float(e), 5) for name, e in errors.items()})

# -- pretraining with few labels ---------------------------------------------------
labels_per_class, seeds = (5, 20), (0, 1)
accuracy = {True: [], False: []}
for n in labels_per_class:
    scores = {True: [], False: []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        kept = np.concatenate([rng.choice(np.flatnonzero(y_train == c), n, replace=False) for c in range(10)])
        y_few = np.full_like(y_train, -1)  # -1: unlabelled
        y_few[kept] = y_train[kept]
        for pretrain in (True, False):
            clf = AutoencoderClassifier(
                ConvAutoencoder(image_shape=(8, 8), filters=(32, 64, 16), epochs=30),
                hidden_layer_sizes=(64,),
                freeze=pretrain,
                pretrain=pretrain,
                random_state=seed,
            )
            scores[pretrain].append(clf.fit(X_train, y_few).score(X_test, y_test))
    for pretrain in (True, False):
        accuracy[pretrain].append(np.mean(scores[pretrain]))
    print(f"{n} labels per class: pretrained {accuracy[True][-1]:.3f}, random weights {accuracy[False][-1]:.3f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
bars = left.bar(list(errors), list(errors.values()), color=["0.6", "tab:orange", "tab:blue"])
left.bar_label(bars, fmt="%.4f")
left.set_ylabel("held-out reconstruction MSE")
left.set_title("Stacked 64-48-32-16 autoencoder against PCA")

right.plot(labels_per_class, accuracy[True], "o-", label="pretrained conv encoder, frozen")
right.plot(labels_per_class, accuracy[False], "s--", label="same network, random weights")
right.set_xticks(labels_per_class)
right.set_xlabel("labelled digits per class (the rest unlabelled)")
right.set_ylabel(f"held-out accuracy (mean of {len(seeds)} seeds)")
right.set_title("Pretraining on all digits, training on few labels")
right.legend()
fig.savefig(Path(__file__).with_name("plot_pretraining.png"), dpi=100)
