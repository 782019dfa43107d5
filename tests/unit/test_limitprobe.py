"""`stress init`'s limit probe: the bounded search (fake senders), the probe against a
mocked chat and tabular server, and what the written scenario says about it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from stress import limitprobe, scaffold
from stress.checks import limits
from stress.cli import main
from stress.inputs.corpus import Input
from stress.limitprobe import MAX_REQUESTS, TOP_WORDS, Found, search
from stress.scenario import Protocol


def server(limit: int, *, named: bool) -> tuple[limitprobe.Sender, list[int]]:
    """A fake server answering sizes up to ``limit``; its refusals name the limit or not."""
    sent: list[int] = []

    def send(size: int) -> tuple[int, bytes] | None:
        sent.append(size)
        if size <= limit:
            return 200, b"{}"
        message = f"maximum context length is {limit} tokens" if named else "too long"
        return 400, json.dumps({"error": {"message": message}}).encode()

    return send, sent


def test_a_named_limit_is_confirmed_in_three_requests() -> None:
    send, sent = server(2048, named=True)
    found = search(send, TOP_WORDS, "prompt words")
    assert sent == [TOP_WORDS, 2048, 2049]
    assert (found.answered, found.refused, found.prompt_tokens) == (2048, 2049, 2048)
    assert found.named is not None
    assert found.named.value == 2048
    assert found.max_prompt_chars == 2048 * limitprobe.CHARS_PER_WORD


@pytest.mark.parametrize("limit", [100, 700, 5000, 32767])
def test_an_unnamed_limit_is_bracketed_within_the_budget(limit: int) -> None:
    send, sent = server(limit, named=False)
    found = search(send, TOP_WORDS, "prompt words")
    assert len(sent) <= MAX_REQUESTS
    assert found.answered is not None
    assert found.refused is not None
    assert found.answered <= limit < found.refused
    # Twelve halvings of 32,768 leave a bracket of at most 2% or 16 words.
    assert found.refused - found.answered <= max(16, limit * limitprobe.PRECISION + 1)
    assert found.prompt_tokens == found.answered


def test_a_limit_below_the_search_s_reach_is_not_invented() -> None:
    send, sent = server(1, named=False)
    found = search(send, TOP_WORDS, "prompt words")
    assert len(sent) == MAX_REQUESTS
    assert (found.answered, found.prompt_tokens, found.max_prompt_chars) == (None, None, None)


def test_no_limit_up_to_the_largest_size() -> None:
    send, sent = server(10**9, named=False)
    found = search(send, TOP_WORDS, "prompt words")
    assert sent == [TOP_WORDS]
    assert (found.prompt_tokens, found.max_prompt_chars) == (None, None)
    assert found.notes == [f"{TOP_WORDS:,} prompt words answered: no limit found up to that size"]


@pytest.mark.parametrize(("reply", "word"), [((500, b"boom"), "HTTP 500"), (None, "no answer")])
def test_a_failure_ends_the_search_without_a_limit(
    reply: tuple[int, bytes] | None, word: str
) -> None:
    sent: list[int] = []

    def send(size: int) -> tuple[int, bytes] | None:
        sent.append(size)
        return reply

    found = search(send, TOP_WORDS, "prompt words")
    assert sent == [TOP_WORDS]
    assert found.prompt_tokens is None
    assert word in found.notes[0]


def test_the_time_bound_stops_the_search() -> None:
    send, sent = server(100, named=False)
    ticks = iter(range(0, 1000, 40))  # 40 s a request
    search(send, TOP_WORDS, "rows", clock=lambda: float(next(ticks)))
    # The clock reads 0 at the start, 40 and 80 before the two requests, 120 > 90: stop.
    assert len(sent) == 2


def chat_transport(limit: int) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        document = json.loads(request.content)
        words = sum(len(m["content"].split()) for m in document["messages"])
        if words > limit:
            message = f"This model's maximum context length is {limit} tokens."
            error = {"code": "context_length_exceeded", "message": message}
            return httpx.Response(400, json={"error": error})
        return httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]})

    return httpx.MockTransport(handle)


def test_probe_limits_sends_growing_prompts_to_a_chat_server(tmp_path: Path) -> None:
    plan = scaffold.Plan(url="http://h:1", protocol=Protocol.OPENAI_CHAT, name="n", model="m")
    scenario = scaffold.check(scaffold.render(plan), source=str(tmp_path / "s.yaml"), inputs=False)
    item = Input(
        "realistic.chat_prompt-0000",
        "realistic.chat_prompt",
        "accept",
        "prompt",
        {"messages": [{"role": "user", "content": "hi"}]},
    )
    found = limitprobe.probe_limits(scenario, item, {}, transport=chat_transport(300))
    assert found is not None
    assert (found.prompt_tokens, found.answered, found.requests) == (300, 300, 3)
    probe = scaffold.Probe("", 200, 5.0, "ok", item.id, item=item, limits=found)
    data = yaml.safe_load(scaffold.render(plan, probe=probe))
    assert data["target"]["limits"] == {"prompt_tokens": 300}
    assert data["inputs"]["limits"] == {"max_prompt_chars": 900}
    scaffold.check(
        scaffold.render(plan, probe=probe), source=str(tmp_path / "s.yaml"), inputs=False
    )


def test_probe_limits_grows_a_batch_for_a_tabular_server(tmp_path: Path) -> None:
    plan = scaffold.Plan(
        url="http://h:1", protocol=Protocol.MLFLOW, name="n", features={"a": (0.0, 1.0)}
    )
    scenario = scaffold.check(scaffold.render(plan), source=str(tmp_path / "s.yaml"), inputs=False)

    def handle(request: httpx.Request) -> httpx.Response:
        rows = json.loads(request.content)["dataframe_split"]["data"]
        if len(rows) > 64:
            return httpx.Response(400, json={"message": "the maximum batch size is 64"})
        return httpx.Response(200, json={"predictions": [0] * len(rows)})

    item = Input(
        "realistic.tabular_rows-0000",
        "realistic.tabular_rows",
        "accept",
        "rows",
        {"rows": [{"a": 0.5}]},
    )
    found = limitprobe.probe_limits(scenario, item, {}, transport=httpx.MockTransport(handle))
    assert found is not None
    assert (found.batch_size, found.max_rows, found.prompt_tokens) == (64, 64, None)


def test_a_refused_probe_is_said_in_the_scenario() -> None:
    plan = scaffold.Plan(url="http://h:1", protocol=Protocol.OPENAI_CHAT, name="n", model="m")
    refused = scaffold.Probe("", 404, 5.0, '{"error":"model m not found"}', "realistic-0")
    assert refused.refused
    warning = refused.warning()
    assert warning is not None
    assert "was refused: HTTP 404" in warning
    text = scaffold.render(plan, probe=refused)
    assert "# WARNING: the probe's valid request (realistic-0) was refused: HTTP 404" in text
    answered = scaffold.Probe("", 200, 5.0, "ok", "realistic-0")
    assert answered.warning() is None
    assert "WARNING" not in scaffold.render(plan, probe=answered)


def test_found_without_a_refusal_writes_no_limit() -> None:
    found = Found("prompt words", answered=TOP_WORDS, refused=None, requests=1)
    assert (found.prompt_tokens, found.max_prompt_chars) == (None, None)
    found = Found("rows", answered=10, refused=11, named=limits.Limit(limits.BATCH, 10))
    assert (found.batch_size, found.max_rows, found.prompt_tokens) == (10, 10, None)


def test_init_prints_the_warning_and_the_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = Found("prompt words", answered=300, refused=301, requests=3)
    found.named = limits.Limit(limits.PROMPT_TOKENS, 300, "maximum context length is 300")
    probes = {
        "refused": scaffold.Probe("", 401, 5.0, '{"error":"bad key"}', "realistic-0"),
        "answered": scaffold.Probe("", 200, 5.0, "ok", "realistic-0", limits=found),
    }
    for name, probe in probes.items():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scaffold, "detect", lambda url, headers, **_: scaffold.Detected(None))
            patch.setattr(scaffold, "write", lambda plan, output, probe=probe: probe)
            main(
                [
                    *("init", "http://127.0.0.1:9", "--protocol", "openai-chat"),
                    *("--model", "m", "-o", str(tmp_path / f"{name}.yaml"), "--no-input"),
                ]
            )
        said = capsys.readouterr()
        if name == "refused":
            assert "WARNING: the probe's valid request (realistic-0) was refused: HTTP 401" in (
                said.err
            )
        else:
            assert "WARNING" not in said.err + said.out
            assert "limits: prompt_tokens: 300 (3 requests); written to target.limits" in said.out
