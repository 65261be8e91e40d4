"""Fixtures of the serving tests: model folders fitted on tiny data, and real server processes.

A :class:`Server` is ``python -m recgan serve ...`` (or ``tests/serving/fakes.py serve ...`` when a test
double is needed) started as a subprocess on a free loopback port; tests speak HTTP to it with httpx.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from recgan.models.base import get_model_class
from recgan.testing import tiny_data

HERE = Path(__file__).resolve().parent
KEY = "test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running ``recgan serve`` process on 127.0.0.1."""

    def __init__(self, args: list[str], *, fakes: str | None = None, key: str | None = None,
                 log: Path, timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = key
        self.log = log
        entry = [sys.executable, str(HERE / "fakes.py"), fakes] if fakes else [sys.executable, "-m", "recgan"]
        cmd = [*entry, "serve", *args, "--port", str(self.port), "--log-level", "warning"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._log_fh = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_fh, stderr=subprocess.STDOUT, env=env)
        self.client = httpx.Client(base_url=self.url, timeout=30.0,
                                   headers={"X-API-Key": key} if key else {})
        self.timeout = timeout

    def wait_ready(self) -> Server:
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"server not ready after {self.timeout} s:\n{self.log.read_text()}")
            time.sleep(0.1)

    def get(self, path: str, **kw) -> httpx.Response:
        return self.client.get(path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.client.post(path, **kw)

    def close(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_fh.close()


@pytest.fixture(scope="session")
def api_key() -> str:
    return KEY


@pytest.fixture(scope="session")
def data():
    return tiny_data()


@pytest.fixture(scope="session")
def models_root(tmp_path_factory, data) -> Path:
    """Model folders under ``root`` (the --model-root of every server), plus traps outside it.

    root/ease, root/itemknn, root/pop: fitted on tiny data;
    root/nofold: a model that cannot fold in (class registered by fakes.py), with synth/items.json for the
    fake synthesizer of fakes.py;
    root/broken: config.json without the rest; root/escape: a file that links outside the folder;
    root/link-out: a link to a valid model folder outside root; ../outside: that folder; ../api.key.
    """
    base = tmp_path_factory.mktemp("serving")
    root = base / "models"
    get_model_class("ease")(l2=10.0).fit(data).save(root / "ease")
    get_model_class("itemknn")(neighbours=10, shrink=1.0).fit(data).save(root / "itemknn")
    pop = get_model_class("pop")().fit(data)
    pop.save(root / "pop")
    pop.save(base / "outside")
    shutil.copytree(root / "pop", root / "nofold")
    cfg = (root / "nofold" / "config.json").read_text().replace('"model": "pop"', '"model": "test-nofold"')
    (root / "nofold" / "config.json").write_text(cfg)
    (root / "nofold" / "synth").mkdir()
    (root / "nofold" / "synth" / "items.json").write_text(json.dumps(data.items.to_list()))
    (root / "broken").mkdir()
    shutil.copy(root / "pop" / "config.json", root / "broken" / "config.json")
    shutil.copytree(root / "pop", root / "escape")
    (root / "escape" / "train.npz").unlink()
    (root / "escape" / "train.npz").symlink_to(base / "outside" / "train.npz")
    (root / "link-out").symlink_to(base / "outside")
    key_file = base / "api.key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o600)
    return root


@pytest.fixture(scope="session")
def start_servers(tmp_path_factory):
    """Factory: start_servers({name: dict(args=[...], fakes=None, key=None)}) -> {name: Server}, all started
    at once (each process spends seconds importing torch) and stopped at the end of the session."""
    started: list[Server] = []
    logs = tmp_path_factory.mktemp("server-logs")

    def start(specs: dict[str, dict]) -> dict[str, Server]:
        out = {}
        for name, spec in specs.items():
            out[name] = Server(spec["args"], fakes=spec.get("fakes"), key=spec.get("key"), log=logs / f"{name}.log")
            started.append(out[name])
        return {name: srv.wait_ready() for name, srv in out.items()}

    yield start
    for srv in started:
        srv.close()
