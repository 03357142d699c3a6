"""Projection in every direction among sentence-parallel gold files, with an error breakdown.

For each ordered pair (source, target) of the given languages, the source's gold entities are
projected onto the target by each method (through the one projection step) and scored against
the target's gold (entity level, exact span, all classes). Every projected span that is not a
gold span is put in one class:

* ``wider``: overlaps a gold span of the same label and covers it (extra words at an edge;
  the extra words are counted by form, lower-cased);
* ``narrower``: inside a gold span of the same label;
* ``shifted``: overlaps a same-label gold span, neither inside nor covering it;
* ``label``: same words as a gold span, other label;
* ``spurious``: overlaps no gold span (the source annotates something the target does not,
  or a wrong place);
and gold spans that no projected span overlaps are ``missed``.

Each row also carries the ``ceiling`` the two annotations leave: the F1 of an oracle that
maps each source entity to a target gold span of the same label that its links reach (a
maximum matching per sentence; source entities with links count as projected), and
``ceiling_any_label`` without the label condition. What the ceiling loses is annotation
convention (an entity annotated on one side only, another class); the rest of the gap is the
method's (or the links').

    python experiments/projection_directions.py [--data DIR] [--methods M,M,...] [--output DIR]

A method is ``[LABEL=]NAME[@LAYER][:word|bpe][:LINKS][:key=value]...``: ``@6`` sets the
encoder layer, ``bpe``/``word`` the token type, ``itermax``/``argmax``/``itermax+argmax`` the
links (unset: the registered method's), ``key=value`` a method parameter (JSON value). The
experiment-only ``trim_df=X`` cuts, at a span's left edge, words found in at least a share X
of the target file's sentences; ``trim_lower=X`` does so only for those of them written in lower case
(``projection.matching.frequent_lowercase_words``, what ``silver-ner build --trim-frequent X`` uses). Default: the default method, the paper's n-gram greedy
(``paper=ngram-greedy@6:bpe``), ``tuned-greedy`` with ``owned`` links, and that with
``trim_df=0.2``.

``--data`` defaults to ``$SILVER_NER_DATA/europarl_gold`` (``../shared/data`` next to the
repository when the variable is unset); results go to ``experiments/results/projection_directions``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections import Counter
from pathlib import Path

from silver_ner.builders.conll import check_parallel, read_conll
from silver_ner.leaderboard.projection_eval import make_aligner
from silver_ner.projection.matching import frequent_lowercase_words
from silver_ner.projection.metrics import span_scores
from silver_ner.projection.step import LabelledSource, ProjectionItem, ProjectionStep

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def data_root() -> Path:
    return Path(os.environ.get("SILVER_NER_DATA", ROOT.parent / "shared" / "data"))


TOKEN_TYPES = ("word", "bpe")


def parse_method(text: str) -> tuple[str, str, dict, dict]:
    """``[LABEL=]NAME[@LAYER][:TOKENS][:LINKS][:key=value]...`` -> (label, method, params, links).

    ``@LAYER`` sets the encoder layer, a bare ``word`` or ``bpe`` the token type and a bare
    ``itermax``, ``argmax``, ``itermax+argmax``, ... the link methods read; unset, each comes
    from the registered method. ``key=value`` items are method parameters (values JSON; a bare
    other word is the parameter set to true). E.g. ``paper=ngram-greedy@6:bpe``.
    """
    from silver_ner.projection.link_methods import METHODS as LINK_METHODS

    label, sep, rest = text.partition("=")
    if not sep:
        label, rest = text, text
    head, *kvs = rest.split(":")
    name, at, layer = head.partition("@")
    links: dict = {}
    if at:
        try:
            links["layer"] = int(layer)
        except ValueError:
            raise SystemExit(f"method {text!r}: layer {layer!r} is not a number") from None
    params = {}
    for kv in kvs:
        k, eq, v = kv.partition("=")
        if not eq and k in TOKEN_TYPES:
            links["token_type"] = k
        elif not eq and k and all(m in LINK_METHODS for m in k.split("+")):
            links["links"] = tuple(k.split("+"))
        else:
            params[k] = json.loads(v) if eq and v != "" else True
    return label, name, params, links


def frequent_words(conll, share: float) -> list[str]:
    """Words (lower-cased) in at least ``share`` of the file's sentences: the corpus's own most
    frequent words, for the ``trim_df`` experiment (a frequent word at a span's left edge is cut)."""
    df: Counter = Counter()
    for sent in conll.sentences:
        df.update({w.lower() for w in sent.tokens})
    return sorted(w for w, c in df.items() if c >= share * len(conll.sentences))


def ceiling(src_sents, tgt_sents, alignments, same_label: bool = True) -> float:
    """F1 of the oracle described in the module docstring."""
    matched = projected = gold_total = 0
    for a, b, al in zip(src_sents, tgt_sents, alignments):
        gold_total += len(b.spans)
        links = set(al.links)
        linked_src = {s for s, _ in links}
        projected += sum(1 for e in a.spans if linked_src & set(range(e.start, e.end)))
        adj = {i: [j for j, g in enumerate(b.spans)
                   if (not same_label or e.label == g.label)
                   and any((p, q) in links for p in range(e.start, e.end) for q in range(g.start, g.end))]
               for i, e in enumerate(a.spans)}
        owner: dict[int, int] = {}

        def augment(i, seen) -> bool:
            for j in adj[i]:
                if j not in seen:
                    seen.add(j)
                    if j not in owner or augment(owner[j], seen):
                        owner[j] = i
                        return True
            return False

        for i in adj:
            augment(i, set())
        matched += len(owner)
    p = matched / projected if projected else 0.0
    r = matched / gold_total if gold_total else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def classify(gold, pred) -> Counter:
    """Error classes of one sentence's projected spans against its gold."""
    kinds: Counter = Counter()
    gold_set = set(gold)
    for p in pred:
        if p in gold_set:
            kinds["correct"] += 1
            continue
        same = [g for g in gold if g.label == p.label and g.start < p.end and p.start < g.end]
        if any(g.start == p.start and g.end == p.end for g in gold):
            kinds["label"] += 1
        elif not any(g.start < p.end and p.start < g.end for g in gold):
            kinds["spurious"] += 1
        elif not same:
            kinds["label"] += 1
        elif any(p.start <= g.start and g.end <= p.end for g in same):
            kinds["wider"] += 1
        elif any(g.start <= p.start and p.end <= g.end for g in same):
            kinds["narrower"] += 1
        else:
            kinds["shifted"] += 1
    kinds["missed"] += sum(1 for g in gold if not any(g.start < p.end and p.start < g.end for p in pred))
    return kinds


def extra_words(tokens, gold, pred) -> list[str]:
    """Words a ``wider`` projected span has beyond the same-label gold span it covers."""
    out = []
    for p in pred:
        if p in gold:
            continue
        for g in gold:
            if g.label == p.label and p.start <= g.start and g.end <= p.end and (g.start, g.end) != (p.start, p.end):
                out += [tokens[i].lower() for i in [*range(p.start, g.start), *range(g.end, p.end)]]
                break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder with LANG.conll files (default: europarl_gold in the data root)")
    ap.add_argument("--langs", default="en,de,es")
    ap.add_argument("--methods", default="tuned-greedy,paper=ngram-greedy@6:bpe,owned=tuned-greedy:owned=true,"
                    "owned+trim_df=tuned-greedy:owned=true:trim_df=0.2",
                    help="comma-separated; each NAME or LABEL=NAME:param=value:... (values JSON)")
    ap.add_argument("--candidates-from", metavar="MODEL", default=None,
                    help="token-classification model whose spans on each target file are the candidates of the "
                         "spans-* methods (their class ignored), e.g. the CoNLL-2003 teacher")
    ap.add_argument("--types", default=None,
                    help="score only these entity types (comma-separated, e.g. PER,ORG,LOC as the paper did for "
                         "NER-model candidates): other gold entities are removed from sources and targets")
    ap.add_argument("--cache-dir", default=None, help="alignment cache (default: the project's cache)")
    ap.add_argument("--precision", default="float32")
    ap.add_argument("--output", default=str(HERE / "results" / "projection_directions"))
    args = ap.parse_args()

    data = Path(args.data) if args.data else data_root() / "europarl_gold"
    langs = args.langs.split(",")
    files = {lang: read_conll(data / f"{lang}.conll") for lang in langs}
    for a, b in itertools.combinations(langs, 2):
        check_parallel(files[a], files[b])
    if args.types:
        from silver_ner.projection.labels import restrict_tags

        keep = {t: t for t in args.types.split(",")}
        for f in files.values():
            for sent, tags in zip(f.sentences, restrict_tags([x.tags for x in f.sentences], keep)[0]):
                sent.tags = tags
    candidates: dict[str, list] = {}

    def candidates_of(lang: str) -> list:
        if lang not in candidates:
            if not args.candidates_from:
                raise SystemExit("a spans-* method needs --candidates-from MODEL")
            from silver_ner.builders.tagger import HFTagger

            candidates[lang] = HFTagger(args.candidates_from).tag([x.tokens for x in files[lang].sentences])
        return candidates[lang]
    methods = [parse_method(m) for m in args.methods.split(",")]
    cache_dir = args.cache_dir
    if cache_dir is None:
        from silver_ner.projection.models import cache_root

        cache_dir = os.path.join(cache_root(), "alignments")
    rows = []
    aligners: dict[tuple, object] = {}
    for label, name, params, setting in methods:
        trim_df = params.pop("trim_df", None)
        trim_lower = params.pop("trim_lower", None)
        step = ProjectionStep(name, params=params, links=setting.get("links"))
        layer = setting.get("layer", step.layer)
        token_type = setting.get("token_type", step.token_type)
        key = (layer, step.links[0], token_type)
        if key not in aligners:
            aligners[key] = make_aligner(None, layer, step.links[0], cache_dir, token_type, args.precision)
        aligner = aligners[key]
        for s, t in itertools.permutations(langs, 2):
            src, tgt = files[s], files[t]
            cands = candidates_of(t) if step.needs_candidates else [None] * len(tgt.sentences)
            items = [ProjectionItem.of(b.tokens, [LabelledSource.of(a.tokens, a.spans)], c)
                     for a, b, c in zip(src.sentences, tgt.sentences, cands)]
            run = step
            if trim_df is not None:  # an experiment, not a method: words of the target corpus itself
                run = ProjectionStep(name, params={**params, "trim_words": frequent_words(tgt, trim_df)},
                                     links=setting.get("links"))
            elif trim_lower is not None:  # what `silver-ner build --trim-frequent X` passes (the target corpus's own words)
                words = frequent_lowercase_words([x.tokens for x in tgt.sentences], trim_lower)
                run = ProjectionStep(name, params={**params, "trim_words": words}, links=setting.get("links"))
            t0 = time.perf_counter()
            out = run.run(items, aligner)
            seconds = time.perf_counter() - t0
            gold = [x.spans for x in tgt.sentences]
            pred = [o.spans for o in out]
            sc = span_scores(gold, pred)
            kinds: Counter = Counter()
            words: Counter = Counter()
            for x, g, p in zip(tgt.sentences, gold, pred):
                kinds.update(classify(g, p))
                words.update(extra_words(x.tokens, g, p))
            row = {"method": label, "base": name,
                   "params": {**params, **({"trim_df": trim_df} if trim_df is not None else {}),
                              **({"trim_lower": trim_lower} if trim_lower is not None else {})}, "layer": layer, "token_type": token_type,
                   "links": "+".join(step.links), "source": s, "target": t,
                   "f1": round(sc["f1"], 4), "precision": round(sc["precision"], 4), "recall": round(sc["recall"], 4),
                   "ceiling": round(ceiling(src.sentences, tgt.sentences, [o.alignments[0] for o in out]), 4),
                   "ceiling_any_label": round(ceiling(src.sentences, tgt.sentences, [o.alignments[0] for o in out], False), 4),
                   "errors": dict(kinds), "wider_extra_words": dict(words.most_common(15)),
                   "seconds": round(seconds, 1), "aligner": aligner.identity}
            rows.append(row)
            print(f"{label:<24} {s}->{t}  F1 {row['f1']:.3f}  {dict(kinds)}", flush=True)
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "directions.json"), "w", encoding="utf-8") as fh:
        json.dump({"data": data.name, "langs": langs, "types": args.types or "all",
                   "candidates_from": os.path.basename(os.path.normpath(args.candidates_from)) if args.candidates_from else None,
                   "rows": rows}, fh, indent=1, ensure_ascii=False)
    write_markdown(rows, langs, os.path.join(args.output, "directions.md"), args.types)


def write_markdown(rows, langs, path, types: str | None = None) -> None:
    dirs = [f"{s}->{t}" for s, t in itertools.permutations(langs, 2)]
    by = {(r["method"], f"{r['source']}->{r['target']}"): r for r in rows}
    labels = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["# Projection in every direction", "",
             "`python experiments/projection_directions.py` (Europarl gold; entity-level exact-span F1, "
             + (f"types {types} only" if types else "all classes") + ")", "",
             "| method | " + " | ".join(dirs) + " | mean |", "|---|" + "---:|" * (len(dirs) + 1)]
    for m in labels:
        f1s = [by[(m, d)]["f1"] for d in dirs if (m, d) in by]
        lines.append(f"| {m} | " + " | ".join(f"{by[(m, d)]['f1']:.3f}" if (m, d) in by else "" for d in dirs)
                     + f" | {sum(f1s) / len(f1s):.3f} |")
    first = labels[0] if labels else None
    if first is not None:
        lines.append("| ceiling left by the annotations (same label; links of the first method) | "
                     + " | ".join(f"{by[(first, d)]['ceiling']:.3f}" if (first, d) in by else "" for d in dirs) + " | |")
        lines.append("| ceiling, any label | "
                     + " | ".join(f"{by[(first, d)]['ceiling_any_label']:.3f}" if (first, d) in by else "" for d in dirs)
                     + " | |")
    lines += ["", "Methods:", ""]
    for m in labels:
        r = next(r for r in rows if r["method"] == m)
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in r["params"].items())
        lines.append(f"- `{m}`: `{r['base']}`{' + ' + params if params else ''}; {r['links']} links, "
                     f"{r['token_type']} vectors, layer {r['layer']}")
    lines += ["", "Errors per direction (projected spans that are not gold, by class; gold spans missed):", "",
              "| method | direction | wider | narrower | shifted | label | spurious | missed | most frequent extra words of wider spans |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for m in labels:
        for d in dirs:
            r = by.get((m, d))
            if r is None:
                continue
            e = r["errors"]
            ex = ", ".join(f"{w} {n}" for w, n in list(r["wider_extra_words"].items())[:8])
            lines.append(f"| {m} | {d} | {e.get('wider', 0)} | {e.get('narrower', 0)} | {e.get('shifted', 0)} | "
                         f"{e.get('label', 0)} | {e.get('spurious', 0)} | {e.get('missed', 0)} | {ex} |")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
