"""Pairing accuracy of builders.pairing on the T-Projection translations of CoNLL-2003 English train.

Ground truth. The translated files keep the English order but miss 10-160 sentences, so the
true source of a target sentence is not written anywhere. The pairing itself sees only text
(embeddings, numbers, capitalised tokens, lengths); the files also carry the entity tags
T-Projection projected from the English sentence, which the pairing never reads. A target
sentence is *pinned* to English sentence ``i`` when its sequence of entity types (at least
``--min-entities`` entities) equals that of exactly one English sentence among all sources
it could possibly be paired with (``i`` in ``[j, j + n - m]``). Accuracy is measured on the
pinned sentences only.

Two further checks on the same stretch:

* ``extra_drops``: a further 5% of the target sentences are removed at random and the
  pairing is rerun; accuracy on the pinned sentences that remain.
* ``embedding_only``: the same pairing with the anchor and length terms switched off.

The benchmark pairs ``--segments`` stretches of ``--segment-size`` target sentences, spread
evenly over each file (start, middle, end), each against the English sentences that can hold
its sources (target stretch ``a .. a+L-1`` against English ``a .. a+L-1+(n-m)``), so that
extra English at both ends has to be skipped. ``--segment-size 0`` pairs whole files.

Run:  python benchmarks/bench_pairing.py                      # multilingual-e5-small, 12 layers, query prefix
      python benchmarks/bench_pairing.py --embedder aligner    # the build's default: the aligner's own pass
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def pinned(src_labels, tgt_labels, window, min_entities):
    """target index -> the unique source index with the same entity-type sequence within the window."""
    out = {}
    by_seq: dict[tuple, list[int]] = {}
    for i, seq in enumerate(src_labels):
        by_seq.setdefault(seq, []).append(i)
    for j, seq in enumerate(tgt_labels):
        if len(seq) < min_entities:
            continue
        cands = [i for i in by_seq.get(seq, []) if j <= i <= j + window]
        if len(cands) == 1:
            out[j] = cands[0]
    return out


def accuracy(pairs, truth, target_ids=None):
    got = {j: i for i, j in pairs}
    if target_ids is not None:  # map reduced target indices back to original ones
        got = {target_ids[j]: i for j, i in got.items()}
    allowed = None if target_ids is None else set(target_ids)
    hits = sum(got.get(j) == i for j, i in truth.items() if allowed is None or j in allowed)
    considered = sum(1 for j in truth if allowed is None or j in allowed)
    return hits / considered if considered else float("nan"), considered


class TokenCache:
    """Memoises :class:`~silver_ner.builders.pairing.AlignerPassEmbedder` by token list (stretches overlap)."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.cache: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def identity(self) -> str:
        return self.embedder.identity

    def embed_tokens(self, sentences):
        todo = list(dict.fromkeys(tuple(s) for s in sentences if tuple(s) not in self.cache))
        if todo:
            self.cache.update(zip(todo, self.embedder.embed_tokens(todo)))
            self.embedder.aligner.forget()  # nothing is aligned here: let the kept encodings go
        return np.stack([self.cache[tuple(s)] for s in sentences])


def main(argv=None) -> int:
    from silver_ner.builders.conll import read_conll
    from silver_ner.builders.pairing import CachedEmbedder, align_sentences, default_embedder
    from silver_ner.builders.wordsplit import detokenize

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("SILVER_NER_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--langs", nargs="+", default=["hau", "ibo", "nya", "sna", "swa", "yor"])
    ap.add_argument("--segments", type=int, default=3, help="stretches per language, spread over the file")
    ap.add_argument("--segment-size", type=int, default=500, help="target sentences per stretch (0 = whole file)")
    ap.add_argument("--min-entities", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--embedder", choices=["e5", "aligner"], default="e5",
                    help="e5: multilingual-e5-small (12 layers, 'query: ' prefix); aligner: the word aligner's pass "
                         "(the default method's layer, mean-pooled), as silver-ner build re-pairs by default")
    ap.add_argument("--precision", choices=["float32", "bfloat16", "auto"], default="float32")
    ap.add_argument("--embedding-cache", default=None,
                    help="an .npz file of sentence embeddings, read if present and written at the end")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pairing.json"))
    args = ap.parse_args(argv)

    data = Path(args.data)
    en = read_conll(data / "conll2003_en" / "train.txt")
    t0 = time.perf_counter()
    if args.embedder == "aligner":
        from silver_ner.builders.build import link_settings
        from silver_ner.builders.pairing import AlignerPassEmbedder
        from silver_ner.projection.aligner import EmbeddingAligner
        from silver_ner.projection.methods import DEFAULT_METHOD

        layer, links, token_type = link_settings(DEFAULT_METHOD, None, None, None)
        aligner = EmbeddingAligner(layer=layer, method=links, token_type=token_type, precision=args.precision)
        embedder = TokenCache(AlignerPassEmbedder(aligner))
        if args.embedding_cache:
            raise SystemExit("--embedding-cache stores text embeddings of --embedder e5 only")
    else:
        embedder = CachedEmbedder(default_embedder(batch_size=args.batch_size, precision=args.precision))
    load_s = time.perf_counter() - t0
    if args.embedding_cache and Path(args.embedding_cache).exists():
        z = np.load(args.embedding_cache, allow_pickle=False)
        embedder.cache.update(zip(z["texts"].tolist(), z["vectors"]))
    results = {"command": "python benchmarks/bench_pairing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU only",
               "encoder": embedder.identity, "encoder_load_seconds": round(load_s, 2),
               "load_average_at_start": list(os.getloadavg()), "languages": {}}
    src_labels_all = [tuple(s.label for s in sent.spans) for sent in en.sentences]
    for lang in args.langs:
        tgt = read_conll(data / "tprojection_mt" / f"{lang}.train.txt")
        n_all, m_all = len(en), len(tgt)
        k = n_all - m_all
        size = m_all if args.segment_size <= 0 else min(args.segment_size, m_all)
        segs = 1 if size == m_all else args.segments
        starts = sorted({round(s * (m_all - size) / max(1, segs - 1)) for s in range(segs)})
        tot = {"targets": 0, "sources": 0, "kept": 0, "dropped": 0, "unpaired_t": 0, "pinned": 0, "hits": 0,
               "hits_emb": 0, "pinned_extra": 0, "hits_extra": 0, "agree": 0, "embed_s": 0.0, "align_s": 0.0,
               "embedded": 0}
        conf_all, dropped_where, segments, misses = [], [], [], []
        for a in starts:
            # the sources of targets a .. a+size-1 lie in a .. a+size-1+k
            b = min(n_all, a + size + k)
            src_s, tgt_s = en.sentences[a:b], tgt.sentences[a : a + size]
            m, n = len(tgt_s), len(src_s)
            src_text = [detokenize(s.tokens) for s in src_s]
            tgt_text = [detokenize(s.tokens) for s in tgt_s]
            truth = pinned(src_labels_all[a:b], [tuple(s.label for s in t.spans) for t in tgt_s], k, args.min_entities)
            t0 = time.perf_counter()
            before = len(embedder.cache)
            if args.embedder == "aligner":
                embedder.embed_tokens([s.tokens for s in src_s])
                embedder.embed_tokens([t.tokens for t in tgt_s])
            else:
                embedder(src_text)
                embedder(tgt_text)
            tot["embed_s"] += time.perf_counter() - t0
            tot["embedded"] += len(embedder.cache) - before
            kw = dict(source_tokens=[s.tokens for s in src_s], target_tokens=[t.tokens for t in tgt_s])
            t0 = time.perf_counter()
            al = align_sentences(src_text, tgt_text, embedder, **kw)
            tot["align_s"] += time.perf_counter() - t0
            acc, n_pinned = accuracy(al.pairs, truth)
            got = {j: i for i, j in al.pairs}
            misses += [{"target": a + j + 1, "paired_with_english": a + got[j] + 1 if j in got else None,
                        "pinned_english": a + i + 1, "target_text": tgt_text[j][:80],
                        "paired_text": src_text[got[j]][:80] if j in got else None, "pinned_text": src_text[i][:80]}
                       for j, i in sorted(truth.items()) if got.get(j) != i]
            first, last = min(i for i, _ in al.pairs), max(i for i, _ in al.pairs)
            dropped = [i for i in al.unpaired_sources if first <= i <= last]
            dropped_where += [a + i + 1 for i in dropped]
            emb_only = align_sentences(src_text, tgt_text, embedder, anchor_weight=0.0, length_weight=0.0, **kw)
            acc_emb, _ = accuracy(emb_only.pairs, truth)
            rng = random.Random(a)
            keep = sorted(rng.sample(range(m), m - m // 20))
            extra = align_sentences(src_text, [tgt_text[j] for j in keep], embedder, source_tokens=kw["source_tokens"],
                                    target_tokens=[kw["target_tokens"][j] for j in keep])
            acc_extra, n_extra = accuracy(extra.pairs, truth, target_ids=keep)
            tot["targets"] += m
            tot["sources"] += n
            tot["kept"] += len(al.pairs)
            tot["dropped"] += len(dropped)
            tot["unpaired_t"] += len(al.unpaired_targets)
            tot["pinned"] += n_pinned
            tot["hits"] += round(acc * n_pinned)
            tot["hits_emb"] += round(acc_emb * n_pinned)
            tot["pinned_extra"] += n_extra
            tot["hits_extra"] += round(acc_extra * n_extra)
            tot["agree"] += sum(src_labels_all[a + i] == tuple(s.label for s in tgt_s[j].spans) for i, j in al.pairs)
            conf_all += al.confidence
            segments.append({"target_sentences": [a + 1, a + m], "english_sentences": [a + 1, b],
                             "pinned": n_pinned, "accuracy_on_pinned": round(acc, 4), "dropped_sources": len(dropped)})
        conf = np.array(conf_all)
        row = {
            "sentences_missing_in_whole_file": k, "segments": segments,
            "targets": tot["targets"], "kept_pairs": tot["kept"], "dropped_sources": tot["dropped"],
            "dropped_english_sentence_numbers": dropped_where[:40],
            "unpaired_targets": tot["unpaired_t"],
            "pinned_targets": tot["pinned"], "accuracy_on_pinned": round(tot["hits"] / max(1, tot["pinned"]), 4),
            "accuracy_on_pinned_embedding_only": round(tot["hits_emb"] / max(1, tot["pinned"]), 4),
            "accuracy_on_pinned_after_5pct_extra_drops": round(tot["hits_extra"] / max(1, tot["pinned_extra"]), 4),
            "pinned_after_extra_drops": tot["pinned_extra"],
            "entity_type_sequence_agreement_all_pairs": round(tot["agree"] / max(1, tot["kept"]), 4),
            "confidence_p5_p50": [round(float(np.percentile(conf, 5)), 4), round(float(np.percentile(conf, 50)), 4)],
            "embed_seconds": round(tot["embed_s"], 1), "sentences_embedded": tot["embedded"],
            "align_seconds": round(tot["align_s"], 2),
            "pinned_mismatches": misses[:30],
        }
        results["languages"][lang] = row
        print(lang, json.dumps({k: v for k, v in row.items() if k != "pinned_mismatches"}), flush=True)
    results["load_average_at_end"] = list(os.getloadavg())
    if args.embedding_cache:
        texts = list(embedder.cache)
        np.savez(args.embedding_cache, texts=np.array(texts), vectors=np.stack([embedder.cache[t] for t in texts]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from silver_ner.builders.corpora import portable

    # the command and the encoder name files by name or under the data folder, never a machine path
    Path(args.out).write_text(json.dumps(portable(results), indent=2) + "\n", encoding="utf-8")
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
