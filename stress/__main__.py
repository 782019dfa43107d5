"""``python -m stress``: the stress command line, as the ``stress`` console script runs it."""

from stress.cli import main

if __name__ == "__main__":
    main()
