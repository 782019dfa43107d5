"""A scenario whose YAML aliases nest into a "billion laughs" is refused while it is read,
before anything expands it (exit 2, a message naming the aliases and the fix); a scenario
that shares a block through an alias still loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.cli import main
from stress.scenario.loading import MAX_ALIAS_NODES, from_path

HEAD = """\
name: t
target: {url: "http://127.0.0.1:9", protocol: openai-chat, model: m}
inputs: {count: 10, families: {"realistic.*": 1}}
load: {phases: [{name: b, users: 1, duration: 1s}]}
"""


def bomb(levels: int) -> str:
    lines = ['lol0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"lol{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return HEAD + "\n".join(lines) + "\n"


def validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(path)])
    captured = capsys.readouterr()
    return int(exited.value.code or 0), " ".join((captured.out + captured.err).split())


def test_a_billion_laughs_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 9**6 = 531,441 strings: over the bound, small enough that a loader without it ends.
    code, output = validate(tmp_path, bomb(6), capsys)
    assert code == 2
    assert "YAML aliases (*name) expand this file to" in output
    assert "alias bomb" in output
    assert "Write the repeated parts out" in output


def test_a_recursive_alias_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = validate(tmp_path, HEAD + "extra: &loop [1, *loop]\n", capsys)
    assert code == 2
    assert "refers to the node it is in (line 5)" in output


def test_a_shared_block_through_an_alias_still_loads(tmp_path: Path) -> None:
    text = """\
name: t
target:
  url: "http://127.0.0.1:9"
  protocol: openai-chat
  model: m
  headers: &h {X-Team: a, X-Env: b}
  params: *h
inputs: {count: 10, families: {"realistic.*": 1}}
load: {phases: [{name: b, users: 1, duration: 1s}]}
"""
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    assert from_path(path).target.params == {"X-Team": "a", "X-Env": "b"}


def test_the_bound_counts_what_aliases_add_not_what_the_file_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Four levels expand to about 82,000 nodes: under the bound; only the unknown keys fail.
    assert 9**5 < MAX_ALIAS_NODES < 9**6
    code, output = validate(tmp_path, bomb(4), capsys)
    assert code == 2
    assert "alias" not in output
    assert "lol0" in output


OPENAPI_SCENARIO = """\
name: t
target:
  url: http://127.0.0.1:9
  protocol: http-json
  openapi: {file: api.yaml, operation: POST /score}
inputs: {count: 10, families: {"realistic.*": 1}}
load: {phases: [{name: b, users: 1, duration: 1s}]}
"""


def test_an_alias_bomb_in_the_openapi_document_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # target.openapi documents are read with the scenario's alias-bounded reader too.
    lines = ["openapi: 3.0.3", "paths: {}", 'lol0: &a0 ["lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"lol{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    (tmp_path / "api.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = validate(tmp_path, OPENAPI_SCENARIO, capsys)
    assert code == 2
    assert "target.openapi" in output
    assert "api.yaml" in output
    assert "alias bomb" in output
