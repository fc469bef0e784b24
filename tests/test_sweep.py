"""Sweeps with real components: local processes, a real Dask scheduler and workers on 127.0.0.1,
a sweep killed with SIGKILL and resumed, a worker killed mid-sweep, shards merged."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.sweep import ExperimentError, experiment_from_toml, load_experiment, merge, run_chunk, sweep
from sim.sweep.chunk import Task

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BIN = Path(sys.executable).parent


def experiment_text(replications=2, staff=(60, 90), steps=30, chunk=None, extra=""):
    chunk_line = f"chunk = {chunk}\n" if chunk else ""
    return f"""# test experiment
[experiment]
scenario = "{ROOT / "scenarios" / "baseline.toml"}"
design = "grid"
replications = {replications}
seed = 7
{chunk_line}
[set]
"organisations.staff_a" = {staff[0]}
"organisations.staff_b" = {staff[1]}
"organisations.team_size" = 10
"run.steps" = {steps}

[vary."leadership.turnover_a"]
values = [0.2, 1.0, 2.5]

[vary."staff.union_stance"]
values = ["excluded", "partner"]

[record]
series = ["trust_min", "culture_a"]
every = 3
{extra}"""


def write(tmp_path, name="exp.toml", **kw) -> Path:
    path = tmp_path / name
    path.write_text(experiment_text(**kw))
    return path


def tables(out: Path):
    runs = pd.read_parquet(out / "runs.parquet").drop(columns=["seconds"])
    series = pd.read_parquet(out / "series.parquet")
    return runs, series


def assert_same_tables(a: Path, b: Path):
    ra, sa = tables(a)
    rb, sb = tables(b)
    pd.testing.assert_frame_equal(ra, rb, check_exact=True)
    pd.testing.assert_frame_equal(sa, sb, check_exact=True)


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    """The uninterrupted serial sweep every other execution must reproduce."""
    tmp = tmp_path_factory.mktemp("serial")
    exp = load_experiment(write(tmp, chunk=2))
    sweep(exp, tmp / "out", workers=1, log=lambda *a: None)
    return tmp / "out"


def test_serial_sweep_tables_and_manifest(serial_reference):
    runs, series = tables(serial_reference)
    assert len(runs) == 3 * 2 * 2 and runs["run_id"].tolist() == list(range(12))
    assert runs["seed"].nunique() == 12 and (runs["status"] == "ok").all()
    assert {"leadership.turnover_a", "staff.union_stance", "outcome", "trust_min"} <= set(runs.columns)
    assert set(series["step"]) == set(range(0, 31, 3)) | {30}
    manifest = json.loads((serial_reference / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["done"] == 12
    assert manifest["experiment"]["sha256"] and manifest["provenance"]["versions"]["numpy"]
    assert manifest["base_scenario"]["organisations.staff_a"] == 60
    assert not (serial_reference / "parts").exists()


def test_a_run_depends_only_on_its_parameters_and_seed(serial_reference):
    from sim import Scenario, load_scenario, run

    runs, _ = tables(serial_reference)
    row = runs.iloc[7]
    sc = load_scenario(ROOT / "scenarios" / "baseline.toml").replace(
        {
            "organisations.staff_a": 60,
            "organisations.staff_b": 90,
            "organisations.team_size": 10,
            "run.steps": 30,
            "leadership.turnover_a": row["leadership.turnover_a"],
            "staff.union_stance": row["staff.union_stance"],
        }
    )
    alone = run(sc, int(row["seed"]))
    assert alone.outcome == row["outcome"] and alone.final["trust_min"] == row["trust_min"]
    assert isinstance(sc, Scenario)


def test_local_processes_give_identical_tables(tmp_path, serial_reference):
    exp = load_experiment(write(tmp_path, chunk=2))
    sweep(exp, tmp_path / "out", workers=2, log=lambda *a: None)
    assert_same_tables(serial_reference, tmp_path / "out")


def test_shards_then_merge_give_identical_tables(tmp_path, serial_reference):
    path = write(tmp_path, chunk=2)
    for i in (1, 2, 3):
        p = subprocess.run(
            [PY, "-m", "sim", "sweep", path, "--shard", f"{i}/3", "--workers", "1", "-q", "--out", tmp_path / "out"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert p.returncode == 0, p.stderr
    assert not (tmp_path / "out" / "runs.parquet").exists(), "shards alone do not finalise"
    merge(tmp_path / "out", log=lambda *a: None)
    assert_same_tables(serial_reference, tmp_path / "out")


def test_sigkill_then_resume_gives_identical_tables(tmp_path):
    path = write(tmp_path, staff=(400, 600), steps=60, chunk=1)  # ~0.1 s per chunk: time to kill mid-way
    reference = tmp_path / "serial"
    sweep(load_experiment(path), reference, workers=1, log=lambda *a: None)
    out = tmp_path / "out"
    cmd = [PY, "-m", "sim", "sweep", path, "--workers", "1", "-q", "--out", out]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "parts").exists() and len(list((out / "parts").glob("runs-*.parquet"))) >= 3:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / "parts").glob("runs-*.parquet")))
    assert 3 <= done_before < 12, f"the sweep should have been killed part-way ({done_before} chunks done)"
    assert not (out / "runs.parquet").exists()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert f"resuming: {done_before} of 12 runs already done" in p.stdout
    assert_same_tables(reference, out)
    runs, _ = tables(out)
    assert runs["run_id"].tolist() == list(range(12))  # no duplicates, no gaps


@pytest.mark.slow
def test_sigterm_with_worker_processes_stops_cleanly_and_resumes(tmp_path):
    import psutil

    path = write(tmp_path, staff=(400, 600), steps=60, chunk=1)
    reference = tmp_path / "serial"
    sweep(load_experiment(path), reference, workers=1, log=lambda *a: None)
    out = tmp_path / "out"
    cmd = [PY, "-m", "sim", "sweep", path, "--workers", "2", "-q", "--out", out]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "parts").exists() and len(list((out / "parts").glob("runs-*.parquet"))) >= 2:
            break
        time.sleep(0.01)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command again to resume" in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    psutil.wait_procs(children, timeout=10)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE], "workers left behind"
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert_same_tables(reference, out)


def test_resume_with_a_changed_experiment_is_refused(tmp_path):
    path = write(tmp_path, chunk=6)
    p = subprocess.run(
        [PY, "-m", "sim", "sweep", path, "-w", "1", "-q", "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 0, p.stderr
    path.write_text(experiment_text(replications=3, chunk=6))
    p = subprocess.run(
        [PY, "-m", "sim", "sweep", path, "-w", "1", "-q", "--out", tmp_path / "out"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode == 2 and "different experiment file" in p.stderr and "Traceback" not in p.stderr


def test_a_failing_run_is_recorded_and_does_not_stop_the_chunk():
    from sim import Scenario

    base = dict(Scenario({"organisations.staff_a": 30, "organisations.staff_b": 30, "run.steps": 5}))
    task = Task(
        chunk=0,
        base=base,
        param_keys=["organisations.staff_a"],
        rows=[(0, 0, 0, 11, (40,)), (1, 1, 0, 12, (-5,)), (2, 2, 0, 13, (50,))],
        series=["trust_min"],
        every=1,
    )
    _, runs, series = run_chunk(task)
    status = runs.column("status").to_pylist()
    assert status == ["ok", "failed", "ok"]
    err = runs.column("error").to_pylist()[1]
    assert "organisations.staff_a" in err and "out of range" in err
    assert runs.column("seed").to_pylist() == [11, 12, 13]
    assert np.isnan(runs.column("trust_min").to_pylist()[1])
    assert set(series.column("run_id").to_pylist()) == {0, 2}


# --- a real Dask cluster on 127.0.0.1 -----------------------------------------------------------------
@pytest.fixture
def dask_cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on loopback; stopped by pid afterwards."""
    pytest.importorskip("distributed")
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False", "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                BIN / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                sched_file,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    deadline = time.time() + 60
    while not sched_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    workers = []
    for _ in range(2):
        w = subprocess.Popen(
            [
                BIN / "dask",
                "worker",
                "--scheduler-file",
                sched_file,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--dashboard-address",
                "127.0.0.1:0",
                "--no-nanny",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        workers.append(w)
    procs += workers
    from distributed import Client

    with Client(scheduler_file=str(sched_file), timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in client.scheduler_info()["workers"])
    yield sched_file, workers
    # Workers first, while their scheduler is still there to say goodbye to (a worker whose scheduler has
    # gone waits out its reconnection timeout before it exits), then the scheduler.
    for group in (workers, procs[:1]):
        for p in group:
            if p.poll() is None:
                p.terminate()
        for p in group:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_dask_cluster_gives_identical_tables(tmp_path, dask_cluster, serial_reference):
    sched_file, _ = dask_cluster
    exp = load_experiment(write(tmp_path, chunk=2))
    manifest = sweep(exp, tmp_path / "out", scheduler=str(sched_file), log=lambda *a: None)
    assert manifest["executor"]["kind"] == "dask"
    assert_same_tables(serial_reference, tmp_path / "out")


def test_dask_worker_killed_mid_sweep_still_completes_identically(tmp_path, dask_cluster):
    sched_file, workers = dask_cluster
    # Bigger runs so that tasks are in flight when the worker dies.
    path = write(tmp_path, staff=(400, 600), steps=60, chunk=1)
    exp = load_experiment(path)
    ref = tmp_path / "serial"
    sweep(exp, ref, workers=1, log=lambda *a: None)
    out = tmp_path / "dask"
    seen = []

    class Killer:
        """A progress sink that SIGKILLs one worker after the second finished chunk."""

        def __init__(self, total, initial):
            pass

        def update(self, n):
            seen.append(n)
            if len(seen) == 2:
                os.kill(workers[0].pid, signal.SIGKILL)

        def close(self):
            pass

    sweep(exp, out, scheduler=str(sched_file), progress=Killer, log=lambda *a: None)
    assert workers[0].poll() is not None, "the worker was killed"
    assert len(seen) == 12
    assert_same_tables(ref, out)


# --- experiment files ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, key, fragment",
    [
        ('design = "grid"', "experiment.design", "expected one of"),
        ("seed = 7", "experiment.seed", "expected an integer"),
        ("replications = 2", "experiment.replications", "expected an integer from 1"),
        ('[vary."staff.union_stance"]', "vary.staff.union_stanse", "did you mean 'staff.union_stance'"),
        ("values = [0.2, 1.0, 2.5]", "vary.leadership.turnover_a.values", "out of range"),
        ('series = ["trust_min", "culture_a"]', "record.series", "unknown metric"),
        ("[record]", "record.evry", "did you mean 'every'"),
    ],
)
def test_bad_experiment_files_are_named(tmp_path, change, key, fragment):
    text = experiment_text()
    bad = {
        "experiment.design": text.replace('design = "grid"', 'design = "gird"'),
        "experiment.seed": text.replace("seed = 7", "seed = -1"),
        "experiment.replications": text.replace("replications = 2", "replications = 0"),
        "vary.staff.union_stanse": text.replace('[vary."staff.union_stance"]', '[vary."staff.union_stanse"]'),
        "vary.leadership.turnover_a.values": text.replace("values = [0.2, 1.0, 2.5]", "values = [0.2, 99.0]"),
        "record.series": text.replace('series = ["trust_min", "culture_a"]', 'series = ["trust"]'),
        "record.evry": text.replace("every = 3", "evry = 3"),
    }[key]
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(ExperimentError) as err:
        load_experiment(path)
    msg = str(err.value)
    assert str(path) in msg and key in msg and fragment in msg, msg
    p = subprocess.run(
        [PY, "-m", "sim", "sweep", path, "--out", tmp_path / "never"], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr and key in p.stderr
    assert not (tmp_path / "never").exists(), "nothing runs when the file is bad"


def test_design_rules_are_checked(tmp_path):
    with pytest.raises(ExperimentError, match="power of 2"):
        experiment_from_toml(
            '[experiment]\ndesign = "sobol"\nsamples = 10\n[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\n'
        )
    with pytest.raises(ExperimentError, match="required"):
        experiment_from_toml('[experiment]\ndesign = "lhs"\n[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\n')
    with pytest.raises(ExperimentError, match="needs steps"):
        experiment_from_toml('[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\n')
    with pytest.raises(ExperimentError, match=r"point 0: organisations\.attitude_sd"):
        experiment_from_toml(
            '[set]\n"organisations.attitude_sd" = 0.4\n[vary."organisations.culture_a"]\nvalues = [0.05]\n'
        )
    with pytest.raises(ExperimentError, match="not valid TOML"):
        experiment_from_toml("[experiment\n")


def test_bundled_experiments_load():
    files = sorted((ROOT / "experiments").glob("*.toml"))
    assert {
        "smoke.toml",
        "leadership_x_competition.toml",
        "messaging_x_engagement.toml",
        "unions_x_history.toml",
        "sobol_main.toml",
    } <= {f.name for f in files}
    for f in files:
        exp = load_experiment(f)
        assert len(exp.design_table()) >= 1


def test_table_design(tmp_path):
    exp = experiment_from_toml(
        '[experiment]\ndesign = "table"\nreplications = 2\n'
        '[[points]]\n"system.competition" = 0.1\n"staff.union_stance" = "partner"\n'
        '[[points]]\n"system.competition" = 0.9\n"staff.union_stance" = "excluded"\n'
    )
    t = exp.design_table()
    assert len(t) == 4 and t["system.competition"].tolist() == [0.1, 0.1, 0.9, 0.9]


# --- samplers (hypothesis) ----------------------------------------------------------------------------------
def sampled(design, n, d, seed, extra=""):
    keys = [
        "system.competition",
        "leadership.turnover_a",
        "initiative.simultaneous_changes",
        "partnership.method_imposition",
    ][:d]
    bounds = {
        "system.competition": (0.0, 1.0),
        "leadership.turnover_a": (0.1, 3.0),
        "initiative.simultaneous_changes": (1, 8),
        "partnership.method_imposition": (0.2, 0.6),
    }
    vary = "".join(f'[vary."{k}"]\nlow = {bounds[k][0]}\nhigh = {bounds[k][1]}\n' for k in keys)
    exp = experiment_from_toml(f'[experiment]\ndesign = "{design}"\nsamples = {n}\nseed = {seed}\n{extra}{vary}')
    return exp, keys, bounds


@settings(max_examples=25)
@given(st.sampled_from(["lhs", "sobol", "morris"]), st.integers(0, 4), st.integers(1, 4), st.integers(0, 2**40))
def test_samplers_respect_bounds_counts_and_seeds(design, k, d, seed):
    n = 2**k if design == "sobol" else k + 2
    exp, keys, bounds = sampled(design, n, d, seed)
    pts = exp.points_table()
    expected = {"lhs": n, "sobol": n * (d + 2), "morris": n * (d + 1)}[design]
    assert len(pts) == expected
    for key in keys:
        lo, hi = bounds[key]
        assert pts[key].between(lo, hi).all(), key
    if design == "lhs":  # one value per stratum in every dimension
        for key in keys:
            lo, hi = bounds[key]
            if isinstance(lo, float):
                strata = np.floor((pts[key] - lo) / (hi - lo) * n).clip(0, n - 1)
                assert sorted(strata.astype(int)) == list(range(n))
    table = exp.design_table()
    assert table["seed"].is_unique and (table["seed"] >= 0).all()
    again = sampled(design, n, d, seed)[0].design_table()
    pd.testing.assert_frame_equal(table, again)


@settings(max_examples=15)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**40))
def test_grid_is_the_full_product_and_common_random_numbers_share_seeds(a, b, seed):
    text = (
        f"[experiment]\nreplications = 3\nseed = {seed}\ncommon_random_numbers = true\n"
        f'[vary."system.competition"]\nvalues = {np.linspace(0, 1, a).round(3).tolist()}\n'
        f'[vary."staff.union_density"]\nvalues = {np.linspace(0, 1, b).round(3).tolist()}\n'
    )
    exp = experiment_from_toml(text)
    t = exp.design_table()
    assert len(t) == a * b * 3
    assert t.groupby("replication")["seed"].nunique().eq(1).all()
    assert t["seed"].nunique() == 3


def test_sampled_designs_draw_from_normal_and_triangular_distributions():
    exp = experiment_from_toml(
        '[experiment]\ndesign = "lhs"\nsamples = 4000\nseed = 2\n'
        '[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\ndistribution = "normal"\n'
        "mean = 0.3\nsd = 0.1\n"
        '[vary."leadership.turnover_a"]\nlow = 0.1\nhigh = 3.0\ndistribution = "triangular"\n'
        "mode = 0.75\n"
    )
    t = exp.points_table()
    assert t["system.competition"].between(0, 1).all() and t["leadership.turnover_a"].between(0.1, 3.0).all()
    assert t["system.competition"].mean() == pytest.approx(0.3, abs=0.01)
    assert t["system.competition"].std() == pytest.approx(0.1, abs=0.01)
    assert t["leadership.turnover_a"].mean() == pytest.approx((0.1 + 0.75 + 3.0) / 3, abs=0.02)
    with pytest.raises(ExperimentError, match="only sampled designs"):
        experiment_from_toml(
            '[vary."system.competition"]\nlow = 0.0\nhigh = 1.0\nsteps = 3\n'
            'distribution = "normal"\nmean = 0.5\nsd = 0.1\n'
        )
    with pytest.raises(ExperimentError, match="mode: must lie between"):
        experiment_from_toml(
            '[experiment]\ndesign = "lhs"\nsamples = 4\n[vary."system.competition"]\nlow = 0.2\n'
            'high = 1.0\ndistribution = "triangular"\nmode = 0.1\n'
        )
    with pytest.raises(ExperimentError, match="required for distribution"):
        experiment_from_toml(
            '[experiment]\ndesign = "lhs"\nsamples = 4\n[vary."system.competition"]\nlow = 0.0\n'
            'high = 1.0\ndistribution = "normal"\nmean = 0.5\n'
        )


def test_running_a_complete_sweep_again_does_nothing(tmp_path):
    path = write(tmp_path, chunk=6)
    cmd = [PY, "-m", "sim", "sweep", path, "-w", "1", "-q", "--out", tmp_path / "out"]
    assert subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).returncode == 0
    before = (tmp_path / "out" / "runs.parquet").read_bytes()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0 and "already complete" in p.stdout, p.stderr
    assert (tmp_path / "out" / "runs.parquet").read_bytes() == before


def test_final_statistics_are_recorded_per_run(tmp_path):
    """[record] final = [...] adds one runs-table column per end-of-run statistic, equal to run()'s."""
    from sim import run
    from sim.sweep.design import experiment_from_toml

    text = experiment_text(extra='final = ["culture_clusters", "tenure_a"]\n')
    exp = experiment_from_toml(text, source="t.toml", base_dir=tmp_path)
    sweep(exp, tmp_path / "out", workers=1, log=lambda *a: None)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    row = runs.iloc[0]
    params = {f.key: row[f.key] for f in exp.factors}
    stats = run(exp.scenario_for(params), int(row["seed"]), statistics=["culture_clusters", "tenure_a"]).statistics
    assert row["culture_clusters"] == stats["culture_clusters"] >= 1
    assert row["tenure_a"] == pytest.approx(stats["tenure_a"])
    bad = text.replace('"tenure_a"]', '"tenure_z"]')
    with pytest.raises(ExperimentError, match=r"record\.final.*tenure_z.*did you mean"):
        experiment_from_toml(bad, source="t.toml", base_dir=tmp_path)
