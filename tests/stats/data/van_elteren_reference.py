#!/usr/bin/env python3
"""Reference values for greenbench's van Elteren test (tests/stats/van_elteren_test.cpp).

SciPy has no van Elteren test, so this computes it independently of the C++ code, from the
permutation distribution of a linear rank statistic within each stratum: the score of a value is
its midrank / (N_k + 1); the statistic is the sum of a's scores over strata; under H0 each
stratum's scores are a random split, so E = n_k * mean(score) and Var = n_k m_k / (N_k (N_k - 1))
* sum((score - mean)^2) (the finite-population variance, which accounts for ties by itself).
Exact rational arithmetic up to the square root. Writes van_elteren.json beside this script:
    python3 tests/stats/data/van_elteren_reference.py
"""
import json
import math
import os
import random
from fractions import Fraction


def midranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [Fraction(0)] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = Fraction(i + j + 2, 2)
        i = j + 1
    return ranks


def van_elteren(strata):
    stat = expected = variance = Fraction(0)
    used = 0
    for a, b in strata:
        n, m = len(a), len(b)
        if n == 0 or m == 0:
            continue
        used += 1
        total = n + m
        scores = [r / (total + 1) for r in midranks(list(a) + list(b))]
        mean = sum(scores) / total
        stat += sum(scores[:n])
        expected += n * mean
        variance += Fraction(n * m, total * (total - 1)) * sum((s - mean) ** 2 for s in scores)
    if variance == 0:
        return {"strata": used, "statistic": float(stat), "z": None, "p_value": None}
    z = float(stat - expected) / math.sqrt(variance)
    return {"strata": used, "statistic": float(stat), "z": z,
            "p_value": math.erfc(abs(z) / math.sqrt(2))}


def main():
    rng = random.Random(13)
    cases = []
    # Hand-checkable: one stratum is Mann-Whitney's normal approximation without continuity
    # correction (a = [1, 2], b = [3, 4]: z = -2 / sqrt(5/3) = -1.5492).
    cases.append({"name": "one stratum", "strata": [[[1, 2], [3, 4]]]})
    cases.append({"name": "two equal strata", "strata": [[[1, 2], [3, 4]], [[1, 2], [3, 4]]]})
    # A node offset larger than the effect: pooled ranks would hide it, blocking does not.
    cases.append({"name": "node offset", "strata": [
        [[10.1, 10.3, 10.2, 10.4], [10.5, 10.6, 10.45, 10.7]],
        [[20.1, 20.0, 20.2], [20.3, 20.5, 20.25]]]})
    cases.append({"name": "ties and unequal sizes", "strata": [
        [[1, 1, 2, 3, 3], [2, 3, 4]],
        [[5, 5, 5], [5, 6, 6, 7]],
        [[9], [8, 9, 10]]]})
    cases.append({"name": "stratum with one side only", "strata": [
        [[1.0, 2.0, 3.0], [2.5, 3.5, 4.5]], [[7.0, 8.0], []]]})
    cases.append({"name": "constant", "strata": [[[1, 1], [1, 1]]]})
    strata = []
    for k in range(4):
        n, m = rng.randint(2, 7), rng.randint(2, 7)
        shift = rng.uniform(0, 50)
        strata.append([[round(shift + rng.gauss(0, 1), 3) for _ in range(n)],
                       [round(shift + 0.6 + rng.gauss(0, 1), 3) for _ in range(m)]])
    cases.append({"name": "random four strata", "strata": strata})
    for c in cases:
        c["expected"] = van_elteren(c["strata"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "van_elteren.json")
    with open(path, "w") as out:
        json.dump(cases, out, indent=1)
        out.write("\n")


if __name__ == "__main__":
    main()
