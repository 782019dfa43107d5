"""The report's inline table script in a real browser: a click on a column head sorts by
value (numbers as numbers, "–" last), typed text filters rows. Skipped without chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stress.report.markup import FILTER_ROWS, page, table

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (.ci/run installs it: apt-get install -y chromium)",
)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync")
# After the page's own script: sort by "p95 ms" (one click: ascending, two: descending),
# then filter by "load"; the outcome is written into the DOM for --dump-dom to print.
DRIVE = """<script>
window.addEventListener("load", function () {
  var table = document.getElementById("table-t");
  var head = table.tHead.rows[0].cells[1];
  function names() {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.hidden ? "" : r.cells[0].textContent;
    }).filter(Boolean).join(",");
  }
  head.click();
  var up = names();
  head.click();
  var down = names();
  var box = document.querySelector("input.filter");
  box.value = "load b";
  box.dispatchEvent(new Event("input"));
  document.body.setAttribute("data-up", up);
  document.body.setAttribute("data-down", down);
  document.body.setAttribute("data-filtered", names());
});
</script>"""


def test_tables_sort_by_value_and_filter_by_text(tmp_path: Path) -> None:
    values = ["1,500", "95.2", "–", "380", "0.75", "12"]
    values += [str(n) for n in range(FILTER_ROWS - len(values) + 1)]
    rows = [
        [(f"{'load' if n % 2 else 'base'}-{'b' if n == 3 else 'a'}{n}", ""), (v, "num")]
        for n, v in enumerate(values)
    ]
    html = page("t", [table(["phase", "p95 ms"], rows, table_id="table-t"), DRIVE])
    path = tmp_path / "t.html"
    path.write_text(html, encoding="utf-8")
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = dict(re.findall(r'data-(up|down|filtered)="([^"]*)"', done.stdout))
    up = found["up"].split(",")
    by_value = {name: value for (name, _), (value, _) in rows}
    shown = [by_value[name] for name in up]
    numbers = [float(v.replace(",", "")) for v in shown[:-1]]
    assert numbers == sorted(numbers)  # 0.75 < 12 < 95.2 < 380 < 1,500: by value, not text
    assert shown[-1] == "–"  # no value sorts last
    down = found["down"].split(",")
    assert [by_value[n] for n in down][:2] == ["1,500", "380"]
    assert found["filtered"] == "load-b3"  # every typed word must match
