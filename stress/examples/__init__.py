"""Example scenarios shipped inside the package (the same files as the repository's
scenarios/ folder, so a pip install has them): `stress init --example NAME` writes one and
`stress demo` runs demo.yaml. The builtin:demo ones (demo, tabular, sweep, daily) run with
nothing else; the others are templates for a server at 127.0.0.1.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stress.errors import UsageError

__all__ = ["names", "text", "write"]


def names() -> list[str]:
    """The example names, sorted: the file names without .yaml."""
    folder = resources.files(__package__)
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def text(name: str) -> str:
    """The scenario file ``name`` (one of names()) as text; KeyError for another name."""
    if name not in names():
        raise KeyError(name)
    return resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def write(name: str, output: Path | None, *, force: bool = False, url: str | None = None) -> Path:
    """Write example ``name`` to ``output`` (default scenarios/NAME.yaml) and return the path.

    UsageError (naming the option and the fix) for an unknown name, an existing file without
    ``force``, or a URL given too (an example is written as it is, nothing is probed).
    """
    if url is not None:
        raise UsageError(f"--example: writes a packaged scenario as it is; drop the URL {url!r}")
    if name not in names():
        raise UsageError(f"--example: no example {name!r}; choose one of {', '.join(names())}")
    output = output or Path("scenarios") / f"{name}.yaml"
    if output.exists() and not force:
        raise UsageError(f"--output: {output} exists; pass --force to overwrite it")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text(name), encoding="utf-8")
    return output
