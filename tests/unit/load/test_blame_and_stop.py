"""Blame where it belongs and the stop instant, without Locust or sockets: the reader's
``fetch_kept`` with a stand-in client, and the plan's ``dropped`` and ``stop_at``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from geventhttpclient.response import HTTPConnectionClosed

from stress import errorkinds
from stress.checks.connection import DROPPED
from stress.load.plan import Exchanged
from stress.load.reader import Kept, fetch_kept
from stress.load.records import Answer
from stress.targets import HttpRequest
from tests.unit.load.test_plan import CHAT_OK, plan_of, prompt, scenario
from tests.unit.load.test_reader import Raw

REQUEST = HttpRequest("POST", "/", {}, b"x")


class Sequenced:
    """A stand-in HTTPClient answering each request with the next of ``answers``; its pool
    holds ``idle`` kept sockets (the reader closes them before a re-send)."""

    def __init__(self, *answers: Raw | BaseException) -> None:
        self.answers = list(answers)
        self.calls = 0
        self._connection_pool = self
        self.idle = [Closable()]
        import gevent.queue

        self._socket_queue: gevent.queue.Queue[Closable] = gevent.queue.Queue()
        for sock in self.idle:
            self._socket_queue.put(sock)

    def request(self, method: str, path: str, *, body: bytes, headers: dict[str, str]) -> Raw:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class Closable:
    closed = False

    def close(self) -> None:
        self.closed = True


def ok(headers: list[tuple[str, str]] | None = None, status: int = 200) -> Raw:
    return Raw([b"{}", b""], status=status, headers=headers)


def test_a_drop_on_a_warm_connection_is_sent_again_on_a_new_one() -> None:
    client = Sequenced(ok(status=500), HTTPConnectionClosed("closed"), ok())
    kept = Kept()
    first = fetch_kept(client, REQUEST, 2.0, kept=kept, host="h")
    assert (first.answer.status, first.dropped, kept.warm) == (500, None, True)
    second = fetch_kept(client, REQUEST, 2.0, kept=kept, host="h")
    assert second.answer.status == 200
    assert second.dropped is not None
    assert second.dropped.error_kind == errorkinds.CONNECTION_RESET
    assert second.blames_previous
    assert client.calls == 3
    assert all(sock.closed for sock in client.idle)  # the re-send opened a new connection


def test_after_connection_close_a_drop_is_the_input_s_own() -> None:
    close = [("Content-Type", "application/json"), ("Connection", "close")]
    client = Sequenced(ok(close, status=500), HTTPConnectionClosed("closed"))
    kept = Kept()
    fetch_kept(client, REQUEST, 2.0, kept=kept, host="h")
    assert not kept.warm
    second = fetch_kept(client, REQUEST, 2.0, kept=kept, host="h")
    assert second.dropped is None
    assert second.answer.error_kind == errorkinds.CONNECTION_RESET
    assert client.calls == 2


def test_a_drop_that_happens_again_on_a_new_connection_blames_no_one_before() -> None:
    client = Sequenced(ok(), HTTPConnectionClosed("a"), HTTPConnectionClosed("b"))
    kept = Kept()
    fetch_kept(client, REQUEST, 2.0, kept=kept, host="h")
    second = fetch_kept(client, REQUEST, 2.0, kept=kept, host="h")
    assert second.dropped is not None
    assert not second.blames_previous
    assert second.answer.error_kind == errorkinds.CONNECTION_RESET


def test_the_drop_is_recorded_on_the_previous_input_with_its_own_finding(tmp_path: Path) -> None:
    plan, writer = plan_of(tmp_path, scenario())
    before, after = prompt(0), prompt(1)
    previous = Exchanged(before, plan.items[0][1], 500)
    dropped = Answer(error_kind=errorkinds.CONNECTION_RESET)
    plan.dropped(previous, dropped, after, time.time(), time.perf_counter(), 1, "base")
    (record,) = writer.records
    assert record.input_id == before.id
    assert record.failed_checks == [DROPPED]
    assert record.error_kind == errorkinds.CONNECTION_RESET
    assert not record.ok
    plan.failures.close()
    lines = (tmp_path / "failures.jsonl").read_text(encoding="utf-8").splitlines()
    (line,) = [json.loads(text) for text in lines]
    assert line["input_id"] == before.id
    message = line["findings"][0]["message"]
    assert f"after answering {before.id} (HTTP 500)" in message
    assert f"({after.id}) was reset" in message


def test_the_drop_check_can_be_left_out(tmp_path: Path) -> None:
    plan, writer = plan_of(tmp_path, scenario(checks=["no_connection_error"]))
    previous = Exchanged(prompt(0), plan.items[0][1], 500)
    plan.dropped(previous, Answer(error_kind="connection_reset"), prompt(1), 0.0, 0.0, 1, "base")
    plan.failures.close()
    assert writer.records == []


def test_nothing_that_arrives_after_the_stop_instant_is_judged(tmp_path: Path) -> None:
    plan, writer = plan_of(tmp_path, scenario())
    step = plan.next()
    assert step is not None
    seq, item, request = step
    answer = Answer(status=200, headers={"content-type": "application/json"}, body=CHAT_OK)
    started = time.perf_counter()
    plan.finish(seq, item, request, time.time(), started, answer, 1, "base")
    assert len(writer.records) == 1
    plan.stop_at = time.perf_counter()
    refused = Answer(error_kind=errorkinds.CONNECTION_REFUSED)
    plan.finish(seq + 1, item, request, time.time(), started, refused, 1, "base")
    plan.failures.close()
    assert len(writer.records) == 1
    assert (plan.after_stop, plan.errors) == (1, 0)
    assert plan.next() is None  # nothing new is sent after the stop
