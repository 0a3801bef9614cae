"""Atomic output: write beside the target, flush to disk, then rename over it."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError
from .interrupt import stop_if_interrupted


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Either the previous file or the complete new one is at ``path``, never a partial one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise OutputError(key="cannot_write", path=path, error=exc.strerror or exc) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        stop_if_interrupted()
        os.replace(temporary, path)
    except OSError as exc:
        _remove(temporary)
        raise OutputError(key="cannot_write", path=path, error=exc.strerror or exc) from None
    except BaseException:
        _remove(temporary)
        raise


@contextmanager
def atomic_path(path: str | Path):
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block succeeds,
    removed when it fails. For writers that want a file name rather than bytes."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(descriptor)
    except OSError as exc:
        raise OutputError(key="cannot_write", path=path, error=exc.strerror or exc) from None
    try:
        yield Path(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        stop_if_interrupted()
        os.replace(temporary, path)
    except OSError as exc:
        _remove(temporary)
        raise OutputError(key="cannot_write", path=path, error=exc.strerror or exc) from None
    except BaseException:
        _remove(temporary)
        raise


def _remove(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_file_stem(text: str, limit: int = 80) -> str:
    """A file name stem from unit text: no path separators, no '..', no reserved or hidden names."""
    cleaned = "".join("_" if ch in '<>:"/\\|?*' or ord(ch) < 32 else ch for ch in text)
    cleaned = cleaned.strip(" .")[:limit].strip(" .") or "unnamed"
    if cleaned.split(".")[0].upper() in _RESERVED:
        cleaned = f"_{cleaned}"
    return cleaned
