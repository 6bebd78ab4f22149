"""Model files: bit-exact round trips, atomic writes, and a clear error for every bad file."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import models.files
from models import MLP, Adam, ModelFileError, TwoLayerNet, fit, load


def trained_mlp(dtype=np.float32):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)), rng.integers(0, 3, size=32)
    model = MLP([4, 6, 5, 3], activation="tanh", dtype=dtype, seed=0)
    fit(model, Adam(model.parameters(), lr=0.01), x, y, epochs=3, batch_size=8, seed=0)
    return model, x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_exact_and_keeps_the_architecture(tmp_path, dtype):
    model, x = trained_mlp(dtype)
    path = tmp_path / "model.npz"
    model.save(path)
    again = load(path)
    assert type(again) is MLP and again.config() == model.config() and again.dtype == model.dtype
    for name, value in model.state_dict().items():
        restored = again.graph[name].value
        assert restored.dtype == value.dtype and restored.tobytes() == value.tobytes()
    assert model.predict(x).tobytes() == again.predict(x).tobytes()


def test_two_layer_net_round_trip_and_class_checked_load(tmp_path):
    net = TwoLayerNet(3, 2, 3, seed=4)
    path = tmp_path / "net.npz"
    net.save(path)
    assert TwoLayerNet.load(path).state_dict()["W2"].tobytes() == net.state_dict()["W2"].tobytes()
    with pytest.raises(ModelFileError, match="holds a TwoLayerNet, not a MLP"):
        MLP.load(path)


def test_save_writes_exactly_the_given_name_and_leaves_no_temporary(tmp_path):
    MLP([2, 2], seed=0).save(tmp_path / "weights.model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.model"]
    assert oct((tmp_path / "weights.model").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_failed_save_keeps_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = MLP([2, 2], seed=0)
    old.save(path)
    before = path.read_bytes()

    def exploding_savez(stream, **arrays):
        stream.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(models.serialize.np, "savez", exploding_savez)
    with pytest.raises(OSError, match="disk full"):
        MLP([2, 2], seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_the_file_is_plain_npz_with_json_metadata(tmp_path):
    path = tmp_path / "m.npz"
    MLP([3, 2], seed=0).save(path)
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["__model__"]))
        assert sorted(archive.files) == ["W1", "__model__", "b1"]
    assert meta["format"] == "gategraph.model" and meta["version"] == 1 and meta["class"] == "MLP"
    assert meta["config"]["sizes"] == [3, 2] and meta["parameters"]["W1"] == [2, 3]


# -- bad files --------------------------------------------------------------------------------


def write_npz(path, meta=None, **arrays):
    if meta is not None:
        arrays["__model__"] = np.array(json.dumps(meta) if isinstance(meta, dict) else meta)
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


def good_meta(**changes):
    meta = {
        "format": "gategraph.model",
        "version": 1,
        "class": "MLP",
        "config": {"sizes": [3, 2], "activation": "relu", "loss": "softmax_cross_entropy"},
        "dtype": "float32",
    }
    meta.update(changes)
    return meta


GOOD_ARRAYS = {"W1": np.zeros((2, 3), np.float32), "b1": np.zeros(2, np.float32)}


def truncated(path):
    MLP([30, 20, 2], seed=0).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def corrupted(path):
    MLP([30, 20, 2], seed=0).save(path)
    data = bytearray(path.read_bytes())
    data[200:260] = bytes(60)  # inside W1's stored bytes: the zip's CRC no longer matches
    path.write_bytes(bytes(data))


BAD_FILES = {
    "text": (lambda p: p.write_text("hello, not a model"), "not an .npz archive"),
    "empty": (lambda p: p.write_bytes(b""), "not an .npz archive"),
    "npy": (lambda p: p.write_bytes(_npy_bytes(np.zeros(3))), "not an .npz archive"),
    "truncated": (truncated, "truncated or corrupt"),
    "corrupted": (corrupted, "truncated or corrupt"),
    "no metadata": (lambda p: write_npz(p, None, **GOOD_ARRAYS), "not a gategraph model: it has no '__model__'"),
    "metadata not json": (lambda p: write_npz(p, "{oops", **GOOD_ARRAYS), "not valid JSON"),
    "metadata not a string": (
        lambda p: write_npz(p, None, __model__=np.zeros(2), **GOOD_ARRAYS),
        "should be a JSON string",
    ),
    "other format": (lambda p: write_npz(p, good_meta(format="keras"), **GOOD_ARRAYS), "not a gategraph model file"),
    "newer version": (lambda p: write_npz(p, good_meta(version=2), **GOOD_ARRAYS), "version 2.*upgrade"),
    "unknown class": (lambda p: write_npz(p, good_meta(**{"class": "ResNet"}), **GOOD_ARRAYS), "unknown model class"),
    "bad config": (
        lambda p: write_npz(p, good_meta(config={"sizes": [3, 2], "activation": "swish"}), **GOOD_ARRAYS),
        r"its MLP config is wrong: activation is 'swish', it should be one of \('relu'",
    ),
    "missing parameter": (lambda p: write_npz(p, good_meta(), W1=GOOD_ARRAYS["W1"]), "parameter b1 is missing"),
    "extra array": (lambda p: write_npz(p, good_meta(), extra=np.zeros(1), **GOOD_ARRAYS), "unexpected array 'extra'"),
    "wrong shape": (
        lambda p: write_npz(p, good_meta(), W1=np.zeros((3, 2), np.float32), b1=GOOD_ARRAYS["b1"]),
        r"W1 has shape \(3, 2\), the architecture needs \(2, 3\)",
    ),
    "wrong dtype": (
        lambda p: write_npz(p, good_meta(), W1=np.zeros((2, 3)), b1=GOOD_ARRAYS["b1"]),
        "W1 has dtype float64",
    ),
    "object array": (
        lambda p: write_npz(p, good_meta(), W1=np.array([{"run": "code"}], dtype=object), b1=GOOD_ARRAYS["b1"]),
        "object arrays, which are never loaded",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_get_a_clear_error_naming_the_file(tmp_path, case):
    make, match = BAD_FILES[case]
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(ModelFileError, match=match) as caught:
        load(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nothing.npz")


def test_loading_never_unpickles(tmp_path):
    # An .npz whose member is a pickle: np.load with allow_pickle=True would run it.
    path = tmp_path / "evil.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("W1.npy", buffer.getvalue())
        archive.writestr("__model__.npy", _npy_bytes(np.array(json.dumps(good_meta()))))
    with pytest.raises(ModelFileError, match="object arrays"):
        load(path)


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_load_state_dict_refuses_parameters_of_another_architecture():
    model = MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"missing b1.*unexpected c1.*W1 has shape \(3, 3\)"):
        model.load_state_dict({"W1": np.zeros((3, 3)), "c1": np.zeros(2)})
