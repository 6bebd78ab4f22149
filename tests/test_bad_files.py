"""Bad-input catalogue of files: model-file metadata of the wrong JSON type or value, and IDX headers numpy
cannot take. Each is refused with our own error naming the file and what is wrong, before anything large is
allocated, and a correct file read right after gives its arrays."""

import gzip
import tracemalloc

import numpy as np
import pytest
from catalogue import Case, check_case
from model_files import GOOD_ARRAYS, good_meta, write_model

from models import DataFileError, ModelFileError, load, read_idx


def metadata_case(meta, match):
    """``odd.npz`` with metadata ``meta`` is refused; the same file with good metadata loads its arrays."""

    def build():
        path = write_model("odd.npz", meta)
        return path, lambda: load(path)

    def good(path):
        model = load(write_model(path, good_meta()))
        return {name: array.tolist() for name, array in model.state_dict().items()}

    expected = {name: array.tolist() for name, array in GOOD_ARRAYS.items()}
    return Case(build, ModelFileError, rf"model file 'odd\.npz'.*{match}", good, expected)


GOOD_IDX = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5])  # uint8, shape (2, 3), 0..5


def idx_case(content: bytes, match):
    """An IDX file with header ``content`` is refused; a good one at the same path reads as its array."""

    def build():
        path = "odd-idx3-ubyte"
        with open(path, "wb") as stream:
            stream.write(content)
        return path, lambda: read_idx(path)

    def good(path):
        with open(path, "wb") as stream:
            stream.write(GOOD_IDX)
        return read_idx(path).tolist()

    return Case(build, DataFileError, rf"IDX file 'odd-idx3-ubyte'.*{match}", good, [[0, 1, 2], [3, 4, 5]])


IDX_CASES = {
    "IDX header declaring 255 dimensions": idx_case(bytes([0, 0, 8, 255]) + bytes(4 * 255), r"255 dimensions.*1 to 32"),
    "IDX header declaring 0 dimensions": idx_case(bytes([0, 0, 8, 0, 7]), r"declares 0 dimensions"),
    "IDX sizes whose product overflows int64": idx_case(
        bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + bytes(10),
        r"truncated: shape \(4294967295, 4294967295, 4294967295\) of uint8 needs "
        r"79,228,162,458,924,105,385,300,197,375 bytes of data, found 10",
    ),
    "IDX sizes whose product wraps to the data's length": idx_case(
        bytes([0, 0, 8, 3]) + b"\x00\x00\x00\x04" + b"\x80\x00\x00\x00" * 2,
        r"needs 18,446,744,073,709,551,616 bytes of data, found 0",
    ),
}

FILE_CASES = {
    "metadata a JSON array": metadata_case([1, 2], r"is not a gategraph model file: its '__model__' is a JSON array"),
    "format a list": metadata_case(
        good_meta(format=["gategraph.model"]), r"not a gategraph model file \(format \['gategraph"
    ),
    "a list as class name": metadata_case(good_meta(**{"class": ["MLP"]}), r"unknown model class \['MLP'\]"),
    "no class, no dtype": metadata_case(
        {k: v for k, v in good_meta().items() if k not in ("class", "dtype")}, r"lacks 'class', 'dtype'"
    ),
    "an unknown field": metadata_case(good_meta(author="me"), r"has unknown fields 'author'"),
    "config a list": metadata_case(good_meta(config=[3, 2]), r"its config should be a JSON object, got a JSON array"),
    "sizes missing": metadata_case(good_meta(config={"activation": "relu"}), r"'sizes' is missing"),
    "sizes a string": metadata_case(
        good_meta(config={"sizes": "3,2"}), r"sizes is '3,2', it should be a list of at least two whole numbers"
    ),
    "sizes holding a boolean": metadata_case(good_meta(config={"sizes": [3, True]}), r"sizes is \[3, True\]"),
    "sizes holding a float": metadata_case(good_meta(config={"sizes": [3, 2.0]}), r"sizes is \[3, 2\.0\]"),
    "activation a list": metadata_case(
        good_meta(config={"sizes": [3, 2], "activation": ["relu"]}), r"activation is \['relu'\], it should be one of"
    ),
    "an argument no MLP takes": metadata_case(
        good_meta(config={"sizes": [3, 2], "seed": 3}), r"'seed' is no argument of a MLP"
    ),
    "dtype a number": metadata_case(good_meta(dtype=32), r"its dtype 32 should be one of \('float32', 'float64'\)"),
    "dtype of another kind": metadata_case(good_meta(dtype="int64"), r"its dtype 'int64' should be one of"),
    "parameters a list": metadata_case(
        good_meta(parameters=["W1", "b1"]), r"its 'parameters' entry .* does not list the arrays it holds"
    ),
    **IDX_CASES,
}


def test_the_catalogue_is_large():
    assert len(FILE_CASES) >= 19


@pytest.mark.parametrize("name", FILE_CASES)
def test_bad_file_is_refused_clearly_and_a_good_one_still_reads(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_case(FILE_CASES[name])


@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("name", IDX_CASES)
def test_a_bad_idx_header_plain_or_gzipped_is_refused_before_anything_large_is_allocated(
    name, gzipped, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    path, bad_call = IDX_CASES[name].build()
    if gzipped:
        with open(path, "rb") as stream:
            content = stream.read()
        with gzip.open(path, "wb") as stream:
            stream.write(content)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=IDX_CASES[name].match):
            bad_call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2e6
    assert np.array_equal(IDX_CASES[name].good(path), np.arange(6).reshape(2, 3))
