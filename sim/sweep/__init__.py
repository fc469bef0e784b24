"""Parameter sweeps: experiment files, designs, executors (serial, processes, Dask, shards), a verified store."""

from .chunk import run_chunk
from .design import DESIGNS, Experiment, ExperimentError, experiment_from_toml, load_experiment
from .execute import merge, parse_shard, plan, sweep
from .store import SweepError, read_status

__all__ = [
    "DESIGNS",
    "Experiment",
    "ExperimentError",
    "SweepError",
    "experiment_from_toml",
    "load_experiment",
    "load_results",
    "merge",
    "parse_shard",
    "plan",
    "read_status",
    "run_chunk",
    "sweep",
]


def load_results(out):
    """The final tables of a finished sweep as pandas DataFrames: (runs, series or None).

    A SweepError if the sweep is not complete (running, interrupted, or its tables not yet checked)."""
    from pathlib import Path

    import pandas as pd

    out = Path(out)
    manifest = read_status(out)
    if manifest is None or manifest.get("status") != "complete":
        status = manifest.get("status") if manifest else "no readable manifest.json"
        raise SweepError(str(out), None, f"not a complete sweep ({status}); run the sweep (or merge) to finish it")
    runs = pd.read_parquet(out / "runs.parquet")
    series = pd.read_parquet(out / "series.parquet") if (out / "series.parquet").exists() else None
    return runs, series
