"""Comparisons with tolerance (issue 15): float noise passes, a real change fails, at the
boundary too; long embeddings are kept whole enough to compare; sampling endpoints are judged
by distribution, never charged a degradation for a different sampled answer."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from stress.checks import degradation
from stress.checks.compare import Answer, Comparer, close, invariance_methods, numeric_diff
from stress.checks.resend import Resend
from stress.errors import ScenarioError
from stress.inputs.corpus import Input
from stress.load.records import Answer as Reply
from stress.load.records import Sent, record_of
from stress.record import OUTPUT_TEXT_CHARS, kept_output
from stress.runner import load_scenario
from stress.scenario import CompareMethod, Comparison, Tolerance, from_dict
from stress.secrets import Redactor
from stress.targets import HttpRequest
from stress.targets.base import Outcome

DIMENSIONS = 1536


def unit_vector(seed: int, size: int = DIMENSIONS) -> list[float]:
    rng = random.Random(seed)
    vector = [rng.gauss(0, 1) for _ in range(size)]
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def noisy(vector: list[float], seed: int, noise: float = 3e-7) -> list[float]:
    rng = random.Random(seed)
    return [x + rng.uniform(-noise, noise) for x in vector]


def embeddings(left: Any, right: Any, **tolerance: float) -> dict[str, str]:
    comparer = Comparer(Comparison(tolerance=Tolerance(**tolerance)), "openai-embeddings")
    return comparer.differences(Answer(json.dumps(left)), Answer(json.dumps(right)))


# --- scalars -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "agree"),
    [
        (0.031, 0.031 + 2.5e-7, True),  # batching noise on an embedding component
        (0.031, 0.031 + 0.99e-6, True),  # just within abs
        (0.031, 0.031 + 1.01e-6, False),  # just past abs (rel 1e-5 of 0.031 is 3.1e-7)
        (1000.0, 1000.0 + 0.0099, True),  # just within rel (1e-5 of 1000)
        (1000.0, 1000.0 + 0.0101, False),
        (0.5, 0.51, False),  # a real change
        (math.nan, math.nan, True),
        (math.nan, 0.5, False),
        (math.inf, math.inf, True),
        (math.inf, 1e308, False),
    ],
)
def test_scalars_agree_within_abs_or_rel(x: float, y: float, agree: bool) -> None:
    assert close(x, y, Tolerance()) is agree
    assert close(y, x, Tolerance()) is agree


def test_a_zero_tolerance_is_exact() -> None:
    exact = Tolerance(abs=0, rel=0)
    assert close(0.25, 0.25, exact)
    assert not close(0.25, 0.25 + 1e-12, exact)


# --- vectors -------------------------------------------------------------------------------


def test_float_noise_on_a_1536_dimension_embedding_agrees() -> None:
    vector = unit_vector(1)
    assert embeddings(noisy(vector, 2), noisy(vector, 3)) == {}


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("another text's vector", lambda v: unit_vector(9)),
        ("zeroed", lambda v: [0.0] * len(v)),
        ("half the dimensions", lambda v: v[: len(v) // 2]),
        ("a NaN", lambda v: [math.nan, *v[1:]]),
        ("scaled by 1.01", lambda v: [x * 1.01 for x in v]),
        ("sign of every component", lambda v: [-x for x in v]),
    ],
)
def test_a_real_change_of_an_embedding_differs(name: str, change: Any) -> None:
    vector = unit_vector(1)
    found = embeddings(vector, change(vector))
    assert set(found) == {"numeric"}, name


def rotated(cosine: float) -> tuple[list[float], list[float]]:
    """Two unit vectors of 16 numbers whose cosine similarity is ``cosine``."""
    angle = math.acos(cosine)
    left = [1.0] + [0.0] * 15
    right = [math.cos(angle), math.sin(angle)] + [0.0] * 14
    return left, right


@pytest.mark.parametrize(("cosine", "agree"), [(0.99995, True), (0.9998, False)])
def test_vectors_agree_by_cosine_at_the_boundary(cosine: float, agree: bool) -> None:
    left, right = rotated(cosine)
    assert (embeddings(left, right) == {}) is agree
    # A looser cosine lets the larger turn through.
    assert embeddings(left, right, cosine=0.999) == {}


def test_a_short_list_is_compared_element_by_element_not_by_cosine() -> None:
    tolerance = Tolerance()
    # Cosine 0.99999 but a probability moved by 0.002: a real change for a score row.
    assert numeric_diff([0.5, 0.5], [0.501, 0.499], tolerance, "p") is not None
    assert numeric_diff([0.5, 0.5], [0.5 + 1e-7, 0.5 - 1e-7], tolerance, "p") is None


def test_embeddings_compare_by_numbers_and_invariance_does_not_guess() -> None:
    assert Comparer(Comparison(), "openai-embeddings").methods == [CompareMethod.NUMERIC]
    assert invariance_methods("openai-embeddings") == []
    assert invariance_methods("mlflow") == [CompareMethod.LABEL]


# --- the scenario's tolerance --------------------------------------------------------------


def scenario_file(tmp_path: Path, tolerance: Any) -> Path:
    path = tmp_path / "s.yaml"
    data = {
        "name": "t",
        "target": {"url": "http://127.0.0.1:9", "protocol": "openai-embeddings", "model": "m"},
        "inputs": {"families": {"realistic.chat_prompt": 1}},
        "load": {"phases": [{"name": "only", "users": 1, "duration": "1s"}]},
        "degradation": {"tolerance": tolerance},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_tolerance_defaults_and_the_bare_number_shorthand(tmp_path: Path) -> None:
    assert Comparison().tolerance == Tolerance(abs=1e-6, rel=1e-5, cosine=0.9999)
    scenario = load_scenario(scenario_file(tmp_path, 1e-4))
    assert scenario.degradation.tolerance == Tolerance(abs=1e-4, rel=1e-4, cosine=0.9999)
    scenario = load_scenario(scenario_file(tmp_path, {"cosine": 0.99}))
    assert scenario.degradation.tolerance == Tolerance(abs=1e-6, rel=1e-5, cosine=0.99)


@pytest.mark.parametrize(
    ("tolerance", "says"),
    [
        ({"abs": -1}, "degradation.tolerance.abs"),
        ({"cosine": 1.5}, "degradation.tolerance.cosine"),
        ({"cosine": 0}, "degradation.tolerance.cosine"),
        ({"rel": 1}, "degradation.tolerance.rel"),
        ({"absolute": 1e-6}, "abs"),
        ("tight", "a number or a mapping with abs, rel, cosine"),
        (2, "must be a number in [0, 1)"),
    ],
)
def test_a_bad_tolerance_is_a_clear_scenario_error(
    tmp_path: Path, tolerance: Any, says: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(scenario_file(tmp_path, tolerance))
    assert says in str(raised.value)
    assert "tolerance" in str(raised.value)
    assert raised.value.exit_code == 2


# --- the kept answer -----------------------------------------------------------------------


def sent() -> Sent:
    item = Input("realistic.chat_prompt-0001", "realistic.chat_prompt", "accept", "prompt", {})
    return Sent(1, item, HttpRequest("POST", "/", {}, b"{}"), "base", 1, 1.0, 1.0, 1.1)


def test_a_1536_dimension_embedding_is_kept_whole_and_compares_as_numbers() -> None:
    vector = noisy(unit_vector(1), 5)
    outcome = Outcome(prediction=vector)
    assert len(outcome.output or "") > OUTPUT_TEXT_CHARS  # the old cap cut it
    record = record_of(sent(), Reply(status=200), outcome, None, [], worker=0, keep_text=True,
                       redactor=Redactor())  # fmt: skip
    assert record.output_text is not None
    kept = json.loads(record.output_text)
    assert len(kept) == DIMENSIONS
    assert max(abs(k - v) / abs(v) for k, v in zip(kept, vector, strict=True)) < 1e-8
    assert record.output_chars == len(outcome.output or "")
    again = Outcome(prediction=noisy(unit_vector(1), 6))
    comparer = Comparer(Comparison(), "openai-embeddings")
    left = Answer(record.output_text, record.output_chars, record.output_digest)
    right = Answer(kept_output(None, again.prediction) or "", None, again.digest())
    assert left.digest != right.digest
    assert comparer.differences(left, right) == {}
    wrong = Outcome(prediction=unit_vector(2))
    assert comparer.differences(left, Answer(kept_output(None, wrong.prediction) or ""))


def test_text_answers_keep_their_cap_and_nothing_is_kept_without_an_answer() -> None:
    assert kept_output("x" * (OUTPUT_TEXT_CHARS + 5), None) == "x" * OUTPUT_TEXT_CHARS
    assert kept_output(None, None) is None
    assert kept_output(None, {"label": "a", "score": 0.1234567891234}) == (
        '{"label":"a","score":0.123456789}'
    )


# --- sampling endpoints --------------------------------------------------------------------

WORDS = [
    "the",
    "model",
    "reads",
    "every",
    "prompt",
    "and",
    "answers",
    "with",
    "care",
    "so",
    "each",
    "reply",
    "stays",
    "clear",
]


def sampled(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))


def chat_scenario() -> Any:
    return from_dict(
        {
            "name": "s",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-chat"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {
                "phases": [
                    {"name": "baseline", "users": 1, "duration": "1s"},
                    {"name": "load", "users": 8, "duration": "1s"},
                ]
            },
        }
    )


def row(seq: int, input_id: str, phase: str, text: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "worker": 0,
        "input_id": input_id,
        "family": "f",
        "expect": "accept",
        "phase": phase,
        "users": 1 if phase == "baseline" else 8,
        "status": 200,
        "output_text": text,
        "output_chars": len(text),
        "output_digest": None,
    }


def quiet(input_id: str, text: str) -> Resend:
    return Resend("degradation", input_id, 1, 200, None, 1.0, output_text=text)


def sampling_run(under_load: Any, inputs: int = 12) -> degradation.Result:
    rng = random.Random(7)
    rows, resends = [], []
    for index in range(inputs):
        rows.append(row(index, f"i-{index}", "baseline", sampled(rng)))
        rows.append(row(100 + index, f"i-{index}", "load", under_load(sampled(rng))))
        if index < 5:
            resends.append(quiet(f"i-{index}", sampled(rng)))
    return degradation.evaluate(pd.DataFrame(rows), chat_scenario(), resends=resends)


def test_a_sampling_endpoint_is_detected_and_not_charged_for_different_answers() -> None:
    result = sampling_run(lambda text: text)
    assert result.sampling
    assert result.spread == (5, 5)
    assert result.degraded == []
    assert "it samples (5 of 5" in result.note


@pytest.mark.parametrize(
    "fault",
    [
        lambda text: " ".join(text.split()[:2]),  # truncated under load
        lambda text: " ".join("qzx" + word[::-1] for word in text.split()),  # garbled
        lambda text: "Sorry, " + text,  # refuses under load (as long, the same words)
    ],
)
def test_a_sampling_endpoint_that_breaks_under_load_is_degraded(fault: Any) -> None:
    result = sampling_run(fault)
    assert result.sampling
    assert len(result.degraded) == 12
    assert set(result.levels[0].by_method) == {degradation.DISTRIBUTION}


def test_one_lucky_quiet_answer_confirms_nothing_the_quiet_answer_still_differs_by() -> None:
    # Load: much shorter (length differs); alone: as long as the baseline but other words.
    rows = [
        row(1, "a-1", "baseline", "one two three four five six seven eight"),
        row(2, "a-1", "load", "one"),
    ]
    resends = [quiet("a-1", "nine ten eleven twelve thirteen fourteen fifteen sixteen")]
    result = degradation.evaluate(pd.DataFrame(rows), chat_scenario(), resends=resends)
    assert result.degraded == []
    assert result.levels[0].unstable == 1


def test_noisy_numbers_alone_are_not_sampling_and_a_change_under_load_is_confirmed() -> None:
    scenario = from_dict(
        {
            "name": "e",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-embeddings", "model": "m"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {
                "phases": [
                    {"name": "baseline", "users": 1, "duration": "1s"},
                    {"name": "load", "users": 8, "duration": "1s"},
                ]
            },
        }
    )
    rows, resends = [], []
    for index in range(4):
        vector = unit_vector(index)
        rows.append(row(index, f"e-{index}", "baseline", json.dumps(noisy(vector, 1))))
        rows.append(row(10 + index, f"e-{index}", "load", json.dumps([0.0] * DIMENSIONS)))
        resends.append(quiet(f"e-{index}", json.dumps(noisy(vector, 2))))
    result = degradation.evaluate(pd.DataFrame(rows), scenario, resends=resends)
    assert not result.sampling
    assert len(result.degraded) == 4


# --- pinned sampling -----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["openai-chat", "openai-completions"])
def test_target_temperature_and_seed_pin_every_request_only_when_set(protocol: str) -> None:
    from stress.targets import adapter_for

    def body(**pins: Any) -> dict[str, Any]:
        scenario = from_dict(
            {
                "name": "p",
                "target": {"url": "http://127.0.0.1:9", "protocol": protocol, **pins},
                "inputs": {"families": {"realistic.chat_prompt": 1}},
                "load": {"phases": [{"name": "only", "users": 1, "duration": "1s"}]},
            }
        )
        messages = [{"role": "user", "content": "hi"}]
        item = Input("realistic.chat_prompt-0001", "realistic.chat_prompt", "accept", "prompt",
                     {"messages": messages, "prompt": "hi"})  # fmt: skip
        request = adapter_for(scenario.target).request(item)
        return dict(json.loads(request.body))

    assert {"temperature", "seed"}.isdisjoint(body())
    pinned = body(temperature=0, seed=7)
    assert (pinned["temperature"], pinned["seed"]) == (0, 7)


def test_findings_of_a_sampling_endpoint_say_they_were_judged_by_distribution() -> None:
    from stress.checks import groups, invariance
    from stress.targets import adapter_for

    scenario = chat_scenario()
    result = sampling_run(lambda text: " ".join(text.split()[:2]))
    judged = groups.Groups(result, invariance.Result(False, [], "-"), {}, ["degradation"])
    [entry] = groups.check_entries(judged, scenario)
    assert "12 answers changed under load beyond the endpoint's sampling spread" in entry["message"]
    assert not entry["passed"]
    lines = groups._finding_lines(judged, {}, scenario, adapter_for(scenario.target))
    assert len(lines) == 12
    assert "sampling spread" in lines[0]["message"]
    assert "distribution: length: median length" in lines[0]["message"]


def test_invariance_of_embeddings_says_why_it_is_not_judged() -> None:
    from stress.checks import invariance

    scenario = from_dict(
        {
            "name": "e",
            "target": {"url": "http://127.0.0.1:9", "protocol": "openai-embeddings", "model": "m"},
            "inputs": {"families": {"realistic.chat_prompt": 1}},
            "load": {"phases": [{"name": "only", "users": 1, "duration": "1s"}]},
        }
    )
    seed = Input("p-0", "perturbation.typos", "accept", "prompt", {"variant": "original"})
    typo = Input("p-1", "perturbation.typos", "accept", "prompt", {"seed": "p-0", "variant": "x"})
    result = invariance.evaluate(pd.DataFrame(), [seed, typo], scenario)
    assert not result.judged
    assert "embedding differs by design" in result.note
    assert "invariance.tolerance.cosine" in result.note
