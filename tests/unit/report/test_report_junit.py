"""junit.xml: one suite per check, one case per family or phase, counts CI can trust."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stress.report import write_reports
from stress.report.junit import write_junit


def suites(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name", ""): suite for suite in root.iter("testsuite")}


def failing(suite: ET.Element) -> list[str]:
    return [c.get("name", "") for c in suite.iter("testcase") if c.find("failure") is not None]


def test_suites_cases_and_failure_counts(run_dir: Path) -> None:
    write_reports(run_dir)
    root = ET.parse(run_dir / "junit.xml").getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("15", "3", "0")
    found = suites(root)
    assert list(found) == [
        "not_a_server_error",
        "no_timeout",
        "no_connection_error",
        "response_shape",
        "status_expectation",
        "slo.error_rate",
        "slo.p95_ms",
        "requests_recorded",
    ]
    families = ["malformed.wrong_type", "realistic.chat_prompt"]
    for name in ("not_a_server_error", "no_timeout", "response_shape", "status_expectation"):
        assert [c.get("name") for c in found[name].iter("testcase")] == families
    assert failing(found["not_a_server_error"]) == ["realistic.chat_prompt"]
    assert failing(found["response_shape"]) == ["malformed.wrong_type"]
    assert failing(found["status_expectation"]) == []  # warnings only
    assert failing(found["slo.error_rate"]) == []
    assert failing(found["slo.p95_ms"]) == ["load"]
    for suite in found.values():
        assert suite.get("tests") == str(len(list(suite.iter("testcase"))))
        assert suite.get("failures") == str(len(failing(suite)))
    failure = found["slo.p95_ms"].find("testcase/failure")
    assert failure is not None
    assert "380.5 ms" in failure.get("message", "")
    warned = found["status_expectation"].find("testcase/system-out")
    assert warned is not None
    assert warned.text == "2 of 20 requests had warnings"


def test_an_empty_run_fails_in_junit(empty_run_dir: Path) -> None:
    write_reports(empty_run_dir)
    root = ET.parse(empty_run_dir / "junit.xml").getroot()
    found = suites(root)
    assert failing(found["requests_recorded"]) == ["run"]
    assert failing(found["slo.p95_ms"]) == ["baseline", "load"]
    assert found["not_a_server_error"].get("tests") == "0"
    assert root.get("failures") == "5"


def test_characters_xml_cannot_hold_are_replaced(tmp_path: Path) -> None:
    message = 'bad \x00 nul \ud800 surrogate \x1b esc <tag> & "quote" \U0001f600'
    summary = {
        "scenario": "x\x00y",
        "families": [],
        "checks": [
            {
                "name": "slo.p95_ms",
                "kind": "slo",
                "phase": "load",
                "passed": False,
                "message": message,
            },
        ],
    }
    path = tmp_path / "junit.xml"
    write_junit(summary, path)
    root = ET.parse(path).getroot()
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == (
        'bad \ufffd nul \ufffd surrogate \ufffd esc <tag> & "quote" \U0001f600'
    )
    assert root.get("name") == "stress x\ufffdy"


SCHEMA = Path(__file__).with_name("junit.xsd")


def validate(path: Path) -> None:
    import xmlschema

    xmlschema.XMLSchema(SCHEMA).validate(path)


def test_junit_validates_against_the_shape_ci_tools_read(run_dir: Path) -> None:
    write_reports(run_dir)
    validate(run_dir / "junit.xml")
    root = ET.parse(run_dir / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("timestamp") == "2023-11-14T22:13:19+00:00"
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {
        "scenario": "report-test",
        "target": "http://127.0.0.1:9",
        "run_dir": str(run_dir),
    }


def test_an_empty_run_and_group_checks_validate_too(empty_run_dir: Path, run_dir: Path) -> None:
    write_reports(empty_run_dir)
    validate(empty_run_dir / "junit.xml")
    degradation = {
        "points": [{"phase": "load", "compared": 4, "degraded": 2}],
        "checks": [{"name": "degradation_under_load", "passed": False, "phase": "load"}],
    }
    (run_dir / "degradation.json").write_text(json.dumps(degradation), encoding="utf-8")
    write_reports(run_dir)
    validate(run_dir / "junit.xml")
    found = suites(ET.parse(run_dir / "junit.xml").getroot())
    assert failing(found["degradation_under_load"]) == ["load"]


def test_the_schema_rejects_what_ci_tools_cannot_read(tmp_path: Path) -> None:
    import xmlschema

    # The schema is a real test: a suite without counts, or a case without a name, fails it.
    path = tmp_path / "bad.xml"
    path.write_text('<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>')
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        validate(path)
