"""CLI borders: ids by the one rule (20-digit ids round-trip through train and recommend; two stay two),
damaged model folders, non-UTF-8 id files, a fold-in history with no known item: one line, exit 2."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recgan.cli.main import main
from recgan.data.splits import write_tsv
from recgan.testing import tiny_data

BIG = ["99999999999999999999", "99999999999999999998", "12345678901234567890123"]


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("recgan: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    train = d / "train.tsv"
    write_tsv(tiny_data(empty_user=False), train)
    big = d / "big.tsv"
    big.write_text("".join(f"{u}\t{i}\n" for u, i in [(BIG[0], BIG[0]), (BIG[0], BIG[1]), (BIG[1], BIG[1]),
                                                      (BIG[1], BIG[2]), (BIG[2], BIG[0]), ("7", BIG[2])]))
    assert main(["train", "--train", str(train), "--model", "ease", "--out", str(d / "ease")]) == 0
    assert main(["train", "--train", str(big), "--model", "pop", "--out", str(d / "big")]) == 0
    return {"root": d, "ease": d / "ease", "big": d / "big"}


def _rows(out: str) -> list[list[str]]:
    return [ln.split("\t") for ln in out.splitlines() if ln]


def test_20_digit_ids_round_trip_through_train_and_recommend(folders, capsys, tmp_path):
    capsys.readouterr()
    assert main(["recommend", "--model", str(folders["big"]), "--users", ",".join(BIG[:2]), "-k", "3",
                 "--include-seen"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert {r[0] for r in rows} == set(BIG[:2])  # two users, each under its own text
    assert {r[1] for r in rows} <= {*BIG}
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{BIG[2]}\n\n 7 \n")
    assert main(["recommend", "--model", str(folders["big"]), "--users", f"@{ids}", "-k", "1"]) == 0
    assert [r[0] for r in _rows(capsys.readouterr().out)] == [BIG[2], "7"]
    for wrong in ("-9223372036854775808", BIG[0][:-1], "0" + BIG[0]):
        assert main(["recommend", "--model", str(folders["big"]), f"--users={wrong}"]) == 2
        assert "unknown user id" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("harm", ["truncate", "delete", "zip", "config"])
def test_damaged_model_folder_is_one_line(folders, tmp_path, capsys, harm):
    m = tmp_path / "m"
    shutil.copytree(folders["ease"], m)
    w = m / "weights.npz"
    if harm == "truncate":
        w.write_bytes(w.read_bytes()[:100])
    elif harm == "delete":
        w.unlink()
    elif harm == "zip":
        with zipfile.ZipFile(w, "w") as z:
            z.writestr("x.txt", "no arrays here")
    else:
        (m / "config.json").write_text('{"model": "ease", "config": ')
    capsys.readouterr()
    assert main(["recommend", "--model", str(m), "--users", "all"]) == 2
    assert str(m) in _one_error_line(capsys.readouterr().err)


def test_missing_or_file_model_is_one_line(folders, capsys):
    for m in (folders["root"] / "nope", folders["root"] / "train.tsv"):
        assert main(["recommend", "--model", str(m), "--users", "all"]) == 2
        _one_error_line(capsys.readouterr().err)


def test_non_utf8_id_file_names_its_line(folders, tmp_path, capsys):
    f = tmp_path / "users.txt"
    f.write_bytes(b"u001\nu002\n\xff\xfeu003\n")
    for arg in (["--users", f"@{f}"], ["--history", str(f)]):
        assert main(["recommend", "--model", str(folders["ease"]), *arg]) == 2
        line = _one_error_line(capsys.readouterr().err)
        assert "line 3" in line and "UTF-8" in line


def test_fold_in_with_only_unknown_items_is_an_error(folders, tmp_path, capsys):
    h = tmp_path / "h.txt"
    h.write_text("zz1\nzz2\n")
    out = tmp_path / "out.tsv"
    assert main(["recommend", "--model", str(folders["ease"]), "--history", str(h), "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "none of its 2 item id(s) is known" in line and "zz1" in line
    assert not out.exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.one_of(st.text(min_size=1, max_size=25), st.integers(min_value=-(2**80), max_value=2**80)
                              .map(str), st.sampled_from(["u001", "u0001", "u001.0", BIG[0]])),
                    min_size=1, max_size=4))
def test_fuzzed_users_are_found_exactly_or_one_line(folders, capsys, ids):
    spec = ",".join(ids)
    if spec.startswith("@") or spec.strip() == "all" or not [s for s in spec.split(",") if s.strip()]:
        return
    capsys.readouterr()
    rc = main(["recommend", "--model", str(folders["ease"]), f"--users={spec}", "-k", "1"])
    out, err = capsys.readouterr()
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    if rc == 0:
        assert all(w.startswith("u0") and len(w) == 4 for w in wanted)  # tiny_data's ids, exact text only
        assert {r[0] for r in _rows(out)} <= set(wanted)
    else:
        assert rc == 2 and "unknown user id" in _one_error_line(err)
