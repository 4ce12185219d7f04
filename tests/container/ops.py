"""scripts/moontv_ops.py, imported by path (scripts/ is not a package)."""

from __future__ import annotations

import importlib.util
import sys

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("moontv_ops", REPO / "scripts" / "moontv_ops.py")
assert _spec is not None and _spec.loader is not None
ops = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("moontv_ops", ops)
_spec.loader.exec_module(ops)
