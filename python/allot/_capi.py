"""ctypes declarations of the allot runtime's C API (include/allot/*.h, ABI major 1).

Everything here mirrors the C headers: the struct layouts (checked against the C compiler's by
tests/python), the struct versions this binding writes, and the prototypes of the functions it
calls. No compiler is needed at use time: the library is opened with ctypes.
"""

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_long,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)

#: The ABI these declarations describe: the library must be liballot.so.1.
ABI_MAJOR = 1
#: Struct versions this binding writes (allot_policy.h, allot_budget.h, allot_sequential.h).
PREDICT_VERSION = 1
BUDGET_VERSION = 1
SEQ_VERSION = 1

ERROR_MSG_SIZE = 512


class Error(Structure):
    _fields_ = [("code", c_int), ("msg", c_char * ERROR_MSG_SIZE)]


class PredictOptions(Structure):
    _fields_ = [("version", c_uint), ("rule", c_int), ("mu", c_double)]


class QueryInput(Structure):
    _fields_ = [
        ("prompt", c_char_p),
        ("prompt_len", c_size_t),
        ("extras", POINTER(c_double)),
        ("n_extras", c_size_t),
        ("reserved", c_uint64 * 4),
    ]


class Decision(Structure):
    _fields_ = [
        ("tier", c_size_t),
        ("class_index", c_size_t),
        ("cost", c_double),
        ("expected_cost", c_double),
        ("probability", c_double),
        ("mu", c_double),
        ("rule", c_int),
        ("reserved", c_uint64 * 4),
    ]


class BudgetConfig(Structure):
    _fields_ = [
        ("version", c_uint),
        ("target", c_double),
        ("mu0", c_double),
        ("gain", c_double),
        ("mu_min", c_double),
        ("mu_max", c_double),
    ]


class BudgetState(Structure):
    _fields_ = [
        ("version", c_uint),
        ("target", c_double),
        ("mu", c_double),
        ("spent", c_double),
        ("count", c_uint64),
        ("running_mean", c_double),
        ("overspend", c_double),
    ]


class SampleView(Structure):
    _fields_ = [
        ("answer", c_char_p),
        ("answer_len", c_size_t),
        ("score", c_double),
        ("cost", c_double),
        ("model", c_uint32),
        ("reserved", c_uint32),
    ]


class StageInfo(Structure):
    _fields_ = [("model", c_size_t), ("k", c_size_t), ("rule", c_int), ("name", c_char_p), ("reserved", c_uint64 * 2)]


class StageSummary(Structure):
    _fields_ = [("stage", c_long), ("answer_sample", c_long), ("cost_spent", c_double), ("reserved", c_uint64 * 2)]


class SeqQuery(Structure):
    _fields_ = [
        ("version", c_uint),
        ("query", QueryInput),
        ("prompt_dense", POINTER(c_float)),
        ("samples", POINTER(SampleView)),
        ("n_samples", c_size_t),
    ]


class Step(Structure):
    _fields_ = [
        ("version", c_uint),
        ("stop", c_int),
        ("stage", c_long),
        ("next_stage", c_size_t),
        ("next_model", c_size_t),
        ("draw", c_size_t),
        ("answer_sample", c_long),
        ("value_now", c_double),
        ("value_target", c_double),
        ("target_stage", c_size_t),
        ("lambda_", c_double),
        ("cost_spent", c_double),
    ]


#: ctypes struct name -> C struct name (for the layout check of tests/python).
C_NAMES = {
    Error: "allot_error",
    PredictOptions: "allot_predict_options",
    QueryInput: "allot_query_input",
    Decision: "allot_decision",
    BudgetConfig: "allot_budget_config",
    BudgetState: "allot_budget_state",
    SampleView: "allot_sample_view",
    StageInfo: "allot_stage_info",
    StageSummary: "allot_stage_summary",
    SeqQuery: "allot_seq_query",
    Step: "allot_step",
}

_Policy = c_void_p
_Workspace = c_void_p
_Budget = c_void_p
_Featurizer = c_void_p
_Ladder = c_void_p
_status = c_int
_err = POINTER(Error)

# name: (restype, argtypes)
PROTOTYPES = {
    "allot_version_string": (c_char_p, []),
    "allot_version_number": (c_uint, []),
    "allot_status_string": (c_char_p, [c_int]),
    "allot_policy_load_file": (_status, [c_char_p, POINTER(_Policy), _err]),
    "allot_policy_load_memory": (_status, [c_char_p, c_size_t, POINTER(_Policy), _err]),
    "allot_policy_free": (None, [_Policy]),
    "allot_policy_n_tiers": (c_size_t, [_Policy]),
    "allot_policy_tier_name": (c_char_p, [_Policy, c_size_t]),
    "allot_policy_tier_cost": (c_double, [_Policy, c_size_t]),
    "allot_policy_n_classes": (c_size_t, [_Policy]),
    "allot_policy_class_tier": (c_long, [_Policy, c_size_t]),
    "allot_policy_classifier_kind": (c_int, [_Policy]),
    "allot_policy_rule": (c_int, [_Policy]),
    "allot_policy_mu": (c_double, [_Policy]),
    "allot_policy_target_kind": (c_int, [_Policy]),
    "allot_policy_featurizer": (_Featurizer, [_Policy]),
    "allot_policy_needs_workspace": (c_int, [_Policy]),
    "allot_workspace_create": (_status, [_Policy, POINTER(_Workspace), _err]),
    "allot_workspace_free": (None, [_Workspace]),
    "allot_policy_predict": (
        _status,
        [_Policy, _Workspace, POINTER(QueryInput), POINTER(PredictOptions), POINTER(c_double), c_size_t,
         POINTER(Decision), _err],
    ),
    "allot_policy_predict_batch": (
        _status,
        [_Policy, _Workspace, POINTER(QueryInput), c_size_t, POINTER(PredictOptions), POINTER(c_double),
         c_size_t, POINTER(Decision), _err],
    ),
    "allot_featurizer_n_extra": (c_size_t, [_Featurizer]),
    "allot_featurizer_extra_name": (c_char_p, [_Featurizer, c_size_t]),
    "allot_featurizer_n_dense": (c_size_t, [_Featurizer]),
    "allot_featurizer_extras_from_record": (_status, [_Featurizer, c_char_p, c_size_t, POINTER(c_double), _err]),
    "allot_budget_config_default": (_status, [POINTER(BudgetConfig), c_double, c_double]),
    "allot_budget_create": (_status, [POINTER(BudgetConfig), POINTER(_Budget), _err]),
    "allot_budget_free": (None, [_Budget]),
    "allot_budget_mu": (c_double, [_Budget]),
    "allot_budget_observe": (_status, [_Budget, c_double]),
    "allot_budget_get_state": (_status, [_Budget, POINTER(BudgetState)]),
    "allot_budget_reset": (None, [_Budget, c_double]),
    "allot_policy_is_sequential": (c_int, [_Policy]),
    "allot_policy_ladder": (_Ladder, [_Policy]),
    "allot_ladder_create": (_status, [c_char_p, c_size_t, POINTER(_Ladder), _err]),
    "allot_ladder_free": (None, [_Ladder]),
    "allot_ladder_n_stages": (c_size_t, [_Ladder]),
    "allot_ladder_n_models": (c_size_t, [_Ladder]),
    "allot_ladder_model_name": (c_char_p, [_Ladder, c_size_t]),
    "allot_ladder_stage": (_status, [_Ladder, c_size_t, POINTER(StageInfo), _err]),
    "allot_ladder_n_state": (c_size_t, [_Ladder]),
    "allot_ladder_state_name": (c_char_p, [_Ladder, c_size_t]),
    "allot_policy_prompt_features": (_status, [_Policy, POINTER(QueryInput), POINTER(c_float), c_size_t, _err]),
    "allot_policy_step": (
        _status,
        [_Policy, _Workspace, POINTER(SeqQuery), POINTER(PredictOptions), POINTER(Step), _err],
    ),
    "allot_policy_n_inputs": (c_size_t, [_Policy]),
}


def _candidates():
    """Where to look for the library, in order."""
    explicit = os.environ.get("ALLOT_LIBRARY")
    if explicit:
        return [explicit]
    found = []
    try:
        from . import _libpath  # written by `cmake --install` next to this file

        here = os.path.dirname(os.path.abspath(__file__))
        found.append(os.path.normpath(os.path.join(here, _libpath.LIBRARY_RELPATH)))
    except ImportError:
        pass
    found.append("liballot.so.%d" % ABI_MAJOR)  # the dynamic loader's search path
    return found


def load():
    """Open the runtime library and declare its functions; returns (ctypes.CDLL, path tried)."""
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append("%s: no such file" % path)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise ImportError("%s: %s is missing (not an allot %d.x runtime?)" % (path, name, ABI_MAJOR))
            fn.restype = restype
            fn.argtypes = argtypes
        major = lib.allot_version_number() // 10000
        if major != ABI_MAJOR:
            raise ImportError(
                "%s is allot %s; this binding needs ABI %d (liballot.so.%d)"
                % (path, lib.allot_version_string().decode(), ABI_MAJOR, ABI_MAJOR)
            )
        return lib, path
    raise ImportError(
        "cannot load the allot runtime library (set ALLOT_LIBRARY to liballot.so.%d's path): %s"
        % (ABI_MAJOR, "; ".join(errors))
    )
