"""MNIST handwritten digits, loaded as ``keras.datasets.mnist.load_data()`` loads them.

``load_data()`` returns ``((x_train, y_train), (x_test, y_test))``: uint8 images shaped
(60000, 28, 28) and (10000, 28, 28), uint8 labels 0..9 shaped (60000,) and (10000,).

Where the data comes from, first match wins:

1. ``path``, when given: a directory holding ``mnist.npz`` or the four IDX files of
   LeCun's site (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
   ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``; gzipped or not), or
   the path of an ``.npz`` file with Keras' keys (``x_train, y_train, x_test, y_test``).
2. The directory named by the environment variable ``SYMGRAPH_MNIST_DIR`` (same forms).
3. The cache, ``cache_dir()``: ``$SYMGRAPH_CACHE_DIR/datasets``, else
   ``$XDG_CACHE_HOME/symgraph/datasets``, else ``~/.cache/symgraph/datasets``, holding
   ``mnist.npz`` or the IDX files.
4. A download of Keras' ``mnist.npz`` (``DEFAULT_URL``, or ``url=`` /
   ``SYMGRAPH_MNIST_URL``) into the cache: streamed to a private temporary file in the
   cache directory, checked against its SHA-256 (``DEFAULT_SHA256``, or ``sha256=`` /
   ``SYMGRAPH_MNIST_SHA256``), its arrays validated, then moved into place with an
   atomic rename, so a partial or wrong download never becomes a cache entry.

A place named explicitly (``path`` or ``SYMGRAPH_MNIST_DIR``) that holds no data raises
FileNotFoundError instead of falling through to the download. A directory named
explicitly that holds a ``SHA256SUMS`` file (``sha256sum``'s format, as the copy the
repository ships in ``examples/data/mnist`` does) has every file read from it checked
against that list first: a file the list lacks, or whose hash differs, raises ValueError.

Files are untrusted input: IDX headers are checked (magic number, element type, rank,
28x28 images, matching counts) and so is the file length, gzip streams are read no
further than the header says, ``.npz`` files are opened with ``allow_pickle=False`` and
their arrays' dtypes, shapes and label range checked. A damaged file raises ValueError
naming the file. A damaged ``mnist.npz`` in the cache is removed with a warning and
downloaded again. The cache directories are created with mode 0700.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from symgraph.userdirs import cache_root, make_private_dirs, private_dir

__all__ = ["load_data", "cache_dir", "read_idx", "DEFAULT_URL", "DEFAULT_SHA256"]

DEFAULT_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
DEFAULT_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
NPZ_NAME = "mnist.npz"
CHECKSUMS_NAME = "SHA256SUMS"

# The four IDX files, keyed by the names of the arrays they hold (Keras' npz keys).
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
KEYS = tuple(IDX_FILES)
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

# IDX element types (the third byte of the magic number); MNIST uses 0x08, unsigned byte.
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_BYTES = 1 << 30  # no MNIST array comes near this; larger headers are damage
_DOWNLOAD_LIMIT = 256 << 20  # Keras' mnist.npz is 11 MB
_DOWNLOAD_TIMEOUT = 60.0

Split = tuple[np.ndarray, np.ndarray]


def load_data(
    path: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, like Keras' loader.

    ``path``: a directory (``mnist.npz`` or the IDX files) or an ``.npz`` file; when
    omitted, ``SYMGRAPH_MNIST_DIR``, then the cache, then a download (see the module
    docstring). ``url`` and ``sha256`` override where the download comes from and the
    hash it must have (defaults: ``SYMGRAPH_MNIST_URL`` / ``SYMGRAPH_MNIST_SHA256``, then
    Keras' public copy). ``cache_dir`` overrides the cache directory.
    """
    if path is not None:
        return _as_splits(_load_explicit(Path(os.fspath(path)), "path"))
    env_dir = os.environ.get("SYMGRAPH_MNIST_DIR")
    if env_dir:
        return _as_splits(_load_explicit(Path(env_dir), "SYMGRAPH_MNIST_DIR"))

    # the default cache is checked private (owner, mode, links) before anything in it is
    # read: a file another user put there is data we would load, and a dataset cache_dir
    # the caller names is theirs to judge
    cache = Path(os.fspath(cache_dir)) if cache_dir is not None else private_dir(private_dir(cache_root()) / "datasets")
    cached_npz = cache / NPZ_NAME
    if cached_npz.is_file():
        try:
            return _as_splits(load_npz(cached_npz))
        except ValueError as exc:
            warnings.warn(f"removing the damaged cache entry ({exc}); downloading MNIST again", stacklevel=2)
            cached_npz.unlink(missing_ok=True)
    if cache.is_dir():
        arrays = _load_idx_dir(cache)
        if arrays is not None:
            return _as_splits(arrays)

    url = url or os.environ.get("SYMGRAPH_MNIST_URL") or DEFAULT_URL
    sha256 = sha256 or os.environ.get("SYMGRAPH_MNIST_SHA256") or DEFAULT_SHA256
    make_private_dirs(cache)
    return _as_splits(_download(url, sha256, cache / NPZ_NAME))


def cache_dir() -> Path:
    """The directory datasets are cached in (not created here).

    ``$SYMGRAPH_CACHE_DIR/datasets``, else ``$XDG_CACHE_HOME/symgraph/datasets``, else
    ``~/.cache/symgraph/datasets``.
    """
    return _default_cache_dir()


# --- where the files are -------------------------------------------------------------


def _default_cache_dir() -> Path:
    return cache_root() / "datasets"


def _load_explicit(place: Path, origin: str) -> dict[str, np.ndarray]:
    """The arrays at a place the user named; FileNotFoundError when nothing is there."""
    place = place.expanduser()
    if place.is_file():
        return load_npz(place)
    if place.is_dir():
        checksums = _read_checksums(place)
        if (place / NPZ_NAME).is_file():
            return load_npz(_checked(place / NPZ_NAME, checksums))
        arrays = _load_idx_dir(place, checksums)
        if arrays is not None:
            return arrays
        raise FileNotFoundError(
            f"MNIST ({origin}): {place} holds neither {NPZ_NAME} nor the IDX files "
            f"{', '.join(n + '.gz' for n in IDX_FILES.values())}"
        )
    raise FileNotFoundError(f"MNIST ({origin}): no such file or directory: {place}")


def _idx_file(directory: Path, name: str) -> Path | None:
    for candidate in (directory / (name + ".gz"), directory / name):
        if candidate.is_file():
            return candidate
    return None


def _load_idx_dir(directory: Path, checksums: dict[str, str] | None = None) -> dict[str, np.ndarray] | None:
    """The four IDX files in ``directory`` (each checked against ``checksums`` when given);
    None if there are none, an error if some are missing."""
    found = {key: _idx_file(directory, name) for key, name in IDX_FILES.items()}
    if all(p is None for p in found.values()):
        return None
    missing = [IDX_FILES[k] + ".gz" for k, p in found.items() if p is None]
    if missing:
        raise FileNotFoundError(f"MNIST: {directory} holds some IDX files but not {', '.join(missing)}")
    arrays = {}
    for split in ("train", "test"):
        x_path, y_path = found[f"x_{split}"], found[f"y_{split}"]
        assert x_path is not None and y_path is not None
        x = read_idx(_checked(x_path, checksums), expect_dtype=np.uint8, expect_shape=(None, *IMAGE_SHAPE))
        y = read_idx(_checked(y_path, checksums), expect_dtype=np.uint8, expect_shape=(x.shape[0],))
        _check_labels(y, y_path)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return arrays


# --- SHA256SUMS ----------------------------------------------------------------------

# One line of ``sha256sum``'s output: the hex digest, a space, then " " (text) or "*" (binary) and the name.
_CHECKSUM_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")


def _read_checksums(directory: Path) -> dict[str, str] | None:
    """The SHA-256 (lower-case hex) of each file ``directory/SHA256SUMS`` lists, by file
    name; None when the directory has no such file. A malformed line raises ValueError."""
    listing = directory / CHECKSUMS_NAME
    if not listing.is_file():
        return None
    checksums = {}
    for number, line in enumerate(listing.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        match = _CHECKSUM_LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"{listing}, line {number}: not a line of sha256sum's output: {line[:80]!r}")
        digest, name = match.groups()
        checksums[name.removeprefix("./")] = digest.lower()
    return checksums


def _checked(path: Path, checksums: dict[str, str] | None) -> Path:
    """``path``, once its SHA-256 matches its entry in ``checksums`` (no check when None)."""
    if checksums is None:
        return path
    expected = checksums.get(path.name)
    if expected is None:
        raise ValueError(f"{path}: not listed in {path.parent / CHECKSUMS_NAME}, so it cannot be checked")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise ValueError(
            f"{path}: SHA-256 {digest.hexdigest()}, but {CHECKSUMS_NAME} lists {expected}: the file was changed"
        )
    return path


# --- IDX ----------------------------------------------------------------------------


def read_idx(
    path: str | os.PathLike,
    expect_dtype: Any = None,
    expect_shape: tuple[int | None, ...] | None = None,
) -> np.ndarray:
    """Read one IDX file (gzipped or not; detected by content) into a native-endian array.

    The header is checked before any data is read: two zero bytes, a known element type
    (and ``expect_dtype`` when given), the rank and sizes (``expect_shape``, ``None``
    matching any size). The data must fill the header's shape exactly: a short file or
    trailing bytes raise ValueError naming the file, as do a bad gzip stream or CRC.
    """
    path = Path(os.fspath(path))
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as f:
            return _read_idx_stream(f, path, expect_dtype, expect_shape)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: damaged gzip stream ({exc})") from None


def _read_idx_stream(f: Any, path: Path, expect_dtype: Any, expect_shape: tuple | None) -> np.ndarray:
    magic = _read_exactly(f, 4, path, "the magic number")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES or not 1 <= magic[3] <= 8:
        raise ValueError(f"{path}: not an IDX file (bad magic number 0x{magic.hex()})")
    dtype, ndim = _IDX_TYPES[magic[2]], magic[3]
    if expect_dtype is not None and dtype.newbyteorder("=") != np.dtype(expect_dtype):
        raise ValueError(f"{path}: IDX element type is {dtype.name}, expected {np.dtype(expect_dtype).name}")
    header = _read_exactly(f, 4 * ndim, path, "the dimensions")
    shape = tuple(int(d) for d in np.frombuffer(header, ">u4"))
    if expect_shape is not None:
        if len(shape) != len(expect_shape) or any(e is not None and e != s for e, s in zip(expect_shape, shape)):
            want = "(" + ", ".join("N" if e is None else str(e) for e in expect_shape) + ")"
            raise ValueError(f"{path}: IDX dimensions {shape}, expected {want}")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes > _MAX_BYTES:
        raise ValueError(f"{path}: IDX dimensions {shape} are implausibly large")
    out = np.empty(shape, dtype.newbyteorder("="))
    view = memoryview(out.reshape(-1).view(np.uint8))
    filled = 0
    while filled < nbytes:
        n = f.readinto(view[filled:])
        if not n:
            raise ValueError(f"{path}: truncated IDX file: {filled} of the {nbytes} data bytes for shape {shape}")
        filled += n
    if f.read(1):
        raise ValueError(f"{path}: trailing bytes after the {nbytes} data bytes the IDX header announces")
    if dtype.byteorder == ">":
        out.byteswap(inplace=True)
    return out


def _read_exactly(f: Any, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: truncated IDX file: it ends inside {what}")
    return data


# --- npz ----------------------------------------------------------------------------


def load_npz(path: str | os.PathLike, label: str | None = None) -> dict[str, np.ndarray]:
    """Keras' ``mnist.npz`` arrays, validated; ValueError naming the file if damaged."""
    path = Path(os.fspath(path))
    name = label or str(path)
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError(f"{name}: a single .npy array, not an .npz archive")
        with npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise ValueError(f"{name}: the archive lacks {', '.join(missing)} (has {', '.join(npz.files)})")
            for key in KEYS:
                if npz.zip.getinfo(key + ".npy").file_size > _MAX_BYTES:
                    raise ValueError(f"{name}: array {key} is implausibly large")
            arrays = {key: npz[key] for key in KEYS}
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as exc:
        raise ValueError(f"{name}: damaged .npz archive ({exc})") from None
    except ValueError as exc:
        if str(exc).startswith(name):
            raise
        raise ValueError(f"{name}: damaged .npz archive ({exc})") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            raise ValueError(f"{name}: x_{split} is {x.dtype}{list(x.shape)}, expected uint8[N, 28, 28]")
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise ValueError(f"{name}: y_{split} is {y.dtype}{list(y.shape)}, expected uint8[{x.shape[0]}]")
        _check_labels(y, name)
        arrays[f"y_{split}"] = y.astype(np.uint8, copy=False)
    return arrays


def _check_labels(y: np.ndarray, name: object) -> None:
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise ValueError(f"{name}: labels outside 0..{NUM_CLASSES - 1} (min {y.min()}, max {y.max()})")


def _as_splits(arrays: dict[str, np.ndarray]) -> tuple[Split, Split]:
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


# --- download -----------------------------------------------------------------------


def _download(url: str, sha256: str, dest: Path) -> dict[str, np.ndarray]:
    """Fetch ``url`` to ``dest`` (temp file, SHA-256 check, validation, atomic rename)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("https", "http"):
        raise ValueError(f"MNIST download: only http(s) URLs are fetched, got {url!r}")
    expected = sha256.strip().lower()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        total = 0
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response:
                while chunk := response.read(1 << 16):
                    total += len(chunk)
                    if total > _DOWNLOAD_LIMIT:
                        raise ValueError(f"MNIST download from {url}: more than {_DOWNLOAD_LIMIT} bytes; aborted")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, OSError) as exc:
            raise OSError(
                f"could not download MNIST from {url} ({exc}); put mnist.npz or the IDX files in "
                f"{dest.parent}, or point SYMGRAPH_MNIST_DIR at a directory holding them"
            ) from exc
        actual = digest.hexdigest()
        if actual != expected:
            raise ValueError(f"MNIST download from {url}: SHA-256 {actual}, expected {expected}; file discarded")
        arrays = load_npz(tmp, label=f"{url} (downloaded)")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return arrays
