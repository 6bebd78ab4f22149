"""Data: the IDX format of MNIST, MNIST by download, Fashion-MNIST offline, and small helpers.

The loaders return raw arrays the way the files hold them, Keras style::

    (train_images, train_labels), (test_images, test_labels) = load_fashion_mnist()

images ``uint8`` of shape (N, 28, 28) and labels ``uint8`` of shape (N,);
:func:`scale_images` turns images into the float rows ``(N, 784)`` in [0, 1]
a network takes, :func:`one_hot` turns labels into rows.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import BinaryIO

import numpy as np

from models.errors import ChecksumError, DataFileError, DownloadError
from models.files import atomic_write

__all__ = [
    "read_idx",
    "write_idx",
    "load_idx_directory",
    "load_mnist",
    "load_fashion_mnist",
    "scale_images",
    "one_hot",
    "MNIST_FILES",
    "MNIST_SHA256",
    "MNIST_MIRRORS",
    "FASHION_MNIST_DIR",
]

# IDX type codes (byte 3 of the magic number) and the big-endian dtypes they stand for.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("=").str.lstrip("<>|="): k for k, v in _IDX_DTYPES.items()}

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
"""The four files of MNIST (and of Fashion-MNIST, which uses the same names)."""

MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
"""SHA-256 of the published MNIST files; a download must match them."""

MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
"""Where :func:`load_mnist` looks for MNIST, in order (the original host is often down)."""

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package puts the Fashion-MNIST IDX files."""

_CHUNK = 1 << 16
_MAX_IDX_DIMS = 32  # numpy's limit before 2.0 (64 since); no IDX data set comes near


# -- the IDX format -------------------------------------------------------------------


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the format of MNIST), gzipped or not.

    An IDX file is a 4-byte magic number ``0 0 type ndim``, then ``ndim``
    big-endian uint32 sizes, then the data, big-endian, C order. Whether the
    file is gzipped is read from its first bytes, not its name.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    numpy.ndarray
        In native byte order, e.g. ``uint8`` of shape (60000, 28, 28).

    Raises
    ------
    DataFileError
        The file is missing, not IDX (wrong magic number, unknown type code),
        truncated, longer than its header says, or a broken gzip stream; the
        message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x-idx2-ubyte.gz"
    >>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    where = f"IDX file {str(path)!r}"
    gzipped = False
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if gzipped:
                with gzip.open(raw, "rb") as stream:
                    return _read_idx_stream(stream, where, size=None)
            return _read_idx_stream(raw, where, size=os.fstat(raw.fileno()).st_size)
    except FileNotFoundError:
        raise DataFileError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise DataFileError(f"{where} is a directory, not a file") from None
    except (OSError, EOFError, zlib.error) as error:
        kind = "a readable gzip stream" if gzipped else "readable"
        raise DataFileError(f"{where} is not {kind}: {error}") from None


def _read_idx_stream(stream: gzip.GzipFile | BinaryIO, where: str, size: int | None) -> np.ndarray:
    """Parse IDX from ``stream``: the header first, and the data only once the header is known to be possible.

    ``size`` is the file's length when known (not gzipped); a gzip stream is
    read in chunks up to what the header declares, so memory never exceeds
    what the file really holds.
    """
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataFileError(f"{where} is truncated: {len(magic)} bytes, not even the 4-byte magic number")
    zero1, zero2, code, ndim = magic
    if zero1 or zero2 or code not in _IDX_DTYPES:
        raise DataFileError(
            f"{where} is not an IDX file: magic number {magic.hex()} should be 0000 followed by a "
            f"type code ({', '.join(f'{c:02x}' for c in _IDX_DTYPES)}) and the number of dimensions"
        )
    if not 1 <= ndim <= _MAX_IDX_DIMS:
        raise DataFileError(
            f"{where} declares {ndim} dimensions in its magic number {magic.hex()}; "
            f"an IDX array has 1 to {_MAX_IDX_DIMS} (MNIST images have 3, labels 1)"
        )
    header = 4 + 4 * ndim
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataFileError(
            f"{where} is truncated in its header: {ndim} sizes need {header} bytes, found {4 + len(sizes)}"
        )
    shape = tuple(int(n) for n in np.frombuffer(sizes, dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python integers: sizes whose product overflows int64 stay exact
    needs = f"shape {shape} of {dtype.newbyteorder('=').name} needs {expected:,} bytes of data"
    if size is not None and size - header != expected:
        found = size - header
        if found < expected:
            raise DataFileError(f"{where} is truncated: {needs}, found {found:,}")
        raise DataFileError(f"{where} has {found - expected:,} bytes after the data its header {shape} describes")
    content = bytearray()
    while len(content) < expected:
        chunk = stream.read(min(_CHUNK * 16, expected - len(content)))
        if not chunk:
            raise DataFileError(f"{where} is truncated: {needs}, found {len(content):,}")
        content += chunk
    extra = sum(len(chunk) for chunk in iter(lambda: stream.read(_CHUNK), b""))  # counted, never kept
    if extra:
        raise DataFileError(f"{where} has {extra:,} bytes after the data its header {shape} describes")
    return np.frombuffer(content, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file, gzipped when the name ends in ``.gz``.

    The inverse of :func:`read_idx`, for tests and for one's own data sets.
    """
    array = np.ascontiguousarray(array)
    if array.ndim == 0:
        raise ValueError("IDX holds arrays of 1 or more dimensions, got a 0-d array: write np.atleast_1d(array)")
    code = _IDX_CODES.get(array.dtype.str.lstrip("<>|="))
    if code is None:
        raise TypeError(
            f"IDX has no type for dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64"
        )
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    content = header + array.astype(_IDX_DTYPES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    with atomic_write(path) as stream:
        stream.write(content)


def load_idx_directory(directory: str | os.PathLike):
    """Read the four MNIST-layout IDX files of ``directory``.

    Each file may be gzipped (``train-images-idx3-ubyte.gz``) or not
    (``train-images-idx3-ubyte``, or ``train-images.idx3-ubyte`` as some
    copies name it).

    Returns
    -------
    ((train_images, train_labels), (test_images, test_labels))

    Raises
    ------
    DataFileError
        A file is missing, broken, or the images and labels disagree in number.
    """
    directory = Path(directory)
    if directory.is_file():
        raise DataFileError(f"data directory {str(directory)!r} is a file: pass the directory that holds the IDX files")
    if not directory.is_dir():
        raise DataFileError(f"data directory {str(directory)!r} does not exist")
    arrays = {}
    for key, name in MNIST_FILES.items():
        stem = name.removesuffix(".gz")
        candidates = [name, stem, stem.replace("-idx", ".idx")]
        found = next((directory / c for c in candidates if (directory / c).is_file()), None)
        if found is None:
            raise DataFileError(f"data directory {str(directory)!r} has no {' or '.join(candidates)}")
        arrays[key] = read_idx(found)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataFileError(
                f"data directory {str(directory)!r}: {split} images {images.shape} and labels {labels.shape} "
                "do not pair up; expected (N, rows, cols) and (N,)"
            )
    return (arrays["train_images"], arrays["train_labels"]), (arrays["test_images"], arrays["test_labels"])


# -- the data sets ------------------------------------------------------------------------


def load_fashion_mnist(path: str | os.PathLike | None = None):
    """Fashion-MNIST, offline: 60,000 training and 10,000 test images of clothing, 10 classes.

    Parameters
    ----------
    path : path-like, optional
        A directory of the four IDX files. By default the one Debian's
        ``dataset-fashion-mnist`` package installs, :data:`FASHION_MNIST_DIR`.

    Returns
    -------
    ((train_images, train_labels), (test_images, test_labels))
        uint8 images (N, 28, 28) and labels (N,) in 0..9.

    Raises
    ------
    DataFileError
        The directory or a file is missing (the message says how to install
        the package) or broken.
    """
    directory = Path(path) if path is not None else FASHION_MNIST_DIR
    if path is None and not directory.is_dir():
        raise DataFileError(
            f"Fashion-MNIST is not installed at {str(directory)!r}: run `apt-get install dataset-fashion-mnist` "
            "(Debian/Ubuntu), or pass the directory of its IDX files"
        )
    return load_idx_directory(directory)


def load_mnist(
    cache_dir: str | os.PathLike | None = None,
    url: str | Sequence[str] = MNIST_MIRRORS,
    *,
    checksums: Mapping[str, str] = MNIST_SHA256,
    timeout: float = 60.0,
):
    """MNIST handwritten digits, downloaded once into a cache and checked by SHA-256.

    Each of the four files is fetched only if the cache lacks it (or holds a
    copy whose checksum is wrong), from the first mirror that delivers an
    intact copy. A download streams into a temporary file
    next to its destination and is renamed into place only when complete and
    matching its SHA-256, so an interrupted or corrupt transfer leaves nothing
    in the cache.

    Parameters
    ----------
    cache_dir : path-like, optional
        Default ``$XDG_CACHE_HOME/gategraph/mnist`` (``~/.cache/gategraph/mnist``).
    url : str or sequence of str
        Base URL(s) the file names are appended to, tried in order.
    checksums : mapping of file name to SHA-256 hex digest
        What each file must hash to; the published MNIST ones by default.
    timeout : float
        Seconds to wait on the network before giving up on a mirror.

    Returns
    -------
    ((train_images, train_labels), (test_images, test_labels))
        uint8 images (N, 28, 28) and labels (N,) in 0..9.

    Raises
    ------
    DownloadError
        No mirror could deliver a file (the message lists why each failed).
    ChecksumError
        No mirror delivered a file that hashes to its checksum.
    DataFileError
        A file arrived intact but is not valid IDX.
    """
    bases = [url] if isinstance(url, str) else list(url)
    if not bases or not all(isinstance(base, str) and base for base in bases):
        raise ValueError(f"load_mnist url must be a base URL or a sequence of them, got {url!r}")
    if isinstance(timeout, (bool, np.bool_)) or not isinstance(timeout, Real) or not 0 < timeout < math.inf:
        raise ValueError(f"load_mnist timeout must be a positive number of seconds, got {timeout!r}")
    missing = [name for name in MNIST_FILES.values() if name not in checksums]
    if missing:
        raise ValueError(f"load_mnist checksums lack {', '.join(missing)}: give a SHA-256 for each of the four files")
    malformed = {name: checksums[name] for name in MNIST_FILES.values() if not _is_sha256(checksums[name])}
    if malformed:
        raise ValueError(f"load_mnist checksums must be 64 hex digits (SHA-256), got {malformed}")
    cache = Path(cache_dir) if cache_dir is not None else _default_cache() / "mnist"
    cache.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES.values():
        expected = checksums[name].lower()
        target = cache / name
        if target.is_file() and _sha256(target) == expected:
            continue
        _download_first(bases, name, target, expected, timeout)
    return load_idx_directory(cache)


def _is_sha256(digest) -> bool:
    return isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest.lower())


def _default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gategraph"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_first(bases: list[str], name: str, target: Path, expected: str, timeout: float) -> None:
    """Download ``name`` from the first base URL that delivers it intact; a bad copy tries the next."""
    failures: list[DownloadError] = []
    for base in bases:
        address = (base if base.endswith("/") else base + "/") + name
        try:
            _download(address, target, expected, timeout)
            return
        except DownloadError as error:
            failures.append(error)
    error_type = ChecksumError if any(isinstance(e, ChecksumError) for e in failures) else DownloadError
    raise error_type(f"could not download {name}: " + "; ".join(map(str, failures)))


def _download(address: str, target: Path, expected: str, timeout: float) -> None:
    """Stream ``address`` into a temporary file, check it, then rename it to ``target``."""
    digest = hashlib.sha256()
    try:
        with atomic_write(target) as out, urllib.request.urlopen(address, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            received = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
            if length is not None and received != int(length):
                raise DownloadError(f"{address}: transfer cut short, {received} of {length} bytes")
            actual = digest.hexdigest()
            if actual != expected:
                raise ChecksumError(f"{address}: SHA-256 {actual} differs from the expected {expected}; file discarded")
    except DownloadError:
        raise
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise DownloadError(f"{address}: {error}") from error


# -- helpers ---------------------------------------------------------------------------------


def scale_images(images, dtype=np.float32, *, flat: bool = True) -> np.ndarray:
    """Scale bytes 0..255 to [0, 1]; flatten images (N, ...) to rows (N, features), or keep them as images.

    With ``flat=False`` the images keep their shape, as a convolutional
    network takes them: (N, H, W) gains a channel axis, (N, 1, H, W); images
    that have one, (N, C, H, W), keep it.

    Zero images give an empty (0, features) result.

    Examples
    --------
    >>> scale_images(np.array([[[0, 255], [51, 102]]], dtype=np.uint8))
    array([[0. , 1. , 0.2, 0.4]], dtype=float32)
    >>> scale_images(np.zeros((0, 28, 28), dtype=np.uint8)).shape
    (0, 784)
    >>> scale_images(np.zeros((5, 28, 28), dtype=np.uint8), flat=False).shape
    (5, 1, 28, 28)
    """
    images = np.asarray(images)
    dtype = np.dtype(dtype)
    if images.ndim < 1:
        raise ValueError(f"scale_images takes images of shape (N, ...), got a 0-d {images.dtype} array")
    if dtype.kind != "f":
        raise TypeError(f"scale_images returns floats in [0, 1]: dtype must be a float dtype, got {dtype}")
    if flat:
        # reshape(N, -1) cannot infer the width of zero rows: give it
        shaped = images.reshape(len(images), math.prod(images.shape[1:]))
    elif images.ndim == 3:
        shaped = images[:, np.newaxis]
    elif images.ndim == 4:
        shaped = images
    else:
        raise ValueError(f"scale_images(flat=False) takes images (N, H, W) or (N, C, H, W), got shape {images.shape}")
    return (shaped / np.asarray(255, dtype=dtype)).astype(dtype, copy=False)


def one_hot(labels, classes: int | None = None, dtype=np.float32) -> np.ndarray:
    """Integer labels (N,) as one-hot rows (N, classes).

    ``classes`` defaults to the largest label plus one (0 for no labels).

    Examples
    --------
    >>> one_hot(np.array([0, 2, 1]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot needs integer labels of shape (N,), got {labels.dtype} {labels.shape}")
    if classes is None:
        classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(classes, (bool, np.bool_)) or not isinstance(classes, (int, np.integer)) or classes < 0:
        raise ValueError(f"one_hot classes must be a whole number >= 0, got {classes!r}")
    classes = int(classes)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"one_hot labels must lie in [0, {classes}), got {labels.min()}..{labels.max()}")
    rows = np.zeros((len(labels), classes), dtype=dtype)
    rows[np.arange(len(labels)), labels] = 1
    return rows
