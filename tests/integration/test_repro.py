"""Replay, repro exports and shrink against real local servers (no load: each test is quick).

The exports are run the way a user runs them (sh and bash for curl, a new Python for the
script and for pytest), and the server keeps what it received, byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stress.repro import replay as replay_mod
from stress.repro.cases import body_of
from stress.repro.export import Format, render, reproducer
from stress.repro.shrink import Limits, shrink
from stress.repro.validity import violations
from stress.scenario import from_path
from tests.integration.conftest import stress
from tests.integration.repro_runs import RLO, case, long_chat_body, serving, write_run

# Every kind of byte a shell or a terminal could lose: NUL and other C0 controls, DEL,
# invalid UTF-8 (lone continuation bytes, 0xC0, 0xFF), a bidi override, quotes of both
# kinds, printf's % and \, shell $ and backquote, a newline, and a leading dash.
NASTY = (
    b'-{"messages": [{"role": "user", "content": "a\x00b\x01\x1b[31m\x7f \xff\xc0\x80'
    b' \xe2\x80\xae RLO \' \\" %s %% \\\\ $HOME `id` \n\t\r end"}]}'
)
SHELLS = [shell for shell in ("/bin/sh", "/bin/bash") if Path(shell).exists()]


def export(run_dir: Path, input_id: str, fmt: Format, target: str, *, shrunk: bool = False) -> str:
    scenario = from_path(run_dir / "scenario.yaml")
    from stress.repro.cases import find_case

    item = find_case(run_dir, input_id, shrunk=shrunk)
    return render(reproducer(item, scenario, run_dir, target=target), fmt)


@pytest.mark.parametrize("shell", SHELLS)
def test_exported_curl_sends_the_stored_bytes_exactly(tmp_path: Path, shell: str) -> None:
    with serving("echo", tmp_path) as server:
        headers = {"Content-Type": "application/json", "Authorization": "<redacted>"}
        run_dir = write_run(
            tmp_path / "run",
            server.url,
            [case(NASTY, input_id="encoding.nasty-0001", headers=headers)],
            headers={"Authorization": "Bearer ${REPRO_TEST_KEY}"},
        )
        command = export(run_dir, "encoding.nasty-0001", Format.CURL, server.url)
        assert "s3cret" not in command
        assert "\x00" not in command
        assert "\u202e" not in command
        assert all(32 <= ord(c) < 127 or c == "\n" for c in command)
        env = {**os.environ, "REPRO_TEST_KEY": "s3cret"}
        result = subprocess.run(
            [shell, "-c", command], capture_output=True, env=env, timeout=30, check=False
        )
        assert result.returncode == 0, result.stderr
        assert b"HTTP/1.1 400" in result.stdout  # the echo server refuses invalid UTF-8
        assert server.bodies() == [NASTY]
        received = server.headers()[0]
        assert received["Authorization"] == "Bearer s3cret"
        assert received["Content-Type"] == "application/json"


def test_exported_curl_round_trips_a_large_body(tmp_path: Path) -> None:
    body = long_chat_body(size=70_000, insert="\x00'%\\")
    with serving("echo", tmp_path) as server:
        run_dir = write_run(tmp_path / "run", server.url, [case(body)])
        command = export(run_dir, "unicode.bidi-0001", Format.CURL, server.url)
        result = subprocess.run(
            ["/bin/sh", "-c", command], capture_output=True, timeout=30, check=False
        )
        assert result.returncode == 0, result.stderr
        assert server.bodies() == [body]


def test_pytest_export_fails_on_the_faulty_server_and_passes_on_the_fixed_one(
    tmp_path: Path,
) -> None:
    body = b'{"messages": [{"role": "user", "content": "hi\\u0000there"}], "max_tokens": 8}'
    with serving("faulty", tmp_path) as faulty, serving("fixed", tmp_path) as fixed:
        run_dir = write_run(tmp_path / "run", faulty.url, [case(body, input_id="nul-0001")])
        test_file = tmp_path / "exported" / "test_nul.py"
        test_file.parent.mkdir()
        test_file.write_text(export(run_dir, "nul-0001", Format.PYTEST, faulty.url))
        script = tmp_path / "exported" / "nul.py"
        script.write_text(export(run_dir, "nul-0001", Format.PYTHON, faulty.url))

        def run(command: list[str], url: str) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "STRESS_TARGET": url}
            return subprocess.run(
                command, capture_output=True, text=True, env=env, timeout=60, check=False
            )

        pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        on_faulty = run([*pytest_command, str(test_file)], faulty.url)
        assert on_faulty.returncode == 1, on_faulty.stdout
        assert "still fails: not_a_server_error (error): server error: HTTP 500" in on_faulty.stdout
        on_fixed = run([*pytest_command, str(test_file)], fixed.url)
        assert on_fixed.returncode == 0, on_fixed.stdout
        assert "1 passed" in on_fixed.stdout
        assert faulty.bodies() == [body]
        assert fixed.bodies() == [body]

        assert run([sys.executable, str(script)], faulty.url).returncode == 1
        assert run([sys.executable, str(script)], fixed.url).returncode == 0
        nobody = "http://127.0.0.1:9"  # discard port: nothing answers
        assert run([sys.executable, str(script)], nobody).returncode == 2
        assert run([*pytest_command, str(test_file)], nobody).returncode == 1


def test_shrink_reduces_a_5kb_chat_request_to_the_bidi_character(tmp_path: Path) -> None:
    body = long_chat_body(size=5000)
    assert len(body) >= 5000
    with serving("bidi", tmp_path) as server:
        run_dir = write_run(tmp_path / "run", server.url, [case(body)])
        started = time.monotonic()
        shrunk = shrink(run_dir, "unicode.bidi-0001", limits=Limits(max_requests=400))
        elapsed = time.monotonic() - started
        sent = len(server.bodies())
    info = shrunk["shrink"]
    minimal = body_of(shrunk["request"])
    assert info["status"] == "shrunk", info
    assert info["complete"], info
    assert RLO.encode() in minimal
    assert len(minimal) <= 64, minimal
    assert violations("openai-chat", minimal) == frozenset()  # still a valid chat request
    assert info["requests"] == sent <= 400
    # Not stopped by its time bound (300 s by default): complete, within the request bound.
    # The stopwatch only guards against a hang, with a 5x margin over the 60 s it needs on a
    # loaded 2-core machine at worst (about 5 s idle).
    assert elapsed < 300
    assert json.loads((run_dir / "shrunk" / "unicode.bidi-0001.json").read_text()) == shrunk


TRACEBACK_RUN = """\
name: traceback-replay
target: {{url: "{url}", protocol: openai-chat, timeout: 5s}}
inputs: {{seed: 3, count: 4, families: {{unicode.null_bytes: 1}}}}
load:
  phases:
    - {{name: steady, users: 1, spawn_rate: 1, duration: 2s}}
flakiness: {{retries: 1}}
"""


def test_replay_of_a_traceback_500_reports_the_findings_the_run_did(tmp_path: Path) -> None:
    # A 500 whose body is a Python traceback naming a file, from a server whose Server header
    # names its version: four findings under load, and the same four on replay.
    with serving("faulty", tmp_path) as server:
        path = tmp_path / "scenario.yaml"
        path.write_text(TRACEBACK_RUN.format(url=server.url), encoding="utf-8")
        result = stress("run", str(path), "--out", str(tmp_path / "reports"), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        run_dir = Path(result.stdout.strip().splitlines()[-1])
        rows = replay_mod.replay(run_dir)
    assert rows
    for row in rows:
        assert row["findings_now"] == row["findings_before"], row
        assert row["findings_now"] == [
            ("file_path_leak", "warning"),
            ("not_a_server_error", "error"),
            ("server_version_leak", "info"),
            ("stack_trace_leak", "warning"),
        ]
        assert row["still_fails"]


def test_shrink_a_deterministic_500_from_a_server_that_closes_after_every_error(
    tmp_path: Path,
) -> None:
    # The next request, sent at once on the kept connection, meets the close: a reset that is
    # the stale connection's, not the input's. It is sent again on a new connection.
    body = long_chat_body(size=1500)
    with serving("closing", tmp_path) as server:
        run_dir = write_run(tmp_path / "run", server.url, [case(body)])
        shrunk = shrink(run_dir, "unicode.bidi-0001", limits=Limits(max_requests=300))
    info = shrunk["shrink"]
    assert info["status"] == "shrunk", info
    assert info["confirmed"] == "5 of 5"
    minimal = body_of(shrunk["request"])
    assert RLO.encode() in minimal
    assert len(minimal) <= 64, minimal


def test_shrink_reports_a_flaky_endpoint_and_stays_within_its_bounds(tmp_path: Path) -> None:
    with serving("flaky", tmp_path) as server:
        run_dir = write_run(tmp_path / "run", server.url, [case(long_chat_body())])
        limits = Limits(max_requests=60, max_seconds=20)
        started = time.monotonic()
        shrunk = shrink(run_dir, "unicode.bidi-0001", limits=limits)
        elapsed = time.monotonic() - started
        sent = len(server.bodies())
    info = shrunk["shrink"]
    assert info["status"] == "flaky", info
    assert sent == info["requests"] <= 60
    # The shrinker's own bound is 20 s; each send gets at most the time left, so it may
    # overrun by the last send's connection set-up and the server's answer. Allowed: the
    # bound plus a 10 s margin for a loaded 2-core machine (the overrun is well under 1 s
    # on an idle one). The shrinker's own account must stay within its bound.
    assert elapsed < 20 + 10
    assert info["seconds"] <= 20 + 1, info
    assert body_of(shrunk["request"]) == long_chat_body()  # not shrunk to nonsense


@pytest.mark.parametrize(
    ("family", "body", "intended"),
    [
        (
            "encoding.invalid_utf8",
            long_chat_body(size=800).replace(b"the", b"th\xffe", 1),
            {"not_utf8"},
        ),
        (
            "structure.missing_field",
            long_chat_body(size=800).replace(b'"messages"', b'"mesages"'),
            {"missing:messages"},
        ),
    ],
)
def test_shrink_keeps_a_malformed_input_malformed_the_way_its_family_made_it(
    tmp_path: Path, family: str, body: bytes, intended: set[str]
) -> None:
    # The crashy server answers 500 to every invalid body, so without the re-check any
    # broken candidate (an empty body, say) would pass for the same failure.
    with serving("crashy", tmp_path) as server:
        input_id = f"{family}-0001"
        run_dir = write_run(
            tmp_path / "run",
            server.url,
            [case(body, input_id=input_id, family=family, expect="reject")],
        )
        shrunk = shrink(run_dir, input_id, limits=Limits(max_requests=300))
    info = shrunk["shrink"]
    minimal = body_of(shrunk["request"])
    assert info["status"] == "shrunk", info
    assert violations("openai-chat", minimal) == intended
    assert info["still_as_intended"] is True
    assert info["violations"] == {"original": sorted(intended), "shrunk": sorted(intended)}
    assert len(minimal) <= 8, minimal


def test_replay_restores_secrets_from_the_environment_and_replays_shrunk_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = long_chat_body(size=1000)
    headers = {"Content-Type": "application/json", "X-Api-Key": "<redacted>"}
    with serving("bidi", tmp_path) as server:
        run_dir = write_run(
            tmp_path / "run",
            server.url,
            [case(body, headers=headers)],
            headers={"X-Api-Key": "${REPRO_TEST_KEY}"},
        )
        monkeypatch.delenv("REPRO_TEST_KEY", raising=False)
        with pytest.raises(Exception, match="REPRO_TEST_KEY is not set"):
            replay_mod.replay(run_dir)
        assert server.bodies() == []  # nothing is sent without the secret
        monkeypatch.setenv("REPRO_TEST_KEY", "k-123")
        rows = replay_mod.replay(run_dir, input_id="unicode.bidi-0001")
        assert [row["still_fails"] for row in rows] == [True]
        assert server.headers()[0]["X-Api-Key"] == "k-123"
        assert server.bodies() == [body]

        shrink(run_dir, "unicode.bidi-0001", limits=Limits(max_requests=200))
        server.clear()
        rows = replay_mod.replay(run_dir, input_id="unicode.bidi-0001", shrunk=True)
        assert rows[0]["still_fails"]
        assert rows[0]["body_bytes"] <= 64
        assert len(server.bodies()) == 1
        assert RLO.encode() in server.bodies()[0]


def test_cli_shrink_then_repro_and_replay_the_minimal_case(tmp_path: Path) -> None:
    with serving("bidi", tmp_path) as server:
        run_dir = write_run(tmp_path / "run", server.url, [case(long_chat_body(size=2000))])
        shrunk = stress("shrink", str(run_dir), "--id", "unicode.bidi-0001", cwd=tmp_path)
        assert shrunk.returncode == 0, shrunk.stderr
        assert "before" in shrunk.stderr
        assert "after" in shrunk.stderr
        assert f"stress repro {run_dir} --id unicode.bidi-0001 --shrunk" in shrunk.stderr
        assert shrunk.stdout.lstrip().startswith("# Reproduces unicode.bidi-0001")
        curl_run = subprocess.run(
            ["/bin/sh", "-c", shrunk.stdout], capture_output=True, timeout=30, check=False
        )
        assert b"HTTP/1.1 500" in curl_run.stdout

        replayed = stress(
            "replay", str(run_dir), "--id", "unicode.bidi-0001", "--shrunk", cwd=tmp_path
        )
        assert replayed.returncode == 1, replayed.stderr
        assert "1 of 1 still fail" in replayed.stderr

        exported = stress(
            "repro",
            str(run_dir),
            "--id",
            "unicode.bidi-0001",
            "--shrunk",
            "--format",
            "pytest",
            "-o",
            str(tmp_path / "test_min.py"),
            cwd=tmp_path,
        )
        assert exported.returncode == 0, exported.stderr
        assert "def test_unicode_bidi_0001" in (tmp_path / "test_min.py").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["repro", "{run}", "--id", "nope-1"], "--id: no stored failure"),
        (["repro", "{run}", "--id", "../x"], "is not a case id"),
        (["repro", "{run}", "--id", "unicode.bidi-0001", "--shrunk"], "stress shrink {run} --id"),
        (["shrink", "{run}", "--id", "unicode.bidi-0001", "--max-time", "soon"], "--max-time"),
        (["replay", "{run}", "--shrunk"], "--shrunk needs --id"),
        (["repro", "{run}", "--id", "unicode.bidi-0001", "--format", "word"], "'word'"),
    ],
)
def test_repro_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    run_dir = write_run(tmp_path / "run", "http://127.0.0.1:9", [case(b"{}")])
    result = stress(*(a.replace("{run}", str(run_dir)) for a in args), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message.replace("{run}", str(run_dir)) in result.stderr
    assert "Traceback" not in result.stderr


def test_regression_corpus_replays_saved_failures_and_prunes_fixed_ones(tmp_path: Path) -> None:
    from stress.repro import regressions

    nul = b'{"messages": [{"role": "user", "content": "a\\u0000b"}]}'
    ok = b'{"messages": [{"role": "user", "content": "fine"}]}'
    corpus = tmp_path / "corpus"
    with serving("faulty", tmp_path) as faulty, serving("echo", tmp_path) as echo:
        first = write_run(
            tmp_path / "first",
            faulty.url,
            [case(nul, input_id="nul-0001"), case(ok, input_id="ok-0001", family="other")],
        )
        added = regressions.save_failures(regressions.corpus_dir(corpus), first)
        assert len(added) == 2
        assert regressions.save_failures(corpus, first) == []  # the same cases are not re-added
        scenario = from_path(first / "scenario.yaml")

        second = write_run(tmp_path / "second", faulty.url, [])
        rows = regressions.replay_first(
            scenario.model_copy(update={"regressions": str(corpus)}), second, faulty.url
        )
        verdicts = {row["case"]["family"]: row["verdict"] for row in rows}
        assert verdicts == {"unicode.bidi": "still fails", "other": "fixed"}
        still = next(r for r in rows if r["verdict"] == "still fails")
        # A still-failing regression is a stored case of the run: repro works on it.
        command = export(second, still["input_id"], Format.CURL, echo.url)
        subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=30, check=True)
        assert echo.bodies() == [nul]

        assert [p.name for p in regressions.prune(second, dry_run=True)] == [
            Path(next(r["file"] for r in rows if r["verdict"] == "fixed")).name
        ]
        assert len(list(corpus.glob("*.json"))) == 2
        pruned = stress("prune", str(second), cwd=tmp_path)
        assert pruned.returncode == 0, pruned.stderr
        assert "1 fixed regression case(s) deleted" in pruned.stderr
        assert [p.name for p in corpus.glob("*.json")] == [Path(still["file"]).name]


REGRESSION_RUN = """\
name: nightly
target: {{url: "{url}", protocol: openai-chat, timeout: 5s}}
inputs:
  seed: 5
  count: 12
  families: {{unicode.null_bytes: 1}}
load:
  phases:
    - {{name: load, users: 2, spawn_rate: 2, duration: 1s}}
slo: {{error_rate: 100%}}
"""


@pytest.mark.slow
def test_runs_replay_the_regression_corpus_first_and_fail_while_it_still_fails(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "regressions"

    def run(url: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        path = tmp_path / "nightly.yaml"
        path.write_text(REGRESSION_RUN.format(url=url))
        result = stress(
            "run",
            str(path),
            "--out",
            str(tmp_path / "reports"),
            "--regressions",
            str(corpus),
            cwd=tmp_path,
        )
        return result, Path(result.stdout.strip().splitlines()[-1])

    with serving("faulty", tmp_path) as faulty, serving("echo", tmp_path) as echo:
        first, first_dir = run(faulty.url)
        assert first.returncode == 1, first.stderr
        saved = sorted(corpus.glob("unicode.null_bytes-*.json"))
        assert saved
        assert f"regressions: {len(saved)} new case(s) saved" in first.stderr
        assert f"stress shrink {first_dir} --id unicode.null_bytes-" in first.stderr

        again, _ = run(faulty.url)
        assert again.returncode == 1
        assert f"{len(saved)} case(s) from {corpus} replayed first: {len(saved)} still fail" in (
            again.stderr
        )
        assert "REGRESSION unicode.null_bytes-" in again.stderr

        fixed, fixed_dir = run(echo.url)
        assert fixed.returncode == 0, fixed.stderr  # every regression fixed, nothing new
        assert f"{len(saved)} fixed" in fixed.stderr
        rows = [
            json.loads(line) for line in (fixed_dir / "regressions.jsonl").read_text().splitlines()
        ]
        assert {row["verdict"] for row in rows} == {"fixed"}
        pruned = stress("prune", str(fixed_dir), cwd=tmp_path)
        assert pruned.returncode == 0
        assert list(corpus.glob("*.json")) == []
