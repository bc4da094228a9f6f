"""Figures of what an autoencoder learned.

Each function takes a fitted skae estimator, draws on ``ax`` (a new figure
when None) and returns the Axes. Images are drawn as one mosaic per Axes,
with a white gap between tiles and the rows and columns named on the ticks,
so that a figure of twenty digits is one ``imshow`` rather than twenty
Axes. matplotlib is imported inside the functions: ``import skae`` does not
need it.
"""

import math

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "plot_activation_maximisation",
    "plot_code",
    "plot_denoising",
    "plot_features",
    "plot_history",
    "plot_latent_grid",
    "plot_reconstructions",
    "plot_samples",
]


# Pixels of white between the tiles of a mosaic.
GAP = 1

# -- shared helpers --------------------------------------------------------------


def _autoencoder(estimator, function):
    """The fitted autoencoder a figure is about, or a clear error."""
    from ._autoencoder import BaseAutoencoder

    if not isinstance(estimator, BaseAutoencoder):
        hint = ""
        if hasattr(estimator, "autoencoder"):
            hint = f" Pass the autoencoder it was built on, fitted: {function}(clf.autoencoder_, ...)."
        raise TypeError(f"{function} draws what an autoencoder learned; it needs a skae autoencoder. "
                        f"Received: {type(estimator).__name__}.{hint}")
    check_is_fitted(estimator)
    return estimator


def _image_shape(estimator, n_features, image_shape):
    """(h, w) or (h, w, c) of one sample: given, the estimator's, or square."""
    if image_shape is None:
        image_shape = estimator._image_shape()
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(f"Cannot draw {n_features} features as a square image: pass image_shape=(h, w).")
        image_shape = (side, side)
    image_shape = tuple(image_shape)
    if math.prod(image_shape) != n_features:
        raise ValueError(f"image_shape={image_shape} holds {math.prod(image_shape)} values, "
                         f"but each sample has {n_features}.")
    if len(image_shape) == 3 and image_shape[2] == 1:
        image_shape = image_shape[:2]
    if len(image_shape) == 3 and image_shape[2] != 3:
        raise ValueError(f"Images with {image_shape[2]} channels cannot be drawn: only grey (1) and RGB (3). "
                         f"Received: image_shape={image_shape}")
    return image_shape


def _as_images(X, shape):
    X = np.asarray(X, dtype=np.float64)
    return X.reshape((len(X), *shape))


def _mosaic(tiles):
    """Tiles of shape (rows, cols, h, w[, 3]) as one array, NaN in the gaps."""
    n_rows, n_cols, h, w = tiles.shape[:4]
    out = np.full((n_rows * (h + GAP) - GAP, n_cols * (w + GAP) - GAP, *tiles.shape[4:]), np.nan)
    for i in range(n_rows):
        for j in range(n_cols):
            out[i * (h + GAP):i * (h + GAP) + h, j * (w + GAP):j * (w + GAP) + w] = tiles[i, j]
    return out


def _min_max(tiles):
    """Each tile scaled to [0, 1] on its own (weights and found inputs have no common scale)."""
    axes = tuple(range(1, tiles.ndim))
    low, high = tiles.min(axis=axes, keepdims=True), tiles.max(axis=axes, keepdims=True)
    return (tiles - low) / np.where(high > low, high - low, 1)


def _new_ax(ax, n_rows, n_cols, tile_shape):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    width = min(12, max(6, 0.9 * n_cols * tile_shape[1] / tile_shape[0] + 1))
    _, ax = plt.subplots(figsize=(width, 0.9 * n_rows + 0.8), layout="constrained")
    return ax


def _draw_tiles(tiles, *, ax, row_labels, col_labels=None, vmin=None, vmax=None, title=None):
    """Draw tiles (rows, cols, h, w[, 3]) as one image with named rows and columns."""
    import matplotlib.pyplot as plt

    n_rows, n_cols, h, w = tiles.shape[:4]
    ax = _new_ax(ax, n_rows, n_cols, (h, w))
    mosaic = _mosaic(tiles)
    if mosaic.ndim == 3:  # RGB: scaled into [0, 1], the gaps transparent
        low = np.nanmin(mosaic) if vmin is None else vmin
        high = np.nanmax(mosaic) if vmax is None else vmax
        rgb = np.clip((mosaic - low) / (high - low or 1), 0, 1)
        alpha = (~np.isnan(mosaic[..., :1])).astype(float)
        ax.imshow(np.nan_to_num(np.concatenate([rgb, alpha], axis=-1)), interpolation="nearest")
    else:
        cmap = plt.get_cmap("gray").with_extremes(bad="white")
        ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_yticks([i * (h + GAP) + (h - 1) / 2 for i in range(n_rows)], row_labels)
    ax.set_xticks([j * (w + GAP) + (w - 1) / 2 for j in range(n_cols)], col_labels or [])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def _rows_of_images(rows, row_labels, estimator, image_shape, *, scale, ax, title):
    """Rows of samples as images, on the grey scale of the samples ``scale``."""
    shape = _image_shape(estimator, _n_features(scale), image_shape)
    tiles = np.stack([_as_images(row, shape) for row in rows])
    return _draw_tiles(tiles, ax=ax, row_labels=row_labels, vmin=np.min(scale), vmax=np.max(scale), title=title)


def _first_rows(X, n_images):
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1. Received: n_images={n_images}")
    return X[:n_images]


def _n_features(X):
    return math.prod(np.shape(X)[1:])


# -- figures ---------------------------------------------------------------------


def plot_reconstructions(estimator, X, *, baselines=None, n_images=10, image_shape=None, ax=None):
    """Draw samples in one row and their reconstructions below.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        The autoencoder whose ``predict`` reconstructs X.
    X : array-like of shape (n_samples, n_features) or images
        Samples, in the layout the estimator was fitted on. The first
        ``n_images`` are drawn.
    baselines : dict of str to fitted transformer, default=None
        Other reconstructions to compare, one row each under its name:
        anything with ``transform`` and ``inverse_transform``, such as a
        fitted :class:`~sklearn.decomposition.PCA`, which is given X with
        each sample flattened.
    n_images : int, default=10
        How many samples to draw.
    image_shape : tuple of int, default=None
        ``(h, w)`` or ``(h, w, 3)`` of one sample. None takes a
        ``ConvAutoencoder``'s own, or a square of side ``sqrt(n_features)``.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One image: the originals on top, then the estimator's
        reconstructions and each baseline's, rows named on the left, all on
        the grey scale of the originals.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from skae import DenseAutoencoder
    >>> from skae.plotting import plot_reconstructions
    >>> X = load_digits().data / 16
    >>> ae = DenseAutoencoder(n_components=16, epochs=2, random_state=0).fit(X)
    >>> ax = plot_reconstructions(ae, X, baselines={"PCA": PCA(16).fit(X)}, n_images=8)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['original', 'DenseAutoencoder', 'PCA']
    """
    ae = _autoencoder(estimator, "plot_reconstructions")
    X = _first_rows(np.asarray(X), n_images)
    rows = {"original": X, type(ae).__name__: ae.predict(X)}
    for name, baseline in (baselines or {}).items():
        flat = X.reshape(len(X), -1)
        rows[name] = np.asarray(baseline.inverse_transform(baseline.transform(flat))).reshape(X.shape)
    return _rows_of_images(list(rows.values()), list(rows), ae, image_shape, scale=X, ax=ax,
                           title=f"Reconstructions from codes of {ae.n_components_} values")


def _generative(estimator, function):
    """The fitted variational autoencoder a figure of samples is about."""
    ae = _autoencoder(estimator, function)
    if not hasattr(ae, "sample"):
        raise TypeError(f"{function} draws what a generative autoencoder decodes from its prior: it needs a "
                        f"VariationalAutoencoder. Received: {type(ae).__name__}.")
    return ae


def _decoded_scale(ae, decoded):
    """The grey scale of decoded images: [0, 1] for a Bernoulli decoder's means."""
    if ae.output_activation_ == "sigmoid":
        return 0.0, 1.0
    return float(np.min(decoded)), float(np.max(decoded))


def plot_samples(estimator, *, n_samples=20, n_cols=10, image_shape=None, random_state=None, ax=None):
    """Draw samples a variational autoencoder generates: prior draws, decoded.

    Parameters
    ----------
    estimator : fitted VariationalAutoencoder
        Its ``sample`` makes the images.
    n_samples : int, default=20
        How many samples to draw.
    n_cols : int, default=10
        Samples per row.
    image_shape : tuple of int, default=None
        As in :func:`plot_reconstructions`.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws from the prior.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One image of the samples, on [0, 1] for a Bernoulli decoder (data in
        [0, 1]) and on the samples' own range otherwise.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> from skae.plotting import plot_samples
    >>> X = load_digits().data / 16
    >>> vae = VariationalAutoencoder(n_components=2, epochs=2, random_state=0).fit(X)
    >>> ax = plot_samples(vae, n_samples=20, n_cols=10, random_state=0)
    >>> ax.get_images()[0].get_array().shape  # 2 rows of 10 tiles of 8 x 8, 1-pixel gaps
    (17, 89)
    """
    ae = _generative(estimator, "plot_samples")
    if not isinstance(n_cols, int) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive integer. Received: n_cols={n_cols!r}")
    samples = ae.sample(n_samples, random_state=random_state)
    shape = _image_shape(ae, _n_features(samples), image_shape)
    images = _as_images(samples, shape)
    n_rows = math.ceil(n_samples / n_cols)
    padded = np.full((n_rows * n_cols, *shape), np.nan)
    padded[:n_samples] = images
    vmin, vmax = _decoded_scale(ae, samples)
    return _draw_tiles(padded.reshape((n_rows, n_cols, *shape)), ax=ax, row_labels=[""] * n_rows, vmin=vmin,
                       vmax=vmax, title=f"{type(ae).__name__}: {n_samples} samples from the prior")


def plot_latent_grid(estimator, *, n_steps=15, dims=(0, 1), quantiles=(0.05, 0.95), image_shape=None, ax=None):
    """Draw what a variational autoencoder decodes over a grid of its code space.

    The grid spans two code values, ``dims``, from one quantile of the
    standard normal prior to another, in ``n_steps`` steps each spaced
    evenly in probability (Kingma and Welling's figure of the learned
    manifold); any other code value is held at 0, the prior's mean. The
    first value runs along the columns, left to right, the second up the
    rows, as on a plot's axes.

    Parameters
    ----------
    estimator : fitted VariationalAutoencoder
        Its ``inverse_transform`` decodes the grid.
    n_steps : int, default=15
        Points per side of the grid.
    dims : tuple of 2 int, default=(0, 1)
        The two code values that vary.
    quantiles : tuple of 2 float, default=(0.05, 0.95)
        The prior quantiles at the grid's ends, in (0, 1).
    image_shape : tuple of int, default=None
        As in :func:`plot_reconstructions`.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One image of ``n_steps`` x ``n_steps`` decoded codes, the code values
        named on the ticks.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> from skae.plotting import plot_latent_grid
    >>> X = load_digits().data / 16
    >>> vae = VariationalAutoencoder(n_components=2, epochs=2, random_state=0).fit(X)
    >>> ax = plot_latent_grid(vae, n_steps=5)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['-1.64', '-0.60', '0.00', '0.60', '1.64']
    """
    from statistics import NormalDist

    ae = _generative(estimator, "plot_latent_grid")
    if not isinstance(n_steps, int) or n_steps < 2:
        raise ValueError(f"n_steps must be an integer of at least 2. Received: n_steps={n_steps!r}")
    dims = tuple(dims)
    if len(dims) != 2 or len(set(dims)) != 2 or not all(0 <= d < ae.n_components_ for d in dims):
        raise ValueError(f"dims must name two different code values of the {ae.n_components_}. Received: dims={dims}")
    low, high = quantiles
    if not 0 < low < high < 1:
        raise ValueError(f"quantiles must be two probabilities, 0 < low < high < 1. Received: quantiles={quantiles}")
    values = np.array([NormalDist().inv_cdf(q) for q in np.linspace(low, high, n_steps)])
    labels = [f"{v:.2f}" for v in np.round(values, 2) + 0.0]  # + 0.0: no "-0.00"
    codes = np.zeros((n_steps, n_steps, ae.n_components_), dtype=np.float32)
    codes[..., dims[0]] = values[None, :]
    codes[..., dims[1]] = values[::-1, None]  # the highest at the top, as on a plot's y axis
    decoded = ae.inverse_transform(codes.reshape(-1, ae.n_components_))
    shape = _image_shape(ae, _n_features(decoded), image_shape)
    vmin, vmax = _decoded_scale(ae, decoded)
    tiles = _as_images(decoded, shape).reshape((n_steps, n_steps, *shape))
    title = f"{type(ae).__name__}: decoded codes" + (", other values at 0" if ae.n_components_ > 2 else "")
    ax = _draw_tiles(tiles, ax=ax, row_labels=labels[::-1], col_labels=labels, vmin=vmin, vmax=vmax, title=title)
    ax.set_xlabel(f"code value {dims[0]}")
    ax.set_ylabel(f"code value {dims[1]}")
    return ax


def plot_denoising(estimator, X, X_noisy=None, *, n_images=10, image_shape=None, random_state=None, ax=None):
    """Draw noisy samples, their denoised reconstructions and the clean samples.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        The autoencoder whose ``predict`` denoises.
    X : array-like of shape (n_samples, n_features) or images
        Clean samples; the first ``n_images`` are drawn.
    X_noisy : array-like of the shape of X, default=None
        Their corrupted versions. None corrupts X with the estimator's own
        training corruption (``noise`` and ``noise_level``), which needs a
        ``DenoisingAutoencoder``, or a stack whose first step is one.
    n_images : int, default=10
        How many samples to draw.
    image_shape : tuple of int, default=None
        As in :func:`plot_reconstructions`.
    random_state : int or None, default=None
        Seed of the corruption when X_noisy is None.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One image with three rows, "noisy", "denoised" and "clean", on the
        grey scale of the clean samples.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenoisingAutoencoder
    >>> from skae.plotting import plot_denoising
    >>> X = load_digits().data / 16
    >>> ae = DenoisingAutoencoder(n_components=16, noise_level=0.3, epochs=2, random_state=0).fit(X)
    >>> ax = plot_denoising(ae, X, n_images=6, random_state=0)
    >>> [label.get_text() for label in ax.get_yticklabels()]
    ['noisy', 'denoised', 'clean']
    """
    ae = _autoencoder(estimator, "plot_denoising")
    X = _first_rows(np.asarray(X, dtype=np.float32), n_images)
    if X_noisy is None:
        X_noisy = _corrupt_like_training(ae, X, random_state)
    else:
        X_noisy = np.asarray(X_noisy, dtype=np.float32)[:len(X)]
        if X_noisy.shape != X.shape:
            raise ValueError(f"X_noisy must have the shape of X. Received: {X_noisy.shape} and {X.shape}.")
    return _rows_of_images([X_noisy, ae.predict(X_noisy), X], ["noisy", "denoised", "clean"], ae, image_shape,
                           scale=X, ax=ax, title=f"{type(ae).__name__}: noisy inputs, denoised, clean")


def _corrupt_like_training(ae, X, random_state):
    if not hasattr(ae, "corrupt"):
        raise TypeError(f"{type(ae).__name__} does not corrupt its input in training, so it has no noise of its "
                        "own to show: pass X_noisy, or use a DenoisingAutoencoder.")
    return ae.corrupt(X, random_state=random_state)


def plot_code(estimator, X, y=None, *, ax=None, **scatter_kwargs):
    """Scatter the codes of X in 2-D, coloured by y.

    A 2-value code is drawn as it is. A wider code is projected on its first
    two principal components (a PCA fitted on the codes of X), and the axis
    labels say so, with the share of the code's variance each one holds.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        The autoencoder whose ``transform`` gives the codes.
    X : array-like of shape (n_samples, n_features) or images
        Samples to encode.
    y : array-like of shape (n_samples,), default=None
        Colours: one colour and legend entry per class for labels (at most
        20 distinct values, or any non-float labels), a colour bar for
        continuous values.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    **scatter_kwargs
        Passed to ``Axes.scatter`` (``s``, ``alpha``...).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> from skae.plotting import plot_code
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = DenseAutoencoder(n_components=2, epochs=2, random_state=0).fit(X / 16)
    >>> ax = plot_code(ae, X / 16, y)
    >>> len(ax.get_legend().get_texts())  # one entry per digit
    10
    """
    import matplotlib.pyplot as plt

    ae = _autoencoder(estimator, "plot_code")
    codes = ae.transform(X).astype(np.float64)
    name = type(ae).__name__
    if codes.shape[1] < 2:
        raise ValueError(f"{name} has a {codes.shape[1]}-value code: there is no 2-D view of it to scatter.")
    if codes.shape[1] == 2:
        xy, labels = codes, [f"code[{i}]" for i in range(2)]
        title = f"{name}: the 2-value code"
    else:
        from sklearn.decomposition import PCA

        pca = PCA(2).fit(codes)
        xy = pca.transform(codes)
        share = pca.explained_variance_ratio_
        labels = [f"principal component {i + 1} of the code ({share[i]:.0%} of its variance)" for i in range(2)]
        title = f"{name}: the {codes.shape[1]}-value code, projected on 2 principal components"
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5), layout="constrained")
    scatter_kwargs = {"s": 12, "alpha": 0.8, **scatter_kwargs}
    if y is None:
        ax.scatter(*xy.T, **scatter_kwargs)
    else:
        y = np.asarray(y)
        if len(y) != len(xy):
            raise ValueError(f"y must have one value per sample of X. Received: {len(y)} for {len(xy)} samples.")
        classes = np.unique(y)
        if y.dtype.kind in "fc" and len(classes) > 20:
            points = ax.scatter(*xy.T, c=y, cmap="viridis", **scatter_kwargs)
            ax.figure.colorbar(points, ax=ax, label="y")
        else:
            colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
            for i, label in enumerate(classes):
                ax.scatter(*xy[y == label].T, color=colours(i % colours.N), label=str(label), **scatter_kwargs)
            ax.legend(title="y", markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title)
    return ax


def plot_history(estimator, *, ax=None, log_scale=True):
    """Draw the training curves in ``history_``: one line per reported value.

    Training values are solid lines and each validation value is dashed in
    the colour of its training value: ``loss`` and ``val_loss``, and the
    extra terms a family reports (a ``ContractiveAutoencoder``'s
    ``reconstruction_loss`` and ``contractive_loss``). A
    ``StackedAutoencoder`` adds each step's greedy training as
    ``"<name>_loss"``, over that step's own epochs. Works for every skae
    estimator, the classifier included.

    Parameters
    ----------
    estimator : fitted skae estimator
        Its ``history_`` is drawn.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    log_scale : bool, default=True
        A logarithmic value axis, so that terms of different sizes (a
        penalty and a reconstruction error) both show their trend. Linear
        where some value is not positive.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ContractiveAutoencoder
    >>> from skae.plotting import plot_history
    >>> X = load_digits().data / 16
    >>> ae = ContractiveAutoencoder(n_components=16, epochs=3, fit__validation_split=0.2, random_state=0).fit(X)
    >>> ax = plot_history(ae)
    >>> sorted(text.get_text() for text in ax.get_legend().get_texts())
    ['contractive_loss', 'loss', 'reconstruction_loss', 'val_contractive_loss', 'val_loss', 'val_reconstruction_loss']
    """
    import matplotlib.pyplot as plt

    check_is_fitted(estimator)
    history = {key: np.asarray(values, dtype=np.float64) for key, values in estimator.history_.items() if values}
    if not history:
        raise ValueError(f"{type(estimator).__name__}.history_ is empty: it was not trained for any epoch.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    colours = {}
    for key in sorted(history, key=lambda key: ("val_" in key, key)):
        train_key = key.replace("val_", "", 1)
        validation = train_key != key and train_key in colours
        values = history[key]
        line, = ax.plot(np.arange(1, len(values) + 1), values, "--" if validation else "-", label=key,
                        color=colours.get(train_key), marker="." if len(values) < 30 else None)
        colours.setdefault(key, line.get_color())
    if log_scale and all((values > 0).all() for values in history.values()):
        ax.set_yscale("log")
    quantity = "loss" if all("loss" in key for key in history) else "value"
    ax.set(xlabel="epoch", ylabel=f"{quantity} (log scale)" if ax.get_yscale() == "log" else quantity,
           title=f"{type(estimator).__name__} training history")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    return ax


def _first_kernel(ae):
    for layer in ae.encoder_.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            return layer, np.asarray(kernel, dtype=np.float64)
    raise ValueError(f"{type(ae).__name__}'s encoder has no layer with weights.")


def plot_features(estimator, *, n_features=None, image_shape=None, n_cols=None, ax=None):
    """Draw the weights of each first-layer unit as an image.

    A dense first layer has one weight per input for each unit, drawn in the
    shape of an input image: the pattern that excites the unit most for a
    given input norm. A ``ConvAutoencoder``'s first layer has small filters,
    drawn at their own size (in colour for RGB inputs). Each tile is scaled
    on its own, from its lowest weight (black) to its highest (white). Inputs
    that never vary in the training data (the blank border of digits) get no
    gradient, and keep their random initial weights.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        For a ``StackedAutoencoder``, its first step's first layer.
    n_features : int, default=None
        How many units to draw, the first ones; None draws all, up to 64.
    image_shape : tuple of int, default=None
        As in :func:`plot_reconstructions`, for a dense first layer.
    n_cols : int, default=None
        Tiles per row; None makes a roughly square grid.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> from skae.plotting import plot_features
    >>> X = load_digits().data / 16
    >>> ae = DenseAutoencoder(n_components=16, hidden_layer_sizes=(), epochs=2, random_state=0).fit(X)
    >>> ax = plot_features(ae)
    >>> ax.get_images()[0].get_array().shape  # 16 tiles of 8 x 8 in a 4 x 4 grid, 1-pixel gaps
    (35, 35)
    """
    ae = _autoencoder(estimator, "plot_features")
    layer, kernel = _first_kernel(ae)
    if kernel.ndim == 4:  # (h, w, channels, filters)
        tiles = np.moveaxis(kernel, -1, 0)
        if tiles.shape[-1] == 1:
            tiles = tiles[..., 0]
        elif tiles.shape[-1] != 3:
            raise ValueError(f"The first layer's filters see {tiles.shape[-1]} channels: only grey and RGB "
                             "filters can be drawn.")
        kind, unit = f"{layer.kernel_size[0]} x {layer.kernel_size[1]} filters of the first convolution", "filters"
    else:  # (n_features_in, units)
        shape = _image_shape(ae, kernel.shape[0], image_shape)
        tiles = kernel.T.reshape((-1, *shape))
        kind, unit = "weights of each first-layer unit", "units"
    total = len(tiles)
    tiles = _min_max(tiles[:min(total, 64) if n_features is None else n_features])
    n_cols = n_cols or math.ceil(math.sqrt(len(tiles)))
    n_rows = math.ceil(len(tiles) / n_cols)
    padded = np.full((n_rows * n_cols, *tiles.shape[1:]), np.nan)
    padded[:len(tiles)] = tiles
    grid = padded.reshape((n_rows, n_cols, *tiles.shape[1:]))
    title = f"{type(ae).__name__}\n{kind} ({len(tiles)} of {total})"
    row_labels = [f"{unit} {i * n_cols}-{min(len(tiles), (i + 1) * n_cols) - 1}" for i in range(n_rows)]
    return _draw_tiles(grid, ax=ax, row_labels=row_labels, vmin=0, vmax=1, title=title)


def plot_activation_maximisation(estimator, X, *, units=None, constraint="norm", n_steps=200, step_size=0.1,
                                 image_shape=None, random_state=None, ax=None):
    """Draw, for several code units, an input that makes the unit fire most.

    The inputs are found by :func:`skae.inspection.maximise_activation`
    (gradient ascent under a norm or range constraint, Erhan et al. 2009),
    whose parameters these are; each is scaled on its own for display.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        The encoder whose code units are maximised.
    X : array-like of shape (n_samples, n_features) or images
        Samples like the training data: they set the norm, or the range, of the inputs.
    units : sequence of int, default=None
        The code units to draw; None takes the first ones, up to 16.
    constraint : {"norm", "range"}, default="norm"
        As in :func:`skae.inspection.maximise_activation`.
    n_steps : int, default=200
        Gradient-ascent steps.
    step_size : float, default=0.1
        As in :func:`skae.inspection.maximise_activation`.
    image_shape : tuple of int, default=None
        As in :func:`plot_reconstructions`.
    random_state : int or None, default=None
        Seed of the random starting inputs.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One row of images, each column named after its unit.

    See Also
    --------
    skae.inspection.maximise_activation : The inputs found, as arrays.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import DenseAutoencoder
    >>> from skae.plotting import plot_activation_maximisation
    >>> X = load_digits().data / 16
    >>> ae = DenseAutoencoder(n_components=8, epochs=2, random_state=0).fit(X)
    >>> ax = plot_activation_maximisation(ae, X, units=[0, 3, 5], n_steps=20, random_state=0)
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['unit 0', 'unit 3', 'unit 5']
    """
    from .inspection import maximise_activation

    ae = _autoencoder(estimator, "plot_activation_maximisation")
    units = list(range(min(ae.n_components_, 16))) if units is None else [int(unit) for unit in units]
    found = maximise_activation(ae, X, units=units, constraint=constraint, n_steps=n_steps, step_size=step_size,
                                random_state=random_state)
    found = found.reshape(len(found), -1).astype(np.float64)
    X = np.asarray(X, dtype=np.float64)
    norm = float(np.mean(np.linalg.norm(X.reshape(len(X), -1), axis=1)))
    shape = _image_shape(ae, found.shape[1], image_shape)
    tiles = _min_max(_as_images(found, shape))[np.newaxis]
    within = f"of norm {norm:.3g}" if constraint == "norm" else "within the range of X"
    return _draw_tiles(tiles, ax=ax, row_labels=[], col_labels=[f"unit {unit}" for unit in units], vmin=0, vmax=1,
                       title=f"{type(ae).__name__}: inputs {within} that excite each code unit most")
