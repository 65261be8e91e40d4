"""The HTTP service spoken to over real HTTP (a `recgan serve` subprocess on a loopback port): every endpoint,
every bad-input rule, the API key, metrics, reloads (good, failed, refused, under load) and workers."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

from recgan.models.base import Recommender
from recgan.serving import schemas as S


@pytest.fixture(scope="module")
def servers(start_servers, models_root, api_key):
    KEY = api_key
    key = str(models_root.parent / "api.key")
    ease = str(models_root / "ease")
    return start_servers({
        "api": dict(args=["--model", ease, "--api-key-file", key, "--max-history", "20",
                          "--max-batch-users", "50", "--max-body-bytes", "65536"], key=KEY),
        "nofold": dict(args=["--model", str(models_root / "nofold"), "--max-synthetic-users", "50"],
                       fakes="--fake-synth"),
        "workers": dict(args=["--model", ease, "--api-key-file", key, "--workers", "2", "--no-micro-batch"],
                        key=KEY),
    })


@pytest.fixture(scope="module")
def api(servers):
    return servers["api"]


@pytest.fixture(scope="module")
def ease(models_root) -> Recommender:
    return Recommender.load(models_root / "ease")


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = S.ErrorResponse.model_validate(r.json()).error
    if code is not None:
        assert err.code == code, r.text
    assert err.message
    return r.json()["error"]


# ---------------------------------------------------------------- health, key, docs, metrics
def test_health_and_ready_need_no_key(api):
    import httpx

    r = httpx.get(api.url + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = httpx.get(api.url + "/readyz")
    assert r.status_code == 200
    ready = S.Ready.model_validate(r.json())
    assert ready.model.name == "ease" and ready.model.supports_fold_in and ready.model.has_item_similarity
    assert ready.model.n_users == 40 and ready.model.n_items == 30


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/users/u001/recommendations", None),
    ("POST", "/v1/recommendations", {"history": ["i001"]}),
    ("POST", "/v1/recommendations/batch", {"user_ids": ["u001"]}),
    ("GET", "/v1/items/i001/similar", None),
    ("POST", "/v1/synthetic-users", {"n": 1}),
    ("POST", "/v1/admin/reload", {}),
    ("GET", "/metrics", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
    ("GET", "/no/such/route", None),
])
def test_every_route_but_health_needs_the_key(api, method, path, body):
    import httpx

    for headers in ({}, {"X-API-Key": "wrong-key-0123456789"}, {"Authorization": "Bearer nope"}):
        r = httpx.request(method, api.url + path, json=body, headers=headers)
        assert_error(r, 401, "unauthorized")


def test_bearer_token_is_accepted(api, api_key):
    import httpx

    r = httpx.get(api.url + "/v1/users/u001/recommendations", headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 200


def test_openapi_docs(api):
    spec = api.get("/openapi.json").json()
    for path in ("/v1/users/{user_id}/recommendations", "/v1/recommendations", "/v1/recommendations/batch",
                 "/v1/items/{item_id}/similar", "/v1/synthetic-users", "/v1/admin/reload", "/healthz",
                 "/readyz", "/metrics"):
        assert path in spec["paths"], path
    assert "X-API-Key" in str(spec["components"]["securitySchemes"])
    assert api.get("/docs").status_code == 200


def test_metrics_exposition(api):
    api.get("/v1/users/u001/recommendations")
    api.get("/v1/users/nobody/recommendations")
    text = api.get("/metrics").text
    assert 'recgan_http_requests_total{method="GET",route="/v1/users/{user_id}/recommendations",status="200"}' in text
    assert 'route="/v1/users/{user_id}/recommendations",status="404"' in text
    assert "nobody" not in text  # routes are labelled by template, never by id
    assert 'recgan_http_request_duration_seconds_bucket{le="0.025",method="GET"' in text
    version = api.get("/readyz").json()["model"]["version"]
    assert f'recgan_model_info{{model="ease",version="{version}"}} 1.0' in text
    assert "recgan_batch_users_bucket" in text


# ---------------------------------------------------------------- recommendations
def test_user_recommendations_match_the_model(api, ease):
    r = api.get("/v1/users/u003/recommendations", params={"k": 5})
    assert r.status_code == 200
    body = S.RecommendationsResponse.model_validate(r.json())
    assert body.user_id == "u003" and body.model_version == api.get("/readyz").json()["model"]["version"]
    expect = ease.recommend_ids(["u003"], k=5)
    assert [x.item_id for x in body.items] == expect["item"].tolist()
    assert [x.rank for x in body.items] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([x.score for x in body.items], expect["score"], rtol=1e-6)
    seen = set(ease.data_.items.original(ease.seen[ease.data_.users.index(["u003"])[0]].indices).tolist())
    assert not seen & {x.item_id for x in body.items}


def test_exclude_seen_false(api, ease):
    r = api.get("/v1/users/u003/recommendations", params={"k": 30, "exclude_seen": "false"})
    got = [x["item_id"] for x in r.json()["items"]]
    assert len(got) == 30  # the whole catalogue, seen items included
    expect = ease.recommend_ids(["u003"], k=30, exclude_seen=False)["item"].tolist()
    assert got == expect


def test_k_larger_than_the_catalogue_is_cut(api, ease):
    r = api.get("/v1/users/u003/recommendations", params={"k": 1000})
    n_seen = ease.seen[ease.data_.users.index(["u003"])[0]].nnz
    assert r.status_code == 200 and len(r.json()["items"]) == 30 - n_seen


def test_unknown_user_is_404(api):
    for uid in ("nobody", "9" * 40, "u001%20", "%F0%9F%98%80"):
        assert_error(api.get(f"/v1/users/{uid}/recommendations"), 404, "unknown_user")
    # an encoded path never reaches a file: it is an unknown user or no route at all
    err = assert_error(api.get("/v1/users/..%2F..%2Fetc%2Fpasswd/recommendations"), 404)
    assert err["code"] in ("unknown_user", "not_found")


@pytest.mark.parametrize("params", [{"k": 0}, {"k": 1001}, {"k": -3}, {"k": "ten"}, {"k": 2.5},
                                    {"exclude_seen": "perhaps"}])
def test_bad_query_is_422(api, params):
    err = assert_error(api.get("/v1/users/u001/recommendations", params=params), 422, "invalid_request")
    assert err["details"]


def test_fold_in_reports_unknown_items(api, ease):
    r = api.post("/v1/recommendations", json={"history": ["i001", "no-such-item", "i004", 77], "k": 5})
    assert r.status_code == 200
    body = S.HistoryResponse.model_validate(r.json())
    assert body.unknown_items == ["no-such-item", 77]
    got = [x.item_id for x in body.items]
    assert len(got) == 5 and not {"i001", "i004"} & set(got)
    idx = ease.data_.items.index(["i001", "i004"])
    H = sp.csr_matrix((np.ones(2, np.float32), (np.zeros(2, int), idx)), shape=(1, ease.n_items))
    items, _ = ease.recommend_history(H, 5)
    assert got == ease.data_.items.original(items[0]).tolist()


def test_history_too_long_is_422(api):
    history = [f"i{x:03d}" for x in range(21)]
    assert_error(api.post("/v1/recommendations", json={"history": history}), 422, "history_too_long")
    assert api.post("/v1/recommendations", json={"history": history[:20]}).status_code == 200


@pytest.mark.parametrize("body", [
    {"history": "i001"}, {"history": []}, {"history": [None]}, {"history": [1.5]}, {"history": [True]},
    {"history": ["i001"], "k": 0}, {"history": ["i001"], "k": 1001}, {"history": ["i001"], "k": "5"},
    {"history": ["i001"], "unexpected": 1}, {}, [], "text", {"history": ["x" * 600]},
])
def test_malformed_history_body_is_422(api, body):
    assert_error(api.post("/v1/recommendations", json=body), 422, "invalid_request")


def test_invalid_json_is_422(api):
    r = api.post("/v1/recommendations", content=b'{"history": [', headers={"Content-Type": "application/json"})
    assert_error(r, 422, "malformed_body")


def test_body_over_the_limit_is_413(api):
    history = ["i001"] * 20000  # about 160 kB > --max-body-bytes 65536
    assert_error(api.post("/v1/recommendations", json={"history": history}), 413, "body_too_large")


def test_batch(api, ease):
    r = api.post("/v1/recommendations/batch", json={"user_ids": ["u002", "ghost", "u005", 12], "k": 3})
    assert r.status_code == 200
    body = S.BatchResponse.model_validate(r.json())
    assert body.unknown_users == ["ghost", 12]
    assert [x.user_id for x in body.results] == ["u002", "u005"]
    expect = ease.recommend_ids(["u002", "u005"], k=3)
    assert [i.item_id for x in body.results for i in x.items] == expect["item"].tolist()


def test_batch_limits_are_422(api):
    assert_error(api.post("/v1/recommendations/batch", json={"user_ids": ["u001"] * 51}), 422, "too_many_users")
    assert_error(api.post("/v1/recommendations/batch", json={"user_ids": []}), 422, "invalid_request")
    assert_error(api.post("/v1/recommendations/batch", json={"user_ids": ["u001"], "k": 0}), 422)


def test_similar_items(api, ease):
    r = api.get("/v1/items/i007/similar", params={"k": 4})
    assert r.status_code == 200
    body = S.SimilarItemsResponse.model_validate(r.json())
    got = [x.item_id for x in body.items]
    assert body.item_id == "i007" and len(got) == 4 and "i007" not in got
    items, _ = ease.similar_items(ease.data_.items.index(["i007"]), 4)
    assert got == ease.data_.items.original(items[0]).tolist()
    assert_error(api.get("/v1/items/nothing/similar"), 404, "unknown_item")
    assert_error(api.get("/v1/items/i007/similar", params={"k": 0}), 422)


def test_wrong_method_and_route_are_json(api):
    assert_error(api.get("/v1/recommendations"), 405, "method_not_allowed")
    assert_error(api.get("/v2/anything"), 404, "not_found")


def test_cors_is_off_by_default(api):
    r = api.get("/v1/users/u001/recommendations", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_synthetic_users_without_synth_folder_is_501(api):
    assert_error(api.post("/v1/synthetic-users", json={"n": 2}), 501, "synthesizer_not_available")


# ---------------------------------------------------------------- models that cannot do everything
def test_model_without_fold_in_answers_501(servers):
    srv = servers["nofold"]
    assert srv.get("/v1/users/u001/recommendations").status_code == 200
    err = assert_error(srv.post("/v1/recommendations", json={"history": ["i001"]}), 501, "fold_in_not_supported")
    assert "test-nofold" in err["message"]
    assert_error(srv.get("/v1/items/i001/similar"), 501, "similarity_not_supported")


def test_reload_is_disabled_without_a_key(servers):
    assert_error(servers["nofold"].post("/v1/admin/reload", json={}), 403, "admin_disabled")


def test_synthetic_users(servers, data):
    srv = servers["nofold"]
    r = srv.post("/v1/synthetic-users", json={"n": 3, "seed": 7})
    assert r.status_code == 200
    body = S.SyntheticUsersResponse.model_validate(r.json())
    assert body.n_users == 3 and body.seed == 7 and len(body.interactions) == 9
    assert {x.item for x in body.interactions} <= set(data.items.to_list())
    assert {x.behaviour for x in body.interactions} == {"buy"}
    assert srv.post("/v1/synthetic-users", json={"n": 3, "seed": 7}).json() == r.json()
    assert isinstance(srv.post("/v1/synthetic-users", json={"n": 1}).json()["seed"], int)
    assert_error(srv.post("/v1/synthetic-users", json={"n": 51}), 422, "too_many_users")
    for bad in ({"n": 0}, {"n": 2, "seed": -1}, {"n": "2"}, {"seed": 1}):
        assert_error(srv.post("/v1/synthetic-users", json=bad), 422, "invalid_request")


# ---------------------------------------------------------------- reloads (last: each ends serving ease again)
def _version(srv) -> str:
    return srv.get("/readyz").json()["model"]["version"]


def test_reload_swaps_the_model(servers, models_root):
    srv = servers["api"]
    before = _version(srv)
    r = srv.post("/v1/admin/reload", json={"model_dir": "itemknn"})  # relative to the model root
    assert r.status_code == 200, r.text
    body = S.ReloadResponse.model_validate(r.json())
    assert body.model.name == "itemknn" and body.previous_version == before
    assert _version(srv) == body.model.version
    rec = srv.get("/v1/users/u001/recommendations").json()
    assert rec["model_version"] == body.model.version
    r = srv.post("/v1/admin/reload", json={"model_dir": str(models_root / "ease")})  # absolute inside the root
    assert r.status_code == 200 and r.json()["model"]["name"] == "ease"
    assert srv.post("/v1/admin/reload").status_code == 200  # no body: the same folder read again
    metrics = srv.get("/metrics").text
    assert 'recgan_model_reloads_total{result="success"}' in metrics


def test_failed_reload_keeps_serving(servers):
    srv = servers["api"]
    before = _version(srv)
    for folder in ("broken", "no-such-folder"):
        err = assert_error(srv.post("/v1/admin/reload", json={"model_dir": folder}), 422, "reload_failed")
        assert before in err["message"]
        assert _version(srv) == before
        assert srv.get("/v1/users/u001/recommendations").status_code == 200
    assert_error(srv.post("/v1/admin/reload", json={"model_dir": 5}), 422, "invalid_request")


@pytest.mark.parametrize("target", ["../outside", "link-out", "escape", "/etc", "/", "ease/../../outside"])
def test_reload_outside_the_root_is_refused(servers, models_root, target):
    srv = servers["api"]
    before = _version(srv)
    assert_error(srv.post("/v1/admin/reload", json={"model_dir": target}), 403, "path_not_allowed")
    assert_error(srv.post("/v1/admin/reload", json={"model_dir": str(models_root.parent / "outside")}), 403)
    assert _version(srv) == before


def test_reload_under_load_fails_no_request(servers, api_key):
    import httpx

    srv = servers["api"]
    failures: list[str] = []
    versions: set[str] = set()
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=srv.url, headers={"X-API-Key": api_key}, timeout=30) as c:
            for j in range(50):
                try:
                    if j % 3 == 0:
                        r = c.get(f"/v1/users/u{(n * 7 + j) % 39:03d}/recommendations", params={"k": 5})
                    elif j % 3 == 1:
                        r = c.post("/v1/recommendations", json={"history": ["i001", f"i{j % 30:03d}"], "k": 5})
                    else:
                        r = c.post("/v1/recommendations/batch", json={"user_ids": ["u001", "u002"], "k": 3})
                    with lock:
                        if r.status_code != 200:
                            failures.append(f"{r.status_code} {r.text}")
                        else:
                            versions.add(r.json()["model_version"])
                except httpx.HTTPError as e:
                    with lock:
                        failures.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]  # 400 requests
    for t in threads:
        t.start()
    reloads = []
    for target in ("itemknn", "ease", "pop", "itemknn", "ease"):
        reloads.append(srv.post("/v1/admin/reload", json={"model_dir": target}).status_code)
        time.sleep(0.05)
    for t in threads:
        t.join(60)
    assert reloads == [200] * 5
    assert failures == []
    assert len(versions) >= 2, "the load should have straddled at least one swap"


def test_workers_share_reloads_and_metrics(servers):
    srv = servers["workers"]
    r = srv.post("/v1/admin/reload", json={"model_dir": "pop"})
    assert r.status_code == 200, r.text
    new = r.json()["model"]["version"]
    deadline = time.monotonic() + 10
    streak = 0
    while streak < 20:  # both workers (requests land on either) answer with the new model
        assert time.monotonic() < deadline, "a worker kept the old model"
        streak = streak + 1 if _version(srv) == new else 0
        time.sleep(0.02)
    text = srv.get("/metrics").text
    assert f'recgan_model_info{{model="pop",version="{new}"}} 1.0' in text
    assert "recgan_http_requests_total" in text
