"""Issue 11, files and arguments: hostile or odd model files, IDX headers and hyper-parameters get our own
clear errors before anything large is allocated, save refuses what load refuses, empty data stays empty."""

import gzip
import io
import json
import math
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from model_files import GOOD_ARRAYS, good_meta, write_model

from graph import ComputationalGraph
from models import (
    MLP,
    SGD,
    Adam,
    DataFileError,
    ModelFileError,
    Momentum,
    TwoLayerNet,
    batches,
    evaluate,
    load,
    one_hot,
    read_idx,
    scale_images,
)


def npy_member(header_shape, data: bytes, dtype="<f4") -> bytes:
    """An .npy file whose header declares ``header_shape`` whatever ``data`` it is given."""
    header = {"descr": dtype, "fortran_order": False, "shape": header_shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def meta_member(meta) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(json.dumps(meta)))
    return buffer.getvalue()


def peak_bytes(call):
    """The most memory (numpy's buffers included) ``call`` held at once, and what it raised."""
    tracemalloc.start()
    try:
        call()
    except Exception as error:  # the caller checks what was raised
        raised = error
    else:
        raised = None
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, raised


# -- 1. metadata of the wrong JSON type -----------------------------------------------------------

# One case of each check is in the bad-input catalogue (tests/test_bad_files.py); here, the other
# JSON types each check meets.
WRONG_TYPES = {
    "a number": (5, r"not a gategraph model file: its '__model__' is a JSON number"),
    "null": (None, r"is a JSON null"),
    "a number as class name": (good_meta(**{"class": 7}), r"unknown model class 7"),
    "no config": ({k: v for k, v in good_meta().items() if k != "config"}, r"its metadata lacks 'config'"),
    "loss an object": (good_meta(config={"sizes": [3, 2], "loss": {"a": 1}}), r"loss is \{'a': 1\}"),
}


@pytest.mark.parametrize("case", WRONG_TYPES)
def test_metadata_of_the_wrong_json_type_is_a_model_file_error_naming_the_file(tmp_path, case):
    meta, match = WRONG_TYPES[case]
    path = write_model(tmp_path / "odd.npz", meta)
    with pytest.raises(ModelFileError, match=match) as caught:
        load(path)
    assert str(path) in str(caught.value)


def test_metadata_nested_beyond_the_recursion_limit_or_with_a_huge_integer_is_invalid_json(tmp_path):
    deep = tmp_path / "deep.npz"
    np.savez(deep, __model__=np.array("[" * 100_000 + "]" * 100_000), **GOOD_ARRAYS)
    with pytest.raises(ModelFileError, match=r"deep\.npz': '__model__' is not valid JSON: RecursionError"):
        load(deep)
    huge = tmp_path / "huge.npz"
    np.savez(huge, __model__=np.array('{"version": ' + "9" * 5000 + "}"), **GOOD_ARRAYS)
    with pytest.raises(ModelFileError, match=r"huge\.npz': '__model__' is not valid JSON"):
        load(huge)


# -- 2. a small file declaring huge layers ----------------------------------------------------------


def test_a_small_file_declaring_layers_of_ten_million_units_is_refused_before_any_model_is_built(tmp_path):
    path = write_model(tmp_path / "huge.npz", good_meta(config={"sizes": [10**7, 10**7]}))
    assert path.stat().st_size < 3000
    peak, raised = peak_bytes(lambda: load(path))
    assert isinstance(raised, ModelFileError), raised
    assert "does not fit the MLP 10000000-10000000 it describes" in str(raised)
    assert r"W1 has shape (2, 3), the architecture needs (10000000, 10000000)" in str(raised)
    assert peak < 2e6


def test_merely_large_declared_sizes_allocate_nothing_of_their_size(tmp_path):
    # 4000 x 4000 float32 is 64 MB: building the model first would allocate it all
    path = write_model(tmp_path / "large.npz", good_meta(config={"sizes": [4000, 4000]}))
    peak, raised = peak_bytes(lambda: load(path))
    assert isinstance(raised, ModelFileError) and "large.npz" in str(raised)
    assert peak < 2e6, f"{peak / 1e6:.1f} MB allocated to refuse a 2 KB file"


def test_a_file_listing_millions_of_problems_gets_a_short_message(tmp_path):
    path = write_model(tmp_path / "long.npz", good_meta(config={"sizes": [1] * 100_000}))
    with pytest.raises(ModelFileError, match=r"and 199,99\d more") as caught:
        load(path)
    assert len(str(caught.value)) < 1000


# -- 3. a member whose header declares an impossible shape -------------------------------------------


@pytest.mark.parametrize("shape", [(10**12,), (2**40, 2**40, 2**40), (10**7,)])
def test_a_member_declaring_more_data_than_it_holds_is_refused_from_its_header_alone(tmp_path, shape):
    path = write_zip(
        tmp_path / "liar.npz",
        {
            "__model__.npy": meta_member(good_meta()),
            "W1.npy": npy_member(shape, bytes(24)),
            "b1.npy": npy_member((2,), bytes(8)),
        },
    )
    peak, raised = peak_bytes(lambda: load(path))
    assert isinstance(raised, ModelFileError), raised
    message = str(raised)
    assert "liar.npz" in message and "member 'W1.npy' declares an array of shape" in message
    assert f"({math.prod(shape) * 4:,} bytes) but holds 24 bytes of data" in message
    assert peak < 2e6


def test_a_member_declaring_less_data_than_it_holds_or_a_negative_size_is_refused(tmp_path):
    for shape, data in (((1,), bytes(24)), ((-6,), bytes(24))):
        path = write_zip(
            tmp_path / "liar.npz",
            {
                "__model__.npy": meta_member(good_meta()),
                "W1.npy": npy_member(shape, data),
                "b1.npy": npy_member((2,), bytes(8)),
            },
        )
        with pytest.raises(ModelFileError, match=r"liar\.npz': member 'W1\.npy' declares an array of shape"):
            load(path)


def test_a_zip_directory_claiming_more_bytes_than_the_file_holds_is_refused(tmp_path):
    path = write_model(tmp_path / "claims.npz", good_meta())
    data = bytearray(path.read_bytes())
    # the central directory's uncompressed size of the first member: 24 bytes after its signature
    entry = data.index(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = (2**31).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"claims\.npz': member '.*\.npy' claims 2,147,483,648 bytes"):
        load(path)


# -- 4. save refuses what load refuses ----------------------------------------------------------------


def test_save_refuses_a_model_whose_graph_was_given_an_extra_parameter_and_writes_nothing(tmp_path):
    model = MLP([4, 3, 2], seed=0)
    model.graph.parameter("extra", np.zeros(2, np.float32))
    path = tmp_path / "model.npz"
    with pytest.raises(
        ModelFileError, match=r"cannot save this MLP: load\(\) would refuse it.*unexpected array 'extra'"
    ):
        model.save(path)
    assert list(tmp_path.iterdir()) == []
    # what save would have written is indeed what load refuses
    arrays = model.state_dict()
    meta = good_meta(config=model.config(), parameters={k: list(v.shape) for k, v in arrays.items()})
    with pytest.raises(ModelFileError, match=r"unexpected array 'extra'"):
        load(write_model(tmp_path / "by_hand.npz", meta, arrays))


def test_save_refuses_a_model_whose_config_no_longer_describes_its_parameters_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    MLP([4, 3, 2], seed=0).save(path)
    before = path.read_bytes()
    model = MLP([4, 3, 2], seed=1)
    model.sizes = [4, 5, 2]
    with pytest.raises(
        ModelFileError, match=r"W1 has shape \(3, 4\), the architecture needs \(5, 4\);.*; nothing written$"
    ):
        model.save(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_everything_save_writes_loads_back(tmp_path):
    for model in (MLP([4, 3, 2], activation="tanh", loss="mse", init="uniform", reduction="sum"), TwoLayerNet(3, 2, 3)):
        model.save(tmp_path / "m.npz")
        assert load(tmp_path / "m.npz").config() == model.config()


# -- 5. only the known format versions -------------------------------------------------------------


@pytest.mark.parametrize("version", [0, -5, True, 1.0, "1", None, [1]])
def test_only_the_known_integer_format_versions_load(tmp_path, version):
    path = write_model(tmp_path / "versioned.npz", good_meta(version=version))
    with pytest.raises(ModelFileError, match=r"versioned\.npz' has format version .*which no gategraph writes"):
        load(path)


def test_version_one_file_loads(tmp_path):
    assert load(write_model(tmp_path / "v1.npz", good_meta())).layer_sizes == [3, 2]


# -- 6. a 2-byte file -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"PK", b"PK\x03\x04", b"\x93N"])
def test_a_tiny_file_is_not_a_gategraph_model_file_and_the_message_says_nothing_of_pickles(tmp_path, content):
    path = tmp_path / "tiny.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=r"tiny\.npz' is not a gategraph model file") as caught:
        load(path)
    assert "pickle" not in str(caught.value).lower()


# -- 7. IDX headers numpy cannot take (the headers themselves: tests/test_bad_files.py) ---------------


def test_a_gzipped_idx_file_is_read_no_further_than_its_header_allows(tmp_path):
    # a gigabyte of zeros compresses to about a megabyte: the header says 4 bytes, so reading stops there
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(bytes([0, 0, 8, 1, 0, 0, 0, 4]))
        for _ in range(64):
            stream.write(bytes(1 << 20))
    peak, raised = peak_bytes(lambda: read_idx(path))
    assert isinstance(raised, DataFileError) and "has 67,108,860 bytes after the data its header (4,)" in str(raised)
    assert peak < 4e6


# -- 8. optimiser hyper-parameters, with torch.optim as the oracle ------------------------------------


def parameter():
    return ComputationalGraph().parameter("w", np.ones(2))


NAN, INF = float("nan"), float("inf")
REFUSED_BY_TORCH = [
    ("SGD", {"lr": -0.1}, r"learning rate \(lr\) -0\.1"),
    ("SGD", {"momentum": -1.0}, r"momentum -1\.0"),
    ("SGD", {"weight_decay": -1e-3}, r"weight_decay -0\.001"),
    ("SGD", {"nesterov": True}, r"Nesterov"),
    ("Adam", {"lr": NAN}, r"Adam learning rate \(lr\) nan"),
    ("Adam", {"eps": NAN}, r"Adam eps nan"),
    ("Adam", {"eps": -1e-8}, r"Adam eps -1e-08"),
    ("Adam", {"weight_decay": NAN}, r"Adam weight_decay nan"),
    ("Adam", {"betas": (NAN, 0.999)}, r"Adam betas\[0\] nan"),
    ("Adam", {"betas": (0.9, NAN)}, r"Adam betas\[1\] nan"),
    ("Adam", {"betas": (1.0, 0.999)}, r"Adam betas\[0\] 1\.0: it must lie in \[0\.0, 1\.0\)"),
    ("Adam", {"betas": (0.9, -0.1)}, r"Adam betas\[1\] -0\.1"),
]


@pytest.mark.parametrize(("name", "settings", "match"), REFUSED_BY_TORCH)
def test_hyper_parameters_torch_refuses_are_refused_naming_the_argument_and_value(name, settings, match):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **settings)
    with pytest.raises(ValueError, match=match):
        {"SGD": SGD, "Adam": Adam}[name]([parameter()], **settings)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: SGD(p, lr=INF), r"SGD learning rate \(lr\) inf: it must be a finite number"),
        (lambda p: Adam(p, weight_decay=INF), r"Adam weight_decay inf: it must be a finite number"),
        (lambda p: SGD(p, dampening=NAN), r"SGD dampening nan: it must be a finite number"),
        (lambda p: Momentum(p, momentum=INF), r"Momentum momentum inf"),
    ],
)
def test_non_finite_hyper_parameters_which_torch_lets_through_are_refused_too(make, match):
    with pytest.raises(ValueError, match=match):
        make([parameter()])


@pytest.mark.parametrize("settings", [{"lr": NAN}, {"momentum": NAN}, {"weight_decay": NAN}, {"lr": INF}])
def test_sgd_refuses_the_nan_and_infinity_torch_sgd_accepts(settings):
    torch = pytest.importorskip("torch")
    torch.optim.SGD([torch.zeros(2, requires_grad=True)], **settings)  # torch's `lr < 0.0` lets NaN through
    ((name, value),) = settings.items()
    with pytest.raises(ValueError, match=rf"SGD .*{name}\)? {value}: it must be a finite number"):
        SGD([parameter()], **settings)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: SGD(p, lr="0.1"), r"SGD learning rate \(lr\) must be a real number, got '0\.1'"),
        (lambda p: Adam(p, lr=None), r"Adam learning rate \(lr\) must be a real number, got None"),
        (lambda p: Adam(p, betas=0.9), r"Adam betas must be a pair \(beta1, beta2\), got 0\.9"),
        (lambda p: Adam(p, betas=(0.9, 0.99, 0.999)), r"Adam betas must be a pair"),
        (lambda p: SGD(p, nesterov="yes"), r"SGD nesterov must be True or False, got 'yes'"),
        (lambda p: SGD(p[0], lr=0.1), r"SGD takes an iterable of parameter nodes, got the single node"),
    ],
)
def test_hyper_parameters_of_the_wrong_type_are_a_type_error_naming_the_argument(make, match):
    with pytest.raises(TypeError, match=match):
        make([parameter()])


def test_a_parameter_given_twice_is_refused_where_torch_warns():
    torch = pytest.importorskip("torch")
    t = torch.zeros(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.optim.SGD([t, t], lr=0.1)
    assert any("duplicate parameters" in str(warning.message) for warning in caught)
    w = parameter()
    for optimizer in (SGD, Adam):
        with pytest.raises(ValueError, match=r"got parameter 'w' more than once"):
            optimizer([w, parameter(), w])


def test_numpy_scalars_are_accepted_as_hyper_parameters_and_stored_as_floats():
    opt = Adam([parameter()], lr=np.float32(0.5), betas=(np.float64(0.8), 0.9), eps=0)
    assert opt.lr == 0.5 and type(opt.lr) is float and opt.betas == (0.8, 0.9) and opt.eps == 0.0


# -- 9. empty data ----------------------------------------------------------------------------------------


def test_scale_images_of_zero_images_is_empty_of_the_right_shape_and_dtype():
    for dtype in (np.float32, np.float64):
        rows = scale_images(np.zeros((0, 28, 28), np.uint8), dtype=dtype)
        assert rows.shape == (0, 784) and rows.dtype == dtype
    assert scale_images(np.zeros((0,), np.uint8)).shape == (0, 1)


def test_the_other_data_helpers_on_empty_input():
    assert one_hot(np.array([], np.int64), 10).shape == (0, 10)
    assert one_hot(np.array([], np.int64)).shape == (0, 0)
    assert batches(0, 8) == []
    model = MLP([2, 2], seed=0)
    with pytest.raises(ValueError, match=r"evaluate needs at least one example, got x of shape \(0, 2\)"):
        evaluate(model, np.zeros((0, 2)), np.zeros(0, np.int64))
