"""The error kinds a request can end with (record column ``error_kind``), in one place.

The load engine (geventhttpclient) and the httpx senders after it (group checks' re-sends,
replay, shrink: stress.httpread) name the same fault the same way; docs/faults.md lists
which transport fault gives which kind. Imports nothing, so the load process can use it.
"""

from __future__ import annotations

HTTP_4XX = "http_4xx"
HTTP_5XX = "http_5xx"
INVALID_RESPONSE = "invalid_response"
INVALID_STREAM = "invalid_stream"
STREAM_STALL = "stream_stall"
TIMEOUT = "timeout"
HANG = "hang"
BODY_TOO_LARGE = "body_too_large"
CONNECTION_REFUSED = "connection_refused"
CONNECTION_RESET = "connection_reset"
CONNECTION_ERROR = "connection_error"
INVALID_HTTP = "invalid_http"

# Kinds of requests that got no HTTP answer to judge (the no_connection_error check's).
CONNECTION_KINDS = (CONNECTION_REFUSED, CONNECTION_RESET, CONNECTION_ERROR, INVALID_HTTP)

ERROR_KINDS: dict[str, str] = {
    HTTP_4XX: "the answer's status was 4xx",
    HTTP_5XX: "the answer's status was 5xx",
    INVALID_RESPONSE: "a 2xx the protocol cannot read (not JSON, wrong shape, not UTF-8)",
    INVALID_STREAM: "a streamed answer broke its protocol (a bad chunk, no [DONE], an error event)",
    STREAM_STALL: "a streamed answer sent no bytes for longer than target.stall_timeout",
    TIMEOUT: "no status line and headers within target.timeout",
    HANG: "the headers came, the body did not complete within target.timeout",
    BODY_TOO_LARGE: "the body passed target.max_body_bytes: reading stopped there",
    CONNECTION_REFUSED: "nothing listened at the target's address",
    CONNECTION_RESET: "the server reset or closed the connection before the answer was complete",
    CONNECTION_ERROR: "any other network failure (name resolution, unreachable host, TLS)",
    INVALID_HTTP: "bytes that are not an HTTP answer",
}


def of_answer(status: int, *, problem: bool = False, anomaly: bool = False) -> str | None:
    """The error kind of an answer read whole: its status class, else what its content broke
    (``problem``: the protocol cannot read it; ``anomaly``: a streamed answer broke)."""
    if status >= 500:
        return HTTP_5XX
    if status >= 400:
        return HTTP_4XX
    if problem:
        return INVALID_RESPONSE
    if anomaly:
        return INVALID_STREAM
    return None
