"""The commands `stress run` prints run as printed, where `stress` on PATH is not this stress.

The environment's console script is copied into a folder whose name has a space, PATH holds
neither it nor the environment, and another program called `stress` (as Debian's is) comes
first on PATH. The run's printed replay command, run through a shell, must reach this stress.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCENARIO = """\
name: hints
target: {url: builtin:demo, protocol: openai-chat, timeout: 10s, max_tokens: 16}
inputs:
  seed: 1234
  count: 12
  families: {unicode.null_bytes: 1}
load:
  phases:
    - {name: load, users: 2, spawn_rate: 2, duration: 2s}
"""

# What the impostor `stress` prints and exits with, so a hint that reaches it is plain to see.
IMPOSTOR = "#!/bin/sh\necho 'not this stress' >&2\nexit 99\n"


def test_the_printed_replay_command_runs_as_printed(tmp_path: Path) -> None:
    venv_script = Path(sys.executable).parent / "stress"
    assert venv_script.is_file(), f"{venv_script}: the environment has no stress script"
    home = tmp_path / "my env" / "bin"
    home.mkdir(parents=True)
    program = home / "stress"
    shutil.copy2(venv_script, program)
    impostor = tmp_path / "usr bin"
    impostor.mkdir()
    (impostor / "stress").write_text(IMPOSTOR, encoding="utf-8")
    (impostor / "stress").chmod(0o755)
    env = {**os.environ, "PATH": os.pathsep.join([str(impostor), "/usr/bin", "/bin"])}
    (tmp_path / "hints.yaml").write_text(SCENARIO, encoding="utf-8")

    run = subprocess.run(
        [str(program), "run", "hints.yaml", "--out", "my reports"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 1, run.stderr  # the demo server fails on null bytes
    # The commands under "failures": each is indented, then replay, repro and shrink.
    replays = [line.strip() for line in run.stderr.splitlines() if " replay " in line]
    assert replays, run.stderr

    replay = subprocess.run(
        replays[0], shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    # docs/repro.md: 1 when the replayed case still fails, 0 when it passes now.
    assert replay.returncode in (0, 1), replay.stderr
    assert "still fail" in replay.stderr, replay.stderr
    assert replays[0].startswith(f"'{program}' replay 'my reports/hints-")
