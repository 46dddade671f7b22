#!/usr/bin/env python
"""Speed and memory benchmark for ``workflow-lint check`` (issue 6, Speed).

    python benchmarks/run.py                 # 2,000 modules: the real numbers
    python benchmarks/run.py --quick         # 200 modules, small big workflows
    python benchmarks/run.py --profile DIR   # also cProfile the slow cases

Builds a synthetic git repository (``synth.py``), edits it, and measures on
the same tree:

* ``flake8`` (default configuration, every file) against a full
  ``workflow-lint check`` (HEAD against the working tree): wall time ratio;
* the pre-commit case, ``workflow-lint check --staged`` with 5 workflow files
  staged: median wall time of 7 runs, interpreter start and git included;
* ``workflow-lint check`` after an edit in the 500-operation workflow against
  one in the 10,000-operation workflow, each in a repository that holds only
  that module and that edit: wall time ratio;
* peak memory: the largest max RSS of any ``workflow-lint`` run (from
  ``wait4``: the process, or the largest of its waited-for children).

Prints a table (value, target, pass/fail) and one final line
``BENCHMARK {json}``.  The exit status is 0 whether or not targets pass
(1 only when the benchmark itself could not run); this is a measurement, not
a test.  See README.md in this folder.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import synth  # noqa: E402

TARGET_FULL_RATIO = 0.3
TARGET_PRECOMMIT_S = 0.5
TARGET_SCALING = 20.0
TARGET_PEAK_MB = 300.0

# flake8 as installed, minus the WFL plugin workflow-lint itself registers
# (pyproject's ``flake8.extension`` entry point), which would run the whole
# comparison inside flake8: the baseline is plain flake8 (pyflakes,
# pycodestyle, mccabe and whatever else is installed).
FLAKE8 = """\
import sys
from flake8.plugins import finder
_find = finder._find_importlib_plugins
def _without_workflow_lint():
    for plugin in _find():
        if plugin.package.replace("_", "-").lower() != "workflow-lint":
            yield plugin
finder._find_importlib_plugins = _without_workflow_lint
from flake8.main.cli import main
sys.exit(main())
"""

# One command under cProfile.  Not ``-m cProfile -m workflow_lint``: the
# console entry point leaves with os._exit (no heap teardown), before cProfile
# would write its file.  The forked child that lowers the old revision is not
# profiled.
PROFILED = """\
import cProfile, sys
from workflow_lint.cli import _tune_gc, main
_tune_gc()
path, argv = sys.argv[1], sys.argv[2:]
cProfile.run("main(argv)", path)
"""

# Variables that would point git at some other repository.
_GIT_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- running and measuring one process ---------------------------------------


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float  # user + system, the process and the children it waited for
    maxrss_mb: float
    status: int
    timed_out: bool
    stdout: str
    stderr: str
    others: float | None = None
    """CPU cores other processes kept busy, on average, during the run."""


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(cmd: Sequence[str], cwd: str, env: dict[str, str], timeout: float) -> Run:
    """Run ``cmd`` once; wall time from fork to reap, rusage from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        busy_after = busy_seconds()
        cpu = usage.ru_utime + usage.ru_stime
        others = None
        if busy_before is not None and busy_after is not None and wall > 0:
            others = max(0.0, (busy_after - busy_before - cpu) / wall)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall=wall,
            cpu=cpu,
            maxrss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            status=proc.returncode,
            timed_out=expired.is_set(),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            others=others,
        )


@dataclasses.dataclass
class Case:
    """Repeated runs of one command."""

    name: str
    runs: list[Run] = dataclasses.field(default_factory=list)
    wanted: int = 1

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def maxrss_mb(self) -> float:
        return max(r.maxrss_mb for r in self.runs)

    @property
    def others(self) -> float | None:
        seen = [r.others for r in self.runs if r.others is not None]
        return max(seen) if seen else None

    @property
    def last(self) -> Run:
        return self.runs[-1]

    @property
    def timed_out(self) -> bool:
        return any(r.timed_out for r in self.runs)

    def summary(self) -> str:
        walls = ", ".join(f"{r.wall:.2f}" for r in self.runs)
        cut = (
            f" (stopped after {len(self.runs)} of {self.wanted}: time budget)"
            if len(self.runs) < self.wanted
            else ""
        )
        busy = (
            f"; other processes kept up to {self.others:.1f} cores busy"
            if self.others is not None
            else ""
        )
        return f"{self.name}: median {self.wall:.2f} s of [{walls}]{cut}{busy}"


def repeat(
    name: str,
    cmd: Sequence[str],
    cwd: str,
    env: dict[str, str],
    runs: int,
    budget: float,
    timeout: float,
) -> Case:
    """Up to ``runs`` runs; stop early once ``budget`` seconds are spent
    (at least one run always happens) or a run times out."""
    case = Case(name, wanted=runs)
    spent = 0.0
    for _ in range(runs):
        run = measure(cmd, cwd, env, timeout)
        case.runs.append(run)
        spent += run.wall
        if run.timed_out or spent >= budget:
            break
    log(case.summary())
    return case


# --- the repository -------------------------------------------------------------


def git(cwd: str, *args: str) -> str:
    cmd = [
        "git",
        "-c",
        "user.name=workflow-lint bench",
        "-c",
        "user.email=bench@example.invalid",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.hooksPath=/dev/null",
        *args,
    ]
    return subprocess.run(
        cmd, cwd=cwd, check=True, capture_output=True, text=True, env=clean_env()
    ).stdout


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_VARS}
    env.pop("WORKFLOW_LINT_DEBUG", None)
    return env


def commit_all(root: str, message: str) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


# --- findings -------------------------------------------------------------------


def findings_of(run: Run) -> list[dict[str, object]] | None:
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        return None
    found = doc.get("findings") if isinstance(doc, dict) else None
    return found if isinstance(found, list) else None


def detected(run: Run, points: Sequence[synth.EditPoint]) -> tuple[int, str]:
    """How many edited workflows got a WFL101 break, and a note if the
    output is not what a working check prints."""
    if run.timed_out:
        return 0, "timed out"
    if run.status not in (0, 1):
        first = (run.stderr.strip().splitlines() or ["?"])[-1]
        return 0, f"exit {run.status}: {first[:200]}"
    found = findings_of(run)
    if found is None:
        return 0, "no JSON on stdout"
    hits = 0
    for point in points:
        if any(
            f.get("code") == "WFL101" and f.get("path") == point.path for f in found
        ):
            hits += 1
    others = sorted({str(f.get("code")) for f in found} - {"WFL101"})
    note = f"{len(found)} finding(s)" + (
        f", also {', '.join(others)}" if others else ""
    )
    return hits, note


# --- the benchmark ---------------------------------------------------------------


def tool_commands() -> tuple[list[str], list[str]]:
    """The console script next to this interpreter (what a pre-commit hook
    runs; a pyenv shim in front would add its own start-up), else ``-m``."""
    bindir = os.path.dirname(sys.executable)
    script = os.path.join(bindir, "workflow-lint")
    if os.access(script, os.X_OK):
        wfl = [script]
    else:
        wfl = [sys.executable, "-m", "workflow_lint"]
    return wfl, [sys.executable, "-c", FLAKE8]


def ensure_flake8() -> None:
    if importlib.util.find_spec("flake8") is None:
        log("flake8 is missing: installing it (it is in the dev extras)")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "flake8>=7"], check=True
        )


def version_of(cmd: Sequence[str], cwd: str, env: dict[str, str]) -> str:
    """``cmd --version`` (also warms the byte-code cache)."""
    proc = subprocess.run(
        [*cmd, "--version"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def project_revision() -> str:
    try:
        rev = git(PROJECT, "rev-parse", "--short", "HEAD").strip()
        dirty = git(PROJECT, "status", "--porcelain", "--", "workflow_lint").strip()
    except (subprocess.CalledProcessError, OSError):
        return "?"
    return rev + ("+dirty(workflow_lint/)" if dirty else "")


def profile(
    label: str,
    args: Sequence[str],
    cwd: str,
    env: dict[str, str],
    outdir: str,
    timeout: float,
    top: int,
) -> str:
    """One run under cProfile; the top functions by cumulative time."""
    import pstats
    from io import StringIO

    path = os.path.join(outdir, f"{label}.prof")
    cmd = [sys.executable, "-c", PROFILED, path, *args]
    run = measure(cmd, cwd, env, timeout)
    if not os.path.exists(path):
        return (
            f"== {label}: no profile ({'timed out' if run.timed_out else run.status})"
        )
    buf = StringIO()
    stats = pstats.Stats(path, stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    buf.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(top)
    text = buf.getvalue()
    with open(os.path.join(outdir, f"{label}.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    return f"== {label} (under cProfile: {run.wall:.1f} s)\n{text}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark workflow-lint check against flake8 on a synthetic repo."
    )
    parser.add_argument(
        "--modules",
        type=int,
        default=None,
        help="modules in the synthetic project (default 2000; 200 with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fast smoke: 200 modules, big workflows of 100 and "
        "2,000 operations, fewer repeats",
    )
    parser.add_argument(
        "--precommit-runs",
        type=int,
        default=None,
        help="runs of the pre-commit case (median; default 7)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of flake8 and of the full check (median)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds one case may spend on repeats before it "
        "stops early (default 60; 20 with --quick)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds before one run is killed"
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also run the full check, the pre-commit case and the "
        "big edit under cProfile; .prof and .txt files go to DIR",
    )
    parser.add_argument(
        "--top", type=int, default=45, help="functions shown per profile"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary repositories (their path is printed)",
    )
    args = parser.parse_args(argv)

    modules = args.modules or (200 if args.quick else 2000)
    big_small, big_large = (100, 2000) if args.quick else synth.BIG_SIZES
    precommit_runs = args.precommit_runs or (3 if args.quick else 7)
    budget = args.budget
    if budget is None:
        budget = 20.0 if args.quick else 60.0

    ensure_flake8()
    workdir = tempfile.mkdtemp(prefix="wfl-bench-")
    env = clean_env()
    # Byte-code caching as on a normal install, kept out of the project
    # (the environment may set PYTHONDONTWRITEBYTECODE).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(workdir, "pycache")
    wfl, flake8 = tool_commands()
    started = time.perf_counter()
    load_before = os.getloadavg()
    try:
        return _bench(
            args,
            modules,
            (big_small, big_large),
            precommit_runs,
            budget,
            workdir,
            env,
            wfl,
            flake8,
            started,
            load_before,
        )
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(
    args: argparse.Namespace,
    modules: int,
    bigs: tuple[int, int],
    precommit_runs: int,
    budget: float,
    workdir: str,
    env: dict[str, str],
    wfl: list[str],
    flake8: list[str],
    started: float,
    load_before: tuple[float, float, float],
) -> int:
    revision = project_revision()
    repo = os.path.join(workdir, "repo")
    os.makedirs(repo)
    log(f"generating {modules} modules in {repo}")
    layout = synth.generate(repo, modules, args.seed, bigs)
    commit_all(repo, "synthetic project")
    log(f"{len(layout.files)} files, {layout.lines} lines, {layout.counts}")

    # Warm-up: byte-code caches, page cache of the tree.
    versions = [version_of(cmd, repo, env) for cmd in (wfl, flake8)]

    # Edits: 5 breaking insertions staged, the two big workflows edited unstaged.
    staged = layout.edit_points[:: max(1, len(layout.edit_points) // 5)][:5]
    for point in staged:
        synth.apply_edit(repo, point)
    git(repo, "add", "--", *(p.path for p in staged))
    big_points = [layout.big[n] for n in bigs]
    for point in big_points:
        synth.apply_edit(repo, point)

    timeout = args.timeout
    log("flake8 (full, default configuration)")
    f8 = repeat("flake8", flake8, repo, env, args.repeat, budget, timeout)
    f8_status_ok = f8.last.status in (0, 1) and not f8.timed_out
    if not f8_status_ok:
        log(f"flake8 failed: {f8.last.stderr.strip()[-400:]}")

    log("workflow-lint check (full: HEAD against the working tree)")
    full = repeat(
        "check",
        [*wfl, "check", "--format", "json"],
        repo,
        env,
        args.repeat,
        budget,
        timeout,
    )
    full_hits, full_note = detected(full.last, [*staged, *big_points])

    log(f"workflow-lint check --staged (pre-commit), {precommit_runs} runs")
    pre = repeat(
        "check --staged",
        [*wfl, "check", "--staged", "--format", "json"],
        repo,
        env,
        precommit_runs,
        budget,
        timeout,
    )
    pre_hits, pre_note = detected(pre.last, staged)

    log("workflow-lint --version (start-up floor of every run)")
    startup = repeat("--version", [*wfl, "--version"], repo, env, 7, budget, timeout)

    scaling: dict[int, Case] = {}
    scaling_notes: dict[int, str] = {}
    controls: dict[int, Case] = {}
    mini_repos: dict[int, str] = {}
    for ops in bigs:
        mini = os.path.join(workdir, f"only_{ops}")
        os.makedirs(mini)
        point = synth.generate_big_only(mini, ops)
        commit_all(mini, f"only the {ops}-operation workflow")
        mini_repos[ops] = mini
        log(f"{ops}-operation workflow, unedited (control)")
        controls[ops] = repeat(
            f"no edit, {ops} ops",
            [*wfl, "check", "--format", "json"],
            mini,
            env,
            3,
            budget / 2,
            timeout,
        )
        synth.apply_edit(mini, point)
        log(f"{ops}-operation workflow, one step inserted mid-body")
        case = repeat(
            f"edit, {ops} ops",
            [*wfl, "check", "--format", "json"],
            mini,
            env,
            3,
            budget,
            timeout,
        )
        hits, note = detected(case.last, [point])
        scaling[ops] = case
        scaling_notes[ops] = f"{hits}/1 detected; {note}"

    wfl_cases = [full, pre, *controls.values(), *scaling.values()]
    peak = max(wfl_cases, key=lambda c: c.maxrss_mb)
    small, large = bigs
    full_ratio = full.wall / f8.wall
    scale_ratio = scaling[large].wall / scaling[small].wall
    marginal = [scaling[n].wall - controls[n].wall for n in bigs]
    # Below 0.1 s the difference is noise, not the cost of the edit.
    marginal_ratio = marginal[1] / marginal[0] if marginal[0] >= 0.1 else None
    load_after = os.getloadavg()
    if project_revision() != revision:
        revision += f" (changed during the run, now {project_revision()})"

    def verdict(ok: bool, *cases: Case) -> str:
        """pass/FAIL, unless a run behind the number did not finish properly
        (a check that exits 2 in no time is not fast)."""
        for case in cases:
            if case.timed_out:
                return f"FAIL ({case.name} timed out)"
            if case.last.status not in (0, 1):
                return f"INVALID ({case.name} exit {case.last.status})"
        return "pass" if ok else "FAIL"

    verdicts = {
        "full_ratio": verdict(full_ratio <= TARGET_FULL_RATIO, full, f8),
        "precommit": verdict(pre.wall <= TARGET_PRECOMMIT_S, pre),
        "scaling": verdict(
            scale_ratio <= TARGET_SCALING, scaling[small], scaling[large]
        ),
        "peak_memory": verdict(peak.maxrss_mb <= TARGET_PEAK_MB, *wfl_cases),
    }
    rows: list[tuple[str, str, str, str]] = [
        ("flake8, full (wall / cpu)", f"{f8.wall:.2f} s / {f8.cpu:.2f} s", "", ""),
        ("check, full (wall / cpu)", f"{full.wall:.2f} s / {full.cpu:.2f} s", "", ""),
        (
            "  check / flake8",
            f"{full_ratio:.2f}x (cpu {full.cpu / f8.cpu:.2f}x)",
            f"<= {TARGET_FULL_RATIO}x",
            verdicts["full_ratio"],
        ),
        (
            "check --staged, median",
            f"{pre.wall:.3f} s ({len(pre.runs)} runs)",
            f"<= {TARGET_PRECOMMIT_S} s",
            verdicts["precommit"],
        ),
        ("  start-up alone (--version)", f"{startup.wall:.3f} s", "(info)", ""),
        (f"edit in {small}-op workflow", f"{scaling[small].wall:.2f} s", "", ""),
        (f"edit in {large}-op workflow", f"{scaling[large].wall:.2f} s", "", ""),
        (
            f"  {large} / {small}",
            f"{scale_ratio:.1f}x",
            f"<= {TARGET_SCALING:.0f}x",
            verdicts["scaling"],
        ),
        (
            "  same, minus unedited run",
            ("n/a" if marginal_ratio is None else f"{marginal_ratio:.1f}x")
            + f" ({marginal[1]:.2f} s / {marginal[0]:.2f} s)",
            "(info)",
            "",
        ),
        (
            "peak RSS (max of all check runs)",
            f"{peak.maxrss_mb:.0f} MB ({peak.name})",
            f"<= {TARGET_PEAK_MB:.0f} MB",
            verdicts["peak_memory"],
        ),
    ]
    out = sys.stdout
    out.write("\n")
    out.write(
        f"workflow-lint {revision} | {modules} modules, "
        f"{len(layout.files)} files, {layout.lines} lines | "
        f"{os.cpu_count()} cpus, load {load_before[0]:.1f} -> {load_after[0]:.1f} | "
        f"python {platform.python_version()} | flake8 {versions[1].split()[0]}\n\n"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("measure", "value", "target", "result")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        out.write(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            + "\n"
        )
    out.write("\n")
    out.write(
        f"full check:   {full_hits}/{len(staged) + len(big_points)} edits "
        f"detected; {full_note}; peak {full.maxrss_mb:.0f} MB\n"
    )
    out.write(
        f"pre-commit:   {pre_hits}/{len(staged)} staged edits detected; "
        f"{pre_note}; {pre.summary()}\n"
    )
    for ops in bigs:
        out.write(
            f"{ops:>6} ops:   {scaling_notes[ops]}; edit {scaling[ops].wall:.2f} s "
            f"(cpu {scaling[ops].cpu:.2f} s, {scaling[ops].maxrss_mb:.0f} MB), "
            f"unedited {controls[ops].wall:.2f} s "
            f"({controls[ops].maxrss_mb:.0f} MB)\n"
        )
    disturbed = {
        c.name: c.others
        for c in (f8, full, pre, *scaling.values())
        if c.others is not None
    }
    if disturbed:
        out.write(
            "other load:   cores kept busy by other processes during "
            + ", ".join(f"{name} {v:.1f}" for name, v in disturbed.items())
            + "\n"
        )
        if max(disturbed.values()) > 0.3:
            out.write(
                "              (above 0.3 the wall times are disturbed: compare the "
                "cpu figures, or rerun on a quiet machine)\n"
            )
    if not f8_status_ok:
        out.write(f"flake8 did not run cleanly: {f8.last.stderr.strip()[-300:]}\n")

    targets = {name: text == "pass" for name, text in verdicts.items()}
    result = {
        "modules": modules,
        "files": len(layout.files),
        "lines": layout.lines,
        "workflow_lint": revision,
        "flake8": versions[1].split()[0],
        "flake8_s": round(f8.wall, 3),
        "flake8_cpu_s": round(f8.cpu, 3),
        "check_full_s": round(full.wall, 3),
        "check_full_cpu_s": round(full.cpu, 3),
        "full_ratio": round(full_ratio, 3),
        "precommit_median_s": round(pre.wall, 3),
        "precommit_runs": [round(r.wall, 3) for r in pre.runs],
        "startup_s": round(startup.wall, 3),
        f"edit_{small}_s": round(scaling[small].wall, 3),
        f"edit_{large}_s": round(scaling[large].wall, 3),
        "scaling_ratio": round(scale_ratio, 2),
        "scaling_ratio_marginal": None
        if marginal_ratio is None
        else round(marginal_ratio, 2),
        "peak_rss_mb": round(peak.maxrss_mb, 1),
        "detected": {
            "full": [full_hits, len(staged) + len(big_points)],
            "precommit": [pre_hits, len(staged)],
        },
        "targets": targets,
        "all_pass": all(targets.values()),
        "load": [round(load_before[0], 2), round(load_after[0], 2)],
        "other_load_cores": {k: round(v, 2) for k, v in disturbed.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }

    if args.profile:
        outdir = os.path.abspath(args.profile)
        os.makedirs(outdir, exist_ok=True)
        log(f"profiling into {outdir}")
        texts = [
            profile("full", ["check"], repo, env, outdir, args.timeout, args.top),
            profile(
                "precommit",
                ["check", "--staged"],
                repo,
                env,
                outdir,
                args.timeout,
                args.top,
            ),
            profile(
                f"edit_{large}",
                ["check"],
                mini_repos[large],
                env,
                outdir,
                args.timeout,
                args.top,
            ),
        ]
        out.write("\n" + "\n".join(texts) + "\n")
        result["profiles"] = outdir
        result["seconds"] = round(time.perf_counter() - started, 1)

    out.write("\nBENCHMARK " + json.dumps(result, sort_keys=True) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
