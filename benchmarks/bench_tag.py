"""Translate-test tagging (``silver-ner tag``) on Europarl gold, with the human English translation as the "MT".

No machine-translation weights are available offline, so translate-test cannot be scored on MasakhaNER here.
What can be measured is everything after the translation: each German or Spanish Europarl sentence is
"translated" into English by its human translation (``--translations``), the teacher tags the English
sentence, the default aligner links it with the original and the entities are projected back. Rows (entity F1
on PER/ORG/LOC; MISC is left out of the gold as the teacher has no MISC):

  direct            the teacher tags the German/Spanish sentence itself (zero-shot model transfer)
  translate-test    ``silver-ner tag --translations en.txt --tagger TEACHER`` (teacher tags + projection back)
  gold-projection   the English gold entities projected back with the same aligner and method: what a perfect
                    English tagger would give, the ceiling of translate-test with this translation
  teacher-on-en     the teacher on the English side itself (how much of the gap is tagging)

Every ``silver-ner tag`` run is a separate process timed from the outside (model loading included) and from
its own report (tagging only). Translate-test runs twice: from a cold alignment cache and a warm one.

    python benchmarks/bench_tag.py --teacher ../runs/teacher [--data DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LANGS = {"de": "deu", "es": "spa"}
KEEP = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": None}


def run_tag(argv: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "silver_ner.cli", "tag", *argv, "--threads", str(threads)],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"silver-ner tag failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    line = [x for x in proc.stderr.splitlines() if x.startswith("silver-ner tag:")][-1]
    m = re.search(r"in ([\d.]+) s \(([\d.]+) sentences/s\)", line)
    return {"wall_s": round(wall, 1), "tagging_s": float(m.group(1)), "sentences_per_s": float(m.group(2)),
            "report": portable_report(line.split(": ", 1)[1])}


def portable_report(text: str) -> str:
    """The command's summary line with every absolute path cut to its file name."""
    return re.sub(r"(?<![\w.])/[^\s()]+", lambda m: os.path.basename(m.group(0)), text)


def read_tags(path: Path) -> list[list[str]]:
    from silver_ner.builders.conll import read_conll

    return [s.tags for s in read_conll(path).sentences]


def score(pred, gold) -> dict:
    from silver_ner.leaderboard.scoring import score_tags
    from silver_ner.projection.labels import restrict_tags

    gold_kept, _ = restrict_tags(gold, KEEP)
    pred_kept, _ = restrict_tags(pred, KEEP)
    s = score_tags(pred_kept, gold_kept)
    return {"f1": round(s["f1"], 4), "precision": round(s["precision"], 4), "recall": round(s["recall"], 4),
            "per_type_f1": {k: round(v["f1"], 4) for k, v in s["per_type"].items()}}


def gold_projection(en, tgt, cache_dir: str) -> list[list[str]]:
    """The English gold PER/ORG/LOC entities projected onto the target with the default method and aligner."""
    from silver_ner.builders.build import link_settings
    from silver_ner.projection.aligner import EmbeddingAligner
    from silver_ner.projection.spans import spans_to_tags
    from silver_ner.projection.step import LabelledSource, ProjectionItem, ProjectionStep

    step = ProjectionStep()
    layer, links, token_type = link_settings(step.name)
    aligner = EmbeddingAligner(layer=layer, method=links, token_type=token_type, cache_dir=cache_dir)
    items = [ProjectionItem.of(t.tokens, [LabelledSource.of(s.tokens, [sp for sp in s.spans if sp.label != "MISC"])])
             for s, t in zip(en.sentences, tgt.sentences)]
    return [spans_to_tags(r.spans, len(t.tokens)) for r, t in zip(step.run(items, aligner), tgt.sentences)]


def main() -> int:
    from silver_ner.builders.conll import read_conll
    from silver_ner.builders.gold import default_data_root
    from silver_ner.builders.wordsplit import detokenize
    from silver_ner.projection.methods import DEFAULT_METHOD

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", required=True, help="the CoNLL-2003 teacher model folder")
    ap.add_argument("--data", default=None, help="data root (default: $SILVER_NER_DATA or ../shared/data)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "results" / "tag_europarl.json"))
    args = ap.parse_args()
    data = Path(args.data) if args.data else default_data_root()
    folder = data / "europarl_gold"
    if not (folder / "en.conll").is_file():
        print(f"no Europarl gold in {folder}: nothing to measure", file=sys.stderr)
        return 0
    en = read_conll(folder / "en.conll")
    results = {"command": "python benchmarks/bench_tag.py --teacher TEACHER", "method": DEFAULT_METHOD,
               "threads": args.threads, "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
               "sentences": len(en), "rows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = tmp / "cache"
        en_txt = tmp / "en.txt"
        en_txt.write_text("".join(detokenize(s.tokens) + "\n" for s in en.sentences), encoding="utf-8")
        out = tmp / "teacher-en.conll"
        timing = run_tag([str(folder / "en.conll"), "--lang", "eng", "--model", args.teacher, "-o", str(out)], args.threads)
        results["rows"]["teacher-on-en"] = {**score(read_tags(out), [s.tags for s in en.sentences]), **timing}
        for short, iso in LANGS.items():
            tgt = read_conll(folder / f"{short}.conll")
            gold = [s.tags for s in tgt.sentences]
            rows = results["rows"].setdefault(short, {})
            out = tmp / f"direct-{short}.conll"
            timing = run_tag([str(folder / f"{short}.conll"), "--lang", iso, "--model", args.teacher, "-o", str(out)], args.threads)
            rows["direct"] = {**score(read_tags(out), gold), **timing}
            for run in ("cold", "warm"):
                out = tmp / f"tt-{short}-{run}.conll"
                timing = run_tag([str(folder / f"{short}.conll"), "--lang", iso, "--translations", str(en_txt),
                                  "--tagger", args.teacher, "--labels", "PER,ORG,LOC", "-o", str(out),
                                  "--cache-dir", str(cache)], args.threads)
                rows[f"translate-test-{run}"] = {**score(read_tags(out), gold), **timing}
            t0 = time.perf_counter()
            rows["gold-projection"] = {**score(gold_projection(en, tgt, str(cache / "aligner")), gold),
                                       "wall_s": round(time.perf_counter() - t0, 1)}
            print(short, json.dumps(rows, indent=1), file=sys.stderr)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {os.path.relpath(args.out, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
