"""The evidence test's planted claims judged for seeds 0-19: every seed must give the verdicts the test expects.

Not collected by pytest (about 100 s on 2 busy cores); run it by hand after a change to the model, which moves
every result, to show that tests/test_evidence.py does not depend on its seed:

    .venv/bin/python tests/seeds_evidence.py
"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_evidence import judge_planted_claims

t0 = time.time()
ok = 0
for seed in range(20):
    with tempfile.TemporaryDirectory() as d:
        t = judge_planted_claims(Path(d), seed)
    v = dict(zip(t["id"], t["verdict"]))
    g = t[t["id"] == "goodwill"].iloc[0]
    good = v == {"goodwill": "holds", "goodwill_backwards": "contradicted", "nothing": "not shown"}
    ok += good
    print(
        seed,
        v,
        f"without {g['without']:.2f} with {g['with']:.2f} [{g['low']:+.2f}, {g['high']:+.2f}]",
        "OK" if good else "FAIL",
    )
print(f"{ok} of 20 seeds give the expected verdicts; {time.time() - t0:.0f} s")
sys.exit(0 if ok == 20 else 1)
