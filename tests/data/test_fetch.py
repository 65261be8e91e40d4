"""``recgan data fetch`` from a local archive: every file appears whole or not at all, the ratings file (the
cache's completion mark) last, so an interrupted import is redone rather than trusted."""

from __future__ import annotations

import shutil
import zipfile

import pytest

import recgan.data.fetch as f
from recgan.errors import RecganError


@pytest.fixture
def archive(tmp_path, monkeypatch):
    path = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ml-100k/u.data", "1\t2\t3\t4\n" * 1000)
        z.writestr("ml-100k/u.item", "2|Some film|\n")
        z.writestr("ml-100k/README", "readme\n")
    monkeypatch.setitem(f.DATASETS["movielens-100k"], "sha256", f.sha256(path))
    return path


def test_import_from_archive_writes_every_file(archive, tmp_path):
    target = f.fetch("movielens-100k", dest=tmp_path / "cache", from_path=str(archive))
    assert target.read_text() == "1\t2\t3\t4\n" * 1000
    assert sorted(p.name for p in target.parent.iterdir()) == ["README", "u.data", "u.item"]


def test_interrupted_import_leaves_no_ratings_file(archive, tmp_path, monkeypatch):
    copy = shutil.copyfileobj

    def fail_on_ratings(fin, fout, *a):
        if fin.name.endswith("u.data"):
            fout.write(b"1\t2\t")  # half of it, then the disk fills up
            raise OSError(28, "No space left on device")
        return copy(fin, fout, *a)

    monkeypatch.setattr(f.shutil, "copyfileobj", fail_on_ratings)
    with pytest.raises((OSError, RecganError)):
        f.fetch("movielens-100k", dest=tmp_path / "cache", from_path=str(archive))
    dest = tmp_path / "cache" / "movielens-100k"
    assert sorted(p.name for p in dest.iterdir()) == ["README", "u.item"]  # the other files are complete
    monkeypatch.setattr(f.shutil, "copyfileobj", copy)
    assert f.fetch("movielens-100k", dest=tmp_path / "cache", from_path=str(archive)).stat().st_size == 8000
