"""Saving and loading models as ``.npz`` files that never run code when read.

A model file is a numpy ``.npz`` archive with one array per parameter
(``W1``, ``b1``, ...) and ``__model__``, a JSON string::

    {"format": "gategraph.model", "version": 1, "class": "MLP",
     "config": {...constructor arguments...}, "dtype": "float32",
     "parameters": {"W1": [256, 784], ...}}

It is read with ``allow_pickle=False``: only plain arrays and the JSON text,
so a hostile file can be wrong but cannot run anything. It is written to a
temporary file in the same directory and renamed into place, so a crash
mid-write never leaves a half-written model under the real name.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from models.errors import ModelFileError
from models.files import atomic_write
from models.network import MODEL_CLASSES, Model

__all__ = ["save", "load", "FORMAT", "VERSION"]

FORMAT = "gategraph.model"
VERSION = 1
_META = "__model__"


def save(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` (architecture and parameters) to ``path``, exactly that name.

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
    arrays[_META] = np.array(json.dumps(meta))
    with atomic_write(path) as stream:
        np.savez(stream, **arrays)


def load(path: str | os.PathLike) -> Model:
    """Rebuild the model saved in ``path``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ModelFileError
        The file is not an ``.npz`` archive, is truncated or corrupt, is not a
        gategraph model, has a newer format version, names an unknown model,
        or its arrays do not fit the architecture it describes (missing,
        extra, wrongly shaped, not floating point, or object arrays).
    """
    path = Path(path)
    where = f"model file {str(path)!r}"
    arrays = _read_arrays(path, where)
    if _META not in arrays:
        raise ModelFileError(f"{where} is an .npz archive but not a gategraph model: it has no {_META!r} entry")
    meta = _read_meta(arrays.pop(_META), where)
    cls = MODEL_CLASSES.get(meta["class"])
    if cls is None:
        raise ModelFileError(
            f"{where} holds an unknown model class {meta['class']!r}; known: {', '.join(MODEL_CLASSES)}"
        )
    try:
        model = cls(**meta["config"], dtype=meta["dtype"])
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"{where}: its architecture {meta['config']} does not build a {cls.__name__}: {error}"
        ) from None
    expected = {node.name: node.value.shape for node in model.parameters()}
    problems = [f"parameter {n} is missing" for n in expected if n not in arrays]
    problems += [f"unexpected array {n!r}" for n in arrays if n not in expected]
    for name, shape in expected.items():
        array = arrays.get(name)
        if array is None:
            continue
        if array.shape != shape:
            problems.append(f"{name} has shape {array.shape}, the architecture needs {shape}")
        elif array.dtype != model.dtype:
            problems.append(f"{name} has dtype {array.dtype}, the file says {model.dtype}")
    if problems:
        raise ModelFileError(f"{where} does not fit the {model.architecture} it describes: " + "; ".join(problems))
    model.load_state_dict(arrays)
    return model


def _read_arrays(path: Path, where: str) -> dict[str, np.ndarray]:
    """Every array of the archive, read now so that damage shows here."""
    with open(path, "rb") as stream:
        if stream.read(2) != b"PK":
            raise ModelFileError(f"{where} is not an .npz archive (it does not start as a zip file does)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        if "Object arrays" in str(error):
            reason = "it holds object arrays, which are never loaded since unpickling can run code"
        else:
            reason = "it is truncated or corrupt"
        raise ModelFileError(f"{where} cannot be read: {reason} ({type(error).__name__}: {error})") from None


def _read_meta(entry: np.ndarray, where: str) -> dict:
    if entry.shape != () or entry.dtype.kind != "U":
        raise ModelFileError(f"{where}: {_META!r} should be a JSON string, got {entry.dtype} {entry.shape}")
    try:
        meta = json.loads(str(entry))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{where}: {_META!r} is not valid JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{where} is not a gategraph model file (format {meta.get('format')!r})")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise ModelFileError(
            f"{where} has format version {version!r}; this gategraph reads versions up to {VERSION}: upgrade gategraph"
        )
    missing = [key for key in ("class", "config", "dtype") if key not in meta]
    if missing or not isinstance(meta["config"], dict):
        raise ModelFileError(f"{where}: its metadata lacks {', '.join(missing) or 'a config mapping'}")
    return meta
