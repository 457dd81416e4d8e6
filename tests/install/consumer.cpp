// consumer.cpp - the C++ twin of consumer.c (same arguments, same output), built with
// find_package(allot) against an INSTALLED allot by tests/install/check_install.sh: the public
// headers must be valid C++ (-Wall -Wextra -pedantic -Werror) and the _INIT macros usable there.
#include <allot/allot.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

std::string unescape(const std::string &s) {
    std::string out;
    for (size_t r = 0; r < s.size(); r++) {
        if (s[r] == '\\' && r + 1 < s.size()) {
            char c = s[++r];
            out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            out += s[r];
        }
    }
    return out;
}

struct PolicyDeleter {
    void operator()(allot_policy *p) const { allot_policy_free(p); }
};
struct WorkspaceDeleter {
    void operator()(allot_workspace *w) const { allot_workspace_free(w); }
};

const char *const ANSWERS[3] = {"A0", "A1", "A2"};

bool run_query(const allot_policy *p, allot_workspace *ws, size_t i, bool seq, const std::string &id,
               const std::string &prompt, const std::string &record) {
    allot_error err;
    const allot_featurizer *f = allot_policy_featurizer(p);
    std::vector<double> extras(allot_featurizer_n_extra(f) + 1, NAN);
    if (allot_featurizer_extras_from_record(f, record.data(), record.size(), extras.data(), &err) !=
        ALLOT_OK) {
        std::fprintf(stderr, "%s: %s\n", id.c_str(), err.msg);
        return false;
    }
    allot_query_input q = ALLOT_QUERY_INPUT_INIT;
    q.prompt = prompt.data();
    q.prompt_len = prompt.size();
    q.n_extras = allot_featurizer_n_extra(f);
    q.extras = q.n_extras ? extras.data() : nullptr;
    if (!seq) {
        allot_predict_options opts = ALLOT_PREDICT_OPTIONS_INIT; // the bundle's rule and price
        allot_decision d;
        if (allot_policy_predict(p, ws, &q, &opts, nullptr, 0, &d, &err) != ALLOT_OK) {
            std::fprintf(stderr, "%s: %s\n", id.c_str(), err.msg);
            return false;
        }
        std::printf("%s\t%s\t%.17g\n", id.c_str(), allot_policy_tier_name(p, d.tier), d.probability);
        return true;
    }
    std::vector<allot_sample_view> samples;
    for (;;) {
        allot_seq_query sq = ALLOT_SEQ_QUERY_INIT;
        sq.query = q;
        sq.samples = samples.empty() ? nullptr : samples.data();
        sq.n_samples = samples.size();
        allot_step st = ALLOT_STEP_INIT;
        if (allot_policy_step(p, ws, &sq, nullptr, &st, &err) != ALLOT_OK) {
            std::fprintf(stderr, "%s: %s\n", id.c_str(), err.msg);
            return false;
        }
        if (st.stop) {
            std::printf("%s\t%ld\t%ld\t%zu\t%.17g\n", id.c_str(), st.stage, st.answer_sample, samples.size(),
                        st.cost_spent);
            return true;
        }
        if (samples.size() + st.draw > 4096) return false;
        for (size_t k = 0; k < st.draw; k++) {
            size_t n = samples.size();
            allot_sample_view s{};
            s.answer = ANSWERS[(i + n * n) % 3];
            s.answer_len = 2;
            s.score = NAN;
            s.cost = 1.0 + static_cast<double>((i + n) % 2) / 4;
            s.model = static_cast<uint32_t>(st.next_model);
            samples.push_back(s);
        }
    }
}

} // namespace

int main(int argc, char **argv) {
    bool seq = argc == 4 && std::string(argv[1]) == "--seq";
    if (argc != 3 && !seq) {
        std::fprintf(stderr, "usage: consumer [--seq] BUNDLE QUERIES.tsv\n");
        return 1;
    }
    allot_error err;
    allot_policy *raw = nullptr;
    if (allot_policy_load_file(argv[argc - 2], &raw, &err) != ALLOT_OK) {
        std::fprintf(stderr, "consumer: %s\n", err.msg);
        return 2;
    }
    std::unique_ptr<allot_policy, PolicyDeleter> policy(raw);
    allot_workspace *ws_raw = nullptr;
    if (allot_workspace_create(policy.get(), &ws_raw, &err) != ALLOT_OK) {
        std::fprintf(stderr, "consumer: %s\n", err.msg);
        return 2;
    }
    std::unique_ptr<allot_workspace, WorkspaceDeleter> ws(ws_raw);
    std::ifstream in(argv[argc - 1]);
    std::string line;
    for (size_t i = 0; std::getline(in, line); i++) {
        size_t t1 = line.find('\t'), t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
        if (t2 == std::string::npos) return 2;
        if (!run_query(policy.get(), ws.get(), i, seq, line.substr(0, t1),
                       unescape(line.substr(t1 + 1, t2 - t1 - 1)), unescape(line.substr(t2 + 1))))
            return 2;
    }
    return in.bad() ? 2 : 0;
}
