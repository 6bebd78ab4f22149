"""Saving and loading models as ``.npz`` files that never run code when read.

A model file is a numpy ``.npz`` archive with one array per parameter
(``W1``, ``b1``, ...) and ``__model__``, a JSON string::

    {"format": "gategraph.model", "version": 1, "class": "MLP",
     "config": {...constructor arguments...}, "dtype": "float32",
     "parameters": {"W1": [256, 784], ...}}

Reading trusts nothing in the file. The archive's ``.npy`` members are read
header first: their declared shapes and dtypes are checked against the bytes
each member really holds, then the metadata (every field, of the right JSON
type) against those members, all before a single array or model is
allocated; only then is the model built and its arrays read. Arrays are read
with ``allow_pickle=False``: a hostile file can be wrong but cannot run
anything, and a small file cannot make the reader allocate gigabytes.

:func:`save` runs the same validation on what it is about to write, so it
refuses, before writing anything, every model :func:`load` would refuse. It
writes to a temporary file in the same directory and renames it into place,
so a crash mid-write never leaves a half-written model under the real name.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.lib.format as npy

from gates.loss import REDUCTIONS
from models.errors import ModelFileError
from models.files import atomic_write
from models.layers import ACTIVATIONS, INITS
from models.network import LOSSES, MODEL_CLASSES, Model

__all__ = ["save", "load", "validate", "Member", "FORMAT", "VERSION"]

FORMAT = "gategraph.model"
VERSION = 1
_VERSIONS = (1,)  # every format version this gategraph reads
_META = "__model__"
_DTYPES = ("float32", "float64")
_REQUIRED_KEYS = ("format", "version", "class", "config", "dtype")
_OPTIONAL_KEYS = ("parameters",)
# Deflate cannot expand data more than about 1032 times: a member claiming more is lying.
_MAX_DEFLATE_RATIO = 1032
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


class Member(NamedTuple):
    """An array of a model file as its ``.npy`` header declares it, read without its data."""

    shape: tuple[int, ...]
    dtype: np.dtype


class _Field(NamedTuple):
    """One constructor argument in a model file's config: the test a value must pass, and what it must be."""

    accepts: Callable[[object], bool]
    wanted: str
    required: bool = False


def _is_size(value) -> bool:
    return type(value) is int and value >= 1  # bool is an int subclass, and no layer size


def _one_of(choices, *, nullable: bool = False) -> _Field:
    choices = tuple(choices)
    return _Field(
        lambda value: (nullable and value is None) or (isinstance(value, str) and value in choices),
        f"{'null or ' if nullable else ''}one of {choices}",
    )


_SIZE = _Field(_is_size, "a whole number >= 1", required=True)

# What each model class's config() writes, field by field; and the layer sizes each describes
# (every class is a chain of Linear layers W{l} (n_l, n_{l-1}), b{l} (n_l,)).
_CONFIG_FIELDS: dict[str, dict[str, _Field]] = {
    "MLP": {
        "sizes": _Field(
            lambda value: isinstance(value, list) and len(value) >= 2 and all(map(_is_size, value)),
            "a list of at least two whole numbers >= 1",
            required=True,
        ),
        "activation": _one_of(ACTIVATIONS),
        "loss": _one_of(LOSSES),
        "init": _one_of(INITS, nullable=True),
        "reduction": _one_of(REDUCTIONS),
    },
    "TwoLayerNet": {"n_in": _SIZE, "n_hidden": _SIZE, "n_out": _SIZE},
}


def _chain_arrays(sizes: list[int], first: int = 1) -> dict[str, tuple[int, ...]]:
    """The arrays of Linear layers of ``sizes`` (W{l} (n_l, n_{l-1}), b{l} (n_l,)), numbered from ``first``."""
    expected: dict[str, tuple[int, ...]] = {}
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=first):
        expected[f"W{index}"], expected[f"b{index}"] = (n_out, n_in), (n_out,)
    return expected


def _cnn_arrays(config: dict) -> dict[str, tuple[int, ...]]:
    """A CNN's arrays from its config, by the arithmetic of its blocks; no model is built.

    Block l: W{l} (c_l, c_{l-1}, k, k), b{l}, and with batch norm gamma{l}, beta{l}, running_mean{l},
    running_var{l} (c_l,); each block keeps the image's size (padding k // 2) and then halves it.
    """
    channels, kernel = config["channels"], config["kernel"]
    c_in, height, width = config["input_shape"]
    expected: dict[str, tuple[int, ...]] = {}
    for index, c_out in enumerate(channels, start=1):
        expected[f"W{index}"], expected[f"b{index}"] = (c_out, c_in, kernel, kernel), (c_out,)
        if config["batch_norm"]:
            for name in ("gamma", "beta", "running_mean", "running_var"):
                expected[f"{name}{index}"] = (c_out,)
        height = (height + 2 * (kernel // 2) - kernel + 1) // 2
        width = (width + 2 * (kernel // 2) - kernel + 1) // 2
        if height < 1 or width < 1:
            raise ModelFileError(f"its CNN config shrinks the image to nothing in conv block {index}")
        c_in = c_out
    sizes = [c_in * height * width, *config["hidden"], config["classes"]]
    return expected | _chain_arrays(sizes, first=len(channels) + 1)


def _is_probability(value) -> bool:
    return type(value) in (int, float) and 0 <= value < 1


def _sizes_list(minimum: int) -> _Field:
    return _Field(
        lambda value: isinstance(value, list) and len(value) >= minimum and all(map(_is_size, value)),
        f"a list of {'at least ' + str(minimum) + ' ' if minimum else ''}whole numbers >= 1",
        required=True,
    )


_CONFIG_FIELDS["CNN"] = {
    "input_shape": _Field(
        lambda value: isinstance(value, list) and len(value) == 3 and all(map(_is_size, value)),
        "a list of three whole numbers >= 1, (C, H, W)",
        required=True,
    ),
    "channels": _sizes_list(1),
    "classes": _SIZE,
    "hidden": _sizes_list(0),
    "kernel": _SIZE,
    "batch_norm": _Field(lambda value: type(value) is bool, "true or false", required=True),
    "dropout": _Field(_is_probability, "a number in [0, 1)", required=True),
    "loss": _one_of(LOSSES),
    "reduction": _one_of(REDUCTIONS),
}

_LAYER_SIZES: dict[str, Callable[[dict], list[int]]] = {
    "MLP": lambda config: config["sizes"],
    "TwoLayerNet": lambda config: [config["n_in"], config["n_hidden"], config["n_out"]],
    "CNN": lambda config: [config["input_shape"][0], *config["channels"], *config["hidden"], config["classes"]],
}
"""Sizes of each class's layers (features or channels), as its ``architecture`` writes them."""

# The arrays each class's file holds, by name and shape, from its validated config.
_EXPECTED_ARRAYS: dict[str, Callable[[dict], dict[str, tuple[int, ...]]]] = {
    "MLP": lambda config: _chain_arrays(config["sizes"]),
    "TwoLayerNet": lambda config: _chain_arrays([config["n_in"], config["n_hidden"], config["n_out"]]),
    "CNN": _cnn_arrays,
}


def save(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` (architecture and parameters) to ``path``, exactly that name.

    Raises
    ------
    TypeError
        ``model`` is not one of the classes :func:`load` can rebuild.
    ModelFileError
        The file would not load back, e.g. the model's graph was given a
        parameter its architecture does not have; nothing is written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from models import MLP
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
    >>> MLP([4, 3, 2], seed=0).save(path)
    >>> load(path)
    <MLP 4-3-2, relu, softmax_cross_entropy (mean), float32, 23 parameters>
    """
    name = type(model).__name__
    if MODEL_CLASSES.get(name) is not type(model):
        raise TypeError(f"cannot save a {name}: only {', '.join(MODEL_CLASSES)} can be rebuilt from a file")
    arrays = model.state_dict()
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "class": name,
        "config": model.config(),
        "dtype": model.dtype.name,
        "parameters": {key: list(value.shape) for key, value in arrays.items()},
    }
    members = {key: Member(value.shape, value.dtype) for key, value in arrays.items()}
    try:
        validate(meta, members, f"the model file for {str(path)!r}")
    except ModelFileError as error:
        raise ModelFileError(
            f"cannot save this {name}: load() would refuse it, since {error}; nothing written"
        ) from None
    arrays[_META] = np.array(json.dumps(meta))
    with atomic_write(path) as stream:
        np.savez(stream, **cast(dict[str, Any], arrays))  # numpy's stubs take the names for allow_pickle


def load(path: str | os.PathLike) -> Model:
    """Rebuild the model saved in ``path``.

    Nothing is allocated for the model before the whole file has been
    checked: its members' headers against their sizes, its metadata against
    the members.

    Raises
    ------
    FileNotFoundError
        No such file.
    ModelFileError
        The file is not an ``.npz`` archive, is truncated or corrupt, is not a
        gategraph model, has a format version this gategraph does not read,
        its metadata has a missing or wrongly typed field, names an unknown
        model, a member declares more data than it holds, or its arrays do
        not fit the architecture it describes (missing, extra, wrongly
        shaped, not of the file's dtype, or object arrays).
    """
    path = Path(path)
    where = f"model file {str(path)!r}"
    if path.is_dir():
        raise ModelFileError(f"{where} is a directory, not a gategraph model file")
    with _open_archive(path, where) as archive:
        infos = _members(archive, path, where)
        headers = {name: _read_header(archive, info, where) for name, info in infos.items()}
        if _META not in headers:
            raise ModelFileError(f"{where} is an .npz archive but not a gategraph model: it has no {_META!r} entry")
        meta = _read_meta(archive, infos.pop(_META), headers.pop(_META), where)
        cls = validate(meta, headers, where)
        try:
            model = cls(**meta["config"], dtype=meta["dtype"])
        except (TypeError, ValueError) as error:  # a constraint of the constructor the field checks do not know
            raise ModelFileError(
                f"{where}: its architecture {meta['config']} does not build a {cls.__name__}: {error}"
            ) from None
        model.load_state_dict({name: _read_array(archive, info, where) for name, info in infos.items()})
    return model


def validate(meta, members: Mapping[str, Member], where: str) -> type[Model]:
    """Check a model file's metadata and arrays; return the model class to build.

    The one check :func:`load` makes before building anything and :func:`save`
    makes before writing anything, so that save never writes what load refuses.

    Parameters
    ----------
    meta : object
        The parsed ``__model__`` JSON.
    members : mapping of str to Member
        The parameter arrays' names, shapes and dtypes.
    where : str
        How messages begin, naming the file.

    Raises
    ------
    ModelFileError
        The first thing wrong, in the order of the fields.

    Examples
    --------
    >>> meta = {"format": "gategraph.model", "version": 1, "class": "TwoLayerNet",
    ...         "config": {"n_in": 3, "n_hidden": 2, "n_out": 1}, "dtype": "float32"}
    >>> members = {"W1": Member((2, 3), np.dtype("float32")), "b1": Member((2,), np.dtype("float32")),
    ...            "W2": Member((1, 2), np.dtype("float32")), "b2": Member((3,), np.dtype("float32"))}
    >>> validate(meta, members, "model file 'net.npz'")
    Traceback (most recent call last):
    ...
    models.errors.ModelFileError: model file 'net.npz' does not fit the TwoLayerNet 3-2-1 it describes: \
b2 has shape (3,), the architecture needs (1,)
    """
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where} is not a gategraph model file: its {_META!r} is a JSON {_json_type(meta)}")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{where} is not a gategraph model file (format {meta.get('format')!r})")
    version = meta.get("version")
    if type(version) is int and version > VERSION:
        raise ModelFileError(
            f"{where} has format version {version}; this gategraph reads versions up to {VERSION}: upgrade gategraph"
        )
    if type(version) is not int or version not in _VERSIONS:
        raise ModelFileError(
            f"{where} has format version {version!r}, which no gategraph writes; known versions: {_VERSIONS}"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in meta]
    unknown = [key for key in meta if key not in _REQUIRED_KEYS + _OPTIONAL_KEYS]
    if missing or unknown:
        problems = [f"lacks {', '.join(map(repr, missing))}"] if missing else []
        problems += [f"has unknown fields {', '.join(map(repr, unknown))}"] if unknown else []
        raise ModelFileError(f"{where}: its metadata {' and '.join(problems)}")
    name = meta["class"]
    if not isinstance(name, str) or name not in MODEL_CLASSES:
        raise ModelFileError(f"{where} holds an unknown model class {name!r}; known: {', '.join(MODEL_CLASSES)}")
    if not isinstance(meta["dtype"], str) or meta["dtype"] not in _DTYPES:
        raise ModelFileError(f"{where}: its dtype {meta['dtype']!r} should be one of {_DTYPES}")
    config = meta["config"]
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: its config should be a JSON object, got a JSON {_json_type(config)}")
    fields = _CONFIG_FIELDS[name]
    problems = [f"{key!r} is missing" for key, field in fields.items() if field.required and key not in config]
    problems += [f"{key!r} is no argument of a {name}" for key in config if key not in fields]
    problems += [
        f"{key} is {value!r}, it should be {fields[key].wanted}"
        for key, value in config.items()
        if key in fields and not fields[key].accepts(value)
    ]
    if problems:
        raise ModelFileError(f"{where}: its {name} config is wrong: " + _listing(problems))

    try:
        expected = _EXPECTED_ARRAYS[name](config)
    except ModelFileError as error:
        raise ModelFileError(f"{where}: {error}") from None
    layers = "-".join(map(str, _LAYER_SIZES[name](config)))
    architecture = f"{name} {layers if len(layers) <= 60 else layers[:57] + '...'}"  # a hostile file may list millions
    dtype = np.dtype(meta["dtype"])
    problems = [f"{_kind(key)} {key} is missing" for key in expected if key not in members]
    problems += [f"unexpected array {key!r}" for key in members if key not in expected]
    for key, shape in expected.items():
        member = members.get(key)
        if member is None:
            continue
        if tuple(member.shape) != shape:
            problems.append(f"{key} has shape {tuple(member.shape)}, the architecture needs {shape}")
        elif member.dtype != dtype:
            problems.append(f"{key} has dtype {member.dtype}, the file says {dtype}")
    listed = meta.get("parameters", {key: list(member.shape) for key, member in members.items()})
    if listed != {key: list(member.shape) for key, member in members.items()}:
        problems.append(f"its 'parameters' entry {_short(listed)} does not list the arrays it holds")
    if problems:
        raise ModelFileError(f"{where} does not fit the {architecture} it describes: " + _listing(problems))
    return MODEL_CLASSES[name]


# -- reading the archive ---------------------------------------------------------------------


def _open_archive(path: Path, where: str) -> zipfile.ZipFile:
    with open(path, "rb") as stream:
        start = stream.read(4)
    if start[:2] != b"PK":
        raise ModelFileError(
            f"{where} is not a gategraph model file: it is not an .npz archive (it does not start as a zip file does)"
        )
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ModelFileError(
            f"{where} is not a gategraph model file: it starts as an .npz (zip) archive does but cannot be read, "
            f"it is truncated or corrupt ({type(error).__name__}: {error})"
        ) from None


def _members(archive: zipfile.ZipFile, path: Path, where: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's ``.npy`` members by array name, refused unless their sizes are possible."""
    file_size = path.stat().st_size
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        label = f"{where}: member {info.filename!r}"
        if not info.filename.endswith(".npy"):
            raise ModelFileError(f"{label} is not an .npy array; a model file holds nothing else")
        name = info.filename.removesuffix(".npy")
        if name in infos:
            raise ModelFileError(f"{label} appears twice: the archive is corrupt")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"{label} uses zip compression method {info.compress_type}; npz is stored or deflated")
        if info.compress_size > file_size:
            raise ModelFileError(
                f"{label} claims {info.compress_size:,} bytes in a file of {file_size:,}: the file is truncated"
            )
        stored = info.compress_type == zipfile.ZIP_STORED
        if info.file_size > (info.compress_size if stored else _MAX_DEFLATE_RATIO * info.compress_size + 1024):
            raise ModelFileError(
                f"{label} claims {info.file_size:,} bytes from {info.compress_size:,} stored: the file is corrupt"
            )
        infos[name] = info
    return infos


def _read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> Member:
    """The shape and dtype a member's ``.npy`` header declares, checked against the bytes it holds; no data read."""
    label = f"{where}: member {info.filename!r}"
    try:
        with archive.open(info) as stream:
            version = npy.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = npy.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = npy.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            data_size = info.file_size - stream.tell()
    except _READ_ERRORS as error:
        raise ModelFileError(
            f"{label} cannot be read: its .npy header is truncated or corrupt ({type(error).__name__}: {error})"
        ) from None
    if dtype.hasobject:
        raise ModelFileError(f"{label} holds object arrays, which are never loaded since unpickling can run code")
    declared = math.prod(shape) * dtype.itemsize  # Python integers: a product that would overflow int64 stays exact
    if any(n < 0 for n in shape) or declared != data_size:
        raise ModelFileError(
            f"{label} declares an array of shape {shape} and dtype {dtype} ({declared:,} bytes) "
            f"but holds {data_size:,} bytes of data: the file is truncated or corrupt"
        )
    return Member(shape, dtype)


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    try:
        with archive.open(info) as stream:
            return npy.read_array(stream, allow_pickle=False)
    except _READ_ERRORS as error:
        raise ModelFileError(
            f"{where}: member {info.filename!r} cannot be read, it is truncated or corrupt "
            f"({type(error).__name__}: {error})"
        ) from None


def _read_meta(archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: Member, where: str):
    if header.shape != () or header.dtype.kind != "U":
        raise ModelFileError(f"{where}: {_META!r} should be a JSON string, got {header.dtype} {header.shape}")
    text = str(_read_array(archive, info, where))
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # ValueError: bad JSON, or an integer of over 4300 digits
        raise ModelFileError(f"{where}: {_META!r} is not valid JSON: {type(error).__name__}: {error}") from None


def _listing(problems: list[str], limit: int = 6) -> str:
    """The first few problems; a hostile file could have millions."""
    more = f"; and {len(problems) - limit:,} more" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def _json_type(value) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(name: str) -> str:
    """What an array of a model file is: a parameter, or a running statistic of batch norm."""
    return "running statistic" if name.startswith("running_") else "parameter"
