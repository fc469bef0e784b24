"""The one command that regenerates docs/validation.md works end to end (in its quick pipeline-check mode)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_validation_page_builds_from_its_experiments(tmp_path):
    out, figures, results = tmp_path / "docs" / "validation.md", tmp_path / "figures", tmp_path / "results"
    p = subprocess.run(
        [
            sys.executable,
            "validation/build.py",
            "--quick",
            # In this process's core: the suite already runs on every core (xdist), and spawning two
            # workers for each step of a quick build costs more than it saves (81 s of CPU against 42 s).
            "--workers",
            "1",
            "--out",
            out,
            "--figures",
            figures,
            "--results",
            results,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    page = out.read_text()
    assert "Quick pipeline check" in page
    assert not re.search(r"\{\{\w+\}\}", page)
    for heading in (
        "### 1.1 Bounded confidence",
        "### 1.2 The bifurcation",
        "### 1.3 Staff demography",
        "## 2. Calibration to the record",
        "## 3. The briefing's claims",
        "## 4. Do the agents matter?",
        "## 5. What this validation does not show",
    ):
        assert heading in page
    for name in ("dw_clusters.png", "bc_bifurcation.png", "hc_demography.png", "abc_posterior.png"):
        assert (figures / name).stat().st_size > 10_000
        assert f"](../figures/{name})" in page
    # The published page, figures and shipped scenario are left alone by a quick build.
    assert "Quick pipeline check" not in (ROOT / "docs" / "validation.md").read_text()
    for name in ("deffuant", "bounded_confidence", "bounded_confidence_size", "demography"):
        assert (results / name / "runs.parquet").exists()
