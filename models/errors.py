"""The exceptions models/ raises, one sentence each.

They derive from :class:`graph.errors.GategraphError` and from the builtin
that fits, like the graph's own errors.
"""

from __future__ import annotations

from graph.errors import GategraphError

__all__ = ["DataFileError", "DownloadError", "ChecksumError", "ModelFileError"]


class DataFileError(GategraphError, ValueError):
    """A data file (IDX) is missing, truncated or not what its name says."""


class DownloadError(GategraphError, OSError):
    """A download failed or was cut short; nothing was left in the cache."""


class ChecksumError(DownloadError):
    """A downloaded or cached file's SHA-256 differs from the expected one."""


class ModelFileError(GategraphError, ValueError):
    """A saved model file is corrupt, truncated, of another format or does not fit the model."""
