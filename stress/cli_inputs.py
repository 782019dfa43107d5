"""Commands about inputs and new scenarios, which send no load: ``stress families``,
``stress generate``, ``stress checks`` and ``stress init``. stress.cli registers them; they
print through its consoles and raise StressError for it to turn into an exit code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape

from stress.invocation import command

if TYPE_CHECKING:
    from stress.prepare import PreparedRun


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option("--markdown", is_flag=True, help="Print the tables of docs/catalog.md.")
@click.option("--family", "pattern", default="*", help="Only families matching this glob.")
def families(as_json: bool, markdown: bool, pattern: str) -> None:
    """List the input families: group, expectation, protocols, description, an example."""
    import fnmatch
    import json

    from rich.table import Table

    from stress.inputs.examples import catalog_markdown, excerpt, sample
    from stress.inputs.families import catalog
    from stress.terminal import stdout

    chosen = [f for name, f in catalog().items() if fnmatch.fnmatchcase(name, pattern)]
    if not chosen:
        from stress.errors import UsageError

        raise UsageError(f"--family: {pattern!r} matches no input family; try 'unicode.*'")
    if markdown:
        click.echo(catalog_markdown(chosen), nl=False)
        return
    if as_json:
        for family in chosen:
            line = {
                "name": family.name,
                "group": family.group,
                "expect": family.expect.value,
                "protocols": list(family.protocols),
                "description": family.description,
                "why": family.why,
                "example": excerpt(sample(family), max_size=80),
            }
            stdout.print(json.dumps(line, ensure_ascii=False), markup=False, highlight=False)
        return
    from stress.inputs.families import ALL_PROTOCOLS

    # Piped output gets a wide page instead of an 80-column squeeze.
    out = stdout if stdout.is_terminal else Console(width=180, highlight=False, soft_wrap=True)
    groups: dict[str, list[Any]] = {}
    for family in chosen:
        groups.setdefault(family.group, []).append(family)
    for group, members in groups.items():
        table = Table(title=f"{group} ({len(members)})", title_justify="left")
        for column in ("family", "expect", "protocols"):
            table.add_column(column, no_wrap=True)
        for column in ("description", "example"):
            table.add_column(column, overflow="fold", ratio=1)
        for family in members:
            protocols = set(family.protocols)
            table.add_row(
                family.name,
                family.expect.value,
                "all" if protocols == set(ALL_PROTOCOLS) else ", ".join(family.protocols),
                family.description,
                excerpt(sample(family), max_size=48),
            )
        out.print(table, markup=False)
    plural = "s" * (len(groups) != 1)
    out.print(f"{len(chosen)} input families in {len(groups)} group{plural}", markup=False)


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-n", "--count", type=int, help="Number of inputs (default: the scenario's count).")
@click.option("--family", "pattern", help="Only families matching this glob (any that fit).")
@click.option("--seed", type=int, help="Seed of the corpus (default: the scenario's).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Processes that generate the corpus (default: with -o, one per idle CPU and "
    "5,000 inputs; else 1).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write corpus.jsonl here instead of printing a preview.",
)
def generate(
    scenario: Path,
    count: int | None,
    pattern: str | None,
    seed: int | None,
    workers: int | None,
    output: Path | None,
) -> None:
    """Preview or export the input corpus of SCENARIO, without sending anything."""
    import atexit
    import gc
    import time

    # When this process ends, the interpreter's last collections walk every object it holds
    # (the scenario models, Hypothesis, the families' caches): ~50 ms of a ~1 s command, to
    # free what the system takes back anyway. Frozen when exit begins (registered last, it
    # runs before the handlers registered at import; none of them needs a collection), they
    # are left as they are. Registered once per process.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)

    from stress.inputs import corpus as corpus_io
    from stress.prepare import prepare
    from stress.scenario import Overrides
    from stress.terminal import err

    prepared = prepare(
        scenario,
        Overrides(seed=seed, count=count),
        family=pattern,
        workers=workers or 1,
        stream=output is not None,
    )
    if prepared.log is not None:
        from stress.logs.report import describe

        err.print(f"log: {describe(prepared.log.report)}", markup=False)
    if output is None:
        _preview(prepared)
        return
    from stress.rundir.write import replacing

    # Streamed: blocks of lines are generated, written and dropped (a corpus of any size
    # takes the memory of a few blocks), into output.tmp renamed over output at the end.
    # With several processes (forked, and this one) each writes its own part file.
    plan = prepared.plan()
    if workers is None:
        plan = dataclasses.replace(plan, workers=corpus_io.default_workers(plan.total))
    began = time.monotonic()
    with replacing(output, "wb") as handle:
        plan.write(handle, first=prepared.first_inputs())
    seconds = time.monotonic() - began
    families = sum(1 for size in plan.sizes.values() if size > 0)
    processes = f"{plan.processes} process" + "es" * (plan.processes != 1)
    err.print(
        f"wrote {plan.total} inputs of {families} families to {output} in {seconds:.2f}s "
        f"({processes})"
    )


def _preview(prepared: PreparedRun) -> None:
    """The corpus as a table: id, expectation, kind, request size and an excerpt."""
    from rich.table import Table

    from stress.inputs.examples import excerpt
    from stress.targets import adapter_for
    from stress.terminal import stdout

    loaded = prepared.scenario
    inputs = prepared.corpus()
    table = Table(title=f"{len(inputs)} inputs, seed {loaded.inputs.seed}")
    for column in ("id", "expect", "kind", "bytes", "example"):
        table.add_column(column, overflow="fold")
    adapter = adapter_for(loaded.target, features=list(loaded.inputs.features))
    for item in inputs:
        size = len(adapter.request(item).body)
        table.add_row(item.id, item.expect, item.kind, f"{size:,}", excerpt(item))
    stdout.print(table, markup=False)


@click.command()
def checks() -> None:
    """List the checks a scenario can name, with their default severity."""
    from rich.table import Table
    from rich.text import Text

    from stress.checks.request import describe
    from stress.terminal import stdout

    table = Table()
    for column in ("check", "severity", "finds"):
        table.add_column(column)
    for name, severity, summary in describe():
        table.add_row(name, severity, Text(summary))
    stdout.print(table)
    stdout.print(
        "Set severities with `severity: {check: error|warn|info}` and which fail the run with "
        "`fail_on: [error]`; add custom checks as module:function in `checks: [default, ...]`.",
        markup=False,
    )


@click.command()
@click.argument("url", required=False)
@click.option("--protocol", help="openai-chat, mlflow, http-json, ... (default: detected).")
@click.option("--model", help="The model the requests name (OpenAI, KServe).")
@click.option(
    "--header", "headers", multiple=True, help="'Name: value'; credentials become ${VAR}."
)
@click.option("--feature", "features", multiple=True, help="Tabular: NAME=MIN:MAX, per column.")
@click.option(
    "--rows",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tabular: sample rows (.csv, .jsonl); the columns and their ranges come from them.",
)
@click.option("--path", help="The endpoint path, when not the protocol's usual one.")
@click.option("--openapi", help="http-json: the OpenAPI document, a path on the target or a file.")
@click.option("--operation", help="http-json: the operation, 'POST /predict' or an operationId.")
@click.option(
    "--from-log",
    "from_log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A log of real requests: the seeds (inputs.from_log), replayed if it has timestamps.",
)
@click.option("--name", help="Scenario name (default: protocol-host).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--yes", "--no-input", "no_input", is_flag=True, help="Never prompt; flags only.")
@click.option(
    "--example",
    help="Write the packaged example scenario of this name instead of probing a URL "
    "(demo, tabular, sweep, daily, openai-chat, mlflow, ...).",
)
def init(
    url: str | None,
    protocol: str | None,
    model: str | None,
    headers: tuple[str, ...],
    features: tuple[str, ...],
    openapi: str | None,
    operation: str | None,
    from_log: Path | None,
    name: str | None,
    output: Path | None,
    force: bool,
    no_input: bool,
    example: str | None = None,
    rows: Path | None = None,
    path: str | None = None,
) -> None:
    """Probe the endpoint at URL and write a ready, commented scenario for it."""
    from stress.terminal import err, stdout

    if example is not None:
        from stress import examples

        example_file = examples.write(example, output, force=force, url=url)
        stdout.print(f"wrote {example_file}; next: {command('run', example_file)}", markup=False)
        return
    from stress import scaffold
    from stress.errors import UsageError
    from stress.scenario import TABULAR_PROTOCOLS, Protocol

    ask = not no_input and scaffold.interactive()

    def need(flag: str, why: str, prompt: str, **options: Any) -> Any:
        if not ask:
            raise UsageError(f"{flag}: {why}; pass {flag} (or run `stress init` in a terminal)")
        return click.prompt(prompt, **options)

    if url is None:
        url = need("URL", "which endpoint to probe", "Endpoint URL (http://host:port)")
    url = scaffold.check_url(str(url))
    environ: dict[str, str] = {}
    written = dict(scaffold.parse_header(text, environ) for text in headers)
    resolved = {k: scaffold.resolve(v, environ) for k, v in written.items()}
    chosen = scaffold.protocol(protocol) if protocol else None
    columns = dict(scaffold.parse_feature(text) for text in features)
    if chosen not in (None, Protocol.HTTP_JSON) and (openapi or operation):
        raise UsageError("--openapi/--operation: for --protocol http-json only")
    if rows is not None and not columns:
        columns, skipped = scaffold.read_rows(rows)
        if skipped:
            err.print(f"--rows: left out the columns that are not numbers: {', '.join(skipped)}")
    if path is not None and not path.startswith("/"):
        raise UsageError(f"--path: expected a path starting with /, e.g. /predict, got {path!r}")
    detected = scaffold.detect(url, resolved, protocol=chosen)
    chosen = chosen or detected.protocol
    if chosen is None:
        names = [p.value for p in Protocol]
        why = f"could not tell the protocol ({', '.join(detected.answers)})"
        chosen = Protocol(need("--protocol", why, "Protocol", type=click.Choice(names)))
    elif protocol is None:
        err.print(f"detected {chosen.value} ({', '.join(detected.answers)})", markup=False)
        choice = detected.choice(url)
        if choice is not None:
            err.print(choice, markup=False)
    if chosen in scaffold.MODEL_PROTOCOLS and model is None:
        model = detected.model if chosen is detected.protocol else None
        if model is None:
            model = need("--model", f"{chosen.value} requests name a model", "Model name")
    from_server = chosen is detected.protocol
    note = None
    if chosen in TABULAR_PROTOCOLS and not columns and from_server and detected.features:
        columns, note = detected.features, detected.features_note
        err.print(f"columns: {len(columns)} ({note})", markup=False)
    if chosen in TABULAR_PROTOCOLS and not columns:
        answer = need(
            "--feature",
            f"{chosen.value} takes table rows: name each column with its range (NAME=MIN:MAX)",
            "Feature columns (NAME=MIN:MAX, comma-separated)",
        )
        columns = dict(scaffold.parse_feature(text) for text in str(answer).split(","))
    if chosen is Protocol.HTTP_JSON:
        openapi = openapi or (detected.openapi if chosen is detected.protocol else None)
        if openapi is None:
            openapi = need(
                "--openapi",
                "http-json needs the request's shape: an OpenAPI document (or write the "
                "template by hand from scenarios/http-json.yaml)",
                "OpenAPI document (path on the target, e.g. /openapi.json, or a file)",
            )
    elif openapi is not None or operation is not None:
        raise UsageError("--openapi/--operation: for --protocol http-json only")
    plan = scaffold.Plan(
        url=url,
        protocol=chosen,
        name=name or scaffold.default_name(url, chosen),
        model=model,
        headers=written,
        environ=environ,
        features=columns,
        openapi=openapi,
        operation=operation,
        from_log=None if from_log is None else str(from_log),
        path=path or (detected.path if from_server else None),
        stream=from_server and detected.stream,
        features_note=note,
        input_name=detected.input_name if from_server else None,
        datatype=detected.datatype if from_server else None,
    )
    if output is None:
        output = Path("scenarios") / f"{plan.name}.yaml"
        if ask:
            output = Path(click.prompt("Write the scenario to", default=str(output)))
    exists = output.exists() and not force
    if exists and not (ask and click.confirm(f"{output} exists; overwrite?", default=False)):
        raise UsageError(f"--output: {output} exists; pass --force to overwrite it")
    probe = scaffold.write(plan, output)
    if probe.preflight.startswith("GET"):
        stdout.print(f"readiness: {escape(probe.preflight)}")
    if probe.health is not None and probe.health.shown is not None:
        said = f"{probe.health.shown} answered HTTP {probe.health.status}"
        stdout.print(f"health: {said}; polled through the load (health.enabled)", markup=False)
    elif probe.health is not None:
        stdout.print("health: no readiness endpoint answered ready; left off", markup=False)
    stdout.print(
        f"probe: one valid request ({probe.input_id}) answered HTTP {probe.status} in "
        f"{probe.latency_ms:.0f} ms: {escape(probe.excerpt)}"
    )
    if probe.limits is not None:
        for note in probe.limits.notes:
            stdout.print(f"limits: {note}", markup=False)
        known = probe.limits.target_limits()
        if known:
            shown = ", ".join(f"{kind}: {value}" for kind, value in known.items())
            stdout.print(
                f"limits: {shown} ({probe.limits.requests} requests); written to target.limits",
                markup=False,
            )
    warning = probe.warning()
    if warning is not None:
        err.print(warning, markup=False, style="bold yellow")
    for variable in environ:
        stdout.print(
            f"export {variable}=... before `{command('run', output)}` "
            f"(the file keeps ${{{variable}}})",
            markup=False,
        )
    stdout.print(f"wrote {output}; next: {command('run', output)}", markup=False)
