"""
Pretraining an encoder when labels are few
==========================================

An ``AutoencoderClassifier`` when only 5 or 20 digits of each class are
labelled. The rest of the training digits are kept with the label -1
(unlabelled), as scikit-learn's semi-supervised estimators expect. A
``ConvAutoencoder`` is pretrained on all of them and its encoder, frozen,
feeds a small softmax head trained on the labelled ones (Masci et al. 2011).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import AutoencoderClassifier, ConvAutoencoder

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, test_size=0.25, random_state=0
)

# %%
# Pretraining when labels are few
# -------------------------------
# The baseline is the same network trained whole from random weights on the
# labelled digits alone (``pretrain=False, freeze=False``). Each point is the
# mean over two draws of the labelled digits.

labels_per_class, seeds = (5, 20), (0, 1)
accuracy = {True: [], False: []}
for n in labels_per_class:
    scores = {True: [], False: []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        kept = np.concatenate(
            [
                rng.choice(np.flatnonzero(y_train == c), n, replace=False)
                for c in range(10)
            ]
        )
        y_few = np.full_like(y_train, -1)  # -1: unlabelled
        y_few[kept] = y_train[kept]
        for pretrain in (True, False):
            clf = AutoencoderClassifier(
                ConvAutoencoder(
                    image_shape=(8, 8), filters=(32, 64, 16), epochs=30, loss="mse"
                ),
                hidden_layer_sizes=(64,),
                freeze=pretrain,
                pretrain=pretrain,
                random_state=seed,
            )
            scores[pretrain].append(clf.fit(X_train, y_few).score(X_test, y_test))
    for pretrain in (True, False):
        accuracy[pretrain].append(np.mean(scores[pretrain]))
    print(
        f"{n} labels per class: pretrained {accuracy[True][-1]:.3f}, random weights {accuracy[False][-1]:.3f}"
    )

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.plot(labels_per_class, accuracy[True], "o-", label="pretrained conv encoder, frozen")
ax.plot(labels_per_class, accuracy[False], "s--", label="same network, random weights")
ax.set_xticks(labels_per_class)
ax.set(
    xlabel="labelled digits per class (the rest unlabelled)",
    ylabel=f"held-out accuracy (mean of {len(seeds)})",
    title="Pretraining on all digits, training on few labels",
)
ax.legend()
plt.show()

# %%
# Pretraining helps most when labels are fewest; with 20 labels per class the
# network trained from random weights nearly catches up. The margin is a few
# points of accuracy and varies with the draw of labelled digits, which is
# why each point averages two draws.
