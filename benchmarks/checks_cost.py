"""CPU cost of the default per-request checks on the load path, per answer.

    .venv/bin/python -m benchmarks.checks_cost

The load engine spends about 125 µs of CPU per request (REFERENCE.md); the checks run on every
answer in the same process, so their cost per answer is what matters. Typical answers: a
chat completion, an MLflow prediction, a 400 error and a 500 with a traceback.
"""

from __future__ import annotations

import json
import timeit

from stress.checks.request import CheckSuite, Exchange
from stress.inputs.corpus import Input
from stress.scenario import from_dict
from stress.targets import adapter_for

SCENARIO = {
    "name": "bench",
    "target": {
        "url": "http://127.0.0.1:9",
        "protocol": "openai-chat",
        "headers": {"Authorization": "Bearer sk-benchmark-0123456789"},
    },
    "inputs": {"families": {"realistic.chat_prompt": 1}},
    "load": {"phases": [{"name": "p", "users": 1, "duration": "1s"}]},
    "answers": {"system_prompt": "You are a helpful assistant of Example Corp. " * 4},
}
CHAT = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "word " * 60},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80},
    }
).encode()
ERROR_400 = b'{"error":{"message":"Invalid type for \'messages\'","type":"invalid_request_error"}}'
TRACE_500 = b'Traceback (most recent call last):\n  File "/srv/app.py", line 1, in f\nValueError\n'


def main() -> None:
    scenario = from_dict(SCENARIO)
    suite = CheckSuite.from_scenario(scenario)
    adapter = adapter_for(scenario.target)
    item = Input("realistic-0001", "realistic", "accept", "prompt", {"messages": []})
    headers = {"content-type": "application/json", "server": "uvicorn"}
    cases = {
        "chat 200": (200, CHAT),
        "error 400": (400, ERROR_400),
        "traceback 500": (500, TRACE_500),
    }
    for name, (status, body) in cases.items():
        outcome = adapter.parse(status, headers, body)
        exchange = Exchange(
            item.expect,
            status,
            None if status < 400 else f"http_{status // 100}xx",
            outcome,
            10.0,
            headers=headers,
            body=body,
            item=item,
            settings=suite.settings,
        )
        runs = 20000
        seconds = timeit.timeit(lambda e=exchange: suite.run(e), number=runs)
        print(f"{name:>14}: {seconds / runs * 1e6:6.1f} µs per answer, {len(suite.checks)} checks")


if __name__ == "__main__":
    main()
