"""Accuracy: estimate error and 95% interval coverage against known truths.

Each case returns (data, treatment, outcome, true effect, target) for a seed. The cases
mix designs where adjusting for everything is right (DoWhy's linear generator, IHDP) with
designs where it is wrong (a mediator, a collider, a leaked copy of the outcome), which is
where the assistant's graph proposal earns its keep.
"""

import numpy as np
import pandas as pd

from bench.common import assistant_estimate, plain_dowhy_estimate, score, table

IHDP_NAMES = [
    "bw",
    "b.head",
    "preterm",
    "birth.o",
    "nnhealth",
    "momage",
    "sex",
    "twin",
    "b.marr",
    "mom.lths",
    "mom.hs",
    "mom.scoll",
    "cig",
    "first",
    "booze",
    "drugs",
    "work.dur",
    "prenatal",
    "site1",
    "site2",
    "site3",
    "site4",
    "site5",
    "site6",
    "site7",
]


def dowhy_linear(binary: bool):
    def case(seed: int):
        import dowhy.datasets

        np.random.seed(seed)
        spec = dowhy.datasets.linear_dataset(
            beta=10, num_common_causes=5, num_samples=3000, treatment_is_binary=binary
        )
        return spec["df"], spec["treatment_name"][0], spec["outcome_name"], 10.0, "ate"

    return case


def ihdp(surface: str):
    def case(seed: int):
        from econml.data import dgps

        generate = dgps.ihdp_surface_A if surface == "A" else dgps.ihdp_surface_B
        y, t, x, true_te = generate(random_state=seed)
        df = pd.DataFrame(x[:, 1:], columns=IHDP_NAMES)
        df["treat"], df["iq"] = t.astype(int), y
        if surface == "A":
            return df, "treat", "iq", float(true_te.mean()), "ate"
        return df, "treat", "iq", float(true_te[t == 1].mean()), "att"

    return case


def post_treatment(seed: int):
    """Confounder w; mediator m; collider c; a noisy copy of the outcome. Total effect 2."""
    rng = np.random.default_rng(seed)
    n = 3000
    w = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-w))).astype(int)
    m = 1.0 * t + rng.normal(size=n)
    y = 1.0 * t + 1.0 * m + 1.5 * w + rng.normal(size=n)
    c = t + y + rng.normal(size=n)
    leak = y + rng.normal(scale=0.1, size=n)
    df = pd.DataFrame(
        {
            "baseline_w": w,
            "treat": t,
            "mediator_after": m,
            "followup_collider": c,
            "outcome_copy": leak,
            "y": y,
        }
    )
    return df, "treat", "y", 2.0, "ate"


CASES = {
    "DoWhy linear, continuous T": dowhy_linear(False),
    "DoWhy linear, binary T": dowhy_linear(True),
    "IHDP surface A (ATE)": ihdp("A"),
    "IHDP surface B (ATT)": ihdp("B"),
    "mediator + collider + leak": post_treatment,
}


def run(seeds: int = 5) -> str:
    rows = []
    for name, case in CASES.items():
        draws = [case(seed) for seed in range(1, seeds + 1)]
        truths = [truth for *_, truth, _ in draws]
        ours = [assistant_estimate(df, t, y, target) for df, t, y, _, target in draws]
        plain = [plain_dowhy_estimate(df, t, y) for df, t, y, _, _ in draws]
        for who, estimates in (("assistant", ours), ("plain DoWhy", plain)):
            rows.append({"data": name, "analysis": who, "seeds": seeds, **score(estimates, truths)})
    return table(rows, "Accuracy: absolute error and 95% interval coverage")


if __name__ == "__main__":
    print(run())
