"""symgraph.datasets.mnist: the real files, damaged files, the cache and the download.

The real MNIST is the copy the repository ships in ``examples/data/mnist`` (with its
SHA256SUMS). Downloads only ever go to a local HTTP server on 127.0.0.1 started by the test:
every test runs with a private cache directory and a default URL that refuses
connections, so nothing here reaches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import stat
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from symgraph.datasets import mnist
from symgraph.userdirs import CacheError

REAL_DIR = Path(__file__).resolve().parents[1] / "examples" / "data" / "mnist"
T10K_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache, no MNIST directory from the environment, and no way out to the network."""
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMGRAPH_MNIST_URL", "http://127.0.0.1:9/mnist.npz")  # discard port: refused
    for name in ("SYMGRAPH_MNIST_DIR", "SYMGRAPH_MNIST_SHA256", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --- small data sets built by the tests -----------------------------------------------


def small_arrays(n_train: int = 12, n_test: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def write_idx_dir(directory: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for key, name in mnist.IDX_FILES.items():
        data = idx_bytes(arrays[key])
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return directory


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def assert_splits_equal(result, arrays) -> None:
    (x_train, y_train), (x_test, y_test) = result
    for got, key in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"), (y_test, "y_test")):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])


# --- the real files ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_mnist():
    return mnist.load_data(REAL_DIR)


def test_real_mnist_shapes_dtypes_and_label_counts(real_mnist):
    (x_train, y_train), (x_test, y_test) = real_mnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert np.bincount(y_test, minlength=10).tolist() == T10K_LABEL_COUNTS
    assert y_train.max() == 9 and x_train.max() == 255 and x_train.min() == 0
    assert x_train.flags.writeable and x_train.flags.c_contiguous


def test_real_mnist_matches_the_published_uncompressed_hashes(real_mnist):
    (x_train, y_train), (x_test, y_test) = real_mnist
    published = {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }
    assert hashlib.sha256(idx_bytes(x_train)).hexdigest() == published["train-images-idx3-ubyte"]
    assert hashlib.sha256(idx_bytes(y_train)).hexdigest() == published["train-labels-idx1-ubyte"]
    assert hashlib.sha256(idx_bytes(x_test)).hexdigest() == published["t10k-images-idx3-ubyte"]
    assert hashlib.sha256(idx_bytes(y_test)).hexdigest() == published["t10k-labels-idx1-ubyte"]


def test_shipped_copy_lists_exactly_its_four_files():
    listed = dict(line.split()[::-1] for line in (REAL_DIR / "SHA256SUMS").read_text().splitlines())
    assert sorted(listed) == sorted(name + ".gz" for name in mnist.IDX_FILES.values())
    for name, digest in listed.items():
        assert hashlib.sha256((REAL_DIR / name).read_bytes()).hexdigest() == digest, name


def test_environment_directory_is_used(monkeypatch, real_mnist):
    monkeypatch.setenv("SYMGRAPH_MNIST_DIR", str(REAL_DIR))
    (_, _), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(y_test, real_mnist[1][1])
    np.testing.assert_array_equal(x_test[:100], real_mnist[1][0][:100])


# --- SHA256SUMS -----------------------------------------------------------------------------


def write_checksums(directory: Path, style: str = " ") -> Path:
    """A SHA256SUMS listing every file in ``directory``, as ``sha256sum`` writes it."""
    lines = [
        f"{hashlib.sha256(f.read_bytes()).hexdigest()} {style}{f.name}\n"
        for f in sorted(directory.iterdir())
        if f.name != "SHA256SUMS"
    ]
    (directory / "SHA256SUMS").write_text("".join(lines))
    return directory


@pytest.mark.parametrize("style", [" ", "*", " ./"])  # text mode, binary mode, a path from "."
def test_listed_files_with_their_hashes_load(tmp_path, style):
    arrays = small_arrays()
    directory = write_checksums(write_idx_dir(tmp_path / "d", arrays), style)
    assert_splits_equal(mnist.load_data(directory), arrays)


def test_a_replaced_file_is_refused_by_its_hash(tmp_path, monkeypatch):
    directory = write_checksums(write_idx_dir(tmp_path / "d", small_arrays(seed=0)))
    # a valid IDX file, only the hash tells it is not the one listed
    other = small_arrays(seed=1)["x_test"]
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(other)))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: SHA-256 [0-9a-f]{64}, but SHA256SUMS lists"):
        mnist.load_data(directory)
    monkeypatch.setenv("SYMGRAPH_MNIST_DIR", str(directory))
    with pytest.raises(ValueError, match="SHA256SUMS lists"):
        mnist.load_data()


def test_a_file_the_list_lacks_is_refused(tmp_path):
    directory = write_checksums(write_idx_dir(tmp_path / "d", small_arrays()))
    listing = (directory / "SHA256SUMS").read_text().splitlines(keepends=True)
    (directory / "SHA256SUMS").write_text("".join(line for line in listing if "train-labels" not in line))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz: not listed in"):
        mnist.load_data(directory)


def test_a_listed_npz_is_checked_too(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "mnist.npz").write_bytes(npz_bytes(small_arrays(seed=0)))
    write_checksums(directory)
    assert_splits_equal(mnist.load_data(directory), small_arrays(seed=0))
    (directory / "mnist.npz").write_bytes(npz_bytes(small_arrays(seed=1)))
    with pytest.raises(ValueError, match=r"mnist\.npz: SHA-256"):
        mnist.load_data(directory)


def test_a_malformed_sha256sums_names_its_line(tmp_path):
    directory = write_checksums(write_idx_dir(tmp_path / "d", small_arrays()))
    with open(directory / "SHA256SUMS", "a") as f:
        f.write("\nnot a checksum line\n")
    with pytest.raises(ValueError, match=r"SHA256SUMS, line 6: not a line of sha256sum's output"):
        mnist.load_data(directory)


# --- the places looked in -------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_directory(tmp_path, gz):
    arrays = small_arrays()
    assert_splits_equal(mnist.load_data(write_idx_dir(tmp_path / "d", arrays, gz=gz)), arrays)


def test_npz_file_and_directory(tmp_path):
    arrays = small_arrays()
    (tmp_path / "mnist.npz").write_bytes(npz_bytes(arrays))
    assert_splits_equal(mnist.load_data(tmp_path / "mnist.npz"), arrays)
    assert_splits_equal(mnist.load_data(str(tmp_path)), arrays)


def test_cache_with_idx_files(monkeypatch, tmp_path):
    arrays = small_arrays()
    write_idx_dir(tmp_path / "cache" / "datasets", arrays)
    assert_splits_equal(mnist.load_data(), arrays)


def test_explicit_places_without_data_raise(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="no such file"):
        mnist.load_data(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="holds neither"):
        mnist.load_data(tmp_path)
    monkeypatch.setenv("SYMGRAPH_MNIST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="SYMGRAPH_MNIST_DIR"):
        mnist.load_data()


def test_partial_idx_directory_names_the_missing_files(tmp_path):
    directory = write_idx_dir(tmp_path / "d", small_arrays())
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        mnist.load_data(directory)


def test_cache_directory_location(monkeypatch, tmp_path):
    assert mnist.cache_dir() == tmp_path / "cache" / "datasets"
    monkeypatch.delenv("SYMGRAPH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.cache_dir() == tmp_path / "xdg" / "symgraph" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.cache_dir() == tmp_path / "home" / ".cache" / "symgraph" / "datasets"


# --- damaged files ----------------------------------------------------------------------


def damaged_dir(tmp_path: Path, name: str, data: bytes, gz: bool = True) -> Path:
    directory = write_idx_dir(tmp_path / "d", small_arrays(), gz=gz)
    target = directory / (name + (".gz" if gz else ""))
    target.write_bytes(gzip.compress(data) if gz else data)
    return directory


LABELS = "t10k-labels-idx1-ubyte"
IMAGES = "train-images-idx3-ubyte"


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx_raises_naming_the_file(tmp_path, gz):
    data = idx_bytes(small_arrays()["x_train"])[:-100]
    with pytest.raises(ValueError, match=rf"{IMAGES}.*truncated"):
        mnist.load_data(damaged_dir(tmp_path, IMAGES, data, gz=gz))


def test_header_cut_short_raises(tmp_path):
    with pytest.raises(ValueError, match=rf"{IMAGES}.*truncated"):
        mnist.load_data(damaged_dir(tmp_path, IMAGES, bytes([0, 0, 8, 3, 0, 0])))


def test_trailing_bytes_raise(tmp_path):
    data = idx_bytes(small_arrays()["y_test"]) + b"\0"
    with pytest.raises(ValueError, match=rf"{LABELS}.*trailing"):
        mnist.load_data(damaged_dir(tmp_path, LABELS, data))


@pytest.mark.parametrize(
    "magic",
    [b"\x00\x00\x08\x03", b"\x12\x34\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x0d\x01", b"PK\x03\x04"],
    ids=["images-rank", "nonzero", "unknown-type", "float-labels", "zip"],
)
def test_bad_magic_raises(tmp_path, magic):
    labels = small_arrays()["y_test"]
    data = magic + np.array(labels.shape, ">u4").tobytes() + labels.tobytes()
    with pytest.raises(ValueError, match=LABELS):
        mnist.load_data(damaged_dir(tmp_path, LABELS, data))


def test_wrong_image_size_raises(tmp_path):
    data = idx_bytes(np.zeros((12, 27, 28), np.uint8))
    with pytest.raises(ValueError, match=rf"{IMAGES}.*dimensions"):
        mnist.load_data(damaged_dir(tmp_path, IMAGES, data))


def test_label_count_must_match_images(tmp_path):
    data = idx_bytes(np.zeros(4, np.uint8))  # 5 test images
    with pytest.raises(ValueError, match=rf"{LABELS}.*dimensions"):
        mnist.load_data(damaged_dir(tmp_path, LABELS, data))


def test_labels_out_of_range_raise(tmp_path):
    data = idx_bytes(np.array([0, 1, 2, 3, 10], np.uint8))
    with pytest.raises(ValueError, match=rf"{LABELS}.*labels outside"):
        mnist.load_data(damaged_dir(tmp_path, LABELS, data))


def test_implausible_dimensions_are_refused_before_reading(tmp_path):
    data = bytes([0, 0, 8, 3]) + np.array([2**32 - 1, 28, 28], ">u4").tobytes()
    with pytest.raises(ValueError, match=rf"{IMAGES}.*implausibly"):
        mnist.load_data(damaged_dir(tmp_path, IMAGES, data))


def test_damaged_gzip_raises(tmp_path):
    directory = write_idx_dir(tmp_path / "d", small_arrays())
    path = directory / (LABELS + ".gz")
    compressed = bytearray(path.read_bytes())
    compressed[-6] ^= 0xFF  # the CRC-32 in the trailer
    path.write_bytes(bytes(compressed))
    with pytest.raises(ValueError, match=LABELS):
        mnist.load_data(directory)
    path.write_bytes(bytes(compressed[: len(compressed) // 2]))
    with pytest.raises(ValueError, match=LABELS):
        mnist.load_data(directory)


def test_damaged_npz_raises_naming_the_file(tmp_path):
    path = tmp_path / "mnist.npz"
    good = npz_bytes(small_arrays())
    for data in (b"not a zip file at all", good[: len(good) // 2]):
        path.write_bytes(data)
        with pytest.raises(ValueError, match="mnist.npz"):
            mnist.load_data(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("y_test"), "lacks y_test"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "x_train"),
        (lambda a: a.update(x_test=a["x_test"][:, :27]), "x_test"),
        (lambda a: a.update(y_train=a["y_train"][:-1]), "y_train"),
        (lambda a: a.update(y_test=a["y_test"] + 10), "labels outside"),
        (lambda a: a.update(y_test=np.array([{}] * 5, dtype=object)), "mnist.npz"),
    ],
    ids=["missing-key", "float-images", "image-size", "label-count", "label-range", "object-array"],
)
def test_invalid_npz_contents_raise(tmp_path, change, message):
    arrays = small_arrays()
    change(arrays)
    path = tmp_path / "mnist.npz"
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # an object array is pickled inside; the loader must refuse it
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=message):
        mnist.load_data(path)


def test_npz_labels_of_another_integer_type_become_uint8(tmp_path):
    arrays = small_arrays()
    stored = dict(arrays, y_train=arrays["y_train"].astype(np.int64))
    (tmp_path / "mnist.npz").write_bytes(npz_bytes(stored))
    assert_splits_equal(mnist.load_data(tmp_path), arrays)


# --- the download -------------------------------------------------------------------------


class Server:
    """Serves one payload at /mnist.npz on 127.0.0.1 from a thread that stops by itself.

    The thread handles requests until ``stop()`` or a 30-second deadline, whichever comes
    first, polling every 0.1 s, so a failing test cannot leave it running.
    """

    def __init__(self, payload: bytes, lifetime: float = 30.0):
        self.payload = payload
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server spelling
                server.requests.append(self.path)
                if self.path != "/mnist.npz":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(server.payload)))
                self.end_headers()
                self.wfile.write(server.payload)

            def log_message(self, format, *args):  # noqa: A002 - silence the access log
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 0.1
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist.npz"
        self._stop = threading.Event()
        deadline = time.monotonic() + lifetime

        def serve():
            while not self._stop.is_set() and time.monotonic() < deadline:
                self.httpd.handle_request()

        self.thread = threading.Thread(target=serve, name="mnist-test-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.httpd.server_close()


@pytest.fixture
def served():
    arrays = small_arrays(seed=3)
    payload = npz_bytes(arrays)
    server = Server(payload)
    server.arrays = arrays
    server.sha256 = hashlib.sha256(payload).hexdigest()
    yield server
    server.stop()


def cache_files(tmp_path: Path) -> list[str]:
    datasets = tmp_path / "cache" / "datasets"
    return sorted(os.listdir(datasets)) if datasets.is_dir() else []


def test_download_lands_in_the_cache_and_is_reused(tmp_path, served):
    assert_splits_equal(mnist.load_data(url=served.url, sha256=served.sha256), served.arrays)
    assert served.requests == ["/mnist.npz"]
    assert cache_files(tmp_path) == ["mnist.npz"]
    for directory in (tmp_path / "cache", tmp_path / "cache" / "datasets"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    served.stop()
    # The server is gone and the default URL refuses connections: this read is the cache's.
    assert_splits_equal(mnist.load_data(), served.arrays)
    assert served.requests == ["/mnist.npz"]


def test_download_url_and_hash_from_the_environment(tmp_path, served, monkeypatch):
    monkeypatch.setenv("SYMGRAPH_MNIST_URL", served.url)
    monkeypatch.setenv("SYMGRAPH_MNIST_SHA256", served.sha256.upper())
    assert_splits_equal(mnist.load_data(), served.arrays)
    assert cache_files(tmp_path) == ["mnist.npz"]


def test_download_into_an_explicit_cache_dir(tmp_path, served):
    other = tmp_path / "elsewhere"
    assert_splits_equal(mnist.load_data(url=served.url, sha256=served.sha256, cache_dir=other), served.arrays)
    assert sorted(os.listdir(other)) == ["mnist.npz"]
    assert cache_files(tmp_path) == []


def test_wrong_sha256_is_rejected_and_leaves_nothing(tmp_path, served):
    with pytest.raises(ValueError, match="SHA-256"):
        mnist.load_data(url=served.url, sha256="0" * 64)
    assert served.requests == ["/mnist.npz"]
    assert cache_files(tmp_path) == []


def test_default_hash_applies_to_an_overridden_url(tmp_path, served):
    with pytest.raises(ValueError, match=mnist.DEFAULT_SHA256):
        mnist.load_data(url=served.url)
    assert cache_files(tmp_path) == []


def test_invalid_payload_with_matching_hash_leaves_nothing(tmp_path, served):
    served.payload = b"this is not an npz archive"
    with pytest.raises(ValueError, match="downloaded"):
        mnist.load_data(url=served.url, sha256=hashlib.sha256(served.payload).hexdigest())
    assert cache_files(tmp_path) == []


def test_http_error_and_refused_connection_raise_oserror(tmp_path, served):
    with pytest.raises(OSError, match="could not download"):
        mnist.load_data(url=served.url.replace("mnist.npz", "missing.npz"), sha256=served.sha256)
    with pytest.raises(OSError, match="SYMGRAPH_MNIST_DIR"):
        mnist.load_data()  # the default URL of these tests: a refused connection
    assert cache_files(tmp_path) == []


def test_only_http_urls_are_fetched(tmp_path):
    with pytest.raises(ValueError, match="http"):
        mnist.load_data(url=f"file://{tmp_path}/mnist.npz", sha256="0" * 64)


def test_damaged_cache_entry_is_downloaded_again(tmp_path, served):
    datasets = tmp_path / "cache" / "datasets"
    datasets.mkdir(parents=True)
    (datasets / "mnist.npz").write_bytes(b"damaged")
    with pytest.warns(UserWarning, match="damaged cache entry"):
        result = mnist.load_data(url=served.url, sha256=served.sha256)
    assert_splits_equal(result, served.arrays)
    assert cache_files(tmp_path) == ["mnist.npz"]


def test_a_shared_writable_default_cache_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A cache root others can write (0777) could hold a planted mnist.npz: refused
    (CacheError) before the loader reads anything in it."""
    root = tmp_path / "shared-cache"
    (root / "datasets").mkdir(parents=True)
    planted = root / "datasets" / mnist.NPZ_NAME
    planted.write_bytes(b"not read")
    os.chmod(root, 0o777)
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
    monkeypatch.delenv("SYMGRAPH_MNIST_DIR", raising=False)
    before = planted.stat().st_atime_ns
    with pytest.raises(CacheError, match="writable"):
        mnist.load_data(url="http://127.0.0.1:9/unreachable")
    assert planted.stat().st_atime_ns == before
