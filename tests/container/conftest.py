"""Fixtures for tests that need a Docker engine and the built image.

The image comes from MOONTV_IMAGE (CI builds it with scripts/moontv_ops.py first). Without an engine
or an image these tests are skipped, unless MOONTV_REQUIRE_DOCKER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

DOCKER = os.environ.get("DOCKER", "docker")


def _require(reason: str) -> None:
    if os.environ.get("MOONTV_REQUIRE_DOCKER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_bin() -> str:
    path = shutil.which(DOCKER)
    if path is None or subprocess.run([path, "info"], capture_output=True).returncode != 0:
        _require("no Docker engine answers (start dockerd; .ci/container-env.sh does it in CI)")
    return str(path)


@pytest.fixture(scope="session")
def moontv_image(docker_bin: str) -> str:
    image = os.environ.get("MOONTV_IMAGE", "")
    if not image:
        _require("MOONTV_IMAGE is not set (build with scripts/moontv_ops.py build --tag moontv:dev)")
    if subprocess.run([docker_bin, "image", "inspect", image], capture_output=True).returncode != 0:
        _require(f"image {image} is not built")
    return image
