"""Entry point of the load process: ``python -m stress.load RUN_DIR URL``."""

import sys

from stress.load.engine import main

sys.exit(main(sys.argv[1:]))
