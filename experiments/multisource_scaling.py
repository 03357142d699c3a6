"""Multi-source scaling: F1 of projected gold entities against the number of source languages.

For every target language T among the given sentence-parallel gold files, the gold entities
of every non-empty subset of the other languages are projected onto T (one projection per
source, the method's own links) and combined, then scored against T's gold (entity level,
exact span, all classes). More ``--lang`` files extend the curve.

Combination rules:

* ``vote``: :func:`combine` (most votes, then summed score; ``min_votes=1``).
* ``vote-all``: only spans every source of the subset proposes (``min_votes=k``).
* ``best-source``: the single source whose F1 is highest on the tuning half (a baseline that
  uses the same held-out information as the weighted rules).
* ``weighted``: :func:`combine_weighted`, each source weighted by its single-source F1 on the
  tuning half, threshold chosen on the tuning half.
* ``weighted-score``: the same with each vote multiplied by the span's projection score.
* ``nested-vote``: :func:`narrow_to_nested` first (a span containing a same-label span of
  another source becomes that inner span), then :func:`combine`; nothing fitted.
* ``nested-weighted``: ``weighted`` on the narrowed spans.
* ``selected``: whichever of the cross-fitted rules and ``nested-vote`` scores best on the
  fitting half.

Rules with fitted choices are cross-fitted: fitted on the first half of the sentences and
applied to the second, and the other way round; their F1 pools both held-out halves, so no
figure is tuned on its own test sentences.

    python experiments/multisource_scaling.py --lang en=PATH --lang de=PATH --lang es=PATH
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time

from silver_ner.builders.conll import check_parallel, read_conll
from silver_ner.leaderboard.projection_eval import make_aligner, peak_rss_mb
from silver_ner.projection.metrics import span_scores
from silver_ner.projection.multisource import combine, combine_weighted, narrow_to_nested
from silver_ner.projection.step import LabelledSource, ProjectionItem, ProjectionStep

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "multisource_scaling")
WEIGHTED = {  # rule -> (use_scores, on spans narrowed to nested spans)
    "weighted": (False, False),
    "weighted-score": (True, False),
    "nested-weighted": (False, True),
}
CROSS_FITTED = ["best-source", *WEIGHTED, "selected"]
RULES = ["vote", "vote-all", "nested-vote", *CROSS_FITTED]
THRESHOLDS = [i / 40 for i in range(0, 121)]  # 0 .. 3 in steps of 0.025


def default_cache() -> str:
    from silver_ner.projection.models import cache_root

    return os.path.join(cache_root(), "alignments")


def parse_lang(item: str) -> tuple[str, str]:
    code, sep, path = item.partition("=")
    if not sep or not code.strip() or not path.strip():
        raise SystemExit(f"--lang expects CODE=PATH, got {item!r}")
    return code.strip(), path.strip()


def f1(gold, pred, idx) -> float:
    return span_scores([gold[i] for i in idx], [pred[i] for i in idx])["f1"]


def project_all(files: dict, method: str | None, cache_dir: str) -> tuple[dict, dict]:
    """``proj[(s, t)][i]``: ProjectionResult of sentence i from language s onto t; timings."""
    step = ProjectionStep(method)
    aligner = make_aligner(None, step.layer, step.links[0], cache_dir, step.token_type)
    proj, info = {}, {}
    for s, t in itertools.permutations(files, 2):
        src, tgt = files[s], files[t]
        pairs = [(a.tokens, b.tokens) for a, b in zip(src.sentences, tgt.sentences)]
        t0 = time.perf_counter()
        aligner.stats = {k: 0 for k in aligner.stats}
        links = step.align(aligner, pairs)
        info[f"{s}->{t}"] = {"align_seconds": round(time.perf_counter() - t0, 1), "cached_pairs": aligner.stats["cached"]}
        items = [ProjectionItem.of(b.tokens, [LabelledSource.of(a.tokens, a.spans)]) for a, b in zip(src.sentences, tgt.sentences)]
        proj[(s, t)] = [p.per_source[0] for p in step.project(items, [[al] for al in links])]
        print(f"aligned and projected {s} -> {t}: {info[f'{s}->{t}']}", flush=True)
    info["aligner"] = getattr(aligner, "identity", type(aligner).__name__)
    info["method"] = step.name
    return proj, info


def fit_weighted(gold, per_source, weights, idx, use_scores) -> tuple[float, float]:
    """The threshold with the best F1 on sentences ``idx`` (the lowest among equals), and that F1."""
    best, best_f1 = 0.0, -1.0
    for th in THRESHOLDS:
        if th > sum(weights) + 1e-9:
            break
        pred = {i: combine_weighted([p[i] for p in per_source], weights, threshold=th, use_scores=use_scores).spans for i in idx}
        score = f1(gold, pred, idx)
        if score > best_f1 + 1e-12:
            best, best_f1 = th, score
    return best, best_f1


def scored(gold, pred, **extra) -> dict:
    s = span_scores(gold, pred)
    return {"f1": s["f1"], "precision": s["precision"], "recall": s["recall"], **extra}


def evaluate_subset(gold, per_source, halves) -> dict:
    n = len(gold)
    every = range(n)
    k = len(per_source)
    narrowed = [narrow_to_nested([p[i] for p in per_source]) for i in every]  # narrowed[i][source]
    nested_sources = [[narrowed[i][j] for i in every] for j in range(k)]
    row = {}
    vote = [combine([p[i] for p in per_source]).spans for i in every]
    row["vote"] = scored(gold, vote, halves=[f1(gold, vote, h) for h in halves])
    # headroom: gold entities that at least one source of the subset projects exactly
    reachable = sum(len(set(gold[i]) & {sp for p in per_source for sp in p[i].spans}) for i in every)
    row["gold_reachable"] = reachable / max(1, sum(len(g) for g in gold))
    if k > 1:
        row["vote-all"] = scored(gold, [combine([p[i] for p in per_source], min_votes=k).spans for i in every])
        nested = [combine(narrowed[i]).spans for i in every]
        row["nested-vote"] = scored(gold, nested, halves=[f1(gold, nested, h) for h in halves])
    # cross-fitted rules: fit on one half, predict the other, score the pooled predictions
    single = [[p[i].spans for i in every] for p in per_source]
    pooled = {r: [None] * n for r in CROSS_FITTED}
    fitted = {r: [] for r in pooled}
    for fit_idx, test_idx in ((halves[0], halves[1]), (halves[1], halves[0])):
        weights = [f1(gold, sp, fit_idx) for sp in single]
        best = max(range(k), key=lambda j: (weights[j], -j))
        fitted["best-source"].append(best)
        preds = {"best-source": lambda i: single[best][i], "nested-vote": lambda i: combine(narrowed[i]).spans}
        fit_f1 = {"best-source": weights[best], "nested-vote": f1(gold, {i: preds["nested-vote"](i) for i in fit_idx}, fit_idx)}
        for rule, (use_scores, on_nested) in WEIGHTED.items():
            sources = nested_sources if on_nested else per_source
            th, fit_f1[rule] = fit_weighted(gold, sources, weights, fit_idx, use_scores)
            fitted[rule].append({"weights": [round(w, 4) for w in weights], "threshold": th})
            preds[rule] = lambda i, sources=sources, th=th, use_scores=use_scores: combine_weighted(
                [p[i] for p in sources], weights, threshold=th, use_scores=use_scores
            ).spans
        if k == 1:  # nothing to select among: one source
            fit_f1["nested-vote"] = -1.0
        chosen = max(fit_f1, key=lambda r: (fit_f1[r], -list(fit_f1).index(r)))
        fitted["selected"].append(chosen)
        preds["selected"] = preds[chosen]
        for rule in pooled:
            for i in test_idx:
                pooled[rule][i] = preds[rule](i)
    for rule, pred in pooled.items():
        row[rule] = scored(gold, pred, fitted=fitted[rule])
    return row


def run(langs: dict[str, str], method: str | None, cache_dir: str) -> dict:
    t0 = time.perf_counter()
    files = {code: read_conll(path) for code, path in langs.items()}
    first = next(iter(files.values()))
    for f in files.values():
        check_parallel(f, first)
    n = len(first)
    halves = [list(range(0, n // 2)), list(range(n // 2, n))]
    proj, info = project_all(files, method, cache_dir)
    rows = []
    for t in files:
        gold = [s.spans for s in files[t].sentences]
        others = [s for s in files if s != t]
        for k in range(1, len(others) + 1):
            for subset in itertools.combinations(others, k):
                row = {"target": t, "sources": list(subset), "k": k}
                row.update(evaluate_subset(gold, [proj[(s, t)] for s in subset], halves))
                rows.append(row)
                print(f"{t} <- {'+'.join(subset)}: vote F1 {row['vote']['f1']:.4f}", flush=True)
    rules = RULES
    means = []
    for t in files:
        for k in sorted({r["k"] for r in rows if r["target"] == t}):
            sel = [r for r in rows if r["target"] == t and r["k"] == k]
            means.append(
                {"target": t, "k": k, "subsets": len(sel)}
                | {rule: statistics.mean(r[rule]["f1"] for r in sel) for rule in rules if rule in sel[0]}
            )
    return {
        "command": "python experiments/multisource_scaling.py " + " ".join(f"--lang {c}={p}" for c, p in langs.items()),
        "langs": langs,
        "sentences": n,
        "halves": [[h[0], h[-1] + 1] for h in halves],
        "gold_entities": {c: sum(len(s.spans) for s in f.sentences) for c, f in files.items()},
        **info,
        "rows": rows,
        "means": means,
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def fmt(x) -> str:
    return "" if x is None else f"{x:.3f}"


def markdown(res: dict) -> str:
    out = [
        "# Multi-source scaling",
        "",
        f"`{res['command']}`",
        "",
        f"Method `{res['method']}`, aligner `{res['aligner']}`, {res['sentences']} sentences. Entity-level "
        "exact-span micro F1 over all classes. `vote` P / R in brackets; halves: first / second half. "
        f"{', '.join(f'`{r}`' for r in CROSS_FITTED)} are cross-fitted (fitted on one half, "
        "scored on the other, both held-out halves pooled); `selected` is the rule chosen on the fitting half "
        "(the choice per fold in the last column). `gold reachable`: share of the target's gold "
        "entities that at least one source of the subset projects exactly (the recall no combination "
        "rule can exceed).",
        "",
        "| target | sources | k | vote (P / R) | vote halves | " + " | ".join(RULES[1:]) + " | gold reachable | selected per fold |",
        "|---" * (len(RULES) + 6) + "|",
    ]
    for r in res["rows"]:
        v = r["vote"]
        out.append(
            f"| {r['target']} | {'+'.join(r['sources'])} | {r['k']} | {fmt(v['f1'])} ({fmt(v['precision'])} / {fmt(v['recall'])}) | "
            f"{fmt(v['halves'][0])} / {fmt(v['halves'][1])} | "
            + " | ".join(fmt(r.get(rule, {}).get("f1")) for rule in RULES[1:])
            + f" | {fmt(r['gold_reachable'])} | {', '.join(r['selected']['fitted'])} |"
        )
    out += ["", "Mean over the subsets of each size:", "", "| target | k | subsets | " + " | ".join(RULES) + " |", "|---" * (3 + len(RULES)) + "|"]
    for m in res["means"]:
        out.append(f"| {m['target']} | {m['k']} | {m['subsets']} | " + " | ".join(fmt(m.get(rule)) for rule in RULES) + " |")
    return "\n".join(out) + "\n"


def plot(res: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    for j, t in enumerate(res["langs"]):
        color = f"C{j}"
        rows = [r for r in res["rows"] if r["target"] == t]
        ax.scatter([r["k"] + 0.03 * (j - 1) for r in rows], [r["vote"]["f1"] for r in rows], color=color, s=18, alpha=0.6)
        for r in rows:
            ax.annotate("+".join(r["sources"]), (r["k"] + 0.03 * (j - 1), r["vote"]["f1"]), fontsize=6, color=color,
                        xytext=(6, 0), textcoords="offset points", va="center")
        ms = [m for m in res["means"] if m["target"] == t]
        ax.plot([m["k"] for m in ms], [m["vote"] for m in ms], color=color, marker="o", label=f"{t}: vote (mean)")
        ax.plot([m["k"] for m in ms], [m["selected"] for m in ms], color=color, ls="--", label=f"{t}: rule chosen on held-out half (mean)")
    ks = sorted({m["k"] for m in res["means"]})
    ax.set_xticks(ks)
    ax.set_xlim(ks[0] - 0.3, ks[-1] + 0.3)
    ax.set_xlabel("number of source languages")
    ax.set_ylabel("entity F1 against target gold")
    ax.set_title(f"Multi-source projection of gold entities ({res['method']}); points: plain voting per subset", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", action="append", required=True, metavar="CODE=PATH", help="a gold CoNLL file per language (2 or more)")
    ap.add_argument("--method", default=None, help="projection method (default: the default method)")
    ap.add_argument("--cache-dir", default=default_cache(), help="alignment cache folder")
    ap.add_argument("--out", default=RESULTS, help="output path without extension (.json, .md, .png are written)")
    args = ap.parse_args(argv)
    langs = dict(parse_lang(x) for x in args.lang)
    if len(langs) < 2:
        raise SystemExit("give at least two distinct --lang CODE=PATH")
    res = run(langs, args.method, args.cache_dir)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w", encoding="utf-8") as fh:
        json.dump(res, fh, indent=1)
    md = markdown(res)
    with open(args.out + ".md", "w", encoding="utf-8") as fh:
        fh.write(md)
    plot(res, args.out + ".png")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
