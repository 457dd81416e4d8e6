"""consumer.py - the Python twin of consumer.c (same arguments, same output), run against an
INSTALLED allot by tests/install/check_install.sh: `import allot` must find the package and, through
it, the installed liballot.so.1, with no ALLOT_LIBRARY and no LD_LIBRARY_PATH.

    python3 consumer.py [--seq] BUNDLE QUERIES.tsv
"""

import sys

import allot

ANSWERS = ("A0", "A1", "A2")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            i += 1
            out.append({"t": "\t", "n": "\n", "r": "\r"}.get(s[i], s[i]))
        else:
            out.append(s[i])
        i += 1
    return "".join(out)


def main(argv):
    seq = len(argv) == 4 and argv[1] == "--seq"
    if len(argv) != 3 and not seq:
        print("usage: consumer.py [--seq] BUNDLE QUERIES.tsv", file=sys.stderr)
        return 1
    print("consumer.py: allot %s from %s" % (allot.__version__, allot.library_path), file=sys.stderr)
    with allot.Policy(argv[-2]) as policy, open(argv[-1], encoding="utf-8", newline="\n") as f:
        for i, line in enumerate(f):
            qid, prompt, record = line.rstrip("\n").split("\t")
            prompt, record = unescape(prompt).encode("utf-8"), unescape(record)
            if not seq:
                d = policy.predict(prompt, record=record)
                print("%s\t%s\t%.17g" % (qid, d.tier_name, d.probability))
                continue
            samples = []
            feats = policy.prompt_features(prompt, record=record)
            while True:
                step = policy.step(prompt, samples, record=record, prompt_features=feats)
                if step.stop:
                    print("%s\t%d\t%d\t%d\t%.17g" % (qid, step.stage, step.answer_sample, len(samples), step.cost_spent))
                    break
                for _ in range(step.draw):
                    n = len(samples)
                    samples.append(allot.Sample(ANSWERS[(i + n * n) % 3], cost=1.0 + ((i + n) % 2) / 4, model=step.next_model))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
