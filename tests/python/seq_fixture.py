"""A small hand-made sequential policy bundle with known answers, for the binding and install tests.

Ladder majority@1,2,4 over one unnamed model; features: len_bytes only (no hashing). Each stage's
value model is a LIBLINEAR SVR whose only non-zero weight is its bias, so its output is a constant:
model 0 (accuracy of stopping now) = ACC_NOW, model t >= 1 = OUT[t], the predicted gain of
stopping at t instead being 2 * OUT[t] - 1. With tier costs COSTS and price LAMBDA,
allot_policy_step draws stage 1 after stage 0 (gain 0.8 - 0.1 * 1 > 0), then stops at stage 1
(stage 2's gain 2 * 0.3 - 1 < 0). Usage: python3 seq_fixture.py OUT.json
"""

import json
import sys

ACC_NOW = 0.625
OUT = {1: 0.9, 2: 0.3}
COSTS = [1.0, 2.0, 4.0]
LAMBDA = 0.1
STAGES = ["majority@1", "majority@2", "majority@4"]


def svr(constant):
    # nr_feature 1 (the first input), bias 1: weight 0 for it, `constant` for the bias node
    return "solver_type L2R_L2LOSS_SVR\nnr_class 2\nnr_feature 1\nbias 1\nw\n0\n%r\n" % constant


def bundle(n_state):
    """The bundle for a ladder with n_state state features (allot.Ladder(...).state_names)."""
    n_inputs = 1 + n_state  # len_bytes, then the state features
    return {
        "format": "allot-policy",
        "version": 2,
        "tiers": [{"name": n, "cost": c} for n, c in zip(STAGES, COSTS)],
        "features": {"version": 1, "builtin": ["len_bytes"], "extra": [], "hash": {"dim": 0}},
        "sequential": {
            "version": 1,
            "models": [""],
            "stages": [{"model": 0, "k": k, "rule": "majority"} for k in (1, 2, 4)],
            "standardization": {"center": [0.0] * n_inputs, "scale": [1.0] * n_inputs},
        },
        "classifier": {
            "kind": "liblinear",
            "target": "value",
            "input": "state",
            "classes": [0, 1, 2],
            "liblinear_per_tier": [svr(ACC_NOW), svr(OUT[1]), svr(OUT[2])],
        },
        "decision": {"rule": "value", "lambda": LAMBDA},
        "provenance": {"note": "hand-made test fixture (tests/python/seq_fixture.py)"},
    }


def ladder_spec():
    return bundle(0)["sequential"]


if __name__ == "__main__":
    import allot

    ladder = allot.Ladder({k: v for k, v in ladder_spec().items() if k != "standardization"})
    with open(sys.argv[1], "w") as f:
        json.dump(bundle(len(ladder.state_names)), f, indent=1)
