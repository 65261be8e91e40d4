"""Output safety of recgan.io: the replace rule, atomic folder swaps that survive crashes between steps,
leftovers of killed writers cleaned on the next write, file-system errors as one RecganError line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import recgan.io as rio
from recgan.errors import RecganError
from recgan.io import artefact_kind, atomic_dir, atomic_path, check_replaceable


def _write_model(path: Path, tag: str) -> None:
    with atomic_dir(path, "model") as tmp:
        (tmp / "config.json").write_text(json.dumps({"model": "pop", "tag": tag}))
        (tmp / "weights.npz").write_bytes(b"w" * 100)


def _tag(path: Path) -> str:
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.npz"]  # complete
    return json.loads((path / "config.json").read_text())["tag"]


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def test_kinds_by_marker(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"model": "ease"}')
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text('{"something": "else"}')
    (tmp_path / "s").mkdir()
    for f in ("train.tsv", "test.tsv"):
        (tmp_path / "s" / f).write_text("1\t2\n")
    (tmp_path / "s2").mkdir()
    for f in ("train.tsv", "test.tsv", "notes.txt"):
        (tmp_path / "s2" / f).write_text("x")
    assert [artefact_kind(tmp_path / n) for n in ("m", "c", "s", "s2", "missing")] == \
        ["model", None, "split", None, None]


def test_non_recgan_folder_and_file_are_refused_untouched(tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "a.txt").write_text("keep")
    (mine / "sub" / "b.txt").write_text("keep too")
    f = tmp_path / "file.txt"
    f.write_text("data")
    for target, msg in ((mine, "not a recgan model folder"), (f, "is a file")):
        with pytest.raises(RecganError, match=msg):
            _write_model(target, "x")
    assert (mine / "a.txt").read_text() == "keep" and (mine / "sub" / "b.txt").read_text() == "keep too"
    assert f.read_text() == "data"
    assert _siblings(mine) == ["file.txt"] and _siblings(f) == ["mine"]  # no hidden leftovers


def test_kind_is_checked_before_the_work_and_inferred_without_kind(tmp_path):
    split = tmp_path / "split"
    split.mkdir()
    for n in ("train.tsv", "test.tsv"):
        (split / n).write_text("1\t1\n")
    ran = []
    with pytest.raises(RecganError, match="holds a recgan split folder"):
        with atomic_dir(split, "model"):
            ran.append(1)
    assert not ran
    with pytest.raises(RecganError, match="holds a recgan split folder"):  # kind taken from what was built
        with atomic_dir(split) as tmp:
            (tmp / "config.json").write_text('{"model": "pop"}')
    assert sorted(p.name for p in split.iterdir()) == ["test.tsv", "train.tsv"]
    assert check_replaceable(split, "split") == split


def test_model_folder_and_empty_folder_are_replaced_whole(tmp_path):
    m = tmp_path / "m"
    m.mkdir()
    _write_model(m, "one")
    (m / "stale.bin").write_text("old")
    _write_model(m, "two")
    assert _tag(m) == "two" and _siblings(m) == []


@pytest.mark.parametrize("exchange", [True, False])
@pytest.mark.parametrize("fail_at", [1, 2])
def test_crash_between_steps_keeps_a_complete_folder(tmp_path, monkeypatch, exchange, fail_at):
    m = tmp_path / "m"
    _write_model(m, "old")
    calls = {"n": 0}
    real_replace = os.replace

    def flaky_replace(a, b):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(5, "simulated crash")
        return real_replace(a, b)

    if not exchange:
        monkeypatch.setattr(rio, "_exchange", lambda a, b: False)
    else:
        def flaky_exchange(a, b):
            raise OSError(5, "simulated crash")
        monkeypatch.setattr(rio, "_exchange", flaky_exchange if fail_at == 1 else rio._exchange)
    monkeypatch.setattr(os, "replace", flaky_replace)
    try:
        _write_model(m, "new")
    except RecganError as e:
        assert "cannot write" in str(e)
    monkeypatch.undo()
    assert _tag(m) in ("old", "new")  # never missing, never half
    assert _siblings(m) == []


def test_kill_between_the_two_renames_is_repaired_by_the_next_write(tmp_path, monkeypatch):
    m = tmp_path / "m"
    _write_model(m, "old")
    # what a kill -9 after the first rename of the fallback leaves: no m, a .m.old, a .tmp of a dead writer
    os.replace(m, tmp_path / ".m.old")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    (tmp_path / f".m.{dead}.abcd1234.tmp").mkdir()
    (tmp_path / ".m.zz_12345.tmp").mkdir()  # the name an older recgan used
    (tmp_path / f".m.v2.{dead}.abcd1234.tmp").mkdir()  # belongs to another path (m.v2): kept
    monkeypatch.setattr(rio, "_exchange", lambda a, b: False)
    _write_model(m, "new")
    assert _tag(m) == "new"
    assert _siblings(m) == [f".m.v2.{dead}.abcd1234.tmp"]


def test_a_live_writers_tmp_is_not_touched(tmp_path):
    live = tmp_path / f".m.{os.getppid()}.abcd1234.tmp"
    live.mkdir()
    _write_model(tmp_path / "m", "x")
    assert live.exists()


def test_atomic_path_errors_are_one_line(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(RecganError, match="is a folder"):
        with atomic_path(tmp_path / "d"):
            pass
    (tmp_path / "f").write_text("x")
    with pytest.raises(RecganError, match="parent of it is a file"):
        with atomic_path(tmp_path / "f" / "out.tsv"):
            pass
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(RecganError, match="permission denied"):
                with atomic_path(ro / "out.tsv") as tmp:
                    tmp.write_text("x")
        finally:
            ro.chmod(0o700)


def test_atomic_path_cleans_dead_leftovers(tmp_path):
    out = tmp_path / "out.tsv"
    (tmp_path / ".out.tsv.999999999.abcd1234.tmp").write_text("partial")
    with atomic_path(out) as tmp:
        tmp.write_text("done")
    assert out.read_text() == "done" and _siblings(out) == []


def test_a_real_kill_during_a_save_leaves_the_old_folder_and_nothing_for_good(tmp_path):
    """SIGKILL while the new folder is being built: the old complete folder stays at the path; the killed
    writer's hidden .tmp folder is removed by the next write."""
    import signal
    import time

    m = tmp_path / "m"
    _write_model(m, "old")
    ready = tmp_path / "ready"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from recgan.io import atomic_dir\n"
        f"with atomic_dir(Path({str(m)!r}), 'model') as tmp:\n"
        "    (tmp / 'config.json').write_text('{\"model\": \"pop\", \"tag\": \"half\"}')\n"
        f"    Path({str(ready)!r}).write_text('x')\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _tag(m) == "old"
    assert [n for n in _siblings(m) if n.endswith(".tmp")]  # what the kill left
    _write_model(m, "new")
    assert _tag(m) == "new" and _siblings(m) == ["ready"]


def test_load_npz_maps_large_members_copy_on_write(tmp_path):
    import numpy as np

    from recgan.io import load_npz, write_npz

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    f = np.asfortranarray(np.random.default_rng(0).random((5, 7)))
    small = np.arange(3)
    write_npz(tmp_path / "x.npz", a=a, f=f, small=small, empty=np.empty((0, 3)))
    got = load_npz(tmp_path / "x.npz", mmap_min_bytes=48)  # a and f mapped, small read
    for k, v in {"a": a, "f": f, "small": small}.items():
        assert type(got[k]) is np.ndarray and got[k].dtype == v.dtype and np.array_equal(got[k], v)
    assert got["f"].flags.f_contiguous and got["empty"].shape == (0, 3)
    got["a"][0, 0] = 99.0  # writable, and the file is untouched
    assert load_npz(tmp_path / "x.npz")["a"][0, 0] == 0.0
    assert np.array_equal(load_npz(tmp_path / "x.npz", mmap_min_bytes=1)["small"], small)
