#!/usr/bin/env python3
"""Reference outputs of xoshiro256** seeded through splitmix64, for study_plan_test.cpp.

Written from the published algorithm (Blackman & Vigna), independently of the C++ code, so that
the test pins the order of a study's runs to the same values on every platform.
"""
M = (1 << 64) - 1


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


def generator(seed):
    state = seed

    def splitmix():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & M
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    s = [splitmix() for _ in range(4)]
    while True:
        result = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        yield result


def below(g, bound):
    """Uniform in [0, bound) by rejection, as StudyRng::below."""
    limit = M - M % bound
    while True:
        x = next(g)
        if x < limit:
            return x % bound


def default_order(seed):
    """Interleaved order of the default study with repetitions = 1 and warmup = 0."""
    configs = [f"{fw}-{model}-{phase}-r1"
               for model in ("ncf", "resnet50", "transformer_xl")
               for phase in ("train", "infer")
               for fw in ("pytorch", "tensorflow")]
    g = generator(seed)
    runs = list(configs)
    for i in range(len(runs), 1, -1):
        j = below(g, i)
        runs[i - 1], runs[j] = runs[j], runs[i - 1]
    # Move the first train run of each framework x model before its first infer run.
    for group in sorted({c.rsplit("-", 2)[0] for c in configs}):
        first_train = next(i for i, r in enumerate(runs) if r.startswith(group + "-train"))
        first_infer = next(i for i, r in enumerate(runs) if r.startswith(group + "-infer"))
        if first_train > first_infer:
            runs.insert(first_infer, runs.pop(first_train))
    return runs


if __name__ == "__main__":
    for seed in (1, 42):
        g = generator(seed)
        print(seed, [hex(next(g)) for _ in range(3)])
    print(default_order(1))
