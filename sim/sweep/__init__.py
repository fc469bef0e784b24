"""Parameter sweeps: experiment files, designs, executors (serial, processes, Dask, shards), a resumable store."""

from .design import DESIGNS, Experiment, ExperimentError, experiment_from_toml, load_experiment
from .execute import merge, parse_shard, plan, run_chunk, sweep

__all__ = [
    "DESIGNS",
    "Experiment",
    "ExperimentError",
    "experiment_from_toml",
    "load_experiment",
    "load_results",
    "merge",
    "parse_shard",
    "plan",
    "run_chunk",
    "sweep",
]


def load_results(out):
    """The final tables of a finished sweep as pandas DataFrames: (runs, series or None)."""
    from pathlib import Path

    import pandas as pd

    out = Path(out)
    runs = pd.read_parquet(out / "runs.parquet")
    series = pd.read_parquet(out / "series.parquet") if (out / "series.parquet").exists() else None
    return runs, series
