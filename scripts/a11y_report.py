#!/usr/bin/env python3
"""axe-core violations of every page of the web UI, per theme and viewport (the audit of tests/ui/a11y.py).

Starts the same world as the browser tests (fake sources, real HLS, the app), audits each page and prints
one line per page/theme/size with the count of serious+critical violations (rules / nodes) and of all
violations; ``--detail`` lists the rules. ``--json FILE`` writes everything.

    .venv/bin/python scripts/a11y_report.py [--detail] [--json artifacts/a11y.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.ui.a11y import AXE, audit_world  # noqa: E402
from tests.ui.support import missing_tools, seed_user_data, start_world  # noqa: E402


def _nodes(violations: list) -> int:  # type: ignore[type-arg]
    return sum(len(v.nodes) for v in violations)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detail", action="store_true", help="list the violated rules")
    parser.add_argument("--json", type=Path, help="write every violation to this file")
    args = parser.parse_args()
    missing = missing_tools() + ([] if AXE.exists() else ["axe-core (scripts/build_frontend.sh)"])
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
        return 2
    audits = []
    with tempfile.TemporaryDirectory(prefix="moontv-a11y-") as tmp:
        world = start_world(Path(tmp) / "world")
        try:
            seed_user_data(world)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                for audit in audit_world(browser, world):
                    audits.append(audit)
                    blocking, every = audit.blocking, audit.violations
                    print(
                        f"{audit.page:<13} {audit.theme:<5} {audit.size[0]}x{audit.size[1]:<4} "
                        f"serious+critical: {len(blocking)} rules / {_nodes(blocking)} nodes"
                        f"   all: {len(every)} rules / {_nodes(every)} nodes"
                    )
                    if args.detail and audit.violations:
                        print(audit.describe())
                browser.close()
        finally:
            world.stop()
    total = [v for a in audits for v in a.blocking]
    print(f"total serious+critical: {len(total)} rule hits on {sum(len(v.nodes) for v in total)} nodes")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(a) for a in audits], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
