"""A started server for the client's tests: `deno` (or $DENO) runs the repository's main.ts on a free port with
one planning worker (so that every replan of an episode meets the same goal cache, as deno task eval does)."""
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def deno() -> list[str]:
    if os.environ.get("DENO"):
        return os.environ["DENO"].split()
    return ["deno"] if shutil.which("deno") else ["npx", "-y", "deno@2"]


@pytest.fixture(scope="session")
def server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORT": str(port), "EDGEWM_WORKERS": "1", "EDGEWM_THREADS": "1"}
    p = subprocess.Popen(deno() + ["run", "--allow-read", "--allow-net", "--allow-env", "main.ts"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            if p.poll() is not None:
                raise RuntimeError(f"the server exited: {p.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(url + "/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        p.terminate()
        p.wait(15)


@pytest.fixture(scope="session")
def repo() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def deno_cmd() -> list[str]:
    return deno()
