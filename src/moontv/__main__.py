import sys

from moontv.cli import main

sys.exit(main())
