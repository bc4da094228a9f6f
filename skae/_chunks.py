"""Training data larger than memory: a ``numpy.memmap`` read a chunk at a time.

``fit`` and ``partial_fit`` given a memmap check it one chunk at a time and
train from a stream of its chunks, so that a fit holds a few chunks in
memory rather than the data: ``ChunkedRows`` stands in for the validated
array wherever a fit reads its X.
"""

import math
import mmap

import numpy as np

from ._base import as_float32
from ._stream import generated_stream, shuffled_passes

# Bytes of float32 rows in one chunk read from disk; a fit holds about three.
CHUNK_BYTES = 64 * 2**20


class ChunkedRows:
    """The rows of a memmap as float32 chunks, in the network's layout.

    Rows are read with ``numpy.fromfile`` from the memmap's file where they
    lie in one contiguous run, so that the pages read do not stay mapped in
    the process (resident memory bounded by the chunk, not the file); else
    through the mapping. ``min`` and ``max`` are those of the whole data,
    found by the check that made it.
    """

    def __init__(self, X, sample_shape, low, high):
        self._X, self.sample_shape, self._low, self._high = X, tuple(sample_shape), low, high
        self._file_offset = _file_offset(X)

    @classmethod
    def checked(cls, X, input_name="X"):
        """``X`` checked chunk by chunk as ``validate_data`` checks an array:
        numeric, not empty, finite, in float32's range."""
        if X.dtype.kind not in "biuf":
            raise ValueError(f"{input_name} is a memmap of dtype {X.dtype}: skae trains from numeric data.")
        if X.ndim < 2 or len(X) == 0 or math.prod(X.shape[1:]) == 0:
            raise ValueError(f"{input_name} is a memmap of shape {X.shape}: it needs rows of at least one feature.")
        rows, low, high = cls(X, X.shape[1:], None, None), np.inf, -np.inf
        for start in range(0, len(X), rows.chunk_rows()):
            chunk = as_float32(rows._raw_rows(start, start + rows.chunk_rows()), input_name, finite_checked=False)
            low, high = min(low, float(chunk.min())), max(high, float(chunk.max()))
        rows._low, rows._high = low, high
        return rows

    # -- what a fit reads of its X -----------------------------------------------

    @property
    def shape(self):
        return (len(self._X), *self.sample_shape)

    @property
    def ndim(self):
        return 1 + len(self.sample_shape)

    dtype = np.dtype(np.float32)

    def __len__(self):
        return len(self._X)

    def min(self):
        return self._low

    def max(self):
        return self._high

    def reshape(self, shape):
        """The same rows, each in ``shape[1:]`` (the network's layout)."""
        if shape[0] != len(self) or math.prod(shape[1:]) != math.prod(self.sample_shape):
            raise ValueError(f"cannot reshape rows of shape {self.shape} into {shape}")
        return ChunkedRows(self._X, shape[1:], self._low, self._high)

    def __getitem__(self, rows):
        """Rows ``start:stop`` (a slice with step 1) as a float32 array."""
        start, stop, step = rows.indices(len(self))
        if step != 1:
            raise IndexError("ChunkedRows takes slices with step 1")
        return self._read(start, max(start, stop))

    # -- reading -------------------------------------------------------------------

    def chunk_rows(self, multiple_of=1):
        """Rows per chunk: about CHUNK_BYTES of float32, a multiple of ``multiple_of``."""
        per_row = 4 * math.prod(self.sample_shape)
        return max(multiple_of, CHUNK_BYTES // per_row // multiple_of * multiple_of)

    def chunks(self):
        """The chunks, in turn."""
        size = self.chunk_rows()
        for start in range(0, len(self), size):
            yield self._read(start, start + size)

    def stream(self, batch_size, seed=None, *, shuffle=True, endless=False):
        """The rows as a tf.data stream of ``(batch, batch)``, as
        ``skae._stream.batches`` streams an array: each pass visits the
        chunks in a new order and the rows of each chunk in a new order,
        reading one chunk at a time (a weaker shuffle than a permutation of
        all rows). Chunks are whole batches, so an epoch has as many batches
        as in memory.
        """
        size = self.chunk_rows(batch_size)

        def chunk(i):
            rows = self._read(i * size, (i + 1) * size)
            return rows, rows

        n_chunks = -(-len(self) // size)
        passes = shuffled_passes(chunk, n_chunks, batch_size, seed, shuffle=shuffle, endless=endless)
        return generated_stream(passes, self, self, -(-len(self) // batch_size), endless=endless)

    def _read(self, start, stop):
        rows = as_float32(self._raw_rows(start, stop))
        return rows.reshape((len(rows), *self.sample_shape))

    def _raw_rows(self, start, stop):
        """Rows ``start:stop`` as they are stored."""
        X, stop = self._X, min(stop, len(self._X))
        if self._file_offset is None:
            return np.array(X[start:stop])
        items = math.prod(X.shape[1:])
        with open(X.filename, "rb") as file:
            file.seek(self._file_offset + start * items * X.itemsize)
            raw = np.fromfile(file, X.dtype, (stop - start) * items)
        return raw.reshape((stop - start, *X.shape[1:]))


def _file_offset(X):
    """Where X's first row lies in its file, when its rows lie there in one
    contiguous run of its own dtype and the file holds what X holds; else
    None (read through the mapping). A copy-on-write memmap (mode "c") may
    hold changes its file does not."""
    source = getattr(X, "_mmap", None)
    if X.filename is None or X.mode == "c" or not isinstance(source, mmap.mmap) or not X.flags.c_contiguous:
        return None
    base = np.frombuffer(source, np.uint8).ctypes.data
    mapped_from = X.offset - X.offset % mmap.ALLOCATIONGRANULARITY
    return mapped_from + X.ctypes.data - base
