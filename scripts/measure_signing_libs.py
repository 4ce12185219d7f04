"""What adopting itsdangerous for MoonTV's signed tokens would cost and change (docs/security.md,
"Libraries on security paths").

Installs itsdangerous into a throwaway virtual environment (pip, by name from the package index),
then reports: installed size (sources, and with compiled bytecode), import time on top of the
modules the server already imports (``python -X importtime``, p50 of --runs), resident memory added
by the import (p50), whether a configured ``itsdangerous.Signer`` reproduces our session-token wire
format byte for byte, and the time per verify of both.

    .venv/bin/python scripts/measure_signing_libs.py --runs 9
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import statistics
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

VERSION = "2.2.0"
BASELINE = "import moontv.app, moontv.auth.tokens, moontv.streams.service"

RSS_PROBE = f"""
import re
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
{BASELINE}
before = rss()
import itsdangerous
print(rss() - before)
"""

COMPAT_PROBE = """
import base64, hashlib, timeit
import itsdangerous, orjson
from moontv.auth.tokens import TokenSigner
key = b"k" * 32
ours = TokenSigner(key, ttl_seconds=3600)
token = ours.issue("alice", 1)
body = token.split(".")[0]
theirs = itsdangerous.Signer(key, digest_method=hashlib.sha256, key_derivation="none", sep=".")
print(theirs.sign(body).decode() == token, theirs.validate(token))
n = 20000
print(timeit.timeit(lambda: ours.verify(token), number=n) / n * 1e6)
def theirs_verify():  # the same work as ours: check the MAC, then decode the claims
    body = theirs.unsign(token)
    return orjson.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
print(timeit.timeit(theirs_verify, number=n) / n * 1e6)
"""


def site_packages(env: Path) -> Path:
    return next((env / "lib").glob("python3*/site-packages"))


def tree_kib(path: Path, *, bytecode: bool) -> float:
    total = 0
    for file in path.rglob("*"):
        if file.is_file() and (bytecode or "__pycache__" not in file.parts):
            total += file.stat().st_size
    return total / 1024


def run(code: str, pythonpath: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": pythonpath}
    return subprocess.run(
        [sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True, check=True
    )


def import_ms(stderr: str) -> float:
    """Cumulative microseconds of the top-level ``itsdangerous`` import, in ms."""
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)itsdangerous$", line)
        if match:
            return int(match.group(1)) / 1000
    raise RuntimeError("itsdangerous not in the import profile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moontv-itsdangerous-") as tmp:
        env = Path(tmp) / "venv"
        venv.create(env, with_pip=True)
        subprocess.run(
            [str(env / "bin" / "python"), "-m", "pip", "install", "-q", f"itsdangerous=={VERSION}"],
            check=True,
        )
        packages = site_packages(env)
        package = packages / "itsdangerous"
        sources = tree_kib(package, bytecode=False)
        compileall.compile_dir(package, quiet=1)
        compiled = tree_kib(package, bytecode=True)
        path = os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"), str(packages)])
        times = [import_ms(run(f"{BASELINE}; import itsdangerous", path, "-X", "importtime").stderr)
                 for _ in range(args.runs)]  # fmt: skip
        rss = [int(run(RSS_PROBE, path).stdout) for _ in range(args.runs)]
        same, valid, ours_us, theirs_us = run(COMPAT_PROBE, path).stdout.split()
    print(f"itsdangerous {VERSION}, Python {sys.version.split()[0]}, {args.runs} runs, p50:")
    print(f"- installed size: {sources:.0f} KiB sources, {compiled:.0f} KiB with bytecode")
    print(f"- import on top of the server's own imports: {statistics.median(times):.2f} ms")
    print(f"- resident memory added by the import: {statistics.median(rss):.0f} KiB")
    print(
        f"- a Signer(sha256, key_derivation='none', sep='.') reproduces our session token: {same} ({valid})"
    )
    print(
        f"- verify + decode one session token: ours {float(ours_us):.1f} us, "
        f"itsdangerous {float(theirs_us):.1f} us"
    )


if __name__ == "__main__":
    main()
