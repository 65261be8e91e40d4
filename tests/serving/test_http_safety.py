"""HTTP borders: one id rule (20-digit ids round-trip, '01' / '2.0' are not user 1 / 2), fold-in with only
unknown items is an error, uvicorn's own 400s are JSON (a body shorter than its Content-Length), API key files
(whitespace, creation with 0600), damaged model folders at start-up; fuzzed bodies never give a 500."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recgan.cli.main import main
from recgan.data.interactions import Interactions
from recgan.errors import RecganError
from recgan.models.base import get_model_class
from recgan.serving.app import ServeSettings, create_app, read_api_key_file
from recgan.serving.transport import JsonBadRequestMixin, NoDelayHTTPProtocol

from .conftest import KEY, free_port

TestClient = pytest.importorskip("fastapi.testclient").TestClient

BIG = ["99999999999999999999", "99999999999999999998", "18446744073709551616"]


@pytest.fixture(scope="module")
def big_root(tmp_path_factory) -> Path:
    """EASE fitted on users and items with 20-digit ids (two of them differ only in the last digit) and an
    integer-id model (ids 1..6) for the canonical-text rule."""
    root = tmp_path_factory.mktemp("big")
    rows = [(BIG[0], BIG[0]), (BIG[0], BIG[1]), (BIG[1], BIG[1]), (BIG[1], BIG[2]), (BIG[2], BIG[0]),
            (BIG[2], "7"), ("7", "7"), ("7", BIG[2])]
    data = Interactions.from_frame(pd.DataFrame(rows, columns=["user", "item"]))
    get_model_class("ease")(l2=1.0).fit(data).save(root / "big")
    ints = Interactions.from_frame(pd.DataFrame({"user": [1, 1, 2, 2, 3, 3], "item": [1, 2, 2, 3, 3, 1]}))
    get_model_class("ease")(l2=1.0).fit(ints).save(root / "ints")
    return root


def test_20_digit_ids_round_trip_and_stay_distinct(big_root):
    with TestClient(create_app(big_root / "big")) as c:
        lists = {}
        for u in BIG:
            r = c.get(f"/v1/users/{u}/recommendations", params={"k": 3, "exclude_seen": False})
            assert r.status_code == 200, r.text
            assert r.json()["user_id"] == u  # the same text, as a JSON string
            lists[u] = [x["item_id"] for x in r.json()["items"]]
            assert set(lists[u]) <= {*BIG, "7"}
        assert len({tuple(v) for v in lists.values()}) > 1  # not one merged user
        r = c.post("/v1/recommendations/batch", json={"user_ids": [BIG[0], int(BIG[1]), "-9223372036854775808"]})
        assert [x["user_id"] for x in r.json()["results"]] == BIG[:2]
        assert r.json()["unknown_users"] == ["-9223372036854775808"]
        r = c.post("/v1/recommendations", json={"history": [BIG[0]], "k": 2})
        assert r.status_code == 200 and r.json()["unknown_items"] == []


def test_integer_ids_match_only_their_canonical_text(big_root):
    with TestClient(create_app(big_root / "ints")) as c:
        assert c.get("/v1/users/1/recommendations").json()["user_id"] == 1
        for u in ("01", "+1", "1.0", "2.0", "1e0", "%201"):
            r = c.get(f"/v1/users/{u}/recommendations")
            assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_user", u
        r = c.post("/v1/recommendations/batch", json={"user_ids": [1, "2", "03"]})
        assert [x["user_id"] for x in r.json()["results"]] == [1, 2] and r.json()["unknown_users"] == ["03"]


def test_fold_in_with_only_unknown_items_is_an_error(models_root):
    with TestClient(create_app(models_root / "ease")) as c:
        r = c.post("/v1/recommendations", json={"history": ["nope", 12345, "i001x"]})
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["code"] == "no_known_items" and err["details"] == ["nope", 12345, "i001x"]
        r = c.post("/v1/recommendations", json={"history": ["nope", "i001"]})
        assert r.status_code == 200 and r.json()["unknown_items"] == ["nope"]


def test_api_key_whitespace(models_root, tmp_path):
    f = tmp_path / "key"
    f.write_text(f"  {KEY} \n\n")
    key = read_api_key_file(f)
    assert key == KEY
    with TestClient(create_app(models_root / "pop", ServeSettings(api_key=key))) as c:
        assert c.get("/v1/users/u001/recommendations", headers={"X-API-Key": KEY + " "}).status_code == 200
        assert c.get("/v1/users/u001/recommendations", headers={"X-API-Key": KEY[:-1]}).status_code == 401
    f.write_text("a key with spaces inside it\n")
    with pytest.raises(RecganError, match="printable ASCII"):
        read_api_key_file(f)
    f.write_bytes(b"\xff" * 20)
    with pytest.raises(RecganError, match="cannot read"):
        read_api_key_file(f)


def test_missing_key_file_is_created_0600(tmp_path, capsys):
    from recgan.cli.serve import _api_key
    from recgan.serving.app import create_api_key_file

    p = tmp_path / "api.key"
    key = _api_key(str(p), read_api_key_file, create_api_key_file)
    assert p.read_text() == key + "\n" and len(key) >= 40
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    err = capsys.readouterr().err
    assert str(p) in err and "X-API-Key" in err
    assert _api_key(str(p), read_api_key_file, create_api_key_file) == key  # read, not replaced
    p.chmod(0o644)
    _api_key(str(p), read_api_key_file, create_api_key_file)
    assert "readable by other users" in capsys.readouterr().err
    with pytest.raises(RecganError, match="cannot create"):
        create_api_key_file(tmp_path / "no" / "such" / "dir" / "key")


def _damaged(models_root: Path, tmp_path: Path) -> dict[str, Path]:
    import shutil

    out = {}
    for name, harm in (("truncated", "truncate"), ("missing", "delete"), ("zip", "zip")):
        d = tmp_path / "root" / name
        shutil.copytree(models_root / "ease", d)
        w = d / "weights.npz"
        if harm == "truncate":
            w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
        elif harm == "delete":
            w.unlink()
        else:
            with zipfile.ZipFile(w, "w") as z:
                z.writestr("readme.txt", "not arrays")
        out[name] = d
    return out


def test_damaged_folders_at_start_up_are_one_line(models_root, tmp_path, capsys):
    for name, folder in _damaged(models_root, tmp_path).items():
        with pytest.raises(RecganError):
            create_app(folder)
        assert main(["serve", "--model", str(folder), "--port", "0"]) == 2, name
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("recgan: error: ") and "Traceback" not in err, err


# ---------------------------------------------------------------- uvicorn's own 400s, over real sockets
class _H11Json(JsonBadRequestMixin, __import__("uvicorn.protocols.http.h11_impl", fromlist=["H11Protocol"])
               .H11Protocol):
    pass


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, models_root):
    import uvicorn

    proto = NoDelayHTTPProtocol if request.param == "httptools" else _H11Json
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(models_root / "ease"), host="127.0.0.1", port=port,
                                           http=proto, log_level="critical", lifespan="on"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and t.is_alive()
        time.sleep(0.02)
    yield port
    server.should_exit = True
    t.join(10)


def _raw(port: int, data: bytes, half_close: bool = True) -> tuple[int, dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"application/json" in head.lower()
    return status, json.loads(body)


@pytest.mark.parametrize("sent", [0, 1, 15])
def test_body_shorter_than_content_length_is_a_json_400(live, sent):
    body = b'{"history": ["i001"]}'
    req = (b"POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 100\r\n\r\n" + body[:sent])
    status, js = _raw(live, req)
    assert status == 400 and js["error"]["code"] == "bad_request"


def test_malformed_request_is_a_json_400(live):
    status, js = _raw(live, b"POST /v1/recommendations HTTP/1.1\r\nContent-Length: abc\r\n\r\n", half_close=False)
    assert status == 400 and js["error"]["code"] in ("bad_request", "body_too_large")
    status, js = _raw(live, b"\x00\x01 garbage\r\n\r\n", half_close=False)
    assert status == 400 and "error" in js


def test_a_complete_request_still_works(live):
    body = b'{"history": ["i001"], "k": 2}'
    req = (b"POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    status, js = _raw(live, req, half_close=False)
    assert status == 200 and len(js["items"]) == 2


# ---------------------------------------------------------------- fuzzed bodies and ids
_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_bodies = st.one_of(
    _json.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"history": st.lists(_json, max_size=6)}, optional={"k": _json}).map(
        lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"user_ids": st.lists(_json, max_size=6)}).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


@pytest.fixture(scope="module")
def fuzz_client(models_root):
    with TestClient(create_app(models_root / "ease"), raise_server_exceptions=False) as c:
        yield c


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/v1/recommendations", "/v1/recommendations/batch"]), body=_bodies)
def test_fuzzed_bodies_get_json_answers(fuzz_client, path, body):
    r = fuzz_client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 404, 413, 422), (r.status_code, r.text)
    js = r.json()
    if r.status_code != 200:
        assert set(js["error"]) >= {"code", "message"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(uid=st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["u001", "u0001", "U001", "u001 "]),
                     st.integers().map(str)))
def test_fuzzed_user_ids_are_found_or_404(fuzz_client, uid):
    from urllib.parse import quote

    r = fuzz_client.get(f"/v1/users/{quote(uid, safe='')}/recommendations")
    assert r.status_code in (200, 404, 422), (r.status_code, r.text)
    if r.status_code == 200:
        assert r.json()["user_id"] == uid  # found only by its exact text
