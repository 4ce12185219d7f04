#!/usr/bin/env python3
"""moontv-ops: build, measure, scan and publish the MoonTV container image (see scripts/ops/cli.py).

python3 scripts/moontv_ops.py {build,multiarch,smoke,measure,render,scan,gate,sbom,push,pin} ...
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
