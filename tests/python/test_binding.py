"""Tests of the Python binding (python/allot) against the runtime library of the build tree.

Environment (set by tests/python/CMakeLists.txt): ALLOT_LIBRARY (the library), PYTHONPATH (the
package), ALLOT_SOURCE_DIR (for models/ and allot.h), optional ALLOT_LAYOUT_TOOL (prints the C
struct layouts) and ALLOT_CLI (the `allot` tool, the reference for decisions).
"""

import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import unittest

import allot
from allot import _capi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq_fixture  # noqa: E402

SRC = os.environ.get("ALLOT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
def _is_sequential(path):
    with open(path) as f:
        return "sequential" in json.load(f)


ALL_MODELS = sorted(glob.glob(os.path.join(SRC, "models", "*.json")))
MODELS = [m for m in ALL_MODELS if not _is_sequential(m)]  # static policies
SEQ_MODELS = [m for m in ALL_MODELS if _is_sequential(m)]
XGB = os.path.join(SRC, "models", "default-xgboost.json")

WORDS = "apples pears eggs trains miles hours dollars boxes students pages litres".split()


def prompts(n):
    """n deterministic word problems of varied length and number content."""
    out = []
    for i in range(n):
        w = [WORDS[(i * 7 + j) % len(WORDS)] for j in range(3 + i % 9)]
        nums = " ".join(str((i * 37 + j * 11) % 997) for j in range(i % 5))
        out.append("Q%d: If %s cost %s, how many %s? %s" % (i, w[0], nums, " and ".join(w[1:]), "Explain." * (i % 3)))
    return out


def same(d):
    """A decision as a comparable value (NaN == NaN)."""
    return repr(d)


def records(n):
    return [
        {"id": "q%d" % i, "prompt": p, "features": {"n_steps_hint": (i * 5) % 9} if i % 4 else {}}
        for i, p in enumerate(prompts(n))
    ]


class Layout(unittest.TestCase):
    def test_ctypes_layouts_match_the_c_compiler(self):
        tool = os.environ.get("ALLOT_LAYOUT_TOOL")
        if not tool:
            self.skipTest("ALLOT_LAYOUT_TOOL not set")
        c = json.loads(subprocess.run([tool, "--layout"], check=True, capture_output=True, text=True).stdout)
        checked = 0
        for struct, cname in _capi.C_NAMES.items():
            self.assertEqual(c["sizes"][cname], _capi.ctypes.sizeof(struct), cname)
            for field, _ in struct._fields_:
                key = "%s.%s" % (cname, field.rstrip("_"))
                self.assertIn(key, c["offsets"], key)
                self.assertEqual(c["offsets"][key], getattr(struct, field).offset, key)
                checked += 1
        self.assertGreater(checked, 50)

    def test_version_is_the_headers(self):
        with open(os.path.join(SRC, "include", "allot", "allot.h")) as f:
            text = f.read()
        parts = [re.search(r"#define ALLOT_VERSION_%s (\d+)" % p, text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(allot.__version__, ".".join(parts))
        self.assertEqual(int(parts[0]), _capi.ABI_MAJOR)


class StaticPolicies(unittest.TestCase):
    def test_every_example_bundle(self):
        self.assertTrue(MODELS, "no bundle in models/")
        for path in MODELS:
            with self.subTest(bundle=os.path.basename(path)), allot.Policy(path) as p:
                self.assertFalse(p.is_sequential)
                self.assertGreater(len(p.tiers), 1)
                recs = records(40)
                single = [p.predict(r["prompt"], record=r, probabilities=True) for r in recs]
                batch = p.predict_batch([r["prompt"] for r in recs], records=recs, probabilities=True)
                self.assertEqual([same(d) for d in single], [same(d) for d in batch])
                for d in single:
                    self.assertEqual(d.tier_name, p.tiers[d.tier].name)
                    self.assertEqual(d.cost, p.tiers[d.tier].cost)
                    self.assertEqual(len(d.probabilities), len(p.tiers))
                    if p.target == "tier":
                        self.assertAlmostEqual(sum(d.probabilities), 1.0, places=5)
                        self.assertEqual(d.probability, d.probabilities[d.tier])
                    else:
                        self.assertTrue(math.isnan(d.expected_cost))
                # a large price buys the cheapest class
                cheapest = min(p.tiers[t].cost for t in p.classes)
                rule = "value" if p.target == "value" else "calibrated"
                for r in recs[:10]:
                    d = p.predict(r["prompt"], record=r, rule=rule, mu=1e6)
                    self.assertEqual(d.cost, cheapest)
                    self.assertEqual((d.rule, d.mu), (rule, 1e6))
                self.assertEqual(p.predict("x", rule="argmax").mu, 0.0)

    def test_extras_by_name_position_or_record(self):
        with allot.Policy(XGB) as p:
            self.assertEqual(p.extra_names, ["features.n_steps_hint"])
            q = "A train leaves at 3 pm at 60 miles per hour. When does it arrive 150 miles away?"
            a = p.predict(q, {"features.n_steps_hint": 4})
            self.assertEqual(a, p.predict(q, [4]))
            self.assertEqual(a, p.predict(q, record={"features": {"n_steps_hint": 4}}))
            self.assertEqual(a, p.predict(q, record='{"features": {"n_steps_hint": "4 steps"}}'))
            self.assertEqual(p.predict(q), p.predict(q, [None]))
            self.assertEqual(p.predict(q), p.predict(q, {}))
            self.assertEqual(p.extras_from_record({"features": {"n_steps_hint": True}}), [1.0])
            self.assertEqual(p.predict(q.encode()), p.predict(q))

    def test_errors(self):
        with self.assertRaises(allot.Error) as e:
            allot.Policy("/nonexistent/policy.json")
        self.assertEqual(e.exception.status, allot.E_IO)
        self.assertIn("/nonexistent/policy.json", str(e.exception))
        with self.assertRaises(allot.Error) as e:
            allot.Policy.from_bytes(b'{"format": "allot-policy", "version": 1, "tiers": [')
        self.assertEqual(e.exception.status, allot.E_PARSE)
        with self.assertRaises(allot.Error) as e:
            allot.Policy.from_bytes(b'{"format": "allot-policy", "version": 1, "tiers": []}')
        self.assertEqual(e.exception.status, allot.E_INVALID)
        self.assertIn("tiers", str(e.exception))
        with allot.Policy(XGB) as p:
            with self.assertRaises(ValueError):
                p.predict("x", [1, 2])
            with self.assertRaises(ValueError):
                p.predict("x", {"meta.level": 3})
            with self.assertRaises(ValueError):
                p.predict("x", rule="cheapest")
            with self.assertRaises(allot.Error) as e:
                p.predict("x", mu=math.inf)
            self.assertEqual(e.exception.status, allot.E_ARGUMENT)
            with self.assertRaises(TypeError):
                p.predict(42)
            with self.assertRaises(ValueError):
                p.step("x", [])
        p = allot.Policy(XGB)
        p.close()
        p.close()
        with self.assertRaises(ValueError):
            p.predict("x")

    def test_threads_share_one_policy(self):
        recs = records(200)
        with allot.Policy(XGB) as p:
            want = [same(p.predict(r["prompt"], record=r, probabilities=True)) for r in recs]
            got = [None] * 4

            def run(k):
                got[k] = [same(p.predict(r["prompt"], record=r, probabilities=True)) for r in recs]

            threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for k in range(4):
                self.assertEqual(got[k], want)

    def test_same_decisions_as_allot_predict(self):
        cli = os.environ.get("ALLOT_CLI")
        if not cli:
            self.skipTest("ALLOT_CLI not set (runtime-only build)")
        recs = records(300)
        with tempfile.TemporaryDirectory() as tmp:
            qpath = os.path.join(tmp, "queries.jsonl")
            with open(qpath, "w") as f:
                for r in recs:
                    f.write(json.dumps(r) + "\n")
            for path in MODELS:
                with self.subTest(bundle=os.path.basename(path)), allot.Policy(path) as p:
                    out = subprocess.run([cli, "predict", "--model", path, "--json", qpath], check=True,
                                         capture_output=True, text=True).stdout.splitlines()
                    self.assertEqual(len(out), len(recs))
                    for r, line in zip(recs, out):
                        ref = json.loads(line)
                        d = p.predict(r["prompt"], record=r)
                        self.assertEqual((ref["id"], ref["tier"]), (r["id"], d.tier_name))
                        self.assertEqual(ref.get("probability", ref.get("accuracy")), d.probability)


class SequentialBundles(unittest.TestCase):
    """The example sequential bundles of models/: the binding's steps equal `allot predict`'s."""

    def test_same_steps_as_allot_predict(self):
        cli = os.environ.get("ALLOT_CLI")
        if not cli or not SEQ_MODELS:
            self.skipTest("ALLOT_CLI not set (runtime-only build) or no sequential bundle in models/")
        for path in SEQ_MODELS:
            with allot.Policy(path) as p:
                ks = [s.k for s in p.stages]
                recs = []
                for i, r in enumerate(records(120)):
                    n = ks[i % len(ks)] if i % 7 else 0  # every stage, and no sample yet
                    r["samples"] = [{"answer": str((i * 3 + j * j) % (2 + i % 4))} for j in range(n)]
                    recs.append(r)
                with tempfile.TemporaryDirectory() as tmp:
                    qpath = os.path.join(tmp, "steps.jsonl")
                    with open(qpath, "w") as f:
                        for r in recs:
                            f.write(json.dumps(r) + "\n")
                    out = subprocess.run([cli, "predict", "--model", path, "--json", qpath], check=True,
                                         capture_output=True, text=True).stdout.splitlines()
                self.assertEqual(len(out), len(recs))
                for r, line in zip(recs, out):
                    ref = json.loads(line)
                    s = p.step(r["prompt"], [allot.Sample(x["answer"]) for x in r["samples"]], record=r)
                    self.assertEqual(ref["decision"] == "stop", s.stop, r["id"])
                    self.assertEqual(ref["stage_index"], s.stage, r["id"])
                    if ref["value_now"] is not None:
                        self.assertEqual(ref["value_now"], s.value_now, r["id"])


class Budget(unittest.TestCase):
    def test_defaults_and_one_update(self):
        b = allot.Budget(4.0, 0.25)
        self.assertEqual((b.gain, b.mu_min, b.mu_max, b.mu0), (0.05, 1e-6 / 4.0, 1e3 / 4.0, 0.25))
        self.assertAlmostEqual(b.mu, 0.25, places=15)
        b.observe(6.0)
        self.assertAlmostEqual(math.log(b.mu), math.log(0.25) + 0.05 * (6.0 - 4.0) / 4.0, places=12)
        s = b.state()
        self.assertEqual((s.target, s.spent, s.count, s.running_mean, s.overspend), (4.0, 6.0, 1, 6.0, 2.0))
        with self.assertRaises(ValueError):
            b.observe(-1)
        with self.assertRaises(ValueError):
            b.observe(math.nan)
        self.assertEqual(b.state().count, 1)
        b.reset(0.1)
        self.assertEqual(b.state().count, 0)
        self.assertAlmostEqual(b.mu, 0.1, places=15)
        self.assertAlmostEqual(allot.Budget(4.0, 0.0).mu, 0.025, places=15)  # an argmax bundle's price
        b.close()
        with self.assertRaises(allot.Error):
            allot.Budget(0.0)
        with self.assertRaises(allot.Error):
            allot.Budget(1.0, 1.0, gain=-1)

    def test_controller_keeps_a_policy_at_its_budget(self):
        recs = records(600)
        with allot.Policy(XGB) as p:
            target = 3.0
            b = allot.Budget.for_policy(p, target)
            for rep in range(5):
                for r in recs:
                    d = p.predict(r["prompt"], record=r, rule="calibrated", mu=b.mu)
                    b.observe(d.cost)
            s = b.state()
            self.assertEqual(s.count, 3000)
            self.assertLess(abs(s.running_mean - target) / target, 0.05, s)


class Sequential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        spec = {k: v for k, v in seq_fixture.ladder_spec().items() if k != "standardization"}
        ladder = allot.Ladder(spec)
        cls.n_state = len(ladder.state_names)
        cls.policy = allot.Policy.from_bytes(json.dumps(seq_fixture.bundle(cls.n_state)))

    @classmethod
    def tearDownClass(cls):
        cls.policy.close()

    def test_ladder(self):
        p = self.policy
        self.assertTrue(p.is_sequential)
        self.assertEqual([s.name for s in p.stages], seq_fixture.STAGES)
        self.assertEqual([s.k for s in p.stages], [1, 2, 4])
        self.assertEqual(p.models, [""])
        self.assertEqual((p.rule, p.mu), ("value", seq_fixture.LAMBDA))
        ladder = allot.Ladder({k: v for k, v in seq_fixture.ladder_spec().items() if k != "standardization"})
        self.assertGreater(len(ladder.state_names), 0)
        self.assertIn("seq.stage", ladder.state_names)
        with self.assertRaises(allot.Error) as e:
            allot.Ladder({"version": 1, "models": [""], "stages": [{"model": 0, "k": 2}, {"model": 0, "k": 2}]})
        self.assertIn("stages[1]", str(e.exception))

    def test_steps_follow_the_rule(self):
        p, S = self.policy, allot.Sample
        q = "What is 6 * 7?"
        s = p.step(q)
        self.assertEqual((s.stop, s.stage, s.next_stage, s.draw, s.answer_sample), (False, -1, 0, 1, -1))
        s = p.step(q, [S("42")])  # stage 0: stage 1's gain 2 * 0.9 - 1 beats lambda * 1
        self.assertEqual((s.stop, s.stage, s.next_stage, s.draw, s.target_stage), (False, 0, 1, 1, 1))
        self.assertEqual(s.value_now, seq_fixture.ACC_NOW)
        self.assertAlmostEqual(s.value_target, 2 * seq_fixture.OUT[1] - 1, places=12)
        self.assertEqual((s.lambda_, s.cost_spent), (seq_fixture.LAMBDA, 1.0))
        s = p.step(q, [S("42"), S("41", cost=1.5)])  # stage 1: stage 2's gain is negative
        self.assertEqual((s.stop, s.stage, s.draw, s.answer_sample, s.answer), (True, 1, 0, 0, "42"))
        self.assertEqual(s.cost_spent, 2.5)
        s = p.step(q, [S("40"), S("41"), S(b"41"), S(None)])  # the last stage always stops
        self.assertEqual((s.stop, s.stage, s.answer), (True, 2, "41"))
        s = p.step(q, [("42", math.nan, 1.0, "")])  # tuples, the model by name
        self.assertEqual((s.stop, s.next_stage), (False, 1))
        s = p.step(q, [S("42")], mu=1.0)  # a dearer price: stop at once
        self.assertEqual((s.stop, s.lambda_), (True, 1.0))
        feats = p.prompt_features(q)
        self.assertEqual(same(p.step(q, [S("42")], prompt_features=feats)), same(p.step(q, [S("42")])))
        with self.assertRaises(allot.Error) as e:
            p.step(q, [S("42"), S("41"), S("40")])  # 3 samples complete no stage
        self.assertEqual(e.exception.status, allot.E_INVALID)
        with self.assertRaises(allot.Error) as e:
            p.predict(q)
        self.assertEqual(e.exception.status, allot.E_ARGUMENT)


if __name__ == "__main__":
    unittest.main()
