"""Parts of the service tested in-process: micro-batcher, path confinement, model versions, settings, the
synthesizer hook, CORS and streamed bodies, and the command line's refusals (before any port is bound)."""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from recgan.cli.main import main
from recgan.errors import RecganError
from recgan.serving import ServeSettings, create_app
from recgan.serving.batcher import MicroBatcher
from recgan.serving.holder import PathNotAllowed, _load_synthesizer, load_model_folder, resolve_inside


@pytest.fixture(scope="module")
def ease_snap(models_root):
    return load_model_folder(models_root / "ease")


@pytest.fixture(scope="module")
def knn_snap(models_root):
    return load_model_folder(models_root / "itemknn")


def test_micro_batches_equal_single_calls(ease_snap, knn_snap):
    sizes: list[int] = []

    async def go():
        with ThreadPoolExecutor(2) as pool:
            b = MicroBatcher(pool, max_size=16, on_batch=sizes.append)
            b.start()
            jobs = [(snap, u, k, ex) for u in range(39) for snap, k, ex in
                    ((ease_snap, 3, True), (knn_snap, 7, True), (ease_snap, 5, False))]
            out = await asyncio.gather(*(b.recommend(*j) for j in jobs))
            await b.stop()
            return jobs, out

    jobs, out = asyncio.run(go())
    for (snap, u, k, ex), (items, scores) in zip(jobs, out, strict=True):
        want_i, want_s = snap.model.recommend(np.array([u]), k, exclude_seen=ex)
        np.testing.assert_array_equal(items, want_i[0])
        np.testing.assert_allclose(scores, want_s[0], rtol=1e-6)
    assert sum(sizes) == len(jobs)
    assert max(sizes) > 1 and max(sizes) <= 16  # concurrent requests were coalesced, within the bound


def test_micro_batch_error_fails_only_its_requests(ease_snap):
    async def go():
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(pool)
            b.start()
            bad = b.recommend(ease_snap, 10_000, 3, True)  # user index out of range
            res = await asyncio.gather(bad, return_exceptions=True)
            good = await b.recommend(ease_snap, 1, 3, True)
            await b.stop()
            return res[0], good

    err, good = asyncio.run(go())
    assert isinstance(err, RecganError) and len(good[0]) == 3


def test_resolve_inside(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (root / "link").symlink_to(tmp_path / "out")
    assert resolve_inside(root, "a") == (root / "a").resolve()
    assert resolve_inside(root, root / "a") == (root / "a").resolve()
    for bad in ("..", "../out", "a/../../out", "link", "/etc/passwd", str(tmp_path / "out"), "a\x00b"):
        with pytest.raises(PathNotAllowed):
            resolve_inside(root, bad)


def test_folder_with_a_link_out_is_refused(models_root):
    with pytest.raises(PathNotAllowed, match="links outside"):
        load_model_folder(models_root / "escape")


def test_version_is_a_content_hash(models_root, tmp_path, ease_snap):
    import shutil

    shutil.copytree(models_root / "ease", tmp_path / "copy")
    assert load_model_folder(tmp_path / "copy").version == ease_snap.version
    (tmp_path / "copy" / "extra.txt").write_text("changed")
    assert load_model_folder(tmp_path / "copy").version != ease_snap.version


def test_synth_folder_without_synth_module(models_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "recgan.synth", None)  # as before recgan.synth exists
    synth, why = _load_synthesizer(models_root / "nofold")
    assert synth is None and "recgan.synth" in why
    synth, why = _load_synthesizer(models_root / "ease")
    assert synth is None and "synth/" in why


@pytest.mark.parametrize("kw", [{"max_history": 0}, {"batch_wait_ms": -1}, {"api_key": ""},
                                {"compute_threads": 0}])
def test_bad_settings(kw):
    with pytest.raises(RecganError):
        ServeSettings(**kw)


def test_cors_only_for_listed_origins(models_root):
    from fastapi.testclient import TestClient

    app = create_app(models_root / "pop", ServeSettings(cors_origins=("https://shop.example",)))
    with TestClient(app) as c:
        r = c.get("/v1/users/u001/recommendations", headers={"Origin": "https://shop.example"})
        assert r.headers["access-control-allow-origin"] == "https://shop.example"
        r = c.get("/v1/users/u001/recommendations", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_streamed_body_over_the_limit_is_413(models_root):
    from fastapi.testclient import TestClient

    app = create_app(models_root / "pop", ServeSettings(max_body_bytes=1000))

    def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"history": ['
        for _ in range(200):
            yield b'"i001", '
        yield b'"i001"]}'

    with TestClient(app) as c:
        r = c.post("/v1/recommendations", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        r = c.post("/v1/recommendations", json={"history": ["i001"]})
        assert r.status_code == 200


def test_cli_refuses_bad_setups(models_root, tmp_path, capsys):
    key = str(models_root.parent / "api.key")
    short = tmp_path / "short.key"
    short.write_text("abc\n")
    cases = [
        (["--model", str(tmp_path / "none")], "not a recgan model folder"),
        (["--model", str(models_root / "ease"), "--api-key-file", str(tmp_path / "no-dir" / "key")], "cannot create"),
        (["--model", str(models_root / "ease"), "--api-key-file", str(short)], "shorter than 16"),
        (["--model", str(models_root.parent / "outside"), "--model-root", str(models_root)], "outside"),
        (["--model", str(models_root / "broken"), "--api-key-file", key], "broken"),
    ]
    for args, message in cases:
        assert main(["serve", *args]) == 2
        assert message in capsys.readouterr().err


def test_id_lookup_is_exact():
    from recgan.data.ids import IdMap
    from recgan.serving.holder import IdLookup

    ints = IdLookup(IdMap(np.array([1, 2, 3, 10**12]), "user"))
    assert [ints.one(v) for v in ("1", 1, "1000000000000")] == [0, 0, 3]
    assert [ints.one(v) for v in ("042", "01", "+2", " 2", "2.0", "x", True, 2**70, str(2**70), "")] == [-1] * 10
    strs = IdLookup(IdMap(np.array(["a", "b", "5x"]), "item"))
    assert [strs.one(v) for v in ("a", "5x", 5, "A", "a\x00", "a ")] == [0, 2, -1, -1, -1, -1]
    assert strs.many(["b", 1, "a"]).tolist() == [1, -1, 0]


def test_synthetic_users_from_a_real_synthesizer(models_root, data, tmp_path):
    synth = pytest.importorskip("recgan.synth")
    import shutil

    from fastapi.testclient import TestClient

    shutil.copytree(models_root / "pop", tmp_path / "pop")
    synth.make_synthesizer("independent").fit(data).save(tmp_path / "pop" / "synth")
    with TestClient(create_app(tmp_path / "pop")) as c:
        assert c.get("/readyz").json()["model"]["has_synthesizer"] is True
        r = c.post("/v1/synthetic-users", json={"n": 4, "seed": 3})
        assert r.status_code == 200
        rows = r.json()["interactions"]
        assert len({x["user"] for x in rows}) <= 4 and {x["item"] for x in rows} <= set(data.items.to_list())
        assert c.post("/v1/synthetic-users", json={"n": 4, "seed": 3}).json() == r.json()


def test_micro_batcher_follows_the_event_loop(models_root):
    from fastapi.testclient import TestClient

    c = TestClient(create_app(models_root / "ease"))  # no lifespan: every call runs on a new event loop
    assert [c.get(f"/v1/users/u00{u}/recommendations").status_code for u in range(3)] == [200] * 3
