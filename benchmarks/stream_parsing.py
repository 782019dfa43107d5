"""CPU cost of handling one streamed answer on the load path, without the network.

What the engine does per streamed answer besides reading the socket: decode the event
stream as reads arrive (SseDecoder.feed), turn the events into an Outcome (parse_events) and
compute the metrics (token_timing). Run:

    .venv/bin/python -m benchmarks.stream_parsing [--tokens 64] [--reads-per-token 1]

and compare the result with the ~125 us of CPU Locust's FastHttpUser spends per request
(/work/shared/REFERENCE.md).
"""

from __future__ import annotations

import argparse
import json
import time

from stress.scenario import Protocol, Target
from stress.targets import adapter_for
from stress.targets.sse import SseDecoder
from stress.targets.timing import token_timing


def stream(tokens: int) -> list[bytes]:
    """One chunk per event, as vLLM sends a chat stream with usage."""
    chunks = [
        b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
        b'{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    ]
    for index in range(tokens):
        delta = json.dumps({"content": f" word{index}"})
        chunks.append(
            b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":'
            + delta.encode()
            + b',"finish_reason":null}]}\n\n'
        )
    chunks.append(
        b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":%d}}\n\n' % tokens
    )
    chunks.append(b"data: [DONE]\n\n")
    return chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2000)
    options = parser.parse_args()
    adapter = adapter_for(
        Target(url="http://127.0.0.1:9", protocol=Protocol.OPENAI_CHAT, stream=True)
    )
    chunks = stream(options.tokens)
    started = time.perf_counter()
    for _ in range(options.repeat):
        decoder = SseDecoder()
        for chunk in chunks:
            decoder.feed(chunk, time.perf_counter())
        decoder.close()
        outcome = adapter.parse_events(decoder.events)
        token_timing(
            started=0.0,
            finished=1.0,
            token_times=outcome.token_times,
            output_tokens=outcome.output_tokens,
        )
    per_answer = (time.perf_counter() - started) / options.repeat
    print(
        f"{options.tokens} tokens: {per_answer * 1e6:.0f} us per streamed answer, "
        f"{per_answer * 1e6 / (options.tokens + 3):.2f} us per event"
    )


if __name__ == "__main__":
    main()
