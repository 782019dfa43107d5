"""The suite's own settings (tests/conftest.py): the Hypothesis profile CI gets, and skips."""

from __future__ import annotations

from hypothesis import settings

from tests.conftest import allowed_skip_reasons, profile_name, unlisted_skips


def test_ci_gets_the_derandomized_profile_and_a_developer_a_random_one() -> None:
    assert profile_name({"CI": "true"}) == "ci"
    assert profile_name({"CI": "1"}) == "ci"
    assert profile_name({}) == "dev"
    assert profile_name({"CI": "false"}) == "dev"
    assert profile_name({"CI": ""}) == "dev"
    assert profile_name({"CI": "true", "HYPOTHESIS_PROFILE": "nightly"}) == "nightly"
    ci, dev = settings.get_profile("ci"), settings.get_profile("dev")
    assert ci.derandomize is True
    assert ci.database is None
    assert ci.print_blob is True
    assert dev.derandomize is False
    assert settings.get_profile("nightly").max_examples > dev.max_examples


def test_a_skip_fails_ci_unless_its_reason_is_listed() -> None:
    allowed = allowed_skip_reasons()
    assert "needs MLFLOW_PYTHON" in allowed
    assert not any(reason.startswith("#") for reason in allowed)
    skipped = [
        ("tests/real/test_mlflow_server.py::t", "needs MLFLOW_PYTHON: run `make real-mlflow`"),
        ("tests/unit/test_bad_input.py::t", "root reads any file, whatever its mode"),
        ("tests/unit/report/test_report_browser.py::t", "chromium is not installed"),
    ]
    assert unlisted_skips(skipped, allowed) == skipped[1:]


def test_mutation_scores_group_mutants_by_module() -> None:
    from tests.mutation_scores import module_of, scores

    assert module_of("stress.secrets.xǁRedactorǁscrub__mutmut_2") == "stress.secrets"
    assert module_of("stress.report.stats.x_percentile__mutmut_11") == "stress.report.stats"
    counts, survivors = scores(
        [
            "    stress.secrets.x_parse__mutmut_1: killed",
            "    stress.secrets.x_parse__mutmut_2: survived",
            "    stress.secrets.x_parse__mutmut_3: timeout",
            "    stress.secrets.x_parse__mutmut_4: not checked",
            "    stress.record.x_table_of__mutmut_1: no tests",
        ]
    )
    assert counts["stress.secrets"] == {"killed": 2, "survived": 1}
    assert counts["stress.record"] == {"survived": 1}
    assert survivors["stress.secrets"] == ["stress.secrets.x_parse__mutmut_2 (survived)"]
