"""The runtime image's root filesystem: the distroless Python base minus what the server never loads.

Standard library only (runs on the build machine's Debian python3, for either target architecture).

  runtime_root.py ROOT ARCH STDLIB_LIST [EXTRA]

ROOT is a copy of the distroless base's `/`. The step
  1. removes the files listed in DROP (each entry names the Debian package it comes from; a package
     whose files all go also loses its /var/lib/dpkg/status.d entry, so SBOM and scanners list only
     what ships),
  2. checks that every shared object left in ROOT, and in EXTRA (the target's virtual environment,
     laid out as in the image), finds each library it needs (ELF DT_NEEDED), and that no module of
     STDLIB_LIST (what a server start imports) was removed,
  3. compiles the STDLIB_LIST modules from ROOT's own sources into __pycache__ (unchecked-hash:
     the image is immutable, so the start never reads or hashes a source file, and a read-only
     container never needs to write bytecode). Optimisation level 0, the one the server runs with.

Nothing here is imported by the server: tests/container/test_runtime_root.py runs the app (every
module, a search, a stream relay, pages) on a full interpreter and checks that none of it touches a
dropped file.
"""

from __future__ import annotations

import fnmatch
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

PY = "python3.11"
STDLIB = f"usr/lib/{PY}"
DYNLOAD = f"{STDLIB}/lib-dynload"
TRIPLETS = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
LIBDIRS = ("lib/{t}", "usr/lib/{t}")

# (package, whole package dropped?, patterns relative to ROOT; {t} = the target's triplet, {lib} =
# both library directories, {so} = the extension-module suffix)
DROP: list[tuple[str, bool, tuple[str, ...]]] = [
    # glibc's iconv converter modules: Python has its own codecs (CJK included) and never calls
    # iconv(3). The module cache stays: the C library reads it at start, and its built-in UTF-8,
    # ASCII and Latin-1 converters need no module.
    ("libc6", False, ("usr/lib/{t}/gconv/*.so", "usr/lib/{t}/gconv/gconv-modules.d")),
    # glibc debugging/profiling helpers and libraries nothing links against
    (
        "libc6",
        False,
        (
            "{lib}/libmvec.so.1",
            "{lib}/libmemusage.so",
            "{lib}/libpcprofile.so",
            "{lib}/libc_malloc_debug.so.0",
            "{lib}/libthread_db.so.1",
            "{lib}/libBrokenLocale.so.1",
            "usr/share/gdb",
        ),
    ),
    ("libgcc-s1", False, ("usr/share/gcc",)),
    ("libstdc++6", False, ("usr/share/gcc", "usr/share/gdb")),
    # OpenMP runtime: no extension module uses it
    ("libgomp1", True, ("{lib}/libgomp.so.1*",)),
    # expat's wchar_t build: pyexpat links libexpat
    ("libexpat1", False, ("{lib}/libexpatw.so.1*",)),
    # dbm.ndbm (Berkeley DB): the server stores data in SQLite or Redis
    ("libdb5.3", True, ("{lib}/libdb-5.3.so",)),
    # readline and curses: an interactive terminal, never a server
    ("libreadline8", True, ("{lib}/libreadline.so.8*", "{lib}/libhistory.so.8*")),
    (
        "libncursesw6",
        True,
        ("{lib}/libncursesw.so.6*", "{lib}/libpanelw.so.6*", "{lib}/libmenuw.so.6*", "{lib}/libformw.so.6*"),
    ),
    ("libtinfo6", True, ("{lib}/libtinfo.so.6*", "{lib}/libtic.so.6*")),
    # NIS/Sun RPC (the nis module) and the Kerberos stack only libtirpc pulls in
    ("libnsl2", True, ("{lib}/libnsl.so.2*",)),
    ("libtirpc3", True, ("{lib}/libtirpc.so.3*",)),
    ("libgssapi-krb5-2", True, ("{lib}/libgssapi_krb5.so.2*",)),
    ("libkrb5-3", True, ("{lib}/libkrb5.so.3*", "usr/lib/{t}/krb5")),
    ("libk5crypto3", True, ("{lib}/libk5crypto.so.3*",)),
    ("libkrb5support0", True, ("{lib}/libkrb5support.so.0*",)),
    ("libcom-err2", True, ("{lib}/libcom_err.so.2*",)),
    ("libkeyutils1", True, ("{lib}/libkeyutils.so.1*",)),
    # crypt(3): the deprecated crypt module; passwords are hashed with argon2
    ("libcrypt1", True, ("{lib}/libcrypt.so.1*",)),
    # distutils: a build tool (removed from Python 3.12)
    ("python3-distutils", True, (f"{STDLIB}/distutils", f"{STDLIB}/_distutils_system_mod.py")),
    # the standard library's development tools, test suites and toys
    (
        "libpython3.11-stdlib",
        False,
        (
            f"{STDLIB}/test",
            f"{STDLIB}/unittest",
            f"{STDLIB}/doctest.py",
            f"{STDLIB}/pydoc.py",
            f"{STDLIB}/pydoc_data",
            f"{STDLIB}/lib2to3",
            f"{STDLIB}/idlelib",
            f"{STDLIB}/tkinter",
            f"{STDLIB}/turtle.py",
            f"{STDLIB}/turtledemo",
            f"{STDLIB}/ensurepip",
            f"{STDLIB}/venv",
            f"{STDLIB}/curses",
            f"{STDLIB}/dbm/ndbm.py",
            f"{STDLIB}/dbm/gnu.py",
            f"{STDLIB}/crypt.py",
            f"{STDLIB}/_pydecimal.py",
            f"{STDLIB}/__phello__",
            f"{STDLIB}/__hello__.py",
            f"{STDLIB}/antigravity.py",
            f"{STDLIB}/this.py",
            f"{DYNLOAD}/_test*{{so}}",
            f"{DYNLOAD}/_xxtestfuzz{{so}}",
            f"{DYNLOAD}/_xxsubinterpreters{{so}}",
            f"{DYNLOAD}/xxlimited*{{so}}",
            f"{DYNLOAD}/_ctypes_test{{so}}",
            f"{DYNLOAD}/_curses*{{so}}",
            f"{DYNLOAD}/readline{{so}}",
            f"{DYNLOAD}/_dbm{{so}}",
            f"{DYNLOAD}/nis{{so}}",
            f"{DYNLOAD}/_crypt{{so}}",
            f"{DYNLOAD}/ossaudiodev{{so}}",
            f"{DYNLOAD}/audioop{{so}}",
        ),
    ),
]


def patterns(arch: str) -> list[tuple[str, bool, str]]:
    """(package, whole, glob) with the target's triplet and extension suffix filled in."""
    triplet = TRIPLETS[arch]
    so = f".cpython-311-{triplet}.so"
    out = []
    for package, whole, globs in DROP:
        for glob in globs:
            for libdir in LIBDIRS if "{lib}" in glob else ("",):
                path = glob.replace("{lib}", libdir).replace("{t}", triplet).replace("{so}", so)
                out.append((package, whole, path.replace("{t}", triplet)))
    return out


def dropped_module_names() -> set[str]:
    """Top-level and dotted module names of the dropped standard-library files (for the guard test)."""
    names: set[str] = set()
    for _package, _whole, glob in patterns("amd64"):
        if not glob.startswith(STDLIB + "/"):
            continue
        rel = glob.removeprefix(STDLIB + "/").removeprefix("lib-dynload/")
        rel = rel.split(".cpython-")[0].removesuffix(".py")
        names.add(rel.replace("/", "."))
    return names


def dropped_path_patterns(arch: str) -> list[str]:
    """fnmatch patterns for absolute paths of everything dropped (a directory's contents too)."""
    out: list[str] = []
    for _package, _whole, glob in patterns(arch):
        out += [f"/{glob}", f"/{glob}/*"]
    return out


def remove_dropped(root: Path, arch: str) -> dict[str, int]:
    freed: dict[str, int] = {}
    for package, _whole, glob in patterns(arch):
        parent = root / os.path.dirname(glob)
        if not parent.is_dir():
            continue
        for path in sorted(parent.iterdir()):
            if not fnmatch.fnmatch(path.name, os.path.basename(glob)):
                continue
            size = _size(path)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            freed[package] = freed.get(package, 0) + size
    for package, whole, _globs in DROP:
        status = root / "var/lib/dpkg/status.d" / package
        if whole and status.exists():
            status.unlink()
            doc = root / "usr/share/doc" / package
            if doc.exists():
                shutil.rmtree(doc)
    return freed


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def _check_libraries(root: Path, arch: str, extra: Path | None) -> None:
    """Every ELF file left (and every one in EXTRA) must find its DT_NEEDED libraries in ROOT, or
    in a wheel's own <name>.libs directory (auditwheel)."""
    readelf = shutil.which(f"{TRIPLETS[arch]}-readelf") or shutil.which("readelf")
    if readelf is None:
        raise SystemExit("readelf not found (binutils)")
    provided: set[str] = set()
    for libdir in ("lib", "usr/lib", *(d.format(t=TRIPLETS[arch]) for d in LIBDIRS)):
        base = root / libdir
        if base.is_dir():
            provided.update(p.name for p in base.iterdir() if p.is_file() or p.is_symlink())
    trees = [root] + ([extra] if extra else [])
    for tree in trees:
        for libs in tree.rglob("*.libs"):
            provided.update(p.name for p in libs.iterdir())
    missing: list[str] = []
    checked = 0
    for tree in trees:
        for path in tree.rglob("*"):
            if not path.is_file() or path.is_symlink() or not _is_elf(path):
                continue
            checked += 1
            out = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True).stdout
            for line in out.splitlines():
                if "(NEEDED)" in line:
                    lib = line.rsplit("[", 1)[1].rstrip("]")
                    if lib not in provided:
                        missing.append(f"{path.relative_to(tree)} needs {lib}")
    if missing:
        raise SystemExit("runtime-root: dropped a library still needed:\n  " + "\n  ".join(missing))
    print(f"runtime-root: {checked} ELF files find every library they need")


def _is_elf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def _for_target(module: str, arch: str) -> str:
    """The probe runs on the build machine: its arch-specific modules (_sysconfigdata__<triplet>)
    have the target's triplet in the image."""
    for triplet in TRIPLETS.values():
        module = module.replace(triplet, TRIPLETS[arch])
    return module


def _check_stdlib_list(root: Path, modules: list[str]) -> None:
    gone = [m for m in modules if not (root / STDLIB / m).is_file()]
    if gone:
        raise SystemExit("runtime-root: a server start imports dropped modules:\n  " + "\n  ".join(gone))


def _compile(root: Path, modules: list[str]) -> None:
    if sys.version_info[:2] != (3, 11):
        raise SystemExit(f"compile with Python 3.11 (the runtime's), not {sys.version.split()[0]}")
    if "no_debug_ranges" not in sys._xoptions:
        raise SystemExit("run this step with python3 -X no_debug_ranges")
    for rel in modules:
        source = root / STDLIB / rel
        target = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
        py_compile.compile(
            str(source),
            cfile=str(target),
            dfile=f"/{STDLIB}/{rel}",
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )


def main(argv: list[str]) -> None:
    if len(argv) not in (3, 4):
        raise SystemExit(__doc__)
    root, arch, listing = Path(argv[0]), argv[1], Path(argv[2])
    extra = Path(argv[3]) if len(argv) == 4 else None
    modules = [
        _for_target(line.strip(), arch)
        for line in listing.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    before = _size(root)
    freed = remove_dropped(root, arch)
    _check_libraries(root, arch, extra)
    _check_stdlib_list(root, modules)
    _compile(root, modules)
    for package, size in sorted(freed.items(), key=lambda kv: -kv[1]):
        print(f"runtime-root: -{size / 1e6:.2f} MB {package}")
    print(
        f"runtime-root: {before / 1e6:.1f} MB -> {_size(root) / 1e6:.1f} MB "
        f"({len(modules)} standard-library modules compiled)"
    )


if __name__ == "__main__":
    os.umask(0o022)
    main(sys.argv[1:])
