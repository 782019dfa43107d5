"""Scenario control of the corpus: globs, exclude, counts, custom families, limits and
body_schema, with the exact message each mistake gets; and the CLI around it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from stress.cli import main
from stress.errors import ScenarioError
from stress.inputs.families import GROUPS
from stress.runner import build_corpus, load_scenario

ROOT = Path(__file__).resolve().parents[3]

VALID = """\
name: t
target: {url: "http://127.0.0.1:9", protocol: openai-chat}
inputs:
  seed: 1
  count: 60
  families: {realistic.chat_prompt: 1}
load:
  phases:
    - {name: load, users: 1, duration: 2s}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def inputs(extra: str) -> str:
    return VALID.replace("  families: {realistic.chat_prompt: 1}\n", extra)


INVALID = [
    (
        inputs("  families: {unicode.zero_widht: 1}\n"),
        "x.yaml: inputs.families.unicode.zero_widht: unknown input family; did you mean "
        "'unicode.zero_width'? (`stress families` lists them) (line 6)",
    ),
    (
        inputs("  families: {unicod.*: 1}\n"),
        "x.yaml: inputs.families.unicod.*: matches no input family (line 6)",
    ),
    (
        inputs("  families: {perturbation.jit*: 1}\n"),
        "x.yaml: inputs.families.perturbation.jit*: matches no family for protocol "
        "'openai-chat' (line 6)",
    ),
    (
        inputs("  families: {unicode.*: 1}\n  exclude: [unicode.zalgoo]\n"),
        "x.yaml: inputs.exclude[0]: unknown input family 'unicode.zalgoo'; did you mean "
        "'unicode.zalgo'? (`stress families` lists them) (line 7)",
    ),
    (
        inputs("  families: {unicode.zalgo: 1}\n  exclude: [unicode.zalgo]\n"),
        "x.yaml: inputs.exclude[0]: 'unicode.zalgo' is both selected in inputs.families and "
        "excluded; remove one of them (line 7)",
    ),
    (
        inputs("  families: {size.single_char: 1, size.empty_prompt: 2}\n  exclude: ['size.*']\n"),
        "x.yaml: inputs.families: nothing is left to send after inputs.exclude; select more "
        "families or exclude fewer (line 6)",
    ),
    (
        inputs("  families: {size.*: 1}\n  counts: {size.huge_batch: 3}\n"),
        "x.yaml: inputs.counts.size.huge_batch: this family does not apply to protocol "
        "'openai-chat' (line 7)",
    ),
    (
        inputs(
            "  families: {custom.hi: 1}\n"
            "  custom: {custom.hi: {function: custom_strategies:not_a_strategy}}\n"
        ),
        "x.yaml: inputs.custom.custom.hi.function: custom_strategies:not_a_strategy returned "
        "list, not a Hypothesis strategy; return e.g. hypothesis.strategies.text() (line 7)",
    ),
    (
        inputs("  families: {custom.hi: 1}\n  custom: {custom.hi: {function: no_such_module:f}}\n"),
        "x.yaml: inputs.custom.custom.hi.function: cannot import 'no_such_module' (No module "
        "named 'no_such_module'); make the module importable (install it, or run from the "
        "folder that holds it) (line 7)",
    ),
    (
        inputs("  families: {custom.hi: 1}\n  custom: {custom.hi: {function: greetings}}\n"),
        "x.yaml: inputs.custom.custom.hi.function: expected 'module:function' (e.g. "
        "my_package.inputs:greetings), got 'greetings' (line 7)",
    ),
    (
        inputs("  families: {structure.*: 1}\n  body_schema: {type: array}\n"),
        "x.yaml: inputs.body_schema: the request body must be an object: add 'type: object' "
        "and properties (line 7)",
    ),
    (
        inputs("  families: {numbers.negative_zero: 1}\n  body_schema: {type: object}\n"),
        "x.yaml: inputs.families.numbers.negative_zero: does not fit this target: the request "
        "schema has no number field whose range includes 0; remove it (line 6)",
    ),
    (
        inputs("  families: {size.*: 1}\n  limits: {max_rows: 0}\n"),
        "x.yaml: inputs.limits.max_rows: expected a positive integer, got 0 (line 7)",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_selection_gets_exact_message(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert [p.replace(str(tmp_path) + "/", "") for p in caught.value.problems] == [message]


def test_globs_excludes_counts_and_weights(tmp_path: Path) -> None:
    text = inputs(
        "  families: {'unicode.*': 1, unicode.cjk: 5, 'size.*': 1}\n"
        "  exclude: ['unicode.normalization_*', size.very_long]\n"
        "  counts: {injection.base64: 7}\n"
    )
    scenario = load_scenario(write(tmp_path, text))
    counts = Counter(item.family for item in build_corpus(scenario))
    assert counts["injection.base64"] == 7
    assert not any(name.startswith("unicode.normalization") for name in counts)
    assert "size.very_long" not in counts
    assert "size.huge_batch" not in counts
    assert counts["unicode.cjk"] > counts["unicode.emoji"]
    assert sum(counts.values()) == 60  # counts are carved out of count


def test_glob_leaves_out_families_that_do_not_fit(tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "tabular.yaml")
    families = {item.family for item in build_corpus(scenario)}
    assert "numbers.nan" in families
    assert "numbers.negative_zero" not in families  # no iris feature range includes 0


def test_custom_family_is_deterministic(tmp_path: Path) -> None:
    text = inputs(
        "  families: {custom.greeting: 1, realistic.chat_prompt: 1}\n"
        "  custom:\n"
        "    custom.greeting: {function: 'custom_strategies:greetings', expect: resist}\n"
    )
    scenario = load_scenario(write(tmp_path, text))
    first = [i for i in build_corpus(scenario) if i.family == "custom.greeting"]
    again = [i for i in build_corpus(scenario) if i.family == "custom.greeting"]
    assert first == again
    assert len(first) == 30
    assert {item.expect for item in first} == {"resist"}
    texts = {item.payload["messages"][0]["content"] for item in first}
    assert len(texts) > 5
    assert all(text.endswith("!") for text in texts)


def test_custom_rows_for_tabular(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "tabular.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "  families:\n",
        "  custom: {custom.rows: {function: 'custom_strategies:iris_rows'}}\n"
        "  families:\n    custom.rows: 1\n",
    )
    scenario = load_scenario(write(tmp_path, text))
    rows = [i for i in build_corpus(scenario) if i.family == "custom.rows"]
    assert rows
    assert all(item.kind == "rows" and len(item.payload["rows"]) == 1 for item in rows)


@pytest.mark.parametrize("name", ["demo", "tabular"])
def test_default_mix_covers_the_groups(name: str) -> None:
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    groups = {item.family.split(".")[0] for item in build_corpus(scenario)}
    expected = set(GROUPS) if name == "demo" else set(GROUPS) - {"unicode"}
    assert groups == expected


def test_unknown_family_exits_2_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, VALID.replace("realistic.chat_prompt", "realistic.chat_promt"))
    for command in (["validate", str(path)], ["generate", str(path)]):
        with pytest.raises(SystemExit) as caught:
            main(command)
        assert caught.value.code == 2
        assert "did you mean 'realistic.chat_prompt'?" in capsys.readouterr().err


def test_generate_exports_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID)
    out = tmp_path / "corpus.jsonl"
    main(["generate", str(path), "-n", "30", "--family", "encoding.*", "-o", str(out)])
    lines = [json.loads(line) for line in out.read_text(encoding="ascii").splitlines()]
    assert len(lines) == 30
    assert {line["family"].split(".")[0] for line in lines} == {"encoding"}
    assert all(line["origin"]["seed"] == 1 for line in lines)
    assert "wrote 30 inputs" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main(["generate", str(path), "--family", "nothing.*"])
    assert caught.value.code == 2


def test_families_lists_every_family(capsys: pytest.CaptureFixture[str]) -> None:
    main(["families", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) >= 60
    assert {row["group"] for row in rows} == set(GROUPS)
    assert all(
        row["expect"] in ("accept", "reject", "resist", "accept_or_refuse") and row["example"]
        for row in rows
    )


def test_docs_catalog_lists_every_family(capsys: pytest.CaptureFixture[str]) -> None:
    main(["families", "--markdown"])
    generated = capsys.readouterr().out
    page = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    marker = "<!-- generated by `stress families --markdown`: do not edit below -->\n"

    def without_examples(text: str) -> list[str]:
        # Examples depend on the Faker and Hypothesis versions; names and words must match.
        return [line.rsplit("| `", 1)[0] for line in text.splitlines()]

    assert without_examples(page.split(marker, 1)[1]) == without_examples(generated), (
        "docs/catalog.md is out of date: regenerate its tables with `stress families --markdown`"
    )
