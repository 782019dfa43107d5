"""Entry point of the load process: ``python -m stress.load RUN_DIR URL``."""

import sys

from stress.lifeline import orphan_safe_stdout

# If `stress run` dies, this process gets SIGTERM (lifeline.die_with_parent) and stops the
# load, writing its last records; its event lines then go to a closed pipe, which must not
# interrupt that.
orphan_safe_stdout()

from stress.load.engine import main  # noqa: E402  (imports Locust: after the stdout guard)

sys.exit(main(sys.argv[1:]))
