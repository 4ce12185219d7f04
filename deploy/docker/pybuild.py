"""Build-stage helper for the container image (runs inside the Dockerfile's builder stages).

Standard library only: it runs on Debian 12's python3 before anything is installed.

  pybuild.py requirements PYPROJECT OUT     runtime requirements of [project].dependencies, with
                                            uvicorn[standard] narrowed to what the server uses
  pybuild.py pip-platforms ARCH             pip --platform arguments for a target architecture
  pybuild.py slim SITE_PACKAGES ARCH        strip native code, drop tests/type stubs, compile bytecode
  pybuild.py verify-package SRC INSTALLED   every data file of the source tree made it into the install
  pybuild.py import-list SRC OUT            every module the app's code imports
  pybuild.py stdlib-probe VENV IMPORTS OUT  list the standard-library modules a server start imports
                                            (runtime_root.py compiles them)
"""

from __future__ import annotations

import ast
import compileall
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

# uvicorn[standard] pulls in extras the server never uses in the image: watchfiles (auto-reload),
# websockets (no WebSocket routes), python-dotenv (--env-file) and PyYAML (YAML log configs).
# Keep the two that make the server faster: uvloop (event loop) and httptools (HTTP parser).
UVICORN_STANDARD_KEEP = ("uvloop", "httptools")
TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
WHEEL_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}
GLIBC_MINOR = 36  # Debian 12
DROP_DIRS = {"tests", "test", "testing", "__pycache__"}
DROP_SUFFIXES = (".pyi", ".pyx", ".pxd", ".c", ".h", ".cpp")


def requirements(pyproject: Path, out: Path) -> None:
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    lines: list[str] = []
    for dep in deps:
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(\[[^\]]*\])?\s*(.*)$", dep)
        if not match:
            raise SystemExit(f"cannot parse dependency {dep!r}")
        name, extras, rest = match.groups()
        if name.lower() == "uvicorn" and extras and "standard" in extras:
            lines.append(f"{name}{rest}")
            lines.extend(UVICORN_STANDARD_KEEP)
        else:
            lines.append(dep.strip())
    out.write_text("\n".join(sorted(set(lines), key=str.lower)) + "\n", encoding="utf-8")
    print(out.read_text(encoding="utf-8"), end="")


def pip_platforms(arch: str) -> None:
    machine = WHEEL_ARCH[arch]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 16, -1)]
    tags += [f"manylinux2014_{machine}"]
    print(" ".join(f"--platform {tag}" for tag in tags))


def slim(site: Path, arch: str) -> None:
    strip = shutil.which(f"{TRIPLETS[arch]}-strip")
    if strip is None:
        raise SystemExit(f"{TRIPLETS[arch]}-strip not found (binutils for {arch})")
    before = _tree_size(site)
    for path in sorted(site.rglob("*")):
        if path.is_dir() and path.name in DROP_DIRS and path.exists():
            # a package's own test suite; never a runtime module (checked: none imported at start)
            shutil.rmtree(path)
    for path in list(site.rglob("*")):
        if path.is_file() and (path.suffix in DROP_SUFFIXES or path.name == "RECORD"):
            path.unlink()
    for path in site.rglob("*.so*"):
        if path.is_file():
            subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
    _compile_sourceless(site)
    print(f"slim {site}: {before / 1e6:.1f} MB -> {_tree_size(site) / 1e6:.1f} MB")


def _compile_sourceless(root: Path) -> None:
    """Third-party code ships as bytecode only (x.pyc in place of x.py): it is never edited in the
    image, a read-only container never writes bytecode, and it saves a third of the dependencies'
    size. Tracebacks still name file and line. The app's own package keeps its sources."""
    _require_no_debug_ranges()
    ok = compileall.compile_dir(str(root), quiet=1, workers=0, legacy=True)
    if not ok:
        raise SystemExit(f"bytecode compilation failed under {root}")
    for source in root.rglob("*.py"):
        if source.with_suffix(".pyc").is_file():
            source.unlink()


def _require_no_debug_ranges() -> None:
    # Bytecode without column tables (-X no_debug_ranges): 8 % smaller files and code objects;
    # tracebacks keep file and line numbers.
    if "no_debug_ranges" not in sys._xoptions:
        raise SystemExit("run this step with python3 -X no_debug_ranges")


def verify_package(src: Path, installed: Path) -> None:
    """Every file of the source package must be in the image. Files the wheel left out (a
    package-data pattern that misses a new folder) are copied from the source tree, with a warning
    naming them: the image stays complete while pyproject.toml gets fixed."""
    missing = [
        p.relative_to(src)
        for p in src.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
        and not (installed / p.relative_to(src)).is_file()
    ]
    for rel in missing:
        (installed / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, installed / rel)
    if missing:
        print(
            "warning: the wheel lacks these files of src/moontv (copied from the source tree; add them to "
            "[tool.setuptools.package-data] in pyproject.toml):\n  " + "\n  ".join(map(str, sorted(missing)))
        )
    else:
        print(f"verify-package: all files of {src} are in the wheel")


def import_list(src: Path, out: Path) -> None:
    """Every absolute module name the app's code imports anywhere (top level or inside functions),
    its own package excluded. The standard-library probe below depends on this list only, so a
    source change that adds no import keeps the probe's layer cached."""
    names: set[str] = set()
    for path in src.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    own = src.name
    keep = sorted(n for n in names if n.split(".")[0] != own)
    out.write_text("\n".join(keep) + "\n", encoding="utf-8")
    print(f"import-list: {len(keep)} modules imported by {own}")


PROBE = r"""
import importlib, json, sys, threading, time, urllib.request
modules = [line.strip() for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
# loaded at run time, not at import: package data reads (importlib.resources) and codecs
modules += ["importlib.readers", "importlib.resources.readers", "importlib.resources._itertools",
            "encodings.unicode_escape", "encodings.idna", "encodings.ascii", "encodings.latin_1"]
for name in modules:
    try:
        importlib.import_module(name)
    except Exception:
        pass  # "from pkg import function" lines name no module
import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Route

async def page(request):
    return HTMLResponse("<p>ok</p>")
async def data(request):
    body = await request.body()
    return JSONResponse({"n": len(body), "q": dict(request.query_params)})
async def stream(request):
    async def gen():
        yield b"a\n"
        yield b"b\n"
    return StreamingResponse(gen(), media_type="application/x-ndjson")

app = Starlette(routes=[Route("/", page), Route("/data", data, methods=["GET", "POST"]), Route("/s", stream)])
config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[2]), loop="uvloop", http="httptools",
                        lifespan="on", log_level="warning", log_config=None)
server = uvicorn.Server(config)

def client():
    base = f"http://127.0.0.1:{sys.argv[2]}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    urllib.request.urlopen(base + "/data?x=1", timeout=5).read()
    post = urllib.request.Request(base + "/data", data=b"{}", method="POST")
    urllib.request.urlopen(post, timeout=5).read()
    urllib.request.urlopen(base + "/s", timeout=5).read()
    server.should_exit = True

threading.Thread(target=client, daemon=True).start()
server.run()
prefix = "/usr/lib/python%d.%d/" % sys.version_info[:2]
paths = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
files = sorted({p for p in paths if p.startswith(prefix) and p.endswith(".py")})
print(json.dumps(files))
"""


def stdlib_probe(venv: Path, imports: Path, out: Path) -> None:
    """List the standard-library modules a server start imports (paths relative to the standard
    library, one a line). The probe imports every module the app imports (the list from
    import-list) and serves a few requests with uvicorn (uvloop + httptools), then reads
    sys.modules. runtime_root.py compiles exactly these from the runtime's own sources; the image
    check "no module compiled at start" verifies the result."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE, str(imports), str(port)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PASSWORD": "build-only"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"stdlib probe failed:\n{proc.stderr[-3000:]}")
    files = json.loads(proc.stdout.strip().splitlines()[-1])
    prefix = f"/usr/lib/python{sys.version_info[0]}.{sys.version_info[1]}/"
    rel = sorted(name.removeprefix(prefix) for name in files)
    if len(rel) < 50:
        raise SystemExit(f"only {len(rel)} standard-library modules recorded; the probe did not work")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(rel) + "\n", encoding="utf-8")
    print(f"stdlib-probe: {len(rel)} standard-library modules imported by a server start")


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    cmd, *args = argv
    if cmd == "requirements":
        requirements(Path(args[0]), Path(args[1]))
    elif cmd == "pip-platforms":
        pip_platforms(args[0])
    elif cmd == "slim":
        slim(Path(args[0]), args[1])
    elif cmd == "verify-package":
        verify_package(Path(args[0]), Path(args[1]))
    elif cmd == "import-list":
        import_list(Path(args[0]), Path(args[1]))
    elif cmd == "stdlib-probe":
        stdlib_probe(Path(args[0]), Path(args[1]), Path(args[2]))
    else:
        raise SystemExit(f"unknown command {cmd!r}\n{__doc__}")


if __name__ == "__main__":
    os.umask(0o022)
    main(sys.argv[1:])
