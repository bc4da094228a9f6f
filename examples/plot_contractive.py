"""
How much the contractive penalty flattens the code
==================================================

A ``ContractiveAutoencoder`` adds to its loss the squared Frobenius norm of
the Jacobian of its code with respect to its input. The larger
``contractive_weight``, the less the code moves when the input moves, and
the more reconstruction suffers. This sweep measures both on held-out
digits. Saves ``plot_contractive.png`` next to this script.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import ContractiveAutoencoder

X = load_digits().data / 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)

weights = [0.0, 1e-4, 1e-3, 1e-2, 1e-1]
norms, errors = [], []
for weight in weights:
    ae = ContractiveAutoencoder(n_components=8, contractive_weight=weight, random_state=0).fit(X_train)
    norms.append(ae.squared_jacobian_norms(X_test).mean())
    errors.append(np.mean((ae.predict(X_test) - X_test) ** 2))
    print(f"contractive_weight={weight:<7g} mean ||J||_F^2 = {norms[-1]:.4f}  reconstruction MSE = {errors[-1]:.4f}")

# weight 0 has no place on a log axis: draw it at the left edge, labelled
positions = [1e-5] + weights[1:]
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(positions, norms, "o-", color="tab:blue")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xticks(positions, ["0"] + [f"{w:g}" for w in weights[1:]])
ax.set_xlabel("contractive_weight")
ax.set_ylabel("mean squared Jacobian norm (held out)", color="tab:blue")
twin = ax.twinx()
twin.plot(positions, errors, "s--", color="tab:red")
twin.set_ylabel("reconstruction MSE (held out)", color="tab:red")
ax.set_title("Digits, 8 components: a flatter code costs reconstruction")
fig.tight_layout()
fig.savefig(Path(__file__).with_name("plot_contractive.png"), dpi=100)
