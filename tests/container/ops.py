"""The container build tool (scripts/ops, behind scripts/moontv_ops.py); scripts/ is not a package."""

from __future__ import annotations

import sys

from tests.conftest import REPO

if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))

import ops

__all__ = ["ops"]
