import random

import numpy as np
import pytest

from silver_ner.projection.aligner import (
    EmbeddingAligner,
    assign_windows,
    link_agreement,
    plan_windows,
)
from silver_ner.projection.errors import UserError
from silver_ner.projection.link_methods import apply_distortion, argmax_links, itermax_links
from silver_ner.projection.protocols import Aligner, Alignment

from reference_impls import simalign_reference  # tests/ is on sys.path (conftest.py)

VOCAB = (
    "the European Union Parliament Commission John Smith Paris Berlin Nairobi Kenya said today "
    "die der das und ist Europa Kommission Rais Kenyatta alisema kwamba leo Bunge la Ulaya "
    "xylophone Quagmire 1999 , . ( ) -"
).split()


def make_pairs(n, seed=0, low=1, high=14):
    rng = random.Random(seed)
    return [
        ([rng.choice(VOCAB) for _ in range(rng.randint(low, high))], [rng.choice(VOCAB) for _ in range(rng.randint(low, high))])
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def aligner(tiny_bert):
    return EmbeddingAligner(model=tiny_bert, layer=2, method="itermax", batch_size=4)


def test_is_an_aligner_with_an_identity(aligner, tiny_bert):
    assert isinstance(aligner, Aligner)
    assert aligner.identity.startswith(f"embedding:{tiny_bert.name}@")
    assert "layer=2" in aligner.identity and "method=itermax" in aligner.identity
    assert aligner.identity_for("match").endswith("method=match")


def test_parity_with_simalign(aligner, tiny_bert):
    pairs = make_pairs(20, seed=1)
    methods = ("argmax", "itermax", "match")
    ours = aligner.align_methods(pairs, methods)
    ref = simalign_reference(tiny_bert, pairs, layer=2, methods=methods)
    for m in methods:
        agree = link_agreement(ours[m], ref[m])
        assert agree["links"] >= 0.99, (m, agree)
    assert sum(len(a) for a in ours["itermax"]) >= sum(len(a) for a in ours["argmax"]) > 0


def test_parity_with_simalign_subword_links_and_distortion(tiny_bert):
    token_type, distortion = "bpe", 0.5
    pairs = make_pairs(10, seed=4)
    ours = EmbeddingAligner(model=tiny_bert, layer=3, token_type=token_type, distortion=distortion)
    got = ours.align_methods(pairs, ("argmax", "itermax"))
    ref = simalign_reference(tiny_bert, pairs, layer=3, methods=("argmax", "itermax"), token_type=token_type, distortion=distortion)
    for m in got:
        assert link_agreement(got[m], ref[m])["links"] >= 0.99, m
    assert ours.identity.endswith(":distortion=0.5:tokens=bpe")


def test_link_methods_agree_with_simalign_on_random_matrices():
    from simalign import SentenceAligner

    rng = np.random.default_rng(1)
    for _ in range(100):
        sim = rng.random((rng.integers(1, 12), rng.integers(1, 12)))
        np.testing.assert_array_equal(itermax_links(sim), SentenceAligner.iter_max(sim) > 0)
        fwd, rev = SentenceAligner.get_alignment_matrix(sim)
        np.testing.assert_array_equal(argmax_links(sim), (fwd * rev) > 0)
        np.testing.assert_array_equal(apply_distortion(sim, 0.3), SentenceAligner.apply_distortion(sim, 0.3))


def test_layer_cut_matches_the_full_model(aligner, tiny_bert):
    import torch
    from transformers import AutoModel

    sent = ["the", "xylophone", "Parliament"]
    vecs, word_ids = aligner.encode([sent])[0]
    assert word_ids.tolist()[0] == 0 and word_ids.tolist()[-1] == 2
    assert not aligner._encoder.full_hidden
    assert len(aligner._encoder.model.encoder.layer) == 2  # layer 3 is never computed
    full = AutoModel.from_pretrained(tiny_bert).eval()
    enc = aligner._encoder.tokenizer([sent], is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        want = full(**enc, output_hidden_states=True).hidden_states[2][0, 1:-1].numpy()
    np.testing.assert_allclose(vecs, want, atol=1e-5)


def test_one_batch_and_many_batches_give_the_same_links(tiny_bert):
    pairs = make_pairs(12, seed=2)
    one = EmbeddingAligner(model=tiny_bert, layer=1, method="argmax", batch_size=64).align(pairs)
    many = EmbeddingAligner(model=tiny_bert, layer=1, method="argmax", batch_size=1).align(pairs)
    assert [a.links for a in one] == [a.links for a in many]
    assert all(len(a.scores) == len(a.links) and all(0 <= s <= 1 for s in a.scores) for a in one)


def test_empty_sentences_and_bad_input(aligner):
    out = aligner.align([([], ["the"]), (["the"], ["the"])])
    assert out[0] == Alignment((), ())
    assert out[1].links == ((0, 0),)
    with pytest.raises(ValueError, match="pair 1: target is a string"):
        aligner.align([(["a"], ["b"]), (["a"], "b c")])
    with pytest.raises(ValueError, match="pair 0: expected"):
        aligner.align([("a",)])
    with pytest.raises(ValueError, match="unknown alignment method"):
        EmbeddingAligner(model=None, method="best")


def test_words_without_subwords_are_encoded_as_unknown_and_counted(tiny_bert):
    al = EmbeddingAligner(model=tiny_bert, layer=1, method="argmax")
    out = al.align([(["the", "", "Parliament"], ["die", "Bunge"])])
    assert al.stats["empty_words"] == 1
    assert all(0 <= s < 3 and 0 <= t < 2 for s, t in out[0].links)


def test_plan_windows_covers_every_word_with_overlap():
    lengths = [1, 3, 2, 1, 4, 1, 1, 2, 3, 1]
    windows = plan_windows(lengths, 6)
    assert windows[0][0] == 0 and windows[-1][1] == len(lengths)
    for a, b in windows:
        assert sum(lengths[a:b]) <= 6 and b > a
    for (a1, b1), (a2, b2) in zip(windows, windows[1:]):
        assert a1 < a2 < b1 < b2  # overlapping and moving forward
    owner = assign_windows(lengths, windows)
    for k, w in enumerate(owner):
        assert windows[w][0] <= k < windows[w][1]
    assert plan_windows([2, 2], 10) == [(0, 2)]


def test_a_word_longer_than_the_window_is_an_error_naming_the_sentence():
    with pytest.raises(ValueError, match=r"sentence 7: word 1 has 5 subwords, more than the window of 4"):
        plan_windows([1, 5, 1], 4, sentence="sentence 7")


def test_long_sentences_are_windowed_not_truncated(tiny_bert):
    long_src = [f"x{i}" for i in range(60)]  # 2 or 3 subwords each, about 150 in all
    al = EmbeddingAligner(model=tiny_bert, layer=2, method="argmax", max_subwords=20)
    out = al.align([(long_src, long_src)])[0]
    assert al.stats["windowed_sentences"] == 1 and al.stats["windows"] > 7
    diagonal = {(k, k) for k in range(60)}
    assert len(diagonal & set(out.links)) >= 55  # words late in the sentence are linked too
    assert {(k, k) for k in range(55, 60)} <= set(out.links)
    # word vectors of a windowed sentence: every word has one, from its own context
    vecs, word_ids = al.encode([long_src])[0]
    assert vecs.shape[0] == len(word_ids) and word_ids.max() == len(long_src) - 1
    with pytest.raises(ValueError, match="xylophone.*more than the window of 3 subwords"):
        EmbeddingAligner(model=tiny_bert, layer=2, max_subwords=3).align([(["xylophone"], ["the"])])
    with pytest.raises(ValueError, match="exceeds what"):
        EmbeddingAligner(model=tiny_bert, layer=2, max_subwords=5000).align([(["a"], ["b"])])


def test_layer_out_of_range_names_the_model(tiny_bert):
    with pytest.raises(ValueError, match="layer 9 is out of range"):
        EmbeddingAligner(model=tiny_bert, layer=9).align([(["a"], ["b"])])


def test_cache_makes_reruns_free_and_keys_on_the_setup(tiny_bert, tmp_path):
    pairs = make_pairs(6, seed=3)
    first = EmbeddingAligner(model=tiny_bert, layer=2, cache_dir=tmp_path)
    want = first.align_methods(pairs, ("argmax", "itermax"))
    assert first.stats["cached"] == 0
    again = EmbeddingAligner(model=tiny_bert, layer=2, cache_dir=tmp_path)
    got = again.align_methods(pairs, ("argmax", "itermax"))
    assert again.stats["cached"] == len(pairs) and again.stats["sentences"] == 0
    assert again._encoder is None  # the model was never loaded
    for m in want:
        assert [a.links for a in got[m]] == [a.links for a in want[m]]
        assert np.allclose([s for a in got[m] for s in a.scores], [s for a in want[m] for s in a.scores], atol=1e-5)
    import pickle

    copy = pickle.loads(pickle.dumps(again))  # e.g. for worker processes
    assert copy._encoder is None and copy.align(pairs[:2])[1].links == want["itermax"][1].links
    other_layer = EmbeddingAligner(model=tiny_bert, layer=1, cache_dir=tmp_path)
    other_layer.align(pairs)
    assert other_layer.stats["cached"] == 0
    # one method cached, another not: only the missing pairs are encoded
    mixed = EmbeddingAligner(model=tiny_bert, layer=2, cache_dir=tmp_path)
    mixed.align_methods(pairs[:3] + make_pairs(2, seed=9), ("itermax",))
    assert mixed.stats["cached"] == 3


def test_model_fingerprint_follows_model_files_not_hidden_marks(tmp_path):
    from silver_ner.projection.aligner import model_fingerprint

    (tmp_path / "config.json").write_text('{"a": 1}')
    (tmp_path / "model.safetensors").write_bytes(b"w" * 100)
    before = model_fingerprint(tmp_path)
    (tmp_path / ".scored-swa").touch()  # a mark left by a script
    assert model_fingerprint(tmp_path) == before
    (tmp_path / "model.safetensors").write_bytes(b"v" * 100)
    assert model_fingerprint(tmp_path) != before
    # a Hub id is resolved to its snapshot folder before it is fingerprinted (tests/test_models.py)
    with pytest.raises(UserError, match="no such model folder"):
        model_fingerprint("org/model-on-the-hub")


def test_eflomal_missing_gives_the_install_hint(monkeypatch):
    import sys

    from silver_ner.projection.eflomal_aligner import EflomalAligner

    monkeypatch.setitem(sys.modules, "eflomal", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'silver-ner\[eflomal\]'"):
        EflomalAligner()


def test_symmetrisation_heuristics():
    from silver_ner.projection.eflomal_aligner import symmetrise

    fwd = {(0, 0), (1, 1), (2, 1), (3, 3)}
    rev = {(0, 0), (1, 1), (2, 2), (3, 2)}
    assert symmetrise(fwd, rev, "intersection") == {(0, 0), (1, 1)}
    assert symmetrise(fwd, rev, "union") == fwd | rev
    # (2, 1) and (2, 2) neighbour (1, 1) and cover the unaligned source word 2
    assert symmetrise(fwd, rev, "grow-diag") == {(0, 0), (1, 1), (2, 1), (2, 2), (3, 2), (3, 3)}
    # no intersection to grow from: "final-and" adds a directional link only when both of
    # its words are unaligned, "final" when either is
    assert symmetrise({(0, 1)}, {(1, 0)}, "grow-diag-final-and") == {(0, 1), (1, 0)}
    assert symmetrise({(0, 0), (0, 1)}, {(1, 1)}, "grow-diag-final-and") == {(0, 0), (1, 1)}
    assert symmetrise({(0, 0), (0, 1)}, {(1, 1)}, "grow-diag-final") == {(0, 0), (0, 1), (1, 1)}
    with pytest.raises(ValueError, match="unknown symmetrisation"):
        symmetrise(fwd, rev, "grow")


@pytest.mark.slow
def test_eflomal_aligns_a_small_corpus():
    pytest.importorskip("eflomal")
    from silver_ner.projection.eflomal_aligner import EflomalAligner

    names = ["Anna", "Peter", "Maria", "Jonas", "Lena", "Tom"]
    places = ["Berlin", "Paris", "Rom", "Wien", "Oslo", "Madrid"]
    pairs = []
    for i in range(300):
        n, p = names[i % 6], places[(i * 7) % 6]
        pairs.append((f"{n} lives in {p} .".split(), f"{n} wohnt in {p} .".split()))
    pairs.append(([], ["leer"]))
    out = EflomalAligner().align(pairs)
    assert out[-1].links == ()
    hits = sum((0, 0) in a.links and (3, 3) in a.links and (4, 4) in a.links for a in out[:-1])
    assert hits >= 290


def test_cache_is_shared_between_open_handles(tmp_path):
    from silver_ner.projection.aligner import AlignmentCache

    writer, reader = AlignmentCache(tmp_path), AlignmentCache(tmp_path)
    key = AlignmentCache.key("x:layer=1", ["a", "b"], ["c"])
    assert reader.get_many([key]) == {}  # reader holds an open connection before the write
    al = Alignment(((0, 0), (1, 0)), (0.5, 0.25))
    writer.put_many([(key, al)])
    assert reader.get_many([key]) == {key: al}
    assert AlignmentCache.key("x:layer=1", ["a", "b"], ["c"]) != AlignmentCache.key("x:layer=2", ["a", "b"], ["c"])
    assert AlignmentCache.key("x", ["a b"], ["c"]) != AlignmentCache.key("x", ["a", "b"], ["c"])


@pytest.mark.slow
def test_default_encoder_matches_simalign_on_europarl(shared_data):
    from silver_ner.builders.conll import read_conll

    en = read_conll(shared_data / "europarl_gold" / "en.conll").sentences[:20]
    de = read_conll(shared_data / "europarl_gold" / "de.conll").sentences[:20]
    pairs = [(a.tokens, b.tokens) for a, b in zip(en, de)]
    ours = EmbeddingAligner(model=None, layer=6)
    got = ours.align_methods(pairs, ("argmax", "itermax"))
    ref = simalign_reference(ours._path, pairs, layer=6, methods=("argmax", "itermax"))
    for m in got:
        assert link_agreement(got[m], ref[m])["links"] >= 0.99, m
    assert sum(len(a) for a in got["itermax"]) > sum(len(p[0]) for p in pairs) * 0.6


def test_bfloat16_precision_is_named_in_the_identity_and_keeps_most_links(tiny_bert):
    pairs = make_pairs(20, seed=5)
    f32 = EmbeddingAligner(model=tiny_bert, layer=2, method="itermax")
    bf16 = EmbeddingAligner(model=tiny_bert, layer=2, method="itermax", precision="bfloat16")
    assert "precision" not in f32.identity and bf16.identity.endswith(":precision=bfloat16")
    a = {(i, link) for i, al in enumerate(f32.align(pairs)) for link in al.links}
    b = {(i, link) for i, al in enumerate(bf16.align(pairs)) for link in al.links}
    assert len(a & b) / len(a | b) >= 0.9
    with pytest.raises(ValueError, match="precision must be one of"):
        EmbeddingAligner(model=tiny_bert, precision="int4")
