"""`python -m stress.demo`: run the demo model server in the foreground."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m stress.demo",
        description="Demo model server: OpenAI chat completions and MLflow /invocations.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--slots", type=int, default=4, help="concurrent inferences (default: %(default)s)"
    )
    parser.add_argument(
        "--token-ms",
        type=float,
        default=1.0,
        help="simulated decode time per chat token, ms (default: %(default)s)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=256,
        help="requests waiting for a slot before 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--no-quirks",
        dest="quirks",
        action="store_false",
        help="turn off the deliberate bugs (NUL traceback, NaN 500, slow long prompts)",
    )
    args = parser.parse_args(argv)

    from .server import serve  # after parsing, so --help is instant

    try:
        serve(
            host=args.host,
            port=args.port,
            slots=args.slots,
            token_ms=args.token_ms,
            max_queue=args.max_queue,
            quirks=args.quirks,
        )
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
