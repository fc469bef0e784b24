"""The store's promise under crashes and damage (issue 13, cases 1-3): a sweep killed at every one of its
file-system calls in turn and resumed gives the uninterrupted sweep's tables; so does a merge of shards;
damaged, truncated, swapped and garbled files are detected and computed again, never merged."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests import crash_harness as h

ROOT = Path(__file__).resolve().parents[1]


def write_experiment(folder: Path, *, replications=2, chunk=2, staff=(20, 30), steps=12, extra="") -> Path:
    """A small grid (3 points x 2 replications = 6 runs in 3 chunks; ~10 ms a run)."""
    path = folder / "crash.toml"
    path.write_text(
        f"""# crash test
[experiment]
scenario = "{ROOT / "scenarios" / "baseline.toml"}"
replications = {replications}
seed = 11
chunk = {chunk}

[set]
"organisations.staff_a" = {staff[0]}
"organisations.staff_b" = {staff[1]}
"organisations.team_size" = 10
"run.steps" = {steps}

[vary."leadership.turnover_a"]
values = [0.2, 1.0, 2.5]

[record]
series = ["trust_min", "culture_a"]
every = 5
{extra}"""
    )
    return path


def quiet(*_):
    pass


# --- case 1: killed at every store call, resumed -------------------------------------------------------------
@pytest.mark.slow
def test_a_sweep_killed_at_every_store_call_resumes_to_the_same_tables(tmp_path):
    path = write_experiment(tmp_path)
    _, rows = h.sweep_matrix(path, tmp_path / "work")
    wrong = [(k, op, rel, lines[-2:], left) for k, op, rel, outcome, lines, left in rows if outcome == "WRONG"]
    assert not wrong, wrong
    refused = [r for r in rows if r[3] == "refused"]
    assert not refused, "a crash is never a reason to refuse a resume"
    assert len(rows) >= 20, "the trace should hold every commit, the final tables and the clean-up"
    kinds = {h.point_kind(op, rel) for _, op, rel, *_ in rows}
    assert any("unlink parts/" in k for k in kinds), "kills inside the clean-up of parts/ are part of the matrix"
    assert any(k.endswith("-> runs.parquet") for k in kinds)
    assert any(k.endswith("-> parts/commit-N.json") for k in kinds)


@pytest.mark.slow
def test_a_merge_killed_at_every_store_call_merges_again_to_the_same_tables(tmp_path):
    path = write_experiment(tmp_path)
    _, rows = h.merge_matrix(path, tmp_path / "work")
    assert len(rows) >= 10
    assert any(op == "unlink" and rel.startswith("parts/") for _, op, rel, *_ in rows)
    wrong = [(k, op, rel, lines[-2:], left) for k, op, rel, outcome, lines, left in rows if outcome == "WRONG"]
    assert not wrong, wrong


# --- case 3: damaged, truncated, swapped and garbled files ---------------------------------------------------
@pytest.fixture(scope="module")
def half_done(tmp_path_factory):
    """A sweep killed after two of its three chunks were committed, and its uninterrupted reference."""
    from sim.sweep import load_experiment, sweep

    tmp = tmp_path_factory.mktemp("half")
    path = write_experiment(tmp)
    reference = tmp / "reference"
    sweep(load_experiment(path), reference, workers=1, log=quiet)
    probe = tmp / "probe"
    calls = h.trace(probe, lambda: sweep(load_experiment(path), probe, workers=1, log=quiet))
    out = tmp / "half"
    assert h.kill_at(
        out, lambda: sweep(load_experiment(path), out, workers=1, log=quiet), h.first_call_of_chunk(calls, 2)
    )
    assert {p.name[-14:-8] for p in (out / "parts").glob("runs-*.parquet")} == {"000000", "000001"}
    return path, reference, out


def damaged_copy(half_done, tmp_path, damage) -> tuple[str, list[str]]:
    from sim.sweep import load_experiment, sweep

    path, reference, half = half_done
    out = tmp_path / "out"
    shutil.copytree(half, out)
    damage(out / "parts")
    return h.classify(out, reference, lambda log: sweep(load_experiment(path), out, workers=1, log=log))


def flip_bytes(path: Path, n=64, seed=0):
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    start = rng.randrange(0, len(data) - n)
    for i in range(start, start + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "name, damage, said",
    [
        ("64 bytes flipped in a runs part", lambda p: flip_bytes(p / "runs-000001.parquet"), "SHA-256"),
        ("64 bytes flipped in a series part", lambda p: flip_bytes(p / "series-000000.parquet", seed=3), "SHA-256"),
        ("a runs part truncated to half", lambda p: _truncate(p / "runs-000001.parquet", 0.5), "bytes"),
        ("an empty series part", lambda p: _truncate(p / "series-000001.parquet", 0.0), "bytes"),
        ("a missing runs part", lambda p: (p / "runs-000000.parquet").unlink(), "missing"),
        (
            "chunk 0's parts copied over chunk 1's",
            lambda p: [shutil.copy(p / f"{k}-000000.parquet", p / f"{k}-000001.parquet") for k in ("runs", "series")],
            "bytes",
        ),
        (
            "chunk 0's parts and commit record copied over chunk 1's",
            lambda p: [
                shutil.copy(p / f"{k}-000000.{e}", p / f"{k}-000001.{e}")
                for k, e in (("runs", "parquet"), ("series", "parquet"), ("commit", "json"))
            ],
            "describes chunk 0",
        ),
        (
            "a garbled commit record",
            lambda p: (p / "commit-000001.json").write_text('{"chunk": 1, "runs": [[['),
            "not valid JSON",
        ),
        ("a commit record of another length", lambda p: _edit_record(p / "commit-000000.json"), "bytes"),
    ],
)
def test_damaged_parts_are_detected_and_computed_again(half_done, tmp_path, name, damage, said):
    outcome, lines = damaged_copy(half_done, tmp_path, damage)
    assert outcome == "detected-and-recomputed", (name, outcome, lines)
    assert any(said in line and "computing it again" in line for line in lines), lines


def _truncate(path: Path, share: float):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


def _edit_record(path: Path):
    record = json.loads(path.read_text())
    record["runs"]["bytes"] += 1
    path.write_text(json.dumps(record))


def test_a_garbled_manifest_does_not_stop_a_resume(half_done, tmp_path):
    def garble(parts: Path):
        (parts.parent / "manifest.json").write_text("{ this is not json")

    outcome, lines = damaged_copy(half_done, tmp_path, garble)
    assert outcome == "identical", lines
    assert any("manifest.json is damaged" in line for line in lines), lines
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["sessions"][-1]["status"] == "complete"


def test_damage_after_the_commit_in_the_same_session_is_caught_when_merging(tmp_path):
    """A part damaged after it was committed, while the sweep still runs: the final merge re-checks the bytes it
    reads, so the chunk is computed again before the tables are made."""
    from sim.sweep import load_experiment, sweep

    path = write_experiment(tmp_path)
    reference = tmp_path / "reference"
    sweep(load_experiment(path), reference, workers=1, log=quiet)
    out = tmp_path / "out"
    done = []

    class Saboteur:
        def __init__(self, total, initial):
            pass

        def update(self, n):
            done.append(n)
            if len(done) == 3:  # every chunk committed: damage the first before the tables are made
                flip_bytes(out / "parts" / "runs-000000.parquet")

        def close(self):
            pass

    lines = []
    sweep(load_experiment(path), out, workers=1, progress=Saboteur, log=lines.append)
    assert any("chunk 0" in line and "computing it again" in line for line in lines), lines
    assert h.same_tables(out, reference)


def test_a_damaged_final_table_is_detected_and_computed_again(tmp_path):
    from sim.sweep import load_experiment, sweep

    path = write_experiment(tmp_path)
    reference = tmp_path / "reference"
    sweep(load_experiment(path), reference, workers=1, log=quiet)
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    flip_bytes(out / "series.parquet", seed=5)
    lines = []
    sweep(load_experiment(path), out, workers=1, log=lines.append)
    assert any("series.parquet does not match the SHA-256" in line for line in lines), lines
    assert h.same_tables(out, reference)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert sessions[-1]["status"] == "complete" and sessions[-1]["runs_computed"] == 6


def test_final_tables_carry_checksums_and_parts_are_gone(tmp_path):
    from sim.sweep import load_experiment, sweep
    from sim.sweep.store import sha256_file

    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    manifest = sweep(load_experiment(path), out, workers=1, log=quiet)
    assert manifest["status"] == "complete" and not (out / "parts").exists()
    for name, meta in manifest["tables"].items():
        assert sha256_file(out / name) == meta["sha256"]
    assert manifest["tables"]["runs.parquet"]["rows"] == 6
    series = pd.read_parquet(out / "series.parquet")
    assert manifest["tables"]["series.parquet"]["rows"] == len(series) == 6 * 4  # weeks 0, 5, 10, 12
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


# --- case 2: a resume with an edited base scenario or other code is refused -----------------------------------
def test_editing_the_base_scenario_between_a_kill_and_the_resume_is_refused(tmp_path):
    from sim.sweep import SweepError, load_experiment, sweep

    base = tmp_path / "base.toml"
    base.write_text("[system]\ncompetition = 0.5\n")
    path = write_experiment(tmp_path)
    path.write_text(path.read_text().replace(str(ROOT / "scenarios" / "baseline.toml"), "base.toml"))
    out = tmp_path / "out"
    probe = tmp_path / "probe"
    calls = h.trace(probe, lambda: sweep(load_experiment(path), probe, workers=1, log=quiet))
    assert h.kill_at(
        out, lambda: sweep(load_experiment(path), out, workers=1, log=quiet), h.first_call_of_chunk(calls, 2)
    )
    base.write_text("[system]\ncompetition = 0.9\n")
    with pytest.raises(SweepError) as err:
        sweep(load_experiment(path), out, workers=1, log=quiet)
    msg = str(err.value)
    assert "base scenario changed" in msg and "system.competition: 0.5 -> 0.9" in msg, msg
    base.write_text("[system]\ncompetition = 0.5\n")  # put back: the resume goes on and gives the same tables
    sweep(load_experiment(path), out, workers=1, log=quiet)
    reference = tmp_path / "reference"
    sweep(load_experiment(path), reference, workers=1, log=quiet)
    assert h.same_tables(out, reference)


def test_results_of_other_code_are_refused_naming_the_files(half_done, tmp_path):
    """A folder whose chunks were committed by another version of the model (its manifest and commit records say
    so, as that version wrote them) is not resumed with this one."""
    from sim.sweep import SweepError, load_experiment, sweep

    path, _, half = half_done
    out = tmp_path / "out"
    shutil.copytree(half, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["fingerprint"]["code"] = "0123456789abcdef"
    manifest["provenance_details"]["code_files"]["model/mechanisms/adoption.py"] = "feedfacefeedface"
    (out / "manifest.json").write_text(json.dumps(manifest))
    for record in (out / "parts").glob("commit-*.json"):
        r = json.loads(record.read_text())
        r["fingerprint"]["code"] = "0123456789abcdef"
        record.write_text(json.dumps(r))
    with pytest.raises(SweepError) as err:
        sweep(load_experiment(path), out, workers=1, log=quiet)
    msg = str(err.value)
    assert "model's code changed" in msg and "sim/model/mechanisms/adoption.py edited" in msg, msg
    assert sorted(p.name for p in (out / "parts").glob("commit-*.json")) == ["commit-000000.json", "commit-000001.json"]


def test_the_code_version_changes_when_a_model_file_changes(tmp_path):
    from sim.sweep.provenance import CODE_PATHS, code_files, code_version_of, package_root

    copy = tmp_path / "sim"
    shutil.copytree(package_root(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_files(copy)
    assert any(f.startswith("model/") for f in before) and "run.py" in before and "sweep/chunk.py" in before
    assert "cli.py" not in before and "sweep/store.py" not in before  # faces and machinery do not change results
    target = copy / "model" / "metrics.py"
    text = target.read_text()
    target.write_text(text + "\n# a comment changes no result\n")
    assert code_version_of(code_files(copy)) == code_version_of(before)
    target.write_text(text + "\nAN_EDIT = 1\n")
    after = code_files(copy)
    assert code_version_of(before) != code_version_of(after)
    assert [f for f in after if after[f] != before[f]] == ["model/metrics.py"]
    assert CODE_PATHS


def test_session_history_records_each_session_and_a_death(half_done, tmp_path):
    from sim.sweep import load_experiment, read_status, sweep

    path, _, half = half_done
    out = tmp_path / "out"
    shutil.copytree(half, out)
    assert read_status(out)["status"] == "interrupted", "a dead sweep never reads as running"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"  # as the killed process left it
    manifest = sweep(load_experiment(path), out, workers=1, log=quiet)
    first, second = manifest["sessions"]
    assert first["status"] == "died" and first["ended"] is None
    assert second["status"] == "complete" and second["runs_computed"] == 2 and second["host"] and second["versions"]
    assert manifest["fingerprint"]["code"] == second["code_version"]


def test_a_worker_failpoint_environment_is_inert_when_unset():
    from sim.sweep.faults import ENV, failpoint

    assert ENV not in os.environ
    failpoint("worker.chunk.0")  # no effect
