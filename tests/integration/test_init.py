"""`stress init` against the bundled demo server: the file it writes validates and runs.

The written baseline phase lasts 15 s; the tests cut it to 1 s (and the load to 3 s with
--duration) so each run takes seconds. Everything else runs as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from stress import scaffold
from stress.cli import cli
from stress.demo.process import DemoServerProcess
from tests.integration.conftest import ROOT, stress

pytestmark = pytest.mark.slow

SECRET = "sk-test-not-a-real-key-9876"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("demo") / "demo.log"
    with DemoServerProcess(log_path=log) as server:
        yield server.url


def runs(path: Path, tmp_path: Path, env: dict[str, str] | None = None) -> None:
    """The written file validates, and a short run ends with a verdict (0 or 1)."""
    checked = stress("validate", str(path), cwd=ROOT, env=env)
    assert checked.returncode == 0, checked.stderr
    text = path.read_text()
    assert "duration: 15s" in text
    path.write_text(text.replace("duration: 15s", "duration: 1s"))
    done = stress(
        "run",
        str(path),
        "--duration",
        "3s",
        "--count",
        "60",
        "--out",
        str(tmp_path / "reports"),
        cwd=ROOT,
        env=env,
    )
    assert done.returncode in (0, 1), done.stderr + done.stdout


def test_init_writes_a_chat_scenario_that_runs(demo: str, tmp_path: Path) -> None:
    path = tmp_path / "chat.yaml"
    made = stress(
        *("init", demo, "--protocol", "openai-chat", "--model", "demo-ngram"),
        *("--header", f"Authorization: Bearer {SECRET}", "-o", str(path), "--no-input"),
        cwd=ROOT,
    )
    assert made.returncode == 0, made.stderr
    assert "answered HTTP 200 in" in made.stdout
    assert "export API_KEY=" in made.stdout
    text = path.read_text()
    assert SECRET not in text
    assert 'Authorization: "Bearer ${API_KEY}"' in text
    runs(path, tmp_path, env={"API_KEY": SECRET})


def test_init_asks_for_what_the_flags_leave_out(
    demo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scaffold, "interactive", lambda: True)
    path = tmp_path / "tabular.yaml"
    answers = [
        demo,  # the URL
        "sepal_length=4.3:7.9, sepal_width=2:4.4, petal_length=1:6.9, petal_width=0.1:2.5",
        str(path),  # where to write it
    ]
    result = CliRunner().invoke(cli, ["init", "--protocol", "mlflow"], input="\n".join(answers))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Feature columns" in result.output
    assert f"wrote {path}" in result.output
    runs(path, tmp_path)
    # Asked again, it does not overwrite without a yes.
    again = CliRunner().invoke(
        cli, ["init", demo, "--protocol", "mlflow", "-o", str(path)], input=f"{answers[1]}\nn\n"
    )
    assert "exists; overwrite?" in again.output
    assert "pass --force to overwrite it" in str(again.exception)


def test_init_from_a_log_writes_a_replay_of_it_that_runs(demo: str, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "chat.jsonl"
    log.parent.mkdir()
    log.write_text(
        "".join(
            json.dumps(
                {
                    "timestamp": 1_767_261_600 + 0.25 * i,
                    "body": {"messages": [{"role": "user", "content": f"Hi {i}"}]},
                }
            )
            + "\n"
            for i in range(8)
        ),
        encoding="utf-8",
    )
    path = tmp_path / "scenarios" / "chat.yaml"
    made = stress(
        *("init", demo, "--protocol", "openai-chat", "--model", "demo-ngram"),
        *("--from-log", str(log), "-o", str(path), "--no-input"),
        cwd=ROOT,
    )
    assert made.returncode == 0, made.stderr
    # The probe sends a logged request; the scenario names the log from its own folder.
    assert "probe: one valid request (realistic.logged-0000)" in made.stdout
    text = path.read_text()
    assert "path: ../logs/chat.jsonl" in text.replace('"', "")
    assert "- {name: replay, kind: trace, inputs: logged, speed: 1, max_in_flight: 50}" in text
    runs(path, tmp_path)
    [run_dir] = (tmp_path / "reports").iterdir()
    load = json.loads((run_dir / "load.json").read_text())
    replay = next(phase for phase in load["phases"] if phase["name"] == "replay")
    assert replay["counts"]["sent"] == 8
