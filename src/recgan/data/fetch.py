"""Download (or import) the official MovieLens archives into a cache, with a SHA-256 check.

recgan ships no licensed data. With a network, ``fetch`` downloads the GroupLens archive with a progress
bar and verifies its SHA-256; ``from_path`` imports a local copy (an archive, or an extracted folder or
file). Offline without a path it fails with one line saying so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from recgan.errors import RecganError
from recgan.io import atomic_path

DATASETS = {
    "movielens-100k": {
        "url": "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "sha256": "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c9a2328",
        "file": "u.data",
    },
    "movielens-1m": {
        "url": "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        "sha256": "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        "file": "ratings.dat",
    },
}


def cache_dir() -> Path:
    return Path(os.environ.get("RECGAN_CACHE", Path.home() / ".cache" / "recgan"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _spec(name: str) -> dict:
    if name not in DATASETS:
        raise RecganError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def fetch(name: str, *, dest: Path | None = None, from_path: str | None = None, progress: bool = True,
          timeout: float = 20.0) -> Path:
    """Make data set ``name`` available in the cache; return the path of its ratings file."""
    spec = _spec(name)
    dest = (dest or cache_dir()) / name
    target = dest / spec["file"]
    if target.exists():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    if from_path:
        return _import_local(Path(from_path), dest, spec)
    archive = dest.with_suffix(".zip.part")
    try:
        with urllib.request.urlopen(spec["url"], timeout=timeout) as resp, open(archive, "wb") as fh:
            total = int(resp.headers.get("Content-Length") or 0)
            from tqdm.auto import tqdm

            with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
                for block in iter(lambda: resp.read(1 << 16), b""):
                    fh.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        archive.unlink(missing_ok=True)
        raise RecganError(
            f"cannot download {name} ({getattr(e, 'reason', e)}); offline? pass --from PATH with a local copy"
        ) from None
    return _import_local(archive, dest, spec, delete=True)


def _import_local(src: Path, dest: Path, spec: dict, delete: bool = False) -> Path:
    if not src.exists():
        raise RecganError(f"{src}: no such file or folder")
    target = dest / spec["file"]
    if src.is_dir():
        found = next(iter(sorted(src.rglob(spec["file"]))), None)
        if found is None:
            raise RecganError(f"{src}: no {spec['file']} inside")
        _copy(found, target)
        return target
    if src.name == spec["file"]:
        _copy(src, target)
        return target
    if zipfile.is_zipfile(src):
        digest = sha256(src)
        if digest != spec["sha256"]:
            if delete:
                src.unlink(missing_ok=True)
            raise RecganError(f"{src}: SHA-256 {digest} does not match the official archive ({spec['sha256']})")
        with zipfile.ZipFile(src) as z:
            members = [m for m in z.namelist() if m.endswith("/" + spec["file"]) or m == spec["file"]]
            if not members:
                raise RecganError(f"{src}: archive has no {spec['file']}")
            files = [m for m in z.namelist() if not m.endswith("/") and Path(m).name and ".." not in Path(m).parts]
            # each file appears whole or not at all, the ratings file last: its presence (the cache's "done"
            # mark, checked first by fetch) means every file is complete
            for m in sorted(files, key=lambda m: m in members):
                with z.open(m) as fin, atomic_path(dest / Path(m).name) as tmp, open(tmp, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
        if delete:
            src.unlink(missing_ok=True)
        return target
    raise RecganError(f"{src}: expected the official zip archive, a folder, or {spec['file']}")


def _copy(src: Path, target: Path) -> None:
    """Copy ``src`` to ``target`` atomically (a partial copy never appears at ``target``)."""
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
