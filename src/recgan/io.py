"""Atomic artefact writing: temp file or folder in the same folder, then a rename over the target.

Nothing here pickles; artefacts are JSON, npz and safetensors only.

Output safety (every command that writes a file or a folder goes through here):

* A **folder** is written by :func:`atomic_dir`: built in a hidden sibling ``.NAME.<pid>.<random>.tmp``,
  its files and the folder fsynced, then swapped in (Linux: one ``renameat2(RENAME_EXCHANGE)``, so the path
  holds the old or the new complete folder at every instant; elsewhere two renames with the old folder kept
  as ``.NAME.old`` in between and put back if the second fails). Leftovers of a killed writer (its ``.tmp``
  folder, a ``.NAME.old`` whose path is gone) are cleaned, or put back, by the next write to the path.
* **The replace rule** (:func:`check_replaceable`): an existing path is replaced only when it is a recgan
  artefact folder of the same kind (recognised by its marker file: ``config.json`` naming a ``model`` for
  model folders, ``synth.json`` for synthesizers, ``train.tsv`` + ``test.tsv`` and only split files for a
  split, ``checkpoint.json``, ``report.json`` + ``report.html`` for a synthetic-data report,
  ``augment.json`` for ``recgan augment``, ``summary.json`` + ``report.html`` for ``recgan demo``), or an
  empty folder. Such a folder is replaced whole. Anything
  else (a folder of your own files, a regular file) is refused with one :class:`RecganError` line and left
  untouched.
* A **file** is written by :func:`atomic_path` (temp file, fsync, rename); an existing folder at the path is
  refused. Permission and other file-system errors become one :class:`RecganError` line naming the path.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from recgan.errors import RecganError


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; fsync it and rename it over ``path`` only if the block
    succeeds. An existing folder at ``path`` is refused; file-system errors are one :class:`RecganError`."""
    path = Path(path)
    if path.is_dir():
        raise RecganError(f"{path}: is a folder; expected a file path to write")
    _make_parent(path)
    _clean_leftovers(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _write_error(path, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        try:
            _fsync_file(tmp_path)
            os.replace(tmp_path, path)
        except OSError as e:
            raise _write_error(path, e) from None
        _fsync_dir(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=to_jsonable) + "\n")


def to_jsonable(o: Any) -> Any:
    """``json.dumps(default=...)`` for recgan artefacts: numpy scalars and arrays, paths; anything else as its
    text (the one JSON conversion of the project)."""
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "tolist"):  # torch tensors and the like
        return o.tolist()
    return str(o)


def write_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


MMAP_MIN_BYTES = 256 * 2**20
"""Arrays of at least this size in an uncompressed ``.npz`` are memory-mapped by :func:`load_npz`."""


def load_npz(path: str | os.PathLike[str], mmap_min_bytes: int = MMAP_MIN_BYTES) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (never pickled objects). An uncompressed member of at least
    ``mmap_min_bytes`` (e.g. the (n, n) float32 weights of an item-item model: 6.7 GB at 41k items) is mapped
    copy-on-write instead of read: no copy through zipfile and no CRC pass, pages are read when first used,
    and the array is writable without touching the file. A member whose bytes the file does not hold raises
    ``ValueError``; smaller members are read (and CRC-checked) as usual."""
    with np.load(path, allow_pickle=False) as z:
        out: dict[str, np.ndarray] = {}
        for k in z.files:
            mapped = _mapped_member(path, z.zip.getinfo(f"{k}.npy"), mmap_min_bytes)
            out[k] = mapped if mapped is not None else z[k]
        return out


def _mapped_member(path: str | os.PathLike[str], info: zipfile.ZipInfo, min_bytes: int) -> np.ndarray | None:
    """The ``.npy`` member ``info`` of the zip file ``path`` as a copy-on-write memory map, or None when it is
    compressed, small, or an object array."""
    if info.compress_type != zipfile.ZIP_STORED or info.file_size < min_bytes:
        return None
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{info.filename}: bad zip member header")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        version = np.lib.format.read_magic(fh)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if dtype.hasobject:
        return None
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset - start + nbytes != info.file_size:
        raise ValueError(f"{info.filename}: header says {nbytes} bytes, the member holds {info.file_size}")
    if nbytes == 0:
        return np.empty(shape, dtype, order="F" if fortran else "C")
    mm = np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=shape, order="F" if fortran else "C")
    return mm.view(np.ndarray)


@contextmanager
def atomic_dir(path: str | os.PathLike[str], kind: str | None = None) -> Iterator[Path]:
    """Build a folder in a temporary sibling and swap it in at the end; the path holds the old or the new
    complete folder at every instant (see the module docstring).

    ``kind``: the artefact kind being written (:data:`ARTEFACT_KINDS`); an existing ``path`` must be a
    folder of that kind (or empty), checked before the block runs. Without ``kind`` the kind of the built
    folder (its marker file) is used, checked before the swap. A refused path is left untouched."""
    path = Path(path)
    if kind is not None:
        check_replaceable(path, kind)
    _make_parent(path)
    _clean_leftovers(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        yield tmp
        check_replaceable(path, kind or artefact_kind(tmp))
        try:
            _fsync_tree(tmp)
            _swap_in(tmp, path)
        except OSError as e:
            raise _write_error(path, e) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- the replace rule
SPLIT_FILES = frozenset({"train.tsv", "test.tsv", "valid.tsv", "foldin.tsv"})
ARTEFACT_KINDS = {
    "model": "model folder (config.json naming a model)",
    "synthesizer": "synthesizer folder (synth.json)",
    "split": "split folder (train.tsv, test.tsv[, valid.tsv, foldin.tsv])",
    "checkpoint": "checkpoint folder (checkpoint.json)",
    "synth-report": "synthetic-data report folder (report.json, report.html)",
    "augment": "augmentation folder (augment.json)",
    "demo": "demo folder (summary.json, report.html)",
}
"""Kinds of recgan artefact folders and what marks them."""


def artefact_kind(folder: str | os.PathLike[str]) -> str | None:
    """The kind of recgan artefact held by ``folder`` (a key of :data:`ARTEFACT_KINDS`), recognised by its
    marker file; None for anything else (a missing path, a file, a folder of other files)."""
    folder = Path(folder)
    try:
        if not folder.is_dir() or folder.is_symlink():
            return None
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return None
    if "config.json" in names:
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cfg = None
        if isinstance(cfg, dict) and "model" in cfg:
            return "model"
    if "synth.json" in names:
        return "synthesizer"
    if "checkpoint.json" in names:
        return "checkpoint"
    if {"report.json", "report.html"} <= names:
        return "synth-report"
    if "augment.json" in names:
        return "augment"
    if {"summary.json", "report.html"} <= names:
        return "demo"
    if {"train.tsv", "test.tsv"} <= names and names <= SPLIT_FILES:
        return "split"
    return None


def check_replaceable(path: str | os.PathLike[str], kind: str | None) -> Path:
    """Raise :class:`RecganError` (one line, nothing touched) unless ``path`` may be replaced whole by a
    recgan folder of ``kind``: it does not exist, is an empty folder, or is a recgan artefact folder of that
    kind (``kind`` None: of any kind). Returns ``path``."""
    path = Path(path)
    what = ARTEFACT_KINDS.get(kind or "", "recgan artefact folder")
    if path.is_symlink():
        raise RecganError(f"{path}: is a symbolic link; refusing to replace it (give the folder itself)")
    if not path.exists():
        return path
    if not path.is_dir():
        raise RecganError(f"{path}: exists and is a file, not a recgan {what}; refusing to replace it "
                          "(remove it or choose another path)")
    try:
        empty = not any(path.iterdir())
    except OSError as e:
        raise RecganError(f"{path}: cannot read the existing folder: {e.strerror or e}") from None
    if empty:
        return path
    found = artefact_kind(path)
    if found is None:
        raise RecganError(f"{path}: an existing folder that is not a recgan {what}; refusing to replace it "
                          "and its files (choose a new or empty folder)")
    if kind is not None and found != kind:
        raise RecganError(f"{path}: holds a recgan {found} folder, not a {what}; refusing to replace it")
    return path


# ---------------------------------------------------------------- helpers of the atomic writes
def _write_error(path: Path, e: OSError) -> RecganError:
    why = e.strerror or type(e).__name__
    if isinstance(e, PermissionError):
        why = "permission denied"
    return RecganError(f"{path}: cannot write: {why}")


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if isinstance(e, FileExistsError | NotADirectoryError):
            raise RecganError(f"{path}: cannot write: a parent of it is a file, not a folder") from None
        raise _write_error(path, e) from None


def _leftover_pattern(name: str) -> re.Pattern[str]:
    # .NAME.<pid>.<8 random>.tmp (this module) or .NAME.<8 random>.tmp (older recgan); never another path's
    return re.compile(re.escape(f".{name}.") + r"(?:(\d+)\.)?[a-z0-9_]{8}\.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _clean_leftovers(path: Path) -> None:
    """Remove what a killed writer of ``path`` left (temporary files and folders of dead processes); put
    a ``.NAME.old`` folder back when ``path`` itself is gone (a crash between the two renames)."""
    parent = path.parent
    old = parent / f".{path.name}.old"
    try:
        if old.is_dir() and not old.is_symlink():
            if not path.exists() and not path.is_symlink():
                os.replace(old, path)
            else:
                shutil.rmtree(old, ignore_errors=True)
        pat = _leftover_pattern(path.name)
        for entry in os.scandir(parent):
            m = pat.fullmatch(entry.name)
            if m is None or (m.group(1) is not None and _pid_alive(int(m.group(1)))):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
    except OSError:
        pass  # cleaning is best effort; the write itself reports real problems


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """fsync every file, then every folder (deepest first) of ``folder``."""
    dirs = []
    for dirpath, _dirnames, filenames in os.walk(folder):
        dirs.append(dirpath)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                _fsync_file(Path(p))
    for d in reversed(dirs):
        _fsync_dir(Path(d))


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap the two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False  # the file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, path: Path) -> None:
    """Put the complete folder ``tmp`` at ``path``; ``path`` holds its old or its new folder throughout."""
    parent = path.parent
    if not path.exists():
        os.replace(tmp, path)
        _fsync_dir(parent)
        return
    if _exchange(tmp, path):  # path: new folder; tmp: old folder (removed by the caller)
        _fsync_dir(parent)
        return
    old = parent / f".{path.name}.old"
    if old.exists():
        shutil.rmtree(old)
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(old, path)  # the old folder goes back
        raise
    _fsync_dir(parent)
    shutil.rmtree(old, ignore_errors=True)


def write_table(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Run ``writer(tmp_path)`` and rename the result over ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
