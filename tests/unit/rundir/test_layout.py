"""Run-directory file names live in stress/rundir/ only: every other module of stress/ builds
those paths through stress.rundir.layout. The scan reads each module's string constants (not
its docstrings): prose that mentions a file ("see failures.jsonl") is fine, a literal that
names one ("summary.json", "/report.html", f"worker-{n}.log", run_dir / "records") is not."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import stress
from stress.rundir import layout

PACKAGE = Path(stress.__file__).parent
OWNER = PACKAGE / "rundir"
# Names without a dot are also ordinary words ("records" is a JSON key in load.json): they
# count only where they build a path or are kept in a module constant.
FOLDERS = {name for name in layout.NAMES if "." not in name}
FILES = {*layout.NAMES, layout.PART_GLOB} - FOLDERS
TEMPLATES = (
    layout.WORKER_LOG,
    layout.PART,
    f"{layout.SHRUNK}/{layout.CASE}",
)


def _pattern(template: str) -> re.Pattern[str]:
    """A template's shape with any text in its fields: f"w{n}-{m:06d}.parquet" fits PART."""
    pieces = re.split(r"\{[^}]*\}", template)
    return re.compile("(^|/)" + ".*".join(re.escape(piece) for piece in pieces) + "$")


PATTERNS = [_pattern(template) for template in TEMPLATES]


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def literals(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each run-directory name written as a literal in ``source``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    path_operands = {
        id(side)
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
        for side in (node.left, node.right)
    }
    constants = {
        id(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            shape = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
            if any(pattern.search(shape) for pattern in PATTERNS):
                yield node.lineno, shape
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docstrings:
            continue
        text = node.value
        tail = text.rstrip("/").rsplit("/", 1)[-1]
        names_a_file = tail in FILES and (text == tail or text.endswith("/" + tail))
        builds_a_folder = (
            tail in FOLDERS and text.rstrip("/") == tail and id(node) in path_operands | constants
        )
        if names_a_file or builds_a_folder:
            yield node.lineno, text


def test_no_module_outside_the_run_dir_package_names_a_run_directory_file() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if OWNER not in path.parents
        for line, text in literals(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "use stress.rundir.layout instead of:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        'path = run_dir / "summary.json"',
        'url = f"{run_dir}/report.html"',
        'text = run_dir + "/report.html"',
        'records = run_dir / "records"',
        'SHRUNK_DIR = "shrunk"',
        'log = run_dir / f"worker-{number}.log"',
        'part = folder / f"w{worker}-{count:06d}.parquet"',
        'case = f"{run_dir}/shrunk/{input_id}.json"',
        'parts = sorted(folder.glob("*.parquet"))',
    ],
)
def test_the_scan_finds_a_name_written_as_a_literal(source: str) -> None:
    assert list(literals(source)) != []


@pytest.mark.parametrize(
    "source",
    [
        '"""Reads summary.json."""',
        'message = "see failures.jsonl or the report"',
        'row = {"records": 3, "status": "shrunk"}',
        'path = folder / f"{key}.json"',
        "path = layout.summary(run_dir)",
    ],
)
def test_the_scan_leaves_prose_keys_and_other_folders_alone(source: str) -> None:
    assert list(literals(source)) == []


def test_every_name_is_distinct_and_every_path_is_inside_the_directory() -> None:
    assert len(set(layout.NAMES)) == len(layout.NAMES)
    run_dir = Path("/runs/r")
    paths = [
        layout.worker_log(run_dir, 2),
        layout.part(layout.records(run_dir), "w1", 7),
        layout.shrunk_case(run_dir, "unicode.nul-0001"),
        layout.traces(run_dir),
    ]
    assert [p.relative_to(run_dir).as_posix() for p in paths] == [
        "worker-2.log",
        "records/w1-000007.parquet",
        "shrunk/unicode.nul-0001.json",
        "traces.json",
    ]
