"""Re-pairing with the word aligner's own encoder pass: each sentence of a translated corpus is encoded once."""

import numpy as np
import pytest

from conftest import write_conll
from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec, read_manifest
from silver_ner.builders.pairing import AlignerPassEmbedder, align_sentences
from silver_ner.projection.aligner import EmbeddingAligner
from silver_ner.projection.errors import UserError


def _counting_aligner(tiny_bert, calls):
    al = EmbeddingAligner(model=str(tiny_bert), layer=2, num_threads=1)
    real = al._encode_now

    def encode_now(sentences):
        calls.append([tuple(s) for s in sentences])
        return real(sentences)

    al._encode_now = encode_now
    return al


def test_remembered_sentences_are_used_once_and_not_encoded_again(tiny_bert):
    calls = []
    al = _counting_aligner(tiny_bert, calls)
    first = al.encode([["John", "met", "Amina"], ["in", "Nairobi"]])
    al.remember([["John", "met", "Amina"], ["in", "Nairobi"]], first)
    calls.clear()
    again = al.encode([["in", "Nairobi"], ["Kenya"], ["John", "met", "Amina"]])
    assert calls == [[("Kenya",)]]  # only the sentence that was not kept is encoded
    assert again[0] is first[1] and again[2] is first[0]
    assert al.stats["reused"] == 2
    calls.clear()
    al.encode([["in", "Nairobi"]])  # a kept sentence serves one encode only
    assert calls == [[("in", "Nairobi")]]


def test_forget_and_pickling_drop_the_kept_sentences(tiny_bert):
    import pickle

    al = EmbeddingAligner(model=str(tiny_bert), layer=2, num_threads=1)
    al.remember([["a"]], al.encode([["a"]]))
    assert pickle.loads(pickle.dumps(al))._encoded == {}
    al.forget()
    assert al._encoded == {}


def test_aligner_pass_embedder_mean_pools_the_aligner_vectors_and_hands_them_over(tiny_bert):
    calls = []
    al = _counting_aligner(tiny_bert, calls)
    emb = AlignerPassEmbedder(al)
    sents = [["John", "Smith", "visited", "Paris"], ["Rais", "Kenyatta"], ["Amina"]]
    rows = emb.embed_tokens(sents)
    fresh = EmbeddingAligner(model=str(tiny_bert), layer=2, num_threads=1)
    pooled = np.stack([v.mean(0) for v, _ in fresh.encode(sents)])
    centered = pooled - pooled.mean(0)  # the mean of this call's sentences (one language) removed
    assert np.allclose(rows, centered / np.linalg.norm(centered, axis=1, keepdims=True), atol=1e-5)
    plain = AlignerPassEmbedder(fresh, center=False).embed_tokens(sents)
    assert np.allclose(plain, pooled / np.linalg.norm(pooled, axis=1, keepdims=True), atol=1e-5)
    assert not np.allclose(plain, rows, atol=1e-3)
    calls.clear()
    al.align([(sents[0], sents[1])])
    assert calls == [] and al.stats["reused"] == 2  # the alignment encoded nothing
    assert emb.identity == f"aligner-pass:{al.encoding_identity}:meanpool:centered"
    assert "method" not in al.encoding_identity and "layer=2" in al.encoding_identity


def test_aligner_pass_embedder_needs_an_embedding_aligner():
    class LinksOnly:
        def align(self, pairs):
            return []

    with pytest.raises(UserError, match="--pairing-embedder e5"):
        AlignerPassEmbedder(LinksOnly())


def test_align_sentences_embeds_token_lists_when_the_embedder_takes_them():
    seen = []

    class TokenEmbedder:
        def embed_tokens(self, sentences):
            seen.append([list(s) for s in sentences])
            out = np.zeros((len(sentences), 4), np.float32)
            for k, s in enumerate(sentences):
                out[k, len(s) % 4] = 1.0
            return out

    al = align_sentences(["a b", "c d e", "f"], ["x y", "z z z", "w"], TokenEmbedder(),
                         source_tokens=[["a", "b"], ["c", "d", "e"], ["f"]],
                         target_tokens=[["x", "y"], ["z", "z", "z"], ["w"]])
    assert seen == [[["a", "b"], ["c", "d", "e"], ["f"]], [["x", "y"], ["z", "z", "z"], ["w"]]]
    assert al.pairs == [(0, 0), (1, 1), (2, 2)]


def test_translated_conll_build_encodes_each_sentence_once(tiny_bert, tmp_path):
    src = write_conll(tmp_path / "src.conll")
    sents = __import__("conftest").SENTS
    translated = [([w.lower() + "x" for w in toks], ["O"] * len(toks)) for toks, _ in sents]  # other words, same order
    tgt = write_conll(tmp_path / "tgt.conll", translated)
    spec = BuildSpec("swa", SourceSpec("translated-conll", {"source_gold": str(src), "translated_conll": str(tgt)}),
                     method="naive", aligner_model=str(tiny_bert), layer=2, labels="conll")
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner_options={"num_threads": 1})
    calls = []
    al = _counting_aligner(tiny_bert, calls)
    lb._aligner = al
    lb.run()
    encoded = [s for call in calls for s in call]
    assert sorted(encoded) == sorted({tuple(t) for t, _ in sents + translated})  # once each
    assert al.stats["reused"] == len(encoded)  # alignment took every sentence from the re-pairing pass
    assert al._encoded == {}
    entry = lb.config_entry()
    assert entry["pairing_embedder"] == f"aligner-pass:{al.encoding_identity}:meanpool:centered"


def test_pairing_embedder_choice_is_checked_and_keys_the_source(tiny_bert, tmp_path):
    src = write_conll(tmp_path / "src.conll")
    files = {"source_gold": str(src), "translated_conll": str(src)}
    with pytest.raises(UserError, match="pairing embedder must be one of aligner, e5"):
        BuildSpec("swa", SourceSpec("translated-conll", files), method="naive", pairing_embedder="labse")
    keys = {}
    for choice in ("aligner", "e5"):
        spec = BuildSpec("swa", SourceSpec("translated-conll", files), method="naive", aligner_model=str(tiny_bert),
                         layer=2, pairing_embedder=choice)
        keys[choice] = LanguageBuild(spec, cache_dir=tmp_path / "cache").source_key()
    assert keys["aligner"] != keys["e5"]
    other_layer = BuildSpec("swa", SourceSpec("translated-conll", files), method="naive", aligner_model=str(tiny_bert),
                            layer=1)
    assert LanguageBuild(other_layer, cache_dir=tmp_path / "cache").source_key() != keys["aligner"]
