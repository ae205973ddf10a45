#!/usr/bin/python3
"""Writes reference.json: SciPy's results for fixed samples, the ground truth of stats_test.cpp.

Run with Debian's python3 (it has python3-scipy):  /usr/bin/python3 make_reference.py
The samples are drawn from a seeded numpy generator and stored in the JSON, so the C++ test
never depends on numpy's generator; regenerating only changes the file if SciPy changes.
"""
import json
import os
import warnings

import numpy as np
import scipy
from scipy import stats

warnings.simplefilter("ignore")  # small-sample and exact-with-ties warnings are expected
rng = np.random.default_rng(20221027)


def floats(values):
    return [float(v) for v in values]


def energy_like(n, mean, sd, decimals=None):
    """Positive, right-skewed values like joules or seconds of repeated runs."""
    v = mean + sd * rng.standard_gamma(4.0, n) / 2.0
    return np.round(v, decimals) if decimals is not None else v


def has_ties(values):
    return len(np.unique(values)) != len(values)


# --- Mann–Whitney U -------------------------------------------------------------------------
mwu_cases = []


def add_mwu(name, a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    exact = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact")
    asym = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic",
                              use_continuity=True)
    asym_nocc = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic",
                                   use_continuity=False)
    assert exact.statistic == asym.statistic
    mwu_cases.append({
        "name": name, "a": floats(a), "b": floats(b),
        "ties": bool(has_ties(np.concatenate([a, b]))),
        "u": float(exact.statistic),
        "p_exact": float(exact.pvalue),
        "p_asymptotic": float(asym.pvalue),
        "p_asymptotic_no_continuity": float(asym_nocc.pvalue),
    })


# The study's design: 10 runs per framework.
for i in range(4):
    add_mwu(f"paper_10v10_{i}", energy_like(10, 100, 5 + i), energy_like(10, 100 + 2 * i, 5))
add_mwu("paper_10v10_separated", energy_like(10, 200, 3), energy_like(10, 100, 3))
add_mwu("paper_10v10_ties", energy_like(10, 100, 4, 0), energy_like(10, 101, 4, 0))
for n1, n2 in [(1, 1), (1, 4), (2, 3), (3, 8), (5, 5), (5, 9), (7, 12), (12, 7), (15, 15),
               (20, 20), (25, 30), (40, 45), (50, 50), (51, 50), (50, 51), (60, 60)]:
    add_mwu(f"normal_{n1}v{n2}", rng.normal(0, 1, n1), rng.normal(0.4, 1, n2))
for n1, n2 in [(5, 5), (8, 11), (20, 20), (30, 25), (60, 55)]:
    add_mwu(f"ties_{n1}v{n2}", np.round(rng.normal(10, 2, n1)), np.round(rng.normal(11, 2, n2)))
add_mwu("heavy_ties", [1, 1, 1, 2, 2, 3], [1, 2, 2, 2, 3, 3, 3])
add_mwu("a_all_equal_b_distinct", [5, 5, 5, 5], [1, 2, 3, 4, 6])

# --- Wilcoxon signed-rank (paired) ----------------------------------------------------------
wilcoxon_cases = []


def add_wilcoxon(name, a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    nonzero = d[d != 0]
    case = {"name": name, "a": floats(a), "b": floats(b),
            "zeros": int(np.sum(d == 0)), "ties": bool(has_ties(np.abs(nonzero)))}
    asym = stats.wilcoxon(a, b, zero_method="wilcox", correction=True, method="approx")
    case["statistic"] = float(asym.statistic)
    case["p_asymptotic"] = float(asym.pvalue)
    if case["zeros"] == 0 and not case["ties"]:
        exact = stats.wilcoxon(a, b, zero_method="wilcox", method="exact")
        assert exact.statistic == asym.statistic
        case["p_exact"] = float(exact.pvalue)
    else:
        case["p_exact"] = None
    wilcoxon_cases.append(case)


for n in [1, 2, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 51, 60]:
    base = energy_like(n, 100, 5)
    add_wilcoxon(f"paired_{n}", base + rng.normal(0.5, 1, n), base)
base = energy_like(10, 100, 5)
add_wilcoxon("paired_10_all_greater", base + 1 + rng.random(10), base)
for n in [8, 15, 30]:
    b = np.round(rng.normal(50, 3, n))
    add_wilcoxon(f"paired_ties_{n}", b + np.round(rng.normal(0.5, 2, n)), b)
b = np.arange(12, dtype=float)
add_wilcoxon("paired_zeros_12", b + np.array([0, 1.5, -0.5, 0, 2.5, 3.5, -1.25, 4.5, 0, 5.5, 6.5, 7.5]), b)

# --- Shapiro–Wilk ---------------------------------------------------------------------------
shapiro_cases = []
for n in [3, 4, 5, 6, 7, 8, 10, 11, 12, 15, 20, 30, 50, 100, 500, 2000, 5000]:
    # One large sample per size keeps the file small; the formulas do not change above 11.
    for dist in ["normal", "lognormal", "uniform"] if n <= 500 else ["lognormal" if n < 5000 else "normal"]:
        if dist == "normal":
            x = rng.normal(100, 5, n)
        elif dist == "lognormal":
            x = rng.lognormal(0, 0.8, n)
        else:
            x = rng.uniform(0, 1, n)
        r = stats.shapiro(x)
        shapiro_cases.append({"name": f"{dist}_{n}", "x": floats(x),
                              "w": float(r.statistic), "p": float(r.pvalue)})
x = energy_like(10, 100, 5)
r = stats.shapiro(x)
shapiro_cases.append({"name": "paper_10", "x": floats(x), "w": float(r.statistic),
                      "p": float(r.pvalue)})

# --- Spearman ---------------------------------------------------------------------------------
spearman_cases = []
for n in [3, 5, 10, 20, 60]:
    t = energy_like(n, 30, 3)
    e = 40 * t + rng.normal(0, 60, n)
    r = stats.spearmanr(e, t)
    spearman_cases.append({"name": f"energy_time_{n}", "x": floats(e), "y": floats(t),
                           "rho": float(r.correlation), "p": float(r.pvalue)})
for n in [10, 25]:
    x = np.round(rng.normal(0, 2, n))
    y = np.round(x + rng.normal(0, 2, n))
    r = stats.spearmanr(x, y)
    spearman_cases.append({"name": f"ties_{n}", "x": floats(x), "y": floats(y),
                           "rho": float(r.correlation), "p": float(r.pvalue)})
x = rng.normal(0, 1, 15)
r = stats.spearmanr(x, -x ** 3)
spearman_cases.append({"name": "perfect_negative", "x": floats(x), "y": floats(-x ** 3),
                       "rho": float(r.correlation), "p": float(r.pvalue)})


# --- Holm and Bonferroni (statsmodels' multipletests semantics, coded here in numpy) ---------
def holm(p):
    p = np.asarray(p, float)
    order = np.argsort(p, kind="mergesort")
    m = len(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def bonferroni(p):
    return np.minimum(np.asarray(p, float) * len(p), 1.0)


try:  # cross-check the hand-coded versions where statsmodels is installed
    from statsmodels.stats.multitest import multipletests
except ImportError:
    multipletests = None

families = [
    [0.01, 0.04, 0.03, 0.005],
    [0.2, 0.001, 0.04, 0.04, 0.9, 0.0125],
    [0.5],
    [0.3, 0.4, 0.6],  # all capped at 1 by Bonferroni
    [c["p_exact"] for c in mwu_cases[:8]],
    [c["p_asymptotic"] for c in mwu_cases],
]
multiple_cases = []
for p in families:
    h, b = holm(p), bonferroni(p)
    if multipletests is not None:
        assert np.allclose(h, multipletests(p, method="holm")[1])
        assert np.allclose(b, multipletests(p, method="bonferroni")[1])
    multiple_cases.append({"p": floats(p), "holm": floats(h), "bonferroni": floats(b)})

# --- Descriptive (numpy) -----------------------------------------------------------------------
describe_cases = []
for x in [np.array([3.0]), np.array([1.0, 2.0]), np.array([7, 1, 3, 5, 2], float),
          energy_like(10, 100, 5), rng.normal(0, 1, 37), np.round(rng.normal(5, 2, 20))]:
    describe_cases.append({
        "x": floats(x), "n": len(x), "mean": float(np.mean(x)), "median": float(np.median(x)),
        "q1": float(np.percentile(x, 25)), "q3": float(np.percentile(x, 75)),
        "sd": float(np.std(x, ddof=1)) if len(x) > 1 else None,
        "min": float(np.min(x)), "max": float(np.max(x))})

# --- Hodges–Lehmann ratio and its Mann–Whitney interval; smallest attainable p ----------------
# The interval is [d_(k), d_(mn+1-k)] of the sorted pairwise log differences, k the largest with
# 2 P(U <= k-1) <= 0.05. P(U <= u) is counted here by enumerating every split of the ranks
# (exact, independent of the C++ recursion) and cross-checked against SciPy's exact p-value.
import itertools
from math import comb


def u_null_counts(m, n):
    counts = [0] * (m * n + 1)
    for first in itertools.combinations(range(m + n), m):
        # U of the first sample = pairs (x in first, y in second) with x ranked above y.
        u = sum(r - i for i, r in enumerate(first))
        counts[u] += 1
    return counts


def hl_case(name, a, b, confidence=0.95):
    a, b = np.asarray(a, float), np.asarray(b, float)
    m, n = len(a), len(b)
    d = np.sort((np.log(a)[:, None] - np.log(b)[None, :]).ravel())
    counts = u_null_counts(m, n)
    total = comb(m + n, m)
    k, cdf, achieved = 0, 0, None
    for u in range(m * n + 1):
        cdf += counts[u]
        if 2 * cdf / total > 1 - confidence:
            break
        k, achieved = u + 1, 1 - 2 * cdf / total
    # SciPy's exact p of a completely separated pair of samples is the smallest p: 2 / C(m+n, m).
    sep = stats.mannwhitneyu(np.arange(m) + 1000.0, np.arange(n), method="exact").pvalue
    assert abs(sep - min(1.0, 2 / total)) < 1e-12
    case = {"name": name, "a": floats(a), "b": floats(b), "confidence": confidence,
            "ratio": float(np.exp(np.median(d))), "min_p": float(min(1.0, 2 / total)), "k": k}
    if k > 0:
        case.update({"low": float(np.exp(d[k - 1])), "high": float(np.exp(d[m * n - k])),
                     "achieved": achieved})
    hl_cases.append(case)


hl_cases = []
hl_case("tiny_2v2", [1.0, 1.2], [1.1, 1.3])
hl_case("tiny_3v3", [1.0, 1.2, 1.4], [1.1, 1.3, 1.5])
for m, n in [(5, 5), (6, 4), (7, 7), (10, 10), (8, 12)]:
    hl_case(f"energy_{m}v{n}", energy_like(m, 120, 6), energy_like(n, 100, 6))
hl_case("energy_5v5_90", energy_like(5, 120, 6), energy_like(5, 100, 6), confidence=0.90)

out = {
    "generator": f"make_reference.py with scipy {scipy.__version__}, numpy {np.__version__}",
    "mannwhitneyu": mwu_cases,
    "wilcoxon": wilcoxon_cases,
    "shapiro": shapiro_cases,
    "spearman": spearman_cases,
    "multipletests": multiple_cases,
    "describe": describe_cases,
    "hodges_lehmann": hl_cases,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
with open(path, "w") as f:
    # One case per line: readable diffs without one line per number.
    f.write("{\n")
    keys = list(out)
    for i, key in enumerate(keys):
        value = out[key]
        f.write(f" {json.dumps(key)}: ")
        if isinstance(value, list):
            f.write("[\n" + ",\n".join("  " + json.dumps(c) for c in value) + "\n ]")
        else:
            f.write(json.dumps(value))
        f.write(",\n" if i + 1 < len(keys) else "\n")
    f.write("}\n")
assert json.load(open(path)) == json.loads(json.dumps(out))
print(f"wrote {path}: {len(mwu_cases)} Mann-Whitney, {len(wilcoxon_cases)} Wilcoxon, "
      f"{len(shapiro_cases)} Shapiro-Wilk, {len(spearman_cases)} Spearman, "
      f"{len(multiple_cases)} p-value families, {len(describe_cases)} descriptive, "
      f"{len(hl_cases)} Hodges-Lehmann")
