"""Data: the IDX reader on generated files, the MNIST download against a local server, helpers."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

import models.data
from models import (
    MNIST_FILES,
    ChecksumError,
    DataFileError,
    DownloadError,
    load_fashion_mnist,
    load_idx_directory,
    load_mnist,
    one_hot,
    read_idx,
    scale_images,
    write_idx,
)

# -- IDX ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_for_every_type(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    again = read_idx(path)
    assert again.dtype == np.dtype(dtype) and again.dtype.isnative
    np.testing.assert_array_equal(again, array)


def test_idx_bytes_are_the_published_layout(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    big = tmp_path / "ints-idx1"
    write_idx(big, np.array([1], dtype=np.int32))
    assert big.read_bytes()[-4:] == b"\x00\x00\x00\x01"  # big-endian


def test_gzip_is_detected_from_content_not_name(tmp_path):
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 5, 6])))
    np.testing.assert_array_equal(read_idx(path), [5, 6])


IDX_HEADER = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3])  # uint8, shape (2, 3)

BAD_IDX = {
    "too short": (b"\x00\x00", "truncated: 2 bytes, not even the 4-byte magic number"),
    "bad magic": (b"\x01\x02\x08\x01\x00\x00\x00\x01\x05", "not an IDX file: magic number 01020801"),
    "bad type code": (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "not an IDX file: magic number 00000701"),
    "truncated header": (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated in its header: 3 sizes need 16 bytes"),
    "truncated data": (IDX_HEADER + bytes(5), r"truncated: shape \(2, 3\) of uint8 needs 6 bytes of data, found 5"),
    "extra bytes": (IDX_HEADER + bytes(8), r"has 2 bytes after the data its header \(2, 3\) describes"),
}


@pytest.mark.parametrize("case", list(BAD_IDX))
@pytest.mark.parametrize("gzipped", [False, True])
def test_bad_idx_files_name_the_file_and_the_problem(tmp_path, case, gzipped):
    content, match = BAD_IDX[case]
    path = tmp_path / "bad-idx"
    path.write_bytes(gzip.compress(content) if gzipped else content)
    with pytest.raises(DataFileError, match=match) as caught:
        read_idx(path)
    assert str(path) in str(caught.value)


def test_truncated_gzip_and_missing_file(tmp_path):
    path = tmp_path / "cut.gz"
    data = gzip.compress(IDX_HEADER + bytes(range(6)) * 1000)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match=r"cut\.gz' is not a readable gzip stream"):
        read_idx(path)
    with pytest.raises(DataFileError, match="does not exist"):
        read_idx(tmp_path / "missing")


def write_dataset(directory, n_train=20, n_test=10, compressed=True, seed=0):
    """The four MNIST-layout files with random 28x28 images; returns their arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for key, name in MNIST_FILES.items():
        write_idx(directory / (name if compressed else name.removesuffix(".gz")), arrays[key])
    return arrays


@pytest.mark.parametrize("compressed", [True, False])
def test_load_idx_directory_reads_the_four_files(tmp_path, compressed):
    arrays = write_dataset(tmp_path, compressed=compressed)
    (x_train, y_train), (x_test, y_test) = load_idx_directory(tmp_path)
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
    assert x_test.shape == (10, 28, 28) and y_train.shape == (20,)


def test_load_idx_directory_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_idx_directory(tmp_path / "nowhere")
    write_dataset(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataFileError, match=r"has no t10k-labels-idx1-ubyte\.gz or t10k-labels-idx1-ubyte"):
        load_idx_directory(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataFileError, match=r"test images \(10, 28, 28\) and labels \(3,\) do not pair up"):
        load_idx_directory(tmp_path)


def test_fashion_mnist_from_a_directory_and_a_clear_error_when_not_installed(tmp_path, monkeypatch):
    write_dataset(tmp_path)
    (x_train, _), _ = load_fashion_mnist(tmp_path)
    assert x_train.shape == (20, 28, 28)
    monkeypatch.setattr(models.data, "FASHION_MNIST_DIR", tmp_path / "not-installed")
    with pytest.raises(DataFileError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist()


def test_scale_images_and_one_hot():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    scaled = scale_images(images)
    assert scaled.dtype == np.float32 and scaled.shape == (1, 4)
    np.testing.assert_allclose(scaled, [[0, 1, 0.2, 0.4]])
    assert scale_images(images, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(one_hot(np.array([1, 0]), 3), [[0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        one_hot(np.array([0, 2]), 2)
    with pytest.raises(ValueError, match="integer labels"):
        one_hot(np.array([0.5]))


# -- download, against a server on 127.0.0.1 -------------------------------------------------


class Server:
    """A local HTTP server; ``files`` maps a path to bytes, ``cut`` paths stop halfway."""

    def __init__(self, files):
        self.files, self.cut, self.requests = files, set(), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mnist_server(tmp_path):
    source = tmp_path / "source"
    arrays = write_dataset(source, seed=3)
    files = {f"/mnist/{name}": (source / name).read_bytes() for name in MNIST_FILES.values()}
    checksums = {name: hashlib.sha256(files[f"/mnist/{name}"]).hexdigest() for name in MNIST_FILES.values()}
    server = Server(files)
    yield server, checksums, arrays
    server.close()


def test_download_with_good_checksums_fills_the_cache_once(tmp_path, mnist_server):
    server, checksums, arrays = mnist_server
    cache = tmp_path / "cache"
    (x_train, y_train), _ = load_mnist(cache, url=server.url, checksums=checksums)
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    assert sorted(p.name for p in cache.iterdir()) == sorted(MNIST_FILES.values())
    assert len(server.requests) == 4
    load_mnist(cache, url=server.url, checksums=checksums)
    assert len(server.requests) == 4  # all cached and verified: no new request


def test_bad_checksum_is_refused_and_leaves_nothing_in_the_cache(tmp_path, mnist_server):
    server, checksums, _ = mnist_server
    cache = tmp_path / "cache"
    wrong = dict(checksums, **{"train-images-idx3-ubyte.gz": "0" * 64})
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte\.gz: SHA-256 .* differs from the expected 0000"):
        load_mnist(cache, url=server.url, checksums=wrong)
    assert list(cache.iterdir()) == []


def test_interrupted_transfer_leaves_nothing_corrupt_and_a_retry_succeeds(tmp_path, mnist_server):
    server, checksums, arrays = mnist_server
    cache = tmp_path / "cache"
    server.cut.add("/mnist/train-labels-idx1-ubyte.gz")
    with pytest.raises(DownloadError, match=r"train-labels-idx1-ubyte\.gz"):
        load_mnist(cache, url=server.url, checksums=checksums)
    assert sorted(p.name for p in cache.iterdir()) == ["train-images-idx3-ubyte.gz"]  # complete, verified
    server.cut.clear()
    (_, y_train), _ = load_mnist(cache, url=server.url, checksums=checksums)
    np.testing.assert_array_equal(y_train, arrays["train_labels"])


def test_a_corrupt_cached_file_is_downloaded_again(tmp_path, mnist_server):
    server, checksums, arrays = mnist_server
    cache = tmp_path / "cache"
    load_mnist(cache, url=server.url, checksums=checksums)
    (cache / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    _, (x_test, _) = load_mnist(cache, url=server.url, checksums=checksums)
    np.testing.assert_array_equal(x_test, arrays["test_images"])
    assert server.requests.count("/mnist/t10k-images-idx3-ubyte.gz") == 2


def test_mirrors_are_tried_in_order_and_failures_listed(tmp_path, mnist_server):
    server, checksums, _ = mnist_server
    dead = server.url.replace("/mnist/", "/gone/")
    load_mnist(tmp_path / "cache", url=[dead, server.url], checksums=checksums)
    with pytest.raises(DownloadError, match=r"could not download train-images-idx3-ubyte.gz: .*404"):
        load_mnist(tmp_path / "other", url=[dead], checksums=checksums)


def test_the_published_checksums_are_the_default():
    assert models.data.MNIST_SHA256["train-images-idx3-ubyte.gz"].startswith("440fcabf73cc546f")
    assert set(models.data.MNIST_SHA256) == set(MNIST_FILES.values())


def test_a_mirror_with_a_bad_copy_is_passed_over_for_the_next(tmp_path, mnist_server):
    server, checksums, arrays = mnist_server
    bad = server.url.replace("/mnist/", "/bad/")
    for name in MNIST_FILES.values():
        server.files[f"/bad/{name}"] = b"not the file"
    (x_train, _), _ = load_mnist(tmp_path / "cache", url=[bad, server.url], checksums=checksums)
    np.testing.assert_array_equal(x_train, arrays["train_images"])
    assert "/bad/train-images-idx3-ubyte.gz" in server.requests
