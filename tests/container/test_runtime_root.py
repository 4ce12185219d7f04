"""Guard for the slimmed runtime root (deploy/docker/runtime_root.py): the server, run on a full
interpreter with every feature exercised and every module of the app imported, never loads a
standard-library module or shared library the image drops. No Docker needed."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx

from tests.conftest import free_port
from tests.container.workload import exercise, write_site_config

REPO = Path(__file__).resolve().parents[2]
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), "amd64")

# Runs `moontv serve`; at exit imports every module of the app (the lazily loaded routers too),
# then records sys.modules and the shared objects mapped into the process.
SERVE_AND_RECORD = r"""
import atexit, importlib, json, os, pkgutil, sys

def record():
    import moontv
    for info in pkgutil.walk_packages(moontv.__path__, "moontv."):
        if not info.name.endswith(".__main__"):  # that one runs the command line
            importlib.import_module(info.name)
    maps = sorted({line.split()[-1] for line in open("/proc/self/maps") if "/" in line.split()[-1]})
    with open(os.environ["RECORD_TO"], "w") as f:
        json.dump({"modules": sorted(sys.modules), "maps": maps}, f)

atexit.register(record)
sys.argv = ["moontv", "serve"]
from moontv.cli import main
sys.exit(main())
"""


def _runtime_root() -> ModuleType:
    spec = importlib.util.spec_from_file_location("runtime_root", REPO / "deploy/docker/runtime_root.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dropped_list_names_real_modules_and_libraries() -> None:
    rr = _runtime_root()
    modules = rr.dropped_module_names()
    assert {"unittest", "pydoc", "distutils", "test", "dbm.ndbm", "readline", "_dbm"} <= modules
    paths = rr.dropped_path_patterns("amd64")
    assert {"/usr/lib/x86_64-linux-gnu/gconv/*.so", "/usr/lib/x86_64-linux-gnu/libdb-5.3.so"} <= set(paths)
    assert "/lib/x86_64-linux-gnu/libreadline.so.8*" in paths
    # the probe's build-machine module names map to the target's
    assert (
        rr._for_target("_sysconfigdata__x86_64-linux-gnu.py", "arm64")
        == "_sysconfigdata__aarch64-linux-gnu.py"
    )
    assert rr._for_target("asyncio/events.py", "arm64") == "asyncio/events.py"


def test_server_never_loads_what_the_image_drops(tmp_path: Path, fake_cms_factory, stream_host) -> None:  # type: ignore[no-untyped-def]
    rr = _runtime_root()
    cms = fake_cms_factory()
    port = free_port()
    record = tmp_path / "record.json"
    env = {
        **os.environ,
        "PASSWORD": "guard-check",
        "MOONTV_HOST": "127.0.0.1",
        "PORT": str(port),
        "MOONTV_DATA_DIR": str(tmp_path / "data"),
        "MOONTV_CONFIG": str(write_site_config(tmp_path / "config.json", cms.base_url)),
        "MOONTV_ALLOW_PRIVATE_UPSTREAMS": "127.0.0.1/32",
        "RECORD_TO": str(record),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_AND_RECORD],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            try:
                if httpx.get(f"{base}/api/health", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        seen = exercise(base, "guard-check", stream_host)
        assert len(seen) > 30  # the sweep reached the routers
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert record.exists(), err.decode()[-3000:]
    loaded = json.loads(record.read_text())

    dropped_modules = rr.dropped_module_names()
    hits = [
        name
        for name in loaded["modules"]
        for pattern in dropped_modules
        if fnmatch.fnmatch(name, pattern) or name.startswith(pattern + ".")
    ]
    assert not hits, f"the image drops modules the server imports: {sorted(set(hits))}"
    assert len(loaded["modules"]) > 300  # the whole app was imported

    dropped_paths = rr.dropped_path_patterns(ARCH)
    mapped = [
        path
        for path in loaded["maps"]
        for pattern in dropped_paths
        # this machine's libraries may sit at /lib or /usr/lib (merged /usr)
        if any(fnmatch.fnmatch(p, pattern) for p in (path, path.removeprefix("/usr"), "/usr" + path))
    ]
    assert not mapped, f"the image drops libraries the server maps: {mapped}"
    assert any(".so" in p for p in loaded["maps"])  # the map was read
