"""allot: per-query test-time compute decisions from a policy bundle (Python binding).

A ctypes binding over the allot runtime library (liballot.so.1): no compiler at use time, no NumPy.

    import allot
    with allot.Policy("models/default-xgboost.json") as policy:
        d = policy.predict("How many eggs ...?", {"features.n_steps_hint": 3})
        print(d.tier_name, d.cost)

Static decisions (Policy.predict, Policy.predict_batch), sequential ones (Policy.step over the
samples drawn so far), the budget controller (Budget). See docs/python.md.
"""

from ._core import (
    E_ARGUMENT,
    E_CHECK,
    E_INTERNAL,
    E_INVALID,
    E_IO,
    E_NOMEM,
    E_PARSE,
    E_UNSUPPORTED,
    OK,
    Budget,
    BudgetState,
    Decision,
    Error,
    Ladder,
    Policy,
    Sample,
    Stage,
    Step,
    Tier,
    library_path,
    version,
)

__version__ = version()

__all__ = [
    "Budget",
    "BudgetState",
    "Decision",
    "Error",
    "Ladder",
    "Policy",
    "Sample",
    "Stage",
    "Step",
    "Tier",
    "library_path",
    "version",
    "OK",
    "E_IO",
    "E_PARSE",
    "E_INVALID",
    "E_NOMEM",
    "E_UNSUPPORTED",
    "E_ARGUMENT",
    "E_CHECK",
    "E_INTERNAL",
]
