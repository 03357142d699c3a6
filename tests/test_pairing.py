import random

import numpy as np
import pytest

from silver_ner.builders.conll import write_conll, read_conll
from silver_ner.builders.pairing import (
    CachedEmbedder, MeanPoolEmbedder, align_sentences, anchors, pairs_from_translated_conll)
from silver_ner.builders.sources import SourceReport

WORDS = "the minister said on police in city a team won match against players market prices rose by".split()
NAMES = ["Ade", "Amina", "Nairobi", "Lagos", "Kenya", "Paris", "Smith", "Berlin"]


def _corpus(n, seed=0):
    """English-like sentences and a word-by-word 'translation' (a fixed made-up dictionary)."""
    rng = random.Random(seed)
    lexicon = {w: w[::-1] + "a" for w in WORDS}
    src, tgt = [], []
    for _ in range(n):
        toks = rng.sample(WORDS, rng.randint(4, 9))
        if rng.random() < 0.5:
            toks.insert(rng.randrange(len(toks)), rng.choice(NAMES))
        if rng.random() < 0.3:
            toks.append(str(rng.randint(2, 999)))
        src.append(toks + ["."])
        tgt.append([lexicon.get(t, t) for t in toks] + ["."])
    return src, tgt, lexicon


def _concept_embedder(lexicon, dim=64):
    """Maps a word and its dictionary translation to the same random vector: a toy cross-lingual encoder."""
    back = {v: k for k, v in lexicon.items()}
    rng = np.random.default_rng(1)
    table = {}

    def vec(w):
        w = back.get(w, w)
        if w not in table:
            table[w] = rng.standard_normal(dim)
        return table[w]

    def embed(texts):
        out = np.stack([sum(vec(w) for w in t.split()) for t in texts]).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    return embed


def test_anchors_numbers_and_names():
    assert anchors(["Peter", "Blackburn", "1996-08-22", "said", "0.5"]) == {"peter", "blackburn", "#1996", "#8", "#22", "#0", "#5"}


def test_dropped_sentences_are_recovered():
    src, tgt, lex = _corpus(400)
    dropped = sorted(random.Random(3).sample(range(400), 25)) + [0, 399]
    keep = [i for i in range(400) if i not in set(dropped)]
    embed = _concept_embedder(lex)
    al = align_sentences([" ".join(s) for s in src], [" ".join(tgt[i]) for i in keep], embed,
                         source_tokens=src, target_tokens=[tgt[i] for i in keep])
    assert [i for i, _ in al.pairs] == keep
    assert [j for _, j in al.pairs] == list(range(len(keep)))
    assert sorted(al.unpaired_sources) == sorted(set(dropped)) and al.unpaired_targets == []
    assert min(al.confidence) > 0.5 and all(0 < c <= 1 for c in al.confidence)


def test_a_target_without_source_is_left_unpaired():
    src, tgt, lex = _corpus(120, seed=5)
    targets = [" ".join(t) for t in tgt[:60]] + ["zzz qqq xxx www"] + [" ".join(t) for t in tgt[62:]]
    al = align_sentences([" ".join(s) for s in src], targets, _concept_embedder(lex), unpaired_score=-0.5)
    assert al.unpaired_targets == [60]
    assert dict((j, i) for i, j in al.pairs)[61] == 62
    assert set(al.unpaired_sources) == {60, 61}


def test_pairs_from_translated_conll_reports_drops(tmp_path):
    src, tgt, lex = _corpus(80, seed=7)
    sp, tp = tmp_path / "en.txt", tmp_path / "xx.train.txt"
    src_tags = [["B-LOC" if t in NAMES else "O" for t in s] for s in src]
    write_conll(sp, zip(src, src_tags))
    keep = [i for i in range(80) if i not in (10, 11, 50)]
    write_conll(tp, [(tgt[i], ["O"] * len(tgt[i])) for i in keep])
    rep = SourceReport()
    pairs = list(pairs_from_translated_conll(sp, tp, "xxx", rep, embedder=_concept_embedder(lex)))
    assert rep.read == 77 and rep.paired == 77
    assert rep.dropped == {"source sentence without translation": 3}
    en = read_conll(sp)
    lines = [en.sentences[k].line for k in (10, 11, 50)]
    assert any(f"11 (line {lines[0]}), 12 (line {lines[1]}), 51 (line {lines[2]})" in n for n in rep.notes)
    p = pairs[10]
    assert p.source_tokens == src[12] and p.target_tokens == tgt[12]
    assert p.source_spans == en.sentences[12].spans
    assert set(p.origin["pairing"]) == {"score", "confidence", "margin", "embedder"}
    strict = SourceReport()
    n = len(list(pairs_from_translated_conll(sp, tp, "xxx", strict, embedder=_concept_embedder(lex), min_confidence=1.01)))
    assert n == 0 and strict.dropped["pairing confidence below threshold"] == 77


def test_mean_pool_embedder_keeps_input_order(tiny_bert):
    emb = MeanPoolEmbedder(tiny_bert, batch_size=2, prefix="")
    texts = ["Nairobi ni mji", "a", "John Smith in Paris and Berlin", "Ade"]
    out = emb(texts)
    assert out.shape == (4, 32)
    assert np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    assert np.allclose(out[2], emb([texts[2]])[0], atol=1e-5)
    cached = CachedEmbedder(emb)
    assert np.allclose(cached(texts + texts[:1]), np.vstack([out, out[:1]]), atol=1e-5) and len(cached.cache) == 4


@pytest.mark.slow
def test_real_tprojection_stretch_with_the_default_encoder(shared_data):
    """The last 40 Yoruba sentences: the 56 sentences the file misses all lie before them."""
    from silver_ner.builders.pairing import default_embedder
    from silver_ner.builders.wordsplit import detokenize

    en = read_conll(shared_data / "conll2003_en" / "train.txt")
    yo = read_conll(shared_data / "tprojection_mt" / "yor.train.txt")
    k = len(en) - len(yo)
    src, tgt = en.sentences[len(yo) - 40:], yo.sentences[-40:]
    al = align_sentences([detokenize(s.tokens) for s in src], [detokenize(s.tokens) for s in tgt], default_embedder(),
                         source_tokens=[s.tokens for s in src], target_tokens=[s.tokens for s in tgt])
    assert al.unpaired_targets == []
    assert [i for i, _ in al.pairs] == list(range(k, k + 40))
