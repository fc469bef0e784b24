"""The random streams (sim/model/streams.py): keyed, uniform, independent, and the same from every caller."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from sim.model import streams

KEY = streams.site_key(20130716, "messaging", "hear")


def test_site_keys_differ_by_seed_mechanism_and_site():
    keys = {
        streams.site_key(seed, mech, site)
        for seed in (0, 1, 2**40)
        for mech in ("messaging", "joint_working", "staff_turnover")
        for site in ("hear", "meet", "leave", "newcomer.culture")
    }
    assert len(keys) == 3 * 3 * 4
    assert streams.site_key(7, "messaging", "hear") == streams.site_key(7, "messaging", "hear")


def test_uniforms_are_uniform_and_in_range():
    u = streams.uniforms(KEY, 3, 200_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    counts = np.bincount((u * 100).astype(int), minlength=100)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_neighbouring_slots_weeks_and_sites_are_uncorrelated():
    n = 100_000
    a = streams.uniforms(KEY, 5, n + 1)
    b = streams.uniforms(KEY, 6, n)
    c = streams.uniforms(streams.site_key(20130716, "messaging", "noise"), 5, n)
    for x, y in ((a[:-1], a[1:]), (a[:-1], b), (a[:-1], c)):
        r = np.corrcoef(x, y)[0, 1]
        assert abs(r) < 4.5 / np.sqrt(n), r  # ~4.5 standard errors
    # pairs of successive slots fill the unit square evenly (a 10 x 10 chi-square)
    grid = np.histogram2d(a[:-1:2], a[1::2], bins=10)[0].ravel()
    assert stats.chisquare(grid).pvalue > 1e-4


@given(st.integers(0, 2**63 - 1), st.integers(0, 10_000), st.integers(0, 2**40))
def test_scalar_and_array_versions_give_the_same_bits(seed, week, slot):
    key = streams.site_key(seed, "adoption", "decide")
    arr = streams.uniforms(key, week, 3)
    assert streams.uniform_at(key, week, 1) == arr[1]
    assert streams.normal_at(key, week, 2) == streams.normals(key, week, 3)[2]
    assert streams.beta_at(key, week, 0, 0.3, 0.1) == streams.betas(key, week, np.array([0.3]), 0.1)[0]
    assert 0.0 <= streams.uniform_at(key, week, slot) < 1.0


def test_normal_exponential_and_beta_have_their_moments():
    z = streams.normals(KEY, 1, 200_000)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert stats.kstest(z, "norm").pvalue > 1e-4
    e = streams.exponentials(KEY, 2, 200_000, 3.0)
    assert abs(e.mean() - 3.0) < 0.03 and e.min() >= 0.0
    for mean, sd in ((0.3, 0.1), (0.9, 0.2), (0.5, 0.45), (0.02, 0.05)):
        b = streams.betas(KEY, 4, np.full(100_000, mean), sd)
        assert b.min() >= 0.0 and b.max() <= 1.0
        assert abs(b.mean() - mean) < 0.005 and abs(b.std() - sd) < 0.005, (mean, sd, b.mean(), b.std())
        kappa = mean * (1 - mean) / sd**2 - 1
        shapes = (mean * kappa, (1 - mean) * kappa)
        if min(shapes) >= 1:  # a shape below 1 piles ~1% of the mass within one ulp of 0 or 1: moments only
            assert stats.kstest(b, "beta", args=shapes).pvalue > 1e-4


@pytest.mark.parametrize("mean, sd", [(0.0, 0.1), (1.0, 0.1), (0.4, 0.0)])
def test_beta_without_spread_is_its_mean(mean, sd):
    assert np.all(streams.betas(KEY, 0, np.full(10, mean), sd) == mean)


def test_permutation_is_a_uniform_shuffle():
    n = 6
    seen = np.zeros((n, n))
    for week in range(6000):
        perm = streams.permutation(KEY, week, n)
        assert sorted(perm.tolist()) == list(range(n))
        seen[np.arange(n), perm] += 1
    assert stats.chisquare(seen.ravel()).pvalue > 1e-4  # every element lands everywhere equally often
