"""ConvAutoencoder: convolutional autoencoders for images of any size."""

import math
from numbers import Integral

import keras
from sklearn.utils._param_validation import Interval, StrOptions

from ._autoencoder import BaseAutoencoder
from ._base import inherit_signature, resolve_output_activation
from ._docs import fill_doc
from ._seeds import dense, glorot_uniform


@fill_doc
@inherit_signature
class ConvAutoencoder(BaseAutoencoder):
    """Convolutional autoencoder: Conv2D blocks down, the mirror image up.

    Each encoder block is a 'same'-padded convolution that halves the image
    (by its own stride 2, or by max pooling after it); each decoder block
    doubles the image back (a transposed convolution, or nearest-neighbour
    upsampling and a convolution) and gives back the width its encoder block
    was given. A last convolution maps to the input's channels. Images whose
    sides are not multiples of ``2 ** len(filters)`` are zero-padded on the
    way in and cropped on the way out, so the reconstruction has the input's
    size exactly.

    ``transform`` always returns a 2-D array (n_samples, code size): the
    flattened feature map, or ``n_components`` values when a dense bottleneck
    is asked for.

    Read more in the :ref:`User Guide <conv>`.

    Parameters
    ----------
    n_components : int or None, default=None
        Width of a dense code layer after the convolutions. None keeps the
        spatial code, of ``(h / 2**d) * (w / 2**d) * filters[-1]`` values
        (sides rounded up) for ``d = len(filters)`` blocks.

    image_shape : tuple of int or None, default=None
        ``(h, w)`` or ``(h, w, c)``, to read a flat X of ``h * w * c`` columns
        (the output of scikit-learn transformers) as images. One side may be
        -1, as in ``numpy.reshape``: ``(1, -1)`` reads each row as a
        one-pixel-high image. X given as (n, h, w) or (n, h, w, c) needs
        none. ``inverse_transform`` and ``predict`` return the layout ``fit``
        was given.

    filters : tuple of int or "auto", default="auto"
        Filters of each encoder block, input side first; the decoder mirrors
        the encoder. Without ``n_components``, the last entry is the number
        of channels of the spatial code. "auto" is (32, 64, 8) for a spatial
        code (28 x 28 images give a 4 x 4 x 8 code) and (32, 64) under a dense
        code, whose layer then sees 64 channels at a quarter of the image's
        size. With ``n_components=64`` on 8,000 28 x 28 digits (30 epochs),
        (32, 64) reconstructed held-out digits with 0.41 times PCA(64)'s
        error in 70 s, (32, 64, 8) with 0.73 times in 153 s.

    kernel_size : int, default=3
        Side of the convolution kernels.

    pooling : {"strided", "max"}, default="strided"
        How each encoder block halves the image: a convolution of stride 2,
        or a convolution followed by 2 x 2 max pooling.

    upsampling : {"transposed", "nearest"}, default="transposed"
        How each decoder block doubles it: a transposed convolution of
        stride 2, or nearest-neighbour upsampling followed by a convolution.
        Strided and transposed convolutions learn how to resize, and
        reconstruct better than pooling and nearest-neighbour upsampling.

    activation : str, default="relu"
        Activation of the hidden convolutions.

    code_activation : str, default="linear"
        Activation of the code: the dense code layer when ``n_components``
        is set, else the last encoder convolution.

    output_activation : str, default="auto"
        Activation of the reconstruction: "auto" is "sigmoid" when the
        training data lie in [0, 1] and "linear" otherwise.

%(training_parameters)s

    Attributes
    ----------
%(fitted_attributes)s

    image_shape_ : tuple of int
        ``(h, w, c)`` of the images the network sees.

    filters_ : tuple of int
        The filters of the encoder blocks, "auto" resolved.

    output_activation_ : str
        The output activation used, with "auto" resolved.

    See Also
    --------
    DenseAutoencoder : Fully connected, for data that are not images.

    References
    ----------
    J. Masci, U. Meier, D. Ciresan and J. Schmidhuber, "Stacked convolutional
    auto-encoders for hierarchical feature extraction", ICANN 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ConvAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = ConvAutoencoder(image_shape=(8, 8), epochs=2, random_state=0).fit(X)
    >>> ae.image_shape_
    (8, 8, 1)
    >>> ae.transform(X[:3]).shape
    (3, 8)
    >>> ae.predict(X[:3]).shape
    (3, 64)
    """

    _parameter_constraints = {
        **BaseAutoencoder._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "image_shape": ["array-like", None],
        "filters": ["array-like", StrOptions({"auto"})],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"max", "strided"})],
        "upsampling": [StrOptions({"nearest", "transposed"})],
        "activation": [str],
        "code_activation": [str],
        "output_activation": [str],
    }

    _accepts_images = True

    def __init__(
        self,
        n_components=None,
        *,
        image_shape=None,
        filters="auto",
        kernel_size=3,
        pooling="strided",
        upsampling="transposed",
        activation="relu",
        code_activation="linear",
        output_activation="auto",
        **params,
    ):
        super().__init__(**params)
        self.n_components = n_components
        self.image_shape = image_shape
        self.filters = filters
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.upsampling = upsampling
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation

    # -- images in, images out ------------------------------------------------

    def _resolve_network_shape(self, sample_shape):
        if len(sample_shape) == 1 and self.image_shape is None:
            raise ValueError(
                f"X is flat, with {sample_shape[0]} features: pass image_shape=(h, w) or (h, w, c) "
                "to read it as images, or X of shape (n, h, w) or (n, h, w, c)."
            )
        self.image_shape_ = resolve_image_shape(sample_shape, self.image_shape)

    def _network_shape(self):
        return self.image_shape_

    _image_shape = _network_shape

    # -- the network -------------------------------------------------------------

    def _resolve_filters(self):
        if isinstance(self.filters, str):  # "auto"
            return (32, 64, 8) if self.n_components is None else (32, 64)
        if not all(isinstance(f, Integral) and f >= 1 for f in self.filters) or len(self.filters) == 0:
            raise ValueError(f"filters must be positive integers, one per block. Received: filters={self.filters!r}")
        return tuple(int(f) for f in self.filters)

    def _build_network(self, X):
        height, width, channels = self.image_shape_
        self.filters_ = filters = self._resolve_filters()
        depth = len(filters)
        scale = 2**depth
        if scale > 2 * max(height, width):
            raise ValueError(
                f"filters={filters} asks for {depth} halvings, too deep for images of "
                f"{height} x {width} (n_features={self.n_features_in_}): at most "
                f"{int(math.log2(2 * max(height, width)))} blocks."
            )
        self.output_activation_ = resolve_output_activation(self.output_activation, X)

        # Pad to multiples of 2**depth on the way in, crop on the way out.
        pad_h, pad_w = -height % scale, -width % scale
        padding = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
        encoder = [(keras.layers.ZeroPadding2D(padding), {})] if pad_h or pad_w else []
        for n_filters in filters[:-1]:
            encoder += self._down(n_filters, self.activation)
        # Without a dense bottleneck, the last block's output is the code.
        encoder += self._down(filters[-1], self.activation if self.n_components else self.code_activation)
        spatial = ((height + pad_h) // scale, (width + pad_w) // scale, filters[-1])

        decoder = []
        if self.n_components is not None:
            encoder += [
                (keras.layers.Flatten(), {}),
                (dense(self.n_components, self.code_activation), {}),
            ]
            decoder += [
                (dense(math.prod(spatial), self.activation), {}),
                (keras.layers.Reshape(spatial), {}),
            ]
        # The mirror image: each block gives back the width its encoder block was given.
        for n_filters in (*filters[-2::-1], filters[0]):
            decoder += self._up(n_filters)
        decoder.append((self._conv(channels, self.output_activation_), {}))
        if pad_h or pad_w:
            decoder.append((keras.layers.Cropping2D(padding), {}))
        return encoder, decoder

    def _conv(self, n_filters, activation, strides=1):
        return keras.layers.Conv2D(
            n_filters, self.kernel_size, strides=strides, padding="same", activation=activation,
            kernel_initializer=glorot_uniform(),
        )  # fmt: skip

    def _down(self, n_filters, activation):
        if self.pooling == "strided":
            return [(self._conv(n_filters, activation, strides=2), {})]
        return [(self._conv(n_filters, activation), {}), (keras.layers.MaxPooling2D(2, padding="same"), {})]

    def _up(self, n_filters):
        if self.upsampling == "transposed":
            layer = keras.layers.Conv2DTranspose(
                n_filters, self.kernel_size, strides=2, padding="same", activation=self.activation,
                kernel_initializer=glorot_uniform(),
            )  # fmt: skip
            return [(layer, {})]
        return [(keras.layers.UpSampling2D(2), {}), (self._conv(n_filters, self.activation), {})]


def resolve_image_shape(sample_shape, image_shape):
    """(h, w, c) from the shape of one sample of X and ``image_shape``; flat
    samples without an image shape give None."""
    if len(sample_shape) > 3:
        raise ValueError(
            f"X must be (n, features), (n, h, w) or (n, h, w, c). Received: X.ndim={len(sample_shape) + 1}"
        )
    if image_shape is None:
        if len(sample_shape) == 1:
            return None
        return (*sample_shape, 1)[:3]

    if not all(isinstance(side, Integral) for side in image_shape):
        raise ValueError(f"image_shape must hold integers. Received: image_shape={image_shape!r}")
    shape = tuple(int(side) for side in image_shape)
    if len(shape) not in (2, 3) or shape.count(-1) > 1 or any(side < 1 and side != -1 for side in shape):
        raise ValueError(
            f"image_shape must be (h, w) or (h, w, c), with one side -1 at most. Received: {image_shape}"
        )
    if len(shape) == 2:
        shape += (1,) if -1 in shape else (-1,)  # the channels, unless a side is unknown
    size, known = math.prod(sample_shape), math.prod(side for side in shape if side != -1)
    if size % known or (-1 not in shape and size != known):
        raise ValueError(f"Samples of {size} values cannot be read as images of image_shape={image_shape}.")
    shape = tuple(size // known if side == -1 else side for side in shape)
    if len(sample_shape) > 1 and shape != (*sample_shape, 1)[:3]:
        raise ValueError(f"X holds images of shape {sample_shape}, but image_shape={image_shape}.")
    return shape
