"""A master and two workers as three hosts: network namespaces the test makes for itself.

Each "host" is a Linux network namespace with a loopback of its own; the master's namespace
is joined to each worker's by a veth pair with addresses private to those two namespaces
(10.213.1.0/30 and 10.213.2.0/30, which exist nowhere else: the namespaces have no other
link and no route out). Only Locust's master/worker channel crosses those links. The model
target is a no-op server on each host's own 127.0.0.1 (the same port everywhere, as a
sidecar would be), so every request of the load goes to a loopback server the test started.

The commands are the ones docs/kubernetes.md gives its pods: the test reads the manifests'
`args`, replaces only their values (scenario, target, worker count, addresses, output folder)
and runs them; a change to the manifests' flags runs here too.

Needs root (CAP_NET_ADMIN) and iproute2's `ip netns`; skipped with that reason elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from stress.record import read_records
from tests.integration.conftest import ROOT

PROBE = f"stress-probe-{os.getpid()}"


def _can_make_namespaces() -> str | None:
    """None when namespaces can be made here, else why not."""
    if shutil.which("ip") is None:
        return "network namespaces: iproute2's `ip` is not installed"
    if os.geteuid() != 0:
        return "network namespaces: needs root (CAP_NET_ADMIN)"
    made = subprocess.run(["ip", "netns", "add", PROBE], capture_output=True, text=True)
    if made.returncode != 0:
        return f"network namespaces: `ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", PROBE], check=True)
    return None


WHY_NOT = _can_make_namespaces()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")]

TARGET_PORT = 18431
MASTER_PORT = 15557
SCENARIO = """\
name: hosts
target: {{url: "http://127.0.0.1:{port}", protocol: openai-chat, timeout: 5s, max_tokens: 8}}
inputs: {{seed: 7, count: 40, families: {{realistic.chat_prompt: 1}}}}
load:
  phases:
    - {{name: load, rate: {rate}, duration: {duration}, max_in_flight: 8}}
slo: {{error_rate: 1%}}
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass
class Hosts:
    """Three namespaces: the master's and two workers', each worker linked to the master."""

    master: str
    workers: tuple[str, str]
    # The master's address on the link to worker 1 and to worker 2.
    master_addresses: tuple[str, str] = ("10.213.1.1", "10.213.2.1")

    def run(self, namespace: str, *command: str, **kwargs: object) -> subprocess.Popen[str]:
        """Start a command inside a namespace, in a process group of its own."""
        return subprocess.Popen(
            ["ip", "netns", "exec", namespace, *command],
            start_new_session=True,
            text=True,
            **kwargs,  # type: ignore[call-overload]
        )

    def call(self, namespace: str, code: str, timeout: float = 60) -> str:
        """Run a short Python snippet inside a namespace and return what it printed."""
        done = subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    tag = os.getpid() % 100000
    made = Hosts(master=f"st-m-{tag}", workers=(f"st-w1-{tag}", f"st-w2-{tag}"))
    namespaces = [made.master, *made.workers]
    try:
        for name in namespaces:
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        for number, worker in enumerate(made.workers, start=1):
            near, far = f"stm{number}-{tag}", f"stw{number}-{tag}"
            ip("link", "add", near, "type", "veth", "peer", "name", far)
            ip("link", "set", near, "netns", made.master)
            ip("link", "set", far, "netns", worker)
            ip("-n", made.master, "addr", "add", f"10.213.{number}.1/30", "dev", near)
            ip("-n", worker, "addr", "add", f"10.213.{number}.2/30", "dev", far)
            ip("-n", made.master, "link", "set", near, "up")
            ip("-n", worker, "link", "set", far, "up")
        yield made
    finally:
        # Deleting a namespace deletes the veth ends inside it.
        for name in namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def manifests() -> dict[str, list[str]]:
    """The master's and the worker's container args from docs/kubernetes.md."""
    text = (ROOT / "docs" / "kubernetes.md").read_text(encoding="utf-8")
    args: dict[str, list[str]] = {}
    for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
        for document in yaml.safe_load_all(block):
            if document["kind"] == "Service":
                continue
            for container in document["spec"]["template"]["spec"]["containers"]:
                args[container["name"]] = [str(arg) for arg in container["args"]]
    assert set(args) == {"master", "worker"}, args
    return args


def replaced(args: list[str], values: dict[str, str], positional: dict[int, str]) -> list[str]:
    """The manifest's args with the values of the named flags (and positions) replaced."""
    out = list(args)
    for index, value in positional.items():
        out[index] = value
    for flag, value in values.items():
        assert flag in out, f"docs/kubernetes.md no longer passes {flag}: {args}"
        out[out.index(flag) + 1] = value
    return out


@pytest.fixture
def targets(hosts: Hosts, tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """A no-op target on the loopback of each host (the master's answers its preflight)."""
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for name in (hosts.master, *hosts.workers):
            log = (tmp_path / f"noop-{name}.log").open("w")
            started[name] = hosts.run(
                name,
                sys.executable,
                "-m",
                "stress.demo.noop",
                "--port",
                str(TARGET_PORT),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
        for name in started:
            hosts.call(name, WAIT_FOR_TARGET)
        yield started
    finally:
        for process in started.values():
            stop(process)


WAIT_FOR_TARGET = f"""
import time, httpx
deadline = time.monotonic() + 30
while True:
    try:
        httpx.get("http://127.0.0.1:{TARGET_PORT}/health", timeout=1)
        break
    except httpx.TransportError:
        assert time.monotonic() < deadline, "the no-op target did not start"
        time.sleep(0.1)
"""
POSTS = f"""
import httpx
print(httpx.get("http://127.0.0.1:{TARGET_PORT}/stats", timeout=5).json()["posts"])
"""


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a process this test started, with its group (ip netns exec, stress, its child)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def start_run(
    hosts: Hosts, tmp_path: Path, *, rate: int, duration: str
) -> tuple[subprocess.Popen[str], list[subprocess.Popen[str]]]:
    """The master and the two workers, started with the manifests' commands."""
    scenario = tmp_path / "hosts.yaml"
    scenario.write_text(
        SCENARIO.format(port=TARGET_PORT, rate=rate, duration=duration), encoding="utf-8"
    )
    args = manifests()
    master_args = replaced(
        args["master"],
        {
            "--target": f"http://127.0.0.1:{TARGET_PORT}",
            "--expect-workers": "2",
            "--master-bind": f"0.0.0.0:{MASTER_PORT}",
            "--out": str(tmp_path / "reports"),
        },
        {1: str(scenario)},
    )
    assert master_args[0] == "run"
    master = hosts.run(
        hosts.master,
        sys.executable,
        "-m",
        "stress.cli",
        *master_args,
        "--join-timeout",
        "60s",
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    workers = []
    for number, (worker, address) in enumerate(
        zip(hosts.workers, hosts.master_addresses, strict=True), start=1
    ):
        worker_args = replaced(args["worker"], {"--master": f"{address}:{MASTER_PORT}"}, {})
        assert worker_args[0] == "worker"
        log = (tmp_path / f"worker-{number}.log").open("w")
        workers.append(
            hosts.run(
                worker,
                sys.executable,
                "-m",
                "stress.cli",
                *worker_args,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    return master, workers


def until_load(master: subprocess.Popen[str]) -> tuple[list[str], dict[int, int]]:
    """The master's lines up to its load phase, and each worker's process group by number.

    The master numbers workers as they join ("worker 2 joined (vm, pid P)"); P is the load
    process of one of the two hosts, in the process group of the command started there."""
    assert master.stderr is not None
    lines: list[str] = []
    groups: dict[int, int] = {}
    deadline = time.monotonic() + 120
    for line in master.stderr:
        lines.append(line)
        if " joined (" in line:
            number = int(line.split()[1])
            groups[number] = os.getpgid(int(line.rsplit("pid", 1)[1].strip(" )\n")))
        if "phase load" in line:
            return lines, groups
        assert time.monotonic() < deadline, "".join(lines)
    raise AssertionError("".join(lines))


def host_of(hosts: Hosts, workers: list[subprocess.Popen[str]], group: int) -> str:
    """The namespace of the worker command whose process group is ``group``."""
    (name,) = [n for n, w in zip(hosts.workers, workers, strict=True) if w.pid == group]
    return name


def posts(hosts: Hosts, name: str) -> int:
    return int(hosts.call(name, POSTS).strip())


def test_a_master_and_two_workers_on_three_hosts_deliver_every_record_once(
    hosts: Hosts, targets: dict[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    master, workers = start_run(hosts, tmp_path, rate=60, duration="3s")
    try:
        lines, groups = until_load(master)
        out, err = master.communicate(timeout=180)
        for worker in workers:
            worker.wait(timeout=60)
    finally:
        for process in (master, *workers):
            stop(process)
    assert master.returncode == 0, "".join(lines) + err
    assert [worker.returncode for worker in workers] == [0, 0]
    run_dir = Path(out.strip().splitlines()[-1])
    records = read_records(run_dir / "records").to_pandas()
    # Every request a worker's host saw is recorded once, by that worker; the master's host
    # saw only the preflight's one valid request.
    seen = {number: posts(hosts, host_of(hosts, workers, groups[number])) for number in (1, 2)}
    assert posts(hosts, hosts.master) == 1
    by_worker = records.groupby("worker").size().to_dict()
    assert by_worker == seen
    assert not records.duplicated(["worker", "seq"]).any()
    assert len(records) == 180  # 60 requests/s for 3 s, split between the two
    load = json.loads((run_dir / "load.json").read_text())
    assert load["mode"] == "distributed"
    assert [w["lost"] for w in load["workers"]] == [False, False]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["passed"] is True
    assert summary["totals"]["requests"] == 180


def test_a_worker_host_lost_mid_run_is_reported_and_the_other_takes_its_share(
    hosts: Hosts, targets: dict[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    master, workers = start_run(hosts, tmp_path, rate=100, duration="10s")
    try:
        lines, groups = until_load(master)
        time.sleep(2)
        # Worker 2's host goes away: its worker and everything in its group, at once.
        os.killpg(groups[2], signal.SIGKILL)
        out, err = master.communicate(timeout=180)
        survivor = next(w for w in workers if w.pid != groups[2])
        survivor.wait(timeout=60)
    finally:
        for process in (master, *workers):
            stop(process)
    stderr = "".join(lines) + err
    assert master.returncode == 0, stderr
    assert "worker 2 lost" in stderr, stderr
    run_dir = Path(out.strip().splitlines()[-1])
    records = read_records(run_dir / "records").to_pandas()
    by_worker = records.groupby("worker").size().to_dict()
    # The surviving worker's records are exactly what its host saw; the lost one's are what
    # it shipped before it died (at most a quarter second of batches short of its host's).
    assert by_worker[1] == posts(hosts, host_of(hosts, workers, groups[1]))
    lost_seen = posts(hosts, host_of(hosts, workers, groups[2]))
    assert 0 < by_worker[2] <= lost_seen
    assert lost_seen - by_worker[2] <= 100  # at most about one second of its share
    # A host that vanishes says nothing: the master notices when its heartbeats stop (Locust's
    # heartbeat timeout, a few seconds), then worker 1 takes the whole rate. Its send rate in
    # the first two seconds (half the rate) against the last two (all of it):
    mine = records[records["worker"] == 1]["intended_at"]
    start, end = records["intended_at"].min(), records["intended_at"].max()
    early = int((mine < start + 2).sum()) / 2
    late = int((mine > end - 2).sum()) / 2
    assert early == pytest.approx(50, abs=10), (stderr, by_worker)
    assert late == pytest.approx(100, abs=15), (stderr, by_worker)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["load"]["lost_workers"][0].startswith("worker 2 ")
