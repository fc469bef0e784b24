"""Issue 13, cases 4-8: a wrong --out, two sweeps at once, workers that die, a lost or malformed cluster,
a full disk, and designs too large for the machine. Each is a clear message (exit 2) or a sweep that
completes with the uninterrupted sweep's tables; none loses or mixes a row."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario import GROWTH_MECHANISMS, MECHANISMS
from sim.sweep import ExperimentError, SweepError, load_experiment, read_status, sweep
from tests import crash_harness as h
from tests.test_crash import quiet, write_experiment

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An experiment file and its uninterrupted serial sweep."""
    tmp = tmp_path_factory.mktemp("finished")
    path = write_experiment(tmp)
    out = tmp / "reference"
    sweep(load_experiment(path), out, workers=1, log=quiet)
    return path, out


def cli(capsys, *args) -> tuple[int, str, str]:
    """The CLI in this process (cheap): exit status, stdout, stderr."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- case 4: a wrong --out --------------------------------------------------------------------------------------
def test_run_refuses_an_out_holding_a_sweep(finished, tmp_path, capsys):
    _, reference = finished
    out = tmp_path / "sweep"
    import shutil

    shutil.copytree(reference, out)
    before = (out / "series.parquet").read_bytes()
    code, _, err = cli(capsys, "run", "--steps", 3, "--out", out, "--no-plots", "-q")
    assert code == 2 and "holds a sweep's results" in err and "choose another --out" in err, err
    assert (out / "series.parquet").read_bytes() == before
    assert not (out / "summary.json").exists()


def test_sweep_refuses_an_out_holding_a_run_or_other_files(finished, tmp_path, capsys):
    path, _ = finished
    run_out = tmp_path / "run"
    assert cli(capsys, "run", "--steps", 3, "--out", run_out, "--no-plots", "-q")[0] == 0
    before = (run_out / "series.parquet").read_bytes()
    code, _, err = cli(capsys, "sweep", path, "--out", run_out, "-w", 1, "-q")
    assert code == 2 and "holds the results of `buddysim run`" in err, err
    assert (run_out / "series.parquet").read_bytes() == before and not (run_out / "manifest.json").exists()
    other = tmp_path / "home"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    code, _, err = cli(capsys, "sweep", path, "--out", other, "-w", 1, "-q")
    assert code == 2 and "is not empty and holds no sweep" in err and "thesis.tex" in err, err
    assert sorted(p.name for p in other.iterdir()) == ["thesis.tex"]


@pytest.mark.parametrize("starting", [".buddysim.lock", ".buddysim-setup.lock", ".buddysim-shard-1-of-2.lock"])
def test_a_folder_where_a_sweep_is_starting_is_not_foreign(tmp_path, starting):
    """A sweep starting in a new folder creates its lock files first; another sweep looking at that moment
    must see a sweep's folder (the lock then decides), not "not empty and holds no sweep" (seen once in CI
    when eight sweeps started together, before the folder was judged from one listing)."""
    from sim.sweep.store import check_sweep_out

    out = tmp_path / "shared"
    out.mkdir()
    (out / starting).touch()
    check_sweep_out(out)  # no SweepError
    (out / "notes.txt").write_text("mine")
    check_sweep_out(out)  # a sweep's folder may hold a user's note: it is its own, not foreign
    (out / starting).unlink()
    with pytest.raises(SweepError, match="is not empty and holds no sweep"):
        check_sweep_out(out)


# --- case 5: two sweeps into one folder at once ---------------------------------------------------------------
def test_different_experiments_started_together_never_mix(tmp_path):
    """Eight sweeps of two different experiments, started at the same instant into one new folder (threads of
    one process: the OS lock is per open file, so they exclude each other as processes would), three rounds.
    Each ends complete or refused; the folder always ends holding one experiment's exact tables."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_experiment(tmp_path / "a")
    b = write_experiment(tmp_path / "b", replications=3)
    refs = {}
    for name, path in (("a", a), ("b", b)):
        refs[name] = tmp_path / f"ref-{name}"
        sweep(load_experiment(path), refs[name], workers=1, log=quiet)
    for round_ in range(3):
        out = tmp_path / f"shared-{round_}"
        barrier = threading.Barrier(8)
        outcomes = []

        def start(path, barrier=barrier, out=out, outcomes=outcomes):
            exp = load_experiment(path)
            barrier.wait()
            try:
                sweep(exp, out, workers=1, log=quiet)
                outcomes.append("complete")
            except SweepError as exc:
                outcomes.append(f"refused: {exc}")

        threads = [threading.Thread(target=start, args=(a if i % 2 else b,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert len(outcomes) == 8 and any(o == "complete" for o in outcomes), outcomes
        assert all(o == "complete" or "writing to this folder" in o or "different experiment" in o for o in outcomes), (
            outcomes
        )
        manifest = read_status(out)
        assert manifest["status"] == "complete"
        which = "a" if manifest["experiment"]["sha256"] == load_experiment(a).sha256 else "b"
        assert h.same_tables(out, refs[which]), f"round {round_}: the folder's tables are not experiment {which}'s"


def test_a_second_sweep_into_a_running_folder_is_refused_naming_the_first(finished, tmp_path):
    from sim.sweep.store import FolderLock

    path, _ = finished
    out = tmp_path / "busy"
    out.mkdir()
    holder = FolderLock(out)
    holder.acquire()
    try:
        with pytest.raises(
            SweepError, match=rf"another sweep, merge or shard is writing to this folder \(pid {os.getpid()}"
        ):
            sweep(load_experiment(path), out, workers=1, log=quiet)
        assert read_status(out) is None  # nothing was written by the refused sweep
    finally:
        holder.release()
    sweep(load_experiment(path), out, workers=1, log=quiet)  # free again


# --- case 6: local workers --------------------------------------------------------------------------------------
def _worker_pids() -> list[int]:
    import psutil

    return [
        c.pid
        for c in psutil.Process().children()
        if any("spawn_main" in part for part in (c.cmdline() or [])) and c.is_running()
    ]


def test_a_dead_local_worker_is_replaced_and_its_chunk_run_again(tmp_path, finished):
    path = write_experiment(tmp_path, staff=(300, 450), steps=40, chunk=1)
    reference = tmp_path / "reference"
    sweep(load_experiment(path), reference, workers=1, log=quiet)
    killed = []

    class Killer:
        def __init__(self, total, initial):
            pass

        def update(self, n):
            if not killed:
                victim = _worker_pids()[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        def close(self):
            pass

    lines = []
    out = tmp_path / "out"
    manifest = sweep(load_experiment(path), out, workers=2, progress=Killer, log=lines.append)
    assert killed and any(f"worker process {killed[0]} died" in line for line in lines), lines
    assert manifest["status"] == "complete" and manifest["sessions"][-1]["worker_restarts"] >= 1
    assert h.same_tables(out, reference)


def test_a_chunk_whose_worker_keeps_dying_stops_the_sweep_with_a_clear_message(tmp_path, monkeypatch, finished):
    path, reference = finished
    out = tmp_path / "out"
    monkeypatch.setenv("BUDDYSIM_FAILPOINT", "worker.chunk.1")  # the worker that starts chunk 1 is SIGKILLed
    with pytest.raises(SweepError) as err:
        sweep(load_experiment(path), out, workers=2, log=quiet)
    msg = str(err.value)
    assert "chunk 1 (runs 2-3) was started 3 times" in msg and "SIGKILL" in msg, msg
    status = read_status(out)
    assert status["status"] == "interrupted" and "chunk 1" in status["sessions"][-1]["reason"]
    monkeypatch.delenv("BUDDYSIM_FAILPOINT")
    lines = []
    sweep(load_experiment(path), out, workers=1, log=lines.append)
    assert h.same_tables(out, reference)


def test_killing_the_sweeping_process_takes_its_workers_with_it(tmp_path):
    import psutil

    path = write_experiment(tmp_path, staff=(4000, 6000), steps=150, chunk=1)
    proc = subprocess.Popen(
        [PY, "-m", "sim", "sweep", path, "-w", "2", "-q", "--out", tmp_path / "out"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and len(workers) < 2:
        with contextlib.suppress(psutil.Error):
            workers = [
                c for c in psutil.Process(proc.pid).children() if any("spawn_main" in a for a in (c.cmdline() or []))
            ]
        time.sleep(0.1)
    assert len(workers) == 2, "two worker processes should have started"
    time.sleep(3)  # let them import and start computing
    proc.kill()
    proc.communicate(timeout=30)  # returns only once no process holds the pipes: the workers are gone too
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers left behind: {[w.pid for w in alive]}"


# --- case 7: Dask failures ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "scheduler, fragment",
    [
        ("tcp://", "is not a Dask scheduler address"),
        ("foo", "is not a Dask scheduler address"),
        ("http://x:1", "is not a Dask scheduler address"),
        ("tcp://127.0.0.1:99999", "is not a Dask scheduler address"),
        ("missing-scheduler.json", "no such scheduler file"),
        ("garbled.json", "not a readable Dask scheduler file"),
        ("noaddress.json", "names no valid address"),
    ],
)
def test_malformed_scheduler_is_a_clear_error(finished, tmp_path, scheduler, fragment):
    path, _ = finished
    os.chdir(tmp_path)
    (tmp_path / "garbled.json").write_text("{not json")
    (tmp_path / "noaddress.json").write_text('{"address": "tcp://"}')
    with pytest.raises(SweepError, match=fragment):
        sweep(load_experiment(path), tmp_path / "out", scheduler=scheduler, log=quiet)
    assert not (tmp_path / "out").exists(), "nothing is written before the cluster answers"


def test_an_unreachable_scheduler_is_a_clear_error_without_a_traceback(finished, tmp_path):
    import socket

    path, _ = finished
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.run(
        [PY, "-m", "sim", "sweep", path, "--scheduler", f"tcp://127.0.0.1:{port}", "-q", "--out", tmp_path / "out"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    assert "cannot reach the Dask scheduler" in p.stderr and "Traceback" not in p.stderr, p.stderr


@pytest.fixture
def dask_scheduler_and_worker(tmp_path):
    """A `dask scheduler` and one `dask worker` on loopback (stopped by pid afterwards)."""
    pytest.importorskip("distributed")
    bindir = Path(sys.executable).parent
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sched = subprocess.Popen(
        [bindir / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
         "--scheduler-file", sched_file],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    while not sched_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    worker = subprocess.Popen(
        [bindir / "dask", "worker", "--scheduler-file", sched_file, "--nthreads", "1", "--host", "127.0.0.1",
         "--dashboard-address", "127.0.0.1:0", "--no-nanny"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
    )  # fmt: skip
    from distributed import Client

    with Client(scheduler_file=str(sched_file), timeout="30s") as client:
        client.wait_for_workers(1, timeout=60)
    yield sched_file, sched, worker
    for p in (worker, sched):
        if p.poll() is None:
            p.terminate()
    for p in (worker, sched):
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_a_scheduler_lost_mid_sweep_is_a_clear_error_and_the_sweep_resumes_locally(tmp_path, dask_scheduler_and_worker):
    import dask

    sched_file, sched, _ = dask_scheduler_and_worker
    path = write_experiment(tmp_path, staff=(300, 450), steps=40, chunk=1)
    reference = tmp_path / "reference"
    sweep(load_experiment(path), reference, workers=1, log=quiet)

    class Killer:
        def __init__(self, total, initial):
            self.n = 0

        def update(self, n):
            self.n += 1
            if self.n == 1:
                sched.kill()

        def close(self):
            pass

    out = tmp_path / "out"
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}), pytest.raises(SweepError) as err:
        sweep(load_experiment(path), out, scheduler=str(sched_file), progress=Killer, log=quiet)
    assert "the Dask cluster at" in str(err.value) and "run the same command again to resume" in str(err.value)
    status = read_status(out)
    assert status["status"] == "interrupted" and status["sessions"][-1]["executor"]["kind"] == "dask"
    manifest = sweep(load_experiment(path), out, workers=1, log=quiet)  # locally, without the cluster
    assert manifest["status"] == "complete" and h.same_tables(out, reference)


def test_a_worker_with_other_model_code_refuses_its_chunk():
    from sim.sweep.chunk import CodeMismatchError, Task, run_chunk

    task = Task(0, {}, [], [(0, 0, 0, 1, ())], [], 1, [], code_version="not-this-code")
    with pytest.raises(CodeMismatchError, match="runs other model code"):
        run_chunk(task)


# --- case 7: a full disk --------------------------------------------------------------------------------------
def _sweep_with_file_size_limit(path: Path, out: Path, limit: int) -> tuple[int, str]:
    """Sweep in a child whose files may not grow beyond ``limit`` bytes (the kernel refuses the write with
    EFBIG, as a full disk refuses it with ENOSPC). Returns (exit code, message)."""
    r, w = os.pipe()

    def body():
        os.close(r)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        message, code = "", 0
        try:
            sweep(load_experiment(path), out, workers=1, log=quiet)
        except SweepError as exc:
            message, code = str(exc), 2
        except BaseException as exc:
            message, code = f"TRACEBACK {type(exc).__name__}: {exc}", 3
        os.write(w, message.encode())
        os._exit(code)

    status = h._fork(body)
    os.close(w)
    with os.fdopen(r) as f:
        message = f.read()
    return os.WEXITSTATUS(status), message


def test_writes_refused_by_the_kernel_are_clear_errors_leave_no_tmp_and_resume(finished, tmp_path):
    path, reference = finished
    sizes = sorted({p.stat().st_size for p in reference.iterdir() if p.is_file()})
    limits = sorted({256, 2048, *[s - 1 for s in sizes if s > 1]})
    seen = []
    for limit in limits:
        out = tmp_path / f"limit-{limit}"
        code, message = _sweep_with_file_size_limit(path, out, limit)
        assert code in (0, 2), message
        seen.append(code)
        if code == 2:
            assert "File too large" in message and "run the same command again" in message, message
        left = [p for p in out.rglob("*") if p.name.endswith(".tmp")] if out.exists() else []
        assert not left, f"temporary files left after a refused write: {left}"
        sweep(load_experiment(path), out, workers=1, log=quiet)  # room again: the same command finishes
        assert h.same_tables(out, reference)
    assert 2 in seen, "at least one limit should have stopped the sweep"


def _can_mount_tmpfs(where: Path) -> bool:
    if os.geteuid() != 0 or not Path("/bin/mount").exists():
        return False
    where.mkdir(exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True).returncode
    return ok == 0


def test_a_really_full_disk_is_a_clear_error_and_its_tmp_files_are_removed(finished, tmp_path):
    """On a 4 MB tmpfs filled to leave k bytes, for several k: a clean error (ENOSPC) or a finished sweep, never
    a traceback or a stray temporary file; with room made, the same command finishes with the same tables."""
    path, reference = finished
    disk = tmp_path / "disk"
    if not _can_mount_tmpfs(disk):
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN); the file-size-limit test covers the rest")
    try:
        for room in (0, 8192, 20000, 40000, 80000):
            out = disk / f"out-{room}"
            filler = disk / "filler"
            filler.unlink(missing_ok=True)
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            with filler.open("wb") as f, contextlib.suppress(OSError):
                f.write(b"\0" * max(0, free - room))
            message = ""
            try:
                sweep(load_experiment(path), out, workers=1, log=quiet)
            except SweepError as exc:
                message = str(exc)
            assert not message or "No space left on device" in message, message
            left = [p for p in disk.rglob("*.tmp")]
            assert not left, left
            filler.unlink()
            sweep(load_experiment(path), out, workers=1, log=quiet)
            assert h.same_tables(out, reference)
            import shutil

            shutil.rmtree(out)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_run_into_an_unwritable_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker / "sub", Path("/proc/self")):
        code, _, err = cli(capsys, "run", "--steps", 3, "--out", out, "--no-plots", "-q")
        assert code == 2 and "buddysim: error:" in err and "Traceback" not in err, err


# --- case 8: designs and scenarios too large for the machine ------------------------------------------------
def _refused_quickly(capsys, args, fragment, seconds=5.0):
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    code, _, err = cli(capsys, *args)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 2 and fragment in err and "Traceback" not in err, err
    assert elapsed < seconds, f"refused after {elapsed:.1f} s: the check should come before anything is built"
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MiB allocated before refusing"
    return err


def test_a_huge_grid_is_refused_before_its_table_is_built(tmp_path, capsys):
    f = tmp_path / "grid.toml"
    f.write_text(
        "".join(
            f'[vary."{k}"]\nlow = 0.0\nhigh = 1.0\nsteps = 10000\n'
            for k in ("system.competition", "system.history", "system.place_identity")
        )
    )
    err = _refused_quickly(capsys, ["sweep", f, "--dry-run"], "1,000,000,000,000 runs")
    assert "--force" in err


def test_ten_million_lhs_samples_are_refused_at_once(tmp_path, capsys):
    f = tmp_path / "lhs.toml"
    f.write_text(
        '[experiment]\ndesign = "lhs"\nsamples = 10000000\n[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\n'
    )
    _refused_quickly(capsys, ["sweep", f, "--dry-run"], "10,000,000 runs")


def test_the_run_limit_can_be_lifted_with_force(tmp_path, capsys, monkeypatch):
    from sim.sweep import design

    monkeypatch.setattr(design, "MAX_RUNS", 100)
    f = tmp_path / "big.toml"
    f.write_text('[experiment]\nreplications = 60\n[vary."system.competition"]\nvalues = [0.1, 0.9]\n')
    code, _, err = cli(capsys, "sweep", f, "--dry-run")
    assert code == 2 and "120 runs, more than the 100" in err
    code, out, _ = cli(capsys, "sweep", f, "--dry-run", "--force")
    assert code == 0 and "120 runs" in out


@pytest.mark.parametrize(
    "scenario, fragment",
    [
        (
            "[organisations]\nstaff_a = 5000000\nstaff_b = 5000000\n[partnership]\nties_per_100_staff = 10000.0\n",
            "250,000,000 cross-organisation ties",
        ),
        (
            "[run]\nsteps = 520\n[staff]\ngrowth_per_year = 2.0\n[mechanisms]\n"
            + "".join(f"{m} = false\n" for m in MECHANISMS if m not in GROWTH_MECHANISMS),
            "after growth",
        ),
    ],
)
def test_a_run_that_cannot_fit_is_refused_before_it_starts(tmp_path, capsys, scenario, fragment):
    f = tmp_path / "huge.toml"
    f.write_text(scenario)
    err = _refused_quickly(capsys, ["run", f, "--out", tmp_path / "out", "--no-plots"], fragment)
    assert "--force" in err and "GiB" in err
    exp = tmp_path / "exp.toml"
    exp.write_text(f'[experiment]\nscenario = "{f}"\n')
    _refused_quickly(capsys, ["sweep", exp, "--dry-run"], fragment)
    code, out, _ = cli(capsys, "sweep", exp, "--dry-run", "--force")
    assert code == 0 and "GiB" in out  # --force: the estimate is shown, the check lifted


def test_default_workers_shrink_to_fit_memory_and_explicit_ones_are_refused(finished, monkeypatch):
    from sim.sweep import resources

    path, _ = finished
    exp = load_experiment(path)
    per_run = resources.run_memory(resources.worst_point(exp))["bytes"]
    room = (3 * (per_run + resources.WORKER_MEMORY) + 1000 * resources.DESIGN_MEMORY_PER_RUN) / resources.HEADROOM
    monkeypatch.setattr(resources, "available_memory", lambda: int(room) + 10)
    lines = []
    assert (
        resources.plan_memory(exp, 1000, workers=8, workers_given=False, local=True, force=False, log=lines.append) == 3
    )
    assert "using 3 worker(s)" in lines[0]
    with pytest.raises(ExperimentError, match="try --workers 3"):
        resources.plan_memory(exp, 1000, workers=8, workers_given=True, local=True, force=False, log=quiet)


def test_the_memory_estimate_tracks_a_measured_run():
    """The estimate against the peak of what a 100,000-staff run allocates (tracemalloc sees numpy's arrays;
    deterministic, unlike a process's resident size on a busy machine): not below it, and not far above."""
    import tracemalloc

    from sim import Scenario, run
    from sim.sweep.resources import run_memory

    sc = Scenario({"organisations.staff_a": 40_000, "organisations.staff_b": 60_000, "run.steps": 10})
    run(Scenario({"organisations.staff_a": 40, "organisations.staff_b": 60, "run.steps": 3}), 1)  # warm
    tracemalloc.start()
    try:
        run(sc, 1)
        measured = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = run_memory(sc)["bytes"]
    assert 1.0 < estimate / measured < 1.6, (estimate, measured)


def test_experiment_names_cannot_leave_results(tmp_path, capsys):
    for name in ("../../x", "/etc", "a/b", "..", ".hidden", "x\u0000y"):
        f = tmp_path / "e.toml"
        f.write_text(f"[experiment]\nname = {json.dumps(name)}\n")
        code, _, err = cli(capsys, "sweep", f, "--dry-run")
        assert code == 2 and "experiment.name" in err and "one plain folder name" in err, (name, err)
    assert not (tmp_path.parent / "x").exists()


def test_an_empty_table_in_set_is_rejected(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('[set]\n"system.history" = {}\n')
    with pytest.raises(ExperimentError, match=r"set\.system\.history: expected a value, got an empty table"):
        load_experiment(f)


def test_duplicate_record_names_are_rejected_before_anything_runs(tmp_path, capsys):
    for record, key in (
        ('series = ["trust_min", "trust_min"]', "record.series"),
        ('final = ["tenure_a", "tenure_a"]', "record.final"),
    ):
        f = tmp_path / "e.toml"
        f.write_text(f"[record]\n{record}\n")
        code, _, err = cli(capsys, "sweep", f, "--dry-run", "--out", tmp_path / "never")
        assert code == 2 and key in err and "listed twice" in err, err
        assert not (tmp_path / "never").exists()


def test_a_resume_after_a_fixed_experiment_that_computed_nothing_is_allowed(tmp_path):
    """A folder whose experiment computed nothing (it was refused, or killed before its first commit) takes a
    corrected experiment: nothing would be lost or mixed."""
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    probe = tmp_path / "probe"
    calls = h.trace(probe, lambda: sweep(load_experiment(path), probe, workers=1, log=quiet))
    assert h.kill_at(
        out, lambda: sweep(load_experiment(path), out, workers=1, log=quiet), h.first_call_of_chunk(calls, 0)
    )
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    path2 = write_experiment(fixed, replications=3)
    lines = []
    sweep(load_experiment(path2), out, workers=1, log=lines.append)
    assert any("computed nothing; replacing it" in line for line in lines), lines
    assert len(pd.read_parquet(out / "runs.parquet")) == 9


def test_a_shard_of_a_merged_sweep_and_an_older_complete_folder_compute_nothing(finished, tmp_path):
    import shutil

    path, reference = finished
    out = tmp_path / "merged"
    shutil.copytree(reference, out)
    before = (out / "runs.parquet").read_bytes()
    lines = []
    sweep(load_experiment(path), out, workers=1, shard=(1, 2), log=lines.append)
    assert any("already complete" in line for line in lines) and (out / "runs.parquet").read_bytes() == before
    assert not list(out.glob("manifest.shard-*.json")) and not (out / "parts").exists()
    # A folder completed by the store before checksums (its manifest has neither fingerprint nor tables).
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("fingerprint", "tables", "sessions", "provenance_details"):
        manifest.pop(key)
    (out / "manifest.json").write_text(json.dumps(manifest))
    lines = []
    sweep(load_experiment(path), out, workers=1, log=lines.append)
    assert any("made before tables carried checksums" in line for line in lines), lines
    assert (out / "runs.parquet").read_bytes() == before
