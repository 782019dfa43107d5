"""HTML building blocks shared by report.html, compare.html and history.html.

Every string that came from an input, an answer or a run directory goes through ``text``
(page text) or ``label`` (text inside a chart): html.escape, plus characters that hide or
reorder text on screen (NUL and other controls, bidi overrides, zero-width and tag characters,
lone surrogates) shown as visible ``\\uXXXX`` codes, since a report that renders an attack
input faithfully is itself an attack surface. A page is one self-contained file: plotly.js is
inlined once and nothing is fetched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

# C0/C1 controls except tab and newline, soft hyphen, Arabic letter mark, zero-width and
# bidi controls, line/paragraph separators, invisible operators, BOM, interlinear
# annotations, noncharacters, lone surrogates and Unicode tag characters.
HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff\U000e0000-\U000e007f]"
)

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1400px;
       padding: 0 24px 48px; color: #1f2328; }
h2 { margin-top: 36px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { margin: 20px 0 4px; }
.verdict { padding: 16px 24px; margin: 16px 0; border-radius: 6px; color: white; }
.verdict h1 { margin: 0 0 4px; font-size: 28px; }
.verdict p { margin: 4px 0; }
.passed { background: #1a7f37; }
.failed { background: #cf222e; }
.neutral { background: #57606a; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
table.facts th { width: 180px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.bad { color: #cf222e; font-weight: 600; }
td.good { color: #1a7f37; }
td.warn { color: #9a6700; }
.body { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap;
        word-break: break-all; max-height: 160px; overflow: auto; }
table.failures tbody.failure { border-top: 3px solid #d0d7de; }
table.failures td:last-child { width: 36%; }
code, .cmd { font-family: ui-monospace, monospace; font-size: 12px; }
.cmd { white-space: pre-wrap; word-break: break-all; background: #f6f8fa; display: block;
       padding: 2px 4px; margin: 1px 0; }
.ctl { background: #fff8c5; color: #9a6700; border-radius: 3px; padding: 0 1px; }
.chart { margin: 12px 0 24px; }
.missing { color: #57606a; font-style: italic; background: #f6f8fa; padding: 12px 16px;
           border-radius: 6px; }
.notes { background: #fff8c5; padding: 8px 24px; border-radius: 6px; }
nav { font-size: 13px; margin: 4px 0 12px; }
nav a { margin-right: 12px; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " ▲"; }
table.sortable th[aria-sort="descending"]::after { content: " ▼"; }
input.filter { margin: 4px 0; padding: 3px 6px; width: 280px; font: inherit; }
"""

# Sorts a table.sortable by the clicked column (numbers by value: "1,500", "0.75%", "12 s"
# and "–" last) and filters its rows by the text typed into the input.filter before it; a chart
# inside a <details> is resized when opened (plotly draws hidden charts at a default width).
# Static text: no value from the run goes in here, and nothing is fetched.
SCRIPT = r"""
(function () {
  function key(cell) {
    var raw = cell.textContent.trim();
    var num = parseFloat(raw.replace(/,/g, ""));
    return /^[-+]?[0-9.,]+/.test(raw) && !isNaN(num) ? [0, num] : [raw === "–" ? 2 : 1, raw];
  }
  function sort(table, col, th) {
    var body = table.tBodies[0];
    var down = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (x[0] !== y[0]) return x[0] - y[0];
      var order = x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
      return down ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.addEventListener("click", function () { sort(table, col, th); });
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var line = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return line.indexOf(w) >= 0; });
      });
    });
  });
  document.querySelectorAll("details").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (!details.open || !window.Plotly) return;
      details.querySelectorAll(".js-plotly-plot").forEach(function (div) {
        window.Plotly.Plots.resize(div);
      });
    });
  });
})();
"""
# Tables with more rows than this get a filter box.
FILTER_ROWS = 10

Cell = tuple[str, str]  # (html, css class)
CHART_HEIGHT = 380


def text(value: object) -> str:
    """``value`` as HTML text: escaped, with hidden characters shown as codes."""
    if value is None:
        return ""
    raw = str(value)
    out = []
    last = 0
    for match in HIDDEN.finditer(raw):
        out.append(html.escape(raw[last : match.start()]))
        code = ord(match.group())
        shown = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        out.append(f'<span class="ctl">{shown}</span>')
        last = match.end()
    out.append(html.escape(raw[last:]))
    return "".join(out)


def label(value: object) -> str:
    """``value`` for a chart: plotly renders a subset of HTML (<b>, <a href>) in trace names,
    tick labels and hover text, so tags are escaped (plotly shows ``&lt;`` as ``<``) and hidden
    characters become visible codes."""
    raw = "" if value is None else str(value)
    shown = HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", raw)
    return html.escape(shown, quote=False)


def page(title: str, body: Iterable[str]) -> str:
    """A whole self-contained HTML document; ``title`` is plain text, ``body`` is HTML."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{text(title)}</title>",
        f"<style>{CSS}</style>",
        # plotly.js once, inline: the page must open offline and from an archive years on.
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
        f'<script charset="utf-8">{get_plotlyjs()}</script>',
        "</head><body>",
        *body,
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)


def chart(figure: go.Figure, div_id: str) -> str:
    """One plotly figure as a div; the fixed id keeps two renderings byte-identical."""
    config = {"displaylogo": False, "responsive": True}
    height = figure.layout.height or CHART_HEIGHT
    html_div: str = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        config=config,
        default_height=f"{height}px",
        div_id=div_id,
    )
    return f'<div class="chart">{html_div}</div>'


def missing(message: str) -> str:
    """A section that has no data in this run says so, instead of an empty chart."""
    return f'<p class="missing">{text(message)}</p>'


def table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    empty: str = "none",
    table_id: str | None = None,
) -> str:
    """A table; with ``table_id`` it sorts by a click on a column head, and with more than
    FILTER_ROWS rows it has a filter box (SCRIPT)."""
    if not rows:
        return f"<p><i>{text(empty)}</i></p>"
    head = "".join(f"<th>{text(name)}</th>" for name in header)
    body = "".join(
        "<tr>" + "".join(cell(content, css) for content, css in row) + "</tr>" for row in rows
    )
    if table_id is None:
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    box = (
        f'<input class="filter" type="search" data-table="{text(table_id)}" '
        f'placeholder="filter {len(rows)} rows" aria-label="filter the table">'
        if len(rows) > FILTER_ROWS
        else ""
    )
    return (
        f'{box}<table class="sortable" id="{text(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def details(summary_html: str, content: str, *, open_: bool = False) -> str:
    """Content one click away: a <details> whose <summary> is ``summary_html`` (HTML)."""
    state = " open" if open_ else ""
    return f"<details{state}><summary>{summary_html}</summary>{content}</details>"


def facts(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (plain-text name, HTML value)."""
    body = "".join(f"<tr><th>{text(name)}</th><td>{value}</td></tr>" for name, value in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def cell(content: str, css: str) -> str:
    return f'<td class="{css}">{content}</td>' if css else f"<td>{content}</td>"


def verdict(passed: bool) -> Cell:
    return ("passed", "good") if passed else ("FAILED", "bad")


def command(line: str) -> str:
    """A shell command to copy, as HTML."""
    return f'<code class="cmd">{text(line)}</code>'


def counts(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{text(key)}: {number(n)}" for key, n in values.items())


def _when_number(format_: Callable[[float], str]) -> Callable[[object], str]:
    def show(value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "–"
        return format_(float(value))

    return show


def rounded(value: float) -> str:
    """``value`` rounded for a person: three significant digits at most, whole numbers from
    100 up, thousands separated, no trailing zeros (1,500 · 380 · 95.2 · 1.5 · 0.75 · 0)."""
    size = abs(value)
    if size >= 100 or value == int(value):
        return f"{value:,.0f}"
    shown = f"{value:.1f}" if size >= 10 else f"{value:.2f}" if size >= 1 else f"{value:.2g}"
    if "e" in shown:  # below 0.0001: no one reads those digits
        return "≈0"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


ms = _when_number(rounded)
seconds = _when_number(lambda v: f"{rounded(v)} s")
percent = _when_number(lambda v: f"{rounded(v * 100)}%")
decimal = _when_number(rounded)
number = _when_number(lambda v: f"{v:,.0f}")
signed_percent = _when_number(lambda v: f"{v * 100:+.3g}%")
