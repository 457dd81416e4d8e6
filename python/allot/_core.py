"""The Python face of the allot runtime: policies, sequential steps, the budget controller."""

import json
import math
import os
from ctypes import POINTER, byref, c_double, c_float, c_void_p, cast
from typing import NamedTuple, Optional, Tuple

from . import _capi

_lib, library_path = _capi.load()

OK, E_IO, E_PARSE, E_INVALID, E_NOMEM, E_UNSUPPORTED, E_ARGUMENT, E_CHECK, E_INTERNAL = range(9)

RULES = ("argmax", "calibrated", "value")
TARGETS = ("tier", "value")
CLASSIFIERS = ("xgboost", "liblinear", "constant")
STAGE_RULES = ("pass", "majority", "best", "vote")


class Error(Exception):
    """A failed allot call: `status` is the allot_status code, `status_name` its name, the message
    the library's (naming the file, line or field)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = _lib.allot_status_string(status).decode()


def _check(status, err):
    if status != OK:
        raise Error(status, err.msg.decode("utf-8", "replace"))


def _bytes(text, what):
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("utf-8")
    raise TypeError("%s must be str or bytes, not %s" % (what, type(text).__name__))


def _rule_code(rule):
    if rule is None:
        return -1
    if isinstance(rule, str):
        try:
            return RULES.index(rule)
        except ValueError:
            raise ValueError("rule must be one of %s, not %r" % (", ".join(RULES), rule)) from None
    return int(rule)


def _options(rule, mu):
    """allot_predict_options for a call, or None for the bundle's rule and price."""
    if rule is None and mu is None:
        return None
    return _capi.PredictOptions(
        version=_capi.PREDICT_VERSION, rule=_rule_code(rule), mu=math.nan if mu is None else float(mu)
    )


class Tier(NamedTuple):
    name: str
    cost: float


class Decision(NamedTuple):
    """One static decision (allot_decision)."""

    tier: int
    tier_name: str
    class_index: int
    cost: float
    expected_cost: float  # NaN for value policies
    probability: float  # value policies: the chosen tier's predicted accuracy
    mu: float
    rule: str
    probabilities: Optional[Tuple[float, ...]]  # per tier, when asked for


class Stage(NamedTuple):
    name: str
    model: int
    model_name: str
    k: int
    rule: str


class Sample(NamedTuple):
    """One sample drawn so far (allot_sample_view): its extracted answer (None: no answer), verifier
    score (NaN: none), cost, and the ladder model that produced it (index or name)."""

    answer: object = None
    score: float = math.nan
    cost: float = 1.0
    model: object = 0


class Step(NamedTuple):
    """One sequential decision (allot_step)."""

    stop: bool
    stage: int  # the stage the samples complete, -1 before any
    next_stage: int
    next_model: int
    next_model_name: str
    draw: int  # when not stopping: how many more samples of next_model
    answer_sample: int  # when stopping: index of a sample carrying the answer, -1 for none
    answer: object  # that sample's answer (None when there is none)
    value_now: float
    value_target: float
    target_stage: int
    lambda_: float
    cost_spent: float


class BudgetState(NamedTuple):
    target: float
    mu: float
    spent: float
    count: int
    running_mean: float
    overspend: float


def _stages(ladder):
    out = []
    err = _capi.Error()
    for i in range(_lib.allot_ladder_n_stages(ladder)):
        info = _capi.StageInfo()
        _check(_lib.allot_ladder_stage(ladder, i, byref(info), byref(err)), err)
        out.append(
            Stage(
                name=info.name.decode(),
                model=info.model,
                model_name=_lib.allot_ladder_model_name(ladder, info.model).decode(),
                k=info.k,
                rule=STAGE_RULES[info.rule] if 0 <= info.rule < len(STAGE_RULES) else str(info.rule),
            )
        )
    return out


class _Closing:
    """close() on leaving a with block and when collected (the C object is freed once)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if _lib is not None:
            self.close()


class Ladder(_Closing):
    """A stage ladder from its JSON spec (allot_ladder_create): stages, models, state features."""

    def __init__(self, spec):
        data = _bytes(json.dumps(spec) if isinstance(spec, dict) else spec, "spec")
        self._l = c_void_p()
        err = _capi.Error()
        _check(_lib.allot_ladder_create(data, len(data), byref(self._l), byref(err)), err)
        self.stages = _stages(self._l)
        self.models = [_lib.allot_ladder_model_name(self._l, m).decode() for m in range(_lib.allot_ladder_n_models(self._l))]
        self.state_names = [
            _lib.allot_ladder_state_name(self._l, i).decode() for i in range(_lib.allot_ladder_n_state(self._l))
        ]

    def close(self):
        if getattr(self, "_l", None):
            _lib.allot_ladder_free(self._l)
            self._l = None


class Policy(_Closing):
    """A loaded policy bundle (allot_policy): immutable, usable from any number of threads.

    Policy(path) or Policy.from_bytes(data). Each call takes a workspace from a pool (created on
    demand, one per concurrent caller), so calls never share scratch. close() (or `with`) releases
    the policy and its workspaces: no call may be running then.
    """

    def __init__(self, path):
        self._p = c_void_p()
        err = _capi.Error()
        _check(_lib.allot_policy_load_file(os.fsencode(path), byref(self._p), byref(err)), err)
        self._describe()

    @classmethod
    def from_bytes(cls, data):
        self = cls.__new__(cls)
        data = _bytes(data, "data")
        self._p = c_void_p()
        err = _capi.Error()
        _check(_lib.allot_policy_load_memory(data, len(data), byref(self._p), byref(err)), err)
        self._describe()
        return self

    def _describe(self):
        p = self._p
        self._pool = []
        self._workspaces = []
        self.tiers = [
            Tier(_lib.allot_policy_tier_name(p, i).decode(), _lib.allot_policy_tier_cost(p, i))
            for i in range(_lib.allot_policy_n_tiers(p))
        ]
        self.classes = [_lib.allot_policy_class_tier(p, c) for c in range(_lib.allot_policy_n_classes(p))]
        self.rule = RULES[_lib.allot_policy_rule(p)]
        self.mu = _lib.allot_policy_mu(p)
        self.target = TARGETS[_lib.allot_policy_target_kind(p)]
        self.classifier = CLASSIFIERS[_lib.allot_policy_classifier_kind(p)]
        self._feat = _lib.allot_policy_featurizer(p)
        self.extra_names = [
            _lib.allot_featurizer_extra_name(self._feat, i).decode()
            for i in range(_lib.allot_featurizer_n_extra(self._feat))
        ]
        self._extra_index = {name: i for i, name in enumerate(self.extra_names)}
        self._extras_type = c_double * max(len(self.extra_names), 1)
        self.n_dense = _lib.allot_featurizer_n_dense(self._feat)
        self.is_sequential = bool(_lib.allot_policy_is_sequential(p))
        ladder = _lib.allot_policy_ladder(p)
        self.stages = _stages(ladder) if ladder else []
        self.models = (
            [_lib.allot_ladder_model_name(ladder, m).decode() for m in range(_lib.allot_ladder_n_models(ladder))]
            if ladder
            else []
        )

    # ---- lifetime ----------------------------------------------------------------------------------

    def close(self):
        p = getattr(self, "_p", None)
        if p:
            for ws in self._workspaces:
                _lib.allot_workspace_free(ws)
            self._workspaces = []
            self._pool = []
            _lib.allot_policy_free(p)
            self._p = None


    def _take_workspace(self):
        try:
            return self._pool.pop()
        except IndexError:
            pass
        if not self._p:
            raise ValueError("the policy is closed")
        ws = c_void_p()
        err = _capi.Error()
        _check(_lib.allot_workspace_create(self._p, byref(ws), byref(err)), err)
        self._workspaces.append(ws)
        return ws

    # ---- inputs ------------------------------------------------------------------------------------

    def extras_from_record(self, record):
        """The extra features of a labelled-runs record (a dict or its JSON text), as the C
        allot_featurizer_extras_from_record() reads them: a list of floats, NaN = missing."""
        arr = self._record_extras(record)
        return list(arr) if arr is not None else []

    def _record_extras(self, record):
        n = len(self.extra_names)
        data = _bytes(json.dumps(record) if isinstance(record, dict) else record, "record")
        arr = self._extras_type()
        err = _capi.Error()
        _check(_lib.allot_featurizer_extras_from_record(self._feat, data, len(data), arr, byref(err)), err)
        return arr if n else None

    def _extras(self, extras, record):
        """A ctypes array of the extra features (or None: all missing)."""
        n = len(self.extra_names)
        if record is not None:
            if extras is not None:
                raise ValueError("give extras or record, not both")
            return self._record_extras(record)
        if extras is None or n == 0:
            if extras:
                raise ValueError("this policy has no extra features")
            return None
        if not hasattr(extras, "items"):
            if len(extras) == n:
                try:
                    return self._extras_type(*extras)  # the fast path: n numbers
                except TypeError:
                    pass  # None among them: below
        if hasattr(extras, "items"):
            values = [math.nan] * n
            for name, v in extras.items():
                i = self._extra_index.get(name)
                if i is None:
                    raise ValueError("unknown extra feature %r (this policy's: %s)" % (name, ", ".join(self.extra_names)))
                values[i] = math.nan if v is None else float(v)
        else:
            values = [math.nan if v is None else float(v) for v in extras]
            if len(values) != n:
                raise ValueError("%d extra features given, the policy has %d (%s)" % (len(values), n, ", ".join(self.extra_names)))
        return self._extras_type(*values)

    def _query(self, prompt, extras, record):
        data = _bytes(prompt, "prompt")
        arr = self._extras(extras, record)
        if arr is None:
            return _capi.QueryInput(data, len(data)), None
        return _capi.QueryInput(data, len(data), arr, len(self.extra_names)), arr

    def _decision(self, d, probs):
        rule = d.rule
        return Decision(
            d.tier,
            self.tiers[d.tier].name,
            d.class_index,
            d.cost,
            d.expected_cost,
            d.probability,
            d.mu,
            RULES[rule] if 0 <= rule < 3 else str(rule),
            tuple(probs) if probs is not None else None,
        )

    # ---- static decisions --------------------------------------------------------------------------

    def predict(self, prompt, extras=None, *, record=None, rule=None, mu=None, probabilities=False):
        """Decide one query's tier (allot_policy_predict).

        prompt: str or bytes. extras: None (all missing), a dict name -> value (see extra_names;
        absent or None = missing) or a sequence in extra_names order; or record: a labelled-runs
        record (dict or JSON) whose `features` / `meta` supply them. rule ('argmax', 'calibrated',
        'value') and mu (the price) override the bundle's. probabilities: also return p(tier|x)
        (value policies: the predicted accuracies) for every tier.
        """
        q, keep = self._query(prompt, extras, record)
        opts = _options(rule, mu)
        n = len(self.tiers)
        probs = (c_double * n)() if probabilities else None
        d = _capi.Decision()
        err = _capi.Error()
        ws = self._take_workspace()
        try:
            st = _lib.allot_policy_predict(
                self._p, ws, byref(q), byref(opts) if opts else None, probs, n if probabilities else 0, byref(d), byref(err)
            )
        finally:
            self._pool.append(ws)
        _check(st, err)
        del keep
        return self._decision(d, probs)

    def predict_batch(self, prompts, extras=None, *, records=None, rule=None, mu=None, probabilities=False):
        """Decide many queries in one call (allot_policy_predict_batch): prompts is a sequence;
        extras / records, when given, a sequence of the same length (one item per query, as
        predict() takes them). Returns a list of Decision."""
        prompts = list(prompts)
        n = len(prompts)
        if n == 0:
            return []
        if extras is not None and len(extras) != n or records is not None and len(records) != n:
            raise ValueError("extras / records must have one item per prompt")
        queries = (_capi.QueryInput * n)()
        keep = []
        for i, prompt in enumerate(prompts):
            q, arr = self._query(
                prompt, extras[i] if extras is not None else None, records[i] if records is not None else None
            )
            queries[i] = q
            keep.append((q, arr))
        opts = _options(rule, mu)
        nt = len(self.tiers)
        probs = (c_double * (n * nt))() if probabilities else None
        out = (_capi.Decision * n)()
        err = _capi.Error()
        ws = self._take_workspace()
        try:
            st = _lib.allot_policy_predict_batch(
                self._p, ws, queries, n, byref(opts) if opts else None, probs, n * nt if probabilities else 0, out, byref(err)
            )
        finally:
            self._pool.append(ws)
        _check(st, err)
        del keep
        return [self._decision(out[i], probs[i * nt : (i + 1) * nt] if probabilities else None) for i in range(n)]

    # ---- sequential decisions ----------------------------------------------------------------------

    def prompt_features(self, prompt, extras=None, *, record=None):
        """The prompt's dense features (allot_policy_prompt_features), to pass to every step() of that
        query as prompt_features= instead of featurising the prompt again at each stage."""
        q, keep = self._query(prompt, extras, record)
        out = (c_float * max(self.n_dense, 1))()
        err = _capi.Error()
        _check(_lib.allot_policy_prompt_features(self._p, byref(q), out, self.n_dense, byref(err)), err)
        del keep
        return out

    def _model_index(self, model):
        if isinstance(model, str):
            try:
                return self.models.index(model)
            except ValueError:
                raise ValueError("unknown model %r (the ladder's: %s)" % (model, ", ".join(self.models))) from None
        return int(model)

    def step(self, prompt, samples=(), extras=None, *, record=None, mu=None, prompt_features=None):
        """One stop-or-draw decision of a sequential policy (allot_policy_step) given the samples
        drawn so far (Sample or (answer, score, cost, model) tuples, in the order drawn). mu: a
        per-call price (e.g. a Budget's) instead of the bundle's lambda."""
        if not self.is_sequential:
            raise ValueError("not a sequential policy (use predict)")
        samples = [s if isinstance(s, Sample) else Sample(*s) for s in samples]
        q, keep = self._query(prompt, extras, record)
        n = len(samples)
        views = (_capi.SampleView * max(n, 1))()
        answers = []
        for i, s in enumerate(samples):
            a = None if s.answer is None else _bytes(s.answer, "answer")
            answers.append(a)
            views[i].answer = a
            views[i].answer_len = len(a) if a is not None else 0
            views[i].score = math.nan if s.score is None else float(s.score)
            views[i].cost = float(s.cost)
            views[i].model = self._model_index(s.model)
        sq = _capi.SeqQuery(version=_capi.SEQ_VERSION, query=q, samples=views if n else None, n_samples=n)
        if prompt_features is not None:
            sq.prompt_dense = cast(prompt_features, POINTER(c_float))
        opts = _options(None, mu)
        out = _capi.Step(version=_capi.SEQ_VERSION)
        err = _capi.Error()
        ws = self._take_workspace()
        try:
            st = _lib.allot_policy_step(self._p, ws, byref(sq), byref(opts) if opts else None, byref(out), byref(err))
        finally:
            self._pool.append(ws)
        _check(st, err)
        del keep
        answer = None
        if out.stop and 0 <= out.answer_sample < n:
            answer = samples[out.answer_sample].answer
        return Step(
            stop=bool(out.stop),
            stage=out.stage,
            next_stage=out.next_stage,
            next_model=out.next_model,
            next_model_name=self.models[out.next_model] if out.next_model < len(self.models) else "",
            draw=out.draw,
            answer_sample=out.answer_sample,
            answer=answer,
            value_now=out.value_now,
            value_target=out.value_target,
            target_stage=out.target_stage,
            lambda_=out.lambda_,
            cost_spent=out.cost_spent,
        )


class Budget(_Closing):
    """The online budget controller (allot_budget.h): keeps the running mean of the observed costs at
    `target` by moving the price mu. Thread-safe: mu and observe are lock-free in C.

    Per request: d = policy.predict(prompt, rule='calibrated' (or 'value'), mu=budget.mu); serve;
    budget.observe(cost actually spent).
    """

    def __init__(self, target, mu0=0.0, *, gain=None, mu_min=None, mu_max=None):
        cfg = _capi.BudgetConfig(version=_capi.BUDGET_VERSION)
        st = _lib.allot_budget_config_default(byref(cfg), float(target), float(mu0))
        if st != OK:
            raise Error(st, "allot_budget_config_default failed")
        for name, v in (("gain", gain), ("mu_min", mu_min), ("mu_max", mu_max)):
            if v is not None:
                setattr(cfg, name, float(v))
        if mu_min is not None or mu_max is not None:
            cfg.mu0 = min(max(cfg.mu0, cfg.mu_min), cfg.mu_max)
        self._b = c_void_p()
        err = _capi.Error()
        _check(_lib.allot_budget_create(byref(cfg), byref(self._b), byref(err)), err)
        self.target, self.mu0, self.gain, self.mu_min, self.mu_max = cfg.target, cfg.mu0, cfg.gain, cfg.mu_min, cfg.mu_max

    @classmethod
    def for_policy(cls, policy, target, **kw):
        """A controller starting at the policy's own price."""
        return cls(target, policy.mu, **kw)

    @property
    def mu(self):
        """The current price."""
        return _lib.allot_budget_mu(self._b)

    def observe(self, cost):
        """Record the cost spent on one query (finite, >= 0) and update mu."""
        if _lib.allot_budget_observe(self._b, float(cost)) != OK:
            raise ValueError("cost must be finite and >= 0 (is %r)" % (cost,))

    def state(self):
        s = _capi.BudgetState(version=_capi.BUDGET_VERSION)
        st = _lib.allot_budget_get_state(self._b, byref(s))
        if st != OK:
            raise Error(st, "allot_budget_get_state failed")
        return BudgetState(s.target, s.mu, s.spent, s.count, s.running_mean, s.overspend)

    def reset(self, mu0):
        """Forget the observations and restart from mu0 (not concurrent-safe)."""
        _lib.allot_budget_reset(self._b, float(mu0))

    def close(self):
        if getattr(self, "_b", None):
            _lib.allot_budget_free(self._b)
            self._b = None


def version():
    """The linked library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.allot_version_string().decode()
