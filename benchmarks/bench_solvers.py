"""Speed and optimality of the candidate-matching solvers on Europarl (en -> de, en -> es).

Alignments are computed once (and cached in --cache-dir); then, per language, the n-gram
candidates of every sentence are scored once and each solver is timed on solving alone
(``solve_*``) and on scoring + solving (``project``). The exact solver's objective is compared
with the CBC optimum (PuLP) on every sentence, and greedy's with both.

    python benchmarks/bench_solvers.py [--data DIR] [--cache-dir DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from silver_ner.builders.conll import check_parallel, read_conll
from silver_ner.leaderboard.projection_eval import make_aligner, peak_rss_mb
from silver_ner.projection.step import ProjectionStep
from silver_ner.projection.candidates import ngram_candidates, pruned_ngram_candidates, score_candidates
from silver_ner.projection.methods import get_spec
from silver_ner.projection.solvers import solution_value, solve_exact, solve_greedy, solve_ilp

from silver_ner.builders.gold import default_data_root  # $SILVER_NER_DATA or ../shared/data

HERE = Path(__file__).resolve().parent
DATA = default_data_root()


def cache_default() -> str:
    from silver_ner.projection.models import cache_root

    return os.path.join(cache_root(), "alignments")


def timed(fn, items, repeat):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = [fn(x) for x in items]
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA / "europarl_gold"))
    ap.add_argument("--cache-dir", default=cache_default())
    ap.add_argument("--method", default="tuned-exact", help="method whose links, layer and scoring parameters are used")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--langs", default="de,es")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_solvers.json"))
    args = ap.parse_args()

    spec = get_spec(args.method)
    params = {k: v for k, v in spec.params.items() if k in ("threshold", "max_len", "exclude_final", "weighted", "unlinked_cost")}
    en = read_conll(os.path.join(args.data, "en.conll"))
    aligner = make_aligner(None, spec.layer, spec.links[0], args.cache_dir, spec.token_type)
    report = {
        "method": spec.name,
        "links": "+".join(spec.links),
        "params": params,
        "aligner": aligner.identity,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "languages": {},
    }
    for lang in args.langs.split(","):
        tgt = read_conll(os.path.join(args.data, f"{lang}.conll"))
        check_parallel(en, tgt)
        pairs = [(a.tokens, b.tokens) for a, b in zip(en.sentences, tgt.sentences)]
        alignments = ProjectionStep(spec.name).align(aligner, pairs)
        sents = [(a.spans, b.tokens, al) for a, b, al in zip(en.sentences, tgt.sentences, alignments)]
        n = len(sents)

        def pruned(s):
            return pruned_ngram_candidates(s[0], s[1], s[2], **params)

        t_cand, rows = timed(pruned, sents, args.repeat)
        t_exact, exact = timed(solve_exact, rows, args.repeat)
        t_greedy, greedy = timed(solve_greedy, rows, args.repeat)
        t_proj_exact, _ = timed(lambda s: solve_exact(pruned(s)), sents, args.repeat)
        t_proj_greedy, _ = timed(lambda s: solve_greedy(pruned(s)), sents, args.repeat)
        full_params = {k: v for k, v in params.items() if k in ("max_len", "exclude_final")}
        score_params = {k: v for k, v in params.items() if k in ("threshold", "weighted", "unlinked_cost")}
        full_rows = [score_candidates(s[0], ngram_candidates(s[1], **full_params), s[2], len(s[1]), **score_params) for s in sents]
        t_ilp, ilp = timed(solve_ilp, full_rows, 1)
        t_exact_full, exact_full = timed(solve_exact, full_rows, 1)
        v_exact = [solution_value(x) for x in exact]
        v_ilp = [solution_value(x) for x in ilp]
        v_greedy = [solution_value(x) for x in greedy]
        with_entities = sum(1 for s in sents if s[0])
        res = {
            "sentences": n,
            "sentences_with_entities": with_entities,
            "entities": sum(len(s[0]) for s in sents),
            "pruned_candidates": sum(len(r) for row in rows for r in row),
            "full_candidates": sum(len(r) for row in full_rows for r in row),
            "exact_solve_sent_per_s": n / t_exact,
            "greedy_solve_sent_per_s": n / t_greedy,
            "ilp_solve_sent_per_s": n / t_ilp,
            "exact_on_full_candidates_sent_per_s": n / t_exact_full,
            "candidates_sent_per_s": n / t_cand,
            "exact_project_sent_per_s": n / t_proj_exact,
            "greedy_project_sent_per_s": n / t_proj_greedy,
            "exact_equals_ilp": sum(abs(a - b) <= 1e-6 for a, b in zip(v_exact, v_ilp)) / n,
            "exact_full_equals_ilp": sum(abs(solution_value(a) - b) <= 1e-6 for a, b in zip(exact_full, v_ilp)) / n,
            "greedy_equals_optimum": sum(abs(a - b) <= 1e-6 for a, b in zip(v_greedy, v_ilp)) / n,
            "greedy_equals_optimum_among_sentences_with_entities": sum(
                abs(a - b) <= 1e-6 for a, b, s in zip(v_greedy, v_ilp, sents) if s[0]
            ) / max(1, with_entities),
            "exact_same_choice_as_ilp": sum(a == b for a, b in zip(exact, ilp)) / n,
            "exact_speedup_over_ilp": t_ilp / t_exact,
        }
        report["languages"][lang] = res
        print(lang, json.dumps(res, indent=1), flush=True)
    report["peak_rss_mb"] = peak_rss_mb()
    report["load_average_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
