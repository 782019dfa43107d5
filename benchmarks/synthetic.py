"""Synthetic run directories of any size, written straight to Parquet with numpy and pyarrow.

Used by the report benchmark (a million records in a few seconds) and by tests that need a
run bigger than a hand-built one. The numbers are random but seeded: the same arguments give
the same bytes. Every column of stress.record.SCHEMA is filled the way a real run fills it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from stress.record import SCHEMA, write_part

T0 = 1_790_000_000.0
# Eight groups of families, as the input catalogue has them; 60 families in all.
GROUPS = {
    "realistic": 10,
    "messy": 8,
    "unicode": 8,
    "size": 6,
    "structure": 8,
    "encoding": 6,
    "injection": 8,
    "perturbation": 6,
}
FAMILIES = [f"{group}.kind_{n:02d}" for group, count in GROUPS.items() for n in range(count)]
# (name, users, seconds); a one-hour nightly run.
PHASES = (("baseline", 2, 300), ("ramp", 16, 600), ("load", 32, 1200), ("soak", 32, 1500))
CHECKS = ("not_a_server_error", "no_timeout", "response_shape", "status_expectation")
HOSTILE = (
    "<script>document.title='PWNED'</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">",
    "<a href=\"javascript:document.body.setAttribute('data-pwned','2')\">click</a>",
)
INPUTS_PER_FAMILY = 40


def scenario_yaml(name: str, *, stream: bool) -> str:
    families = "\n".join(f"    {family}: 1" for family in FAMILIES)
    phases = "\n".join(
        f"    - {{name: {phase}, users: {users}, spawn_rate: 4, duration: {seconds}s}}"
        for phase, users, seconds in PHASES
    )
    return (
        f"name: {name}\n"
        "description: synthetic nightly run for the report benchmark\n"
        "target:\n  url: http://127.0.0.1:9\n  protocol: openai-chat\n"
        f"  stream: {'true' if stream else 'false'}\n"
        f"inputs:\n  seed: 7\n  count: {len(FAMILIES) * INPUTS_PER_FAMILY}\n"
        f"  families:\n{families}\n"
        f"load:\n  phases:\n{phases}\n  max_duration: 2h\n  max_requests: 10000000\n"
        "slo:\n  error_rate: 2%\n  p95_ms: 800\n"
    )


def write_synthetic_run(
    run_dir: Path,
    *,
    requests: int = 1_000_000,
    seed: int = 7,
    name: str = "synthetic",
    stream: bool = True,
    slowdown: float = 1.0,
    changed_answers: float = 0.0,
    error_scale: float = 1.0,
    started: float = T0,
    part_rows: int = 50_000,
) -> Path:
    """Write a complete run directory with ``requests`` records and return it.

    ``slowdown`` multiplies every latency and ``error_scale`` the chance of a server error;
    ``changed_answers`` is the share of inputs whose answer digest differs from the one
    ``seed`` gives (a planted behaviour change).
    """
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "scenario.yaml").write_text(scenario_yaml(name, stream=stream), encoding="utf-8")
    records = run_dir / "records"
    records.mkdir(exist_ok=True)
    total_seconds = sum(seconds for _, _, seconds in PHASES)
    sent = np.sort(rng.uniform(0, total_seconds, requests))
    bounds = np.cumsum([0] + [seconds for _, _, seconds in PHASES])
    phase_index = np.searchsorted(bounds, sent, side="right") - 1
    users = np.array([users for _, users, _ in PHASES], dtype="int32")[phase_index]
    family_index = rng.integers(0, len(FAMILIES), requests)
    input_index = rng.integers(0, INPUTS_PER_FAMILY, requests)
    # Latency grows with concurrency; a long tail from a lognormal.
    latency = rng.lognormal(np.log(40 + 6 * users), 0.5) * slowdown
    status = np.full(requests, 200, dtype="int32")
    error_kind = np.full(requests, None, dtype=object)
    failed = rng.random(requests) < (0.004 + 0.0004 * users) * error_scale
    status[failed] = 500
    error_kind[failed] = "http_5xx"
    timeouts = rng.random(requests) < 0.0005
    status[timeouts] = 0
    error_kind[timeouts] = "timeout"
    latency[timeouts] = 10_000.0
    ok = ~(failed | timeouts)
    # Each input has one stable answer (a deterministic model), changed for a planted share.
    input_key = family_index * INPUTS_PER_FAMILY + input_index
    inputs = len(FAMILIES) * INPUTS_PER_FAMILY
    changed = np.random.default_rng(seed + 1_000).random(inputs) < changed_answers
    answers = np.array(
        [
            hashlib.sha256(f"{key}:{'new' if changed[key] else 'old'}".encode()).hexdigest()[:16]
            for key in range(inputs)
        ]
    )
    digests = answers[input_key]
    output_tokens = np.minimum(8 + input_key % 40, 48).astype("int32")
    ttft = latency * rng.uniform(0.1, 0.3, requests) if stream else None
    itl = (latency - ttft) / np.maximum(output_tokens - 1, 1) if ttft is not None else None

    for start in range(0, requests, part_rows):
        stop = min(start + part_rows, requests)
        part = slice(start, stop)
        size = stop - start
        fam = np.array(FAMILIES, dtype=object)[family_index[part]]
        ids = np.char.add(
            np.char.add(fam.astype(str), "-"), np.char.zfill(input_index[part].astype(str), 4)
        )
        kinds = error_kind[part]
        part_ok = ok[part]
        # Offsets of the list column: failed requests name one check each.
        checks = np.where(kinds == "timeout", "no_timeout", "not_a_server_error")[~part_ok]
        offsets = np.concatenate([[0], np.cumsum(~part_ok)]).astype("int32")
        answered = status[part] == 200
        columns = {
            "seq": pa.array(np.arange(start + 1, stop + 1, dtype="int64")),
            "worker": pa.array(np.zeros(size, dtype="int32")),
            "input_id": pa.array(ids.astype(object)),
            "family": pa.array(fam),
            "expect": pa.array(np.full(size, "accept", dtype=object)),
            "phase": pa.array(np.array([p for p, _, _ in PHASES], dtype=object)[phase_index[part]]),
            "users": pa.array(users[part]),
            "sent_at": pa.array(started + sent[part]),
            "latency_ms": pa.array(latency[part]),
            "ttft_ms": pa.array(ttft[part]) if ttft is not None else pa.nulls(size, pa.float64()),
            "status": pa.array(status[part]),
            "error_kind": pa.array(kinds, type=pa.string()),
            "request_bytes": pa.array(np.full(size, 180, dtype="int64")),
            "response_bytes": pa.array(np.where(answered, 300, 40).astype("int64")),
            "output_tokens": pa.array(output_tokens[part], mask=~answered),
            "finish_reason": pa.array(
                np.where(output_tokens[part] >= 48, "length", "stop").astype(object),
                mask=~answered,
            ),
            "output_digest": pa.array(digests[part].astype(object), mask=~answered),
            "output_excerpt": pa.array(
                np.char.add("answer ", digests[part]).astype(object), mask=~answered
            ),
            "ok": pa.array(part_ok),
            "failed_checks": pa.ListArray.from_arrays(
                pa.array(offsets), pa.array(checks.astype(object), type=pa.string())
            ),
            "warned_checks": pa.ListArray.from_arrays(
                pa.array(np.zeros(size + 1, dtype="int32")), pa.array([], type=pa.string())
            ),
        }
        # Columns this generator does not model (added by later features) get what a run
        # without them records: empty lists, or nulls.
        for field in SCHEMA:
            if field.name not in columns:
                if pa.types.is_list(field.type):
                    columns[field.name] = pa.ListArray.from_arrays(
                        pa.array(np.zeros(size + 1, dtype="int32")),
                        pa.array([], type=field.type.value_type),
                    )
                else:
                    columns[field.name] = pa.nulls(size, field.type)
        extra = {}
        if itl is not None:
            extra = {
                "itl_ms": itl[part],
                "output_tokens_per_s": 1000.0 / np.maximum(itl[part], 1e-3),
            }
        table = pa.Table.from_pydict(columns, schema=SCHEMA)
        for name, values in extra.items():
            if name in SCHEMA.names:
                table = table.set_column(SCHEMA.get_field_index(name), name, pa.array(values))
        # The load's own part writer (a temporary name, then renamed), as a run writes them.
        write_part(records / f"w0-{start // part_rows + 1:06d}.parquet", table)

    _write_failures(run_dir, rng, ok, family_index, input_index, phase_index, error_kind, sent)
    (run_dir / "corpus.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": f"{family}-{n:04d}",
                    "family": family,
                    "expect": "accept",
                    "kind": "prompt",
                    "payload": {"messages": [{"role": "user", "content": f"{family} {n}"}]},
                }
            )
            + "\n"
            for family in FAMILIES
            for n in range(INPUTS_PER_FAMILY)
        ),
        encoding="utf-8",
    )
    info = {
        "started_at": _iso(started),
        "finished_at": _iso(started + total_seconds),
        "complete": True,
        "target": "http://127.0.0.1:9",
        "url": "http://127.0.0.1:9",
        "stress_version": "0.1.0",
    }
    (run_dir / "run.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return run_dir


def _write_failures(
    run_dir: Path,
    rng: np.random.Generator,
    ok: np.ndarray,
    family_index: np.ndarray,
    input_index: np.ndarray,
    phase_index: np.ndarray,
    error_kind: np.ndarray,
    sent: np.ndarray,
) -> None:
    lines = []
    seen: set[tuple[int, int]] = set()
    for row in np.flatnonzero(~ok):
        key = (int(family_index[row]), int(input_index[row]))
        if key in seen:
            continue
        seen.add(key)
        family = FAMILIES[key[0]]
        timeout = error_kind[row] == "timeout"
        check = "no_timeout" if timeout else "not_a_server_error"
        message = "no complete answer within the timeout" if timeout else "server error: HTTP 500"
        hostile = HOSTILE[int(rng.integers(0, len(HOSTILE)))]
        body = json.dumps({"messages": [{"role": "user", "content": f"{hostile} \x00 \u202e"}]})
        lines.append(
            {
                "input_id": f"{family}-{key[1]:04d}",
                "family": family,
                "expect": "accept",
                "phase": PHASES[int(phase_index[row])][0],
                "seq": int(row) + 1,
                "sent_at": T0 + float(sent[row]),
                "check": check,
                "message": message,
                "findings": [{"check": check, "message": message, "severity": "error"}],
                "request": {
                    "method": "POST",
                    "path": "/v1/chat/completions",
                    "headers": {"Content-Type": "application/json"},
                    "body": body,
                },
                "response": {
                    "status": 0 if timeout else 500,
                    "error_kind": str(error_kind[row]),
                    "latency_ms": 12.0,
                    "body_excerpt": f"Traceback ... {hostile}",
                },
            }
        )
        if len(lines) >= 2000:
            break
    with (run_dir / "failures.jsonl").open("w", encoding="utf-8") as handle:
        for item in lines:
            handle.write(json.dumps(item) + "\n")


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat()
