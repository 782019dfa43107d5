"""The per-request checks again, in plain standard-library Python, for exported reproducers.

`stress repro --format python|pytest` copies the functions of this module into the script
it writes, so the script runs where stress is not installed. They must agree with
stress.checks.request and the adapters' parsing; tests/unit/repro/test_oracle.py holds them
to that over a table of answers. Nothing here may import anything but json and math.
"""

import json

CONNECTION_KINDS = ("connection_refused", "connection_reset", "connection_error", "invalid_http")
# The checks an exported script can judge without stress installed.
STANDALONE_CHECKS = (
    "not_a_server_error",
    "no_timeout",
    "no_connection_error",
    "response_shape",
    "status_expectation",
    "accepted_invalid_input",
    "stream_integrity",
)


def judge(
    checks: list[str],
    expect: str,
    protocol: str,
    status: int,
    content_type: str,
    body: bytes,
    error: str | None,
) -> tuple[str, list[str]]:
    """Which of ``checks`` this answer fails, as (verdict, messages).

    The verdict is "fails" (some check failed), "passes", or "no_answer" when no answer
    arrived and none of ``checks`` is about that (a server that is down is not fixed).
    """
    messages: list[str] = []
    if error is not None:
        if "no_timeout" in checks and error == "timeout":
            messages.append("no complete answer within the timeout")
        if "no_connection_error" in checks and error in CONNECTION_KINDS:
            messages.append(error.replace("_", " "))
        return ("fails", messages) if messages else ("no_answer", [error.replace("_", " ")])
    if "not_a_server_error" in checks and status >= 500:
        messages.append(f"server error: HTTP {status}")
    if "response_shape" in checks and 200 <= status < 300:
        problem = shape_problem(protocol, content_type, body)
        if problem:
            messages.append(problem)
    if "status_expectation" in checks and 0 < status < 500:
        if expect == "accept" and 400 <= status < 500:
            messages.append(f"rejected valid input: HTTP {status}")
        if expect == "reject" and not (200 <= status < 300 or 400 <= status < 500):
            messages.append(f"malformed input got HTTP {status}, not a clean 4xx")
    if (
        "stream_integrity" in checks
        and 200 <= status < 300
        and protocol == "openai-chat"
        and content_type.startswith("text/event-stream")
    ):
        problem = stream_problem(body)
        if problem:
            messages.append(problem)
    if "accepted_invalid_input" in checks and expect == "reject" and 200 <= status < 300:
        messages.append(f"accepted invalid input: HTTP {status}")
    return ("fails" if messages else "passes"), messages


def shape_problem(protocol: str, content_type: str, body: bytes) -> str | None:
    """Why a 2xx answer does not have the protocol's shape, or None."""
    if protocol == "openai-chat" and content_type.startswith("text/event-stream"):
        return None  # a broken stream is stream_integrity's finding, not a shape problem
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return "answer is not valid UTF-8"
    except json.JSONDecodeError as exc:
        return f"answer is not valid JSON: {exc.msg} at byte {exc.pos}"
    if protocol == "openai-chat":
        if not isinstance(document, dict):
            return "answer is not a JSON object"
        choices = document.get("choices")
        if not isinstance(choices, list) or not choices:
            return "answer has no 'choices' list"
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return "choices[0].message.content is missing or not a string"
    if protocol == "mlflow":
        if isinstance(document, list):  # MLflow 1.x answered with the bare list
            document = {"predictions": document}
        if not isinstance(document, dict) or "predictions" not in document:
            return "answer has no 'predictions' key"
        predictions = document["predictions"]
        if not isinstance(predictions, (list, dict)):
            return "'predictions' is not a list (or a dict of columns)"
    return None


def stream_problem(body: bytes) -> str | None:
    """Why a server-sent-events chat answer is broken, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "stream is not valid UTF-8"
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return None
        try:
            json.loads(data)
        except json.JSONDecodeError:
            return f"malformed stream chunk: {data[:80]!r}"
    return "stream ended without 'data: [DONE]'"


EXPORTED = (judge, shape_problem, stream_problem)
