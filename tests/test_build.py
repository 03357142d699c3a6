"""The build stages, caches, filters, label sets and output folder, on the embedded sample with a stub aligner."""

import json
import os
import shutil

import datasets
import pytest
from conftest import SameWordAligner

from silver_ner import __version__
from silver_ner.builders import cache
from silver_ner.builders.build import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    SAMPLES_DIR,
    BuildSpec,
    FilterOptions,
    LanguageBuild,
    SourceSpec,
    build,
    demo_source,
    read_manifest,
    resolve_labels,
    split_of,
)
from silver_ner.builders.sources import SourcePair
from silver_ner.projection.errors import UserError
from silver_ner.projection.protocols import ProjectionResult
from silver_ner.projection.spans import Span, tags_to_spans

datasets.disable_progress_bars()


def copy_project(src, src_spans, tgt, alignment, score=1.0, **_):
    """Each source entity goes to the target tokens linked to its tokens, as one span (min to max)."""
    s2t = alignment.source_to_target()
    res = ProjectionResult()
    for k, sp in enumerate(src_spans):
        hits = sorted(t for i in sp.indices() for t in s2t.get(i, []))
        if hits and not any(Span(hits[0], hits[-1] + 1, "X").overlaps(o) for o in res.spans):
            res.spans.append(Span(hits[0], hits[-1] + 1, sp.label))
            res.scores.append(score if not callable(score) else score(sp))
            res.source_of.append(k)
        else:
            res.unprojected.append(k)
    return res


def make_build(spec, tmp_path, aligner=None, **kw):
    kw.setdefault("method", copy_project)
    kw.setdefault("chunk_size", 8)
    return LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=aligner or SameWordAligner("identity"), **kw)


def sample_spec(lang="swa", **kw):
    kw.setdefault("method", "naive")
    return BuildSpec(lang, demo_source(), **kw)


def pair(i, src, tags, tgt):
    return SourcePair(f"p{i}", src.split(), tags_to_spans(tags.split()), tgt.split(), "eng", "xx", {"n": i})


def test_sample_is_parallel_and_labelled():
    from silver_ner.builders.conll import read_conll, read_lines

    eng = read_conll(SAMPLES_DIR / "eng.conll")
    lines = read_lines(SAMPLES_DIR / "eng.txt")
    assert len(eng) == len(lines) >= 30
    assert all(" ".join(s.tokens) == line for s, line in zip(eng.sentences, lines))
    assert set(eng.labels) == {"PER", "ORG", "LOC"}
    for lang in ("swa", "deu"):
        tgt = read_lines(SAMPLES_DIR / f"{lang}.txt")
        assert len(tgt) == len(lines) and all(t.strip() for t in tgt)
        ref = read_conll(SAMPLES_DIR / f"{lang}.conll")  # hand labels of the translations
        assert [s.tokens for s in ref.sentences] == [t.split() for t in tgt]
        assert set(ref.labels) == {"PER", "ORG", "LOC"}


def test_score_against_reference_labels(tmp_path):
    from silver_ner.builders.conll import write_conll

    lb = make_build(sample_spec(), tmp_path)
    names = lb.spec.label_names
    rows = sorted((r for _, _, r in lb.rows(range(lb.num_chunks()))), key=lambda r: json.loads(r["origin"])["target_line"])
    tagged = [(r["tokens"], [names[t] for t in r["ner_tags"]]) for r in rows]
    write_conll(tmp_path / "same.conll", tagged)
    assert lb.score(tmp_path / "same.conll")["f1"] == 1.0
    n_pred = sum(len(tags_to_spans(t)) for _, t in tagged)
    first = next(i for i, (_, t) in enumerate(tagged) if tags_to_spans(t))
    toks, tags = tagged[first]
    tagged[first] = (toks, ["O"] * len(toks))  # the reference misses this sentence's entities
    write_conll(tmp_path / "fewer.conll", tagged)
    missing = len(tags_to_spans(tags))
    sc = lb.score(tmp_path / "fewer.conll")
    assert sc["recall"] == 1.0 and sc["precision"] == round((n_pred - missing) / n_pred, 4)
    assert sc["sentences"] == 30
    real = lb.score(SAMPLES_DIR / "swa.conll")
    assert set(real["f1_per_class"]) == {"PER", "ORG", "LOC"}  # the hand labels hold all three (13, 17, 33 entities)
    with pytest.raises(ValueError, match="tokens differ"):
        lb.score(SAMPLES_DIR / "deu.conll")


def test_build_writes_loadable_output_and_manifest(tmp_path):
    spec = sample_spec(licenses=["Apache-2.0"])
    lb = make_build(spec, tmp_path)
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": lb}, parquet=True)
    man = read_manifest(tmp_path / "out")
    assert man["format"] == MANIFEST_FORMAT and man["silver_ner_version"] == __version__ and man["created"]
    entry = man["configs"]["swa"]
    for key in ("path", "num_rows", "label_names", "label_mapping", "stats", "source", "target_source", "aligner",
                "method", "method_params", "fingerprint", "licenses"):
        assert key in entry, key
    assert entry["path"] == "swa" and entry["aligner"] == "identity" and entry["method"] == "naive"
    assert entry["label_names"] == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    assert entry["source"]["kind"] == "conll" and entry["source"]["language"] == "eng"
    assert entry["target_source"] == {"kind": "parallel", "files": ["samples/swa.txt"], "language": "swa"}  # portable
    st = entry["stats"]
    for key in ("sentences_in", "sentences_out", "entities_per_class", "projection_rate", "filters"):
        assert key in st
    assert st["sentences_in"] == 30
    assert st["sentences_out"] + sum(st["filters"].values()) == st["sentences_in"]

    dd = datasets.load_from_disk(os.fspath(tmp_path / "out" / "swa"))
    assert {k: len(v) for k, v in dd.items()} == entry["num_rows"]
    assert sum(entry["num_rows"].values()) == st["sentences_out"]
    names = dd["train"].features["ner_tags"].feature.names
    assert names == entry["label_names"]
    counted = {}
    for split in dd.values():
        for row in split:
            assert len(row["tokens"]) == len(row["ner_tags"])
            assert len(row["source_tokens"]) == len(row["source_ner_tags"])
            spans = tags_to_spans([names[t] for t in row["ner_tags"]])
            assert len(spans) == len(row["entity_scores"])
            for sp in spans:
                counted[sp.label] = counted.get(sp.label, 0) + 1
            assert json.loads(row["origin"])["target_file"].endswith("swa.txt")
    assert counted == st["entities_per_class"]
    assert "sentences_in" in dd["train"].info.description
    for split in ("train", "validation"):
        assert (tmp_path / "out" / "swa" / "parquet" / f"{split}.parquet").exists()
    assert res.datasets["swa"]["train"].num_rows == entry["num_rows"]["train"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_same_inputs_give_identical_rows_and_fingerprint(tmp_path):
    outs = []
    for run in ("a", "b"):
        spec = sample_spec()
        lb = LanguageBuild(spec, cache_dir=tmp_path / run / "cache", aligner=SameWordAligner("identity"), chunk_size=7)
        res = build([spec], tmp_path / run / "out", cache_dir=tmp_path / run / "cache", builds={"swa": lb})
        outs.append((res.manifest["configs"]["swa"]["fingerprint"], {k: v.to_list() for k, v in res.datasets["swa"].items()}))
    assert outs[0][0] == outs[1][0]
    assert outs[0][1] == outs[1][1]


def test_fingerprint_follows_inputs_models_and_parameters(tmp_path):
    for name in ("eng.txt", "eng.conll", "swa.txt"):
        shutil.copy(SAMPLES_DIR / name, tmp_path / name)
    src = SourceSpec("parallel", {"source_text": str(tmp_path / "eng.txt"), "target_text": str(tmp_path / "{lang}.txt"),
                                  "source_labels": str(tmp_path / "eng.conll")})

    def fp(aligner="identity", **kw):
        return make_build(BuildSpec("swa", src, method="naive", **kw), tmp_path, SameWordAligner(aligner)).fingerprint()

    base = fp()
    assert fp() == base
    assert fp(aligner="other") != base
    assert fp(filters=FilterOptions(min_score=0.5)) != base
    assert fp(labels="masakhaner") != base
    assert make_build(BuildSpec("swa", src, method="heuristic"), tmp_path).fingerprint() != base
    text = (tmp_path / "swa.txt").read_text(encoding="utf-8")
    (tmp_path / "swa.txt").write_text(text.replace("Mombasa", "Mombasa ,", 1), encoding="utf-8")
    assert fp() != base
    (tmp_path / "swa.txt").write_text(text, encoding="utf-8")
    assert fp() == base


def test_rerun_reads_the_cache_and_never_aligns(tmp_path):
    spec = sample_spec()
    first = SameWordAligner("identity")
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path, first)})
    assert first.calls == 30
    second = SameWordAligner("identity")
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path, second)})
    assert second.calls == 0
    assert res.manifest["configs"]["swa"]["stats"]["sentences_out"] == 30


class FailingAfter:
    """A projection that fails once it has seen ``n`` sentences (an interrupted build)."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def __call__(self, *args, **kw):
        self.seen += 1
        if self.seen > self.n:
            raise KeyboardInterrupt
        return copy_project(*args, **kw)


def test_interrupted_build_leaves_no_loadable_output_and_resumes(tmp_path):
    spec = sample_spec()
    aligner = SameWordAligner("identity")
    with pytest.raises(KeyboardInterrupt):
        build([spec], tmp_path / "out", cache_dir=tmp_path / "cache",
              builds={"swa": make_build(spec, tmp_path, aligner, method=FailingAfter(20))})
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]
    assert aligner.calls == 24  # three chunks of 8 reached the aligner
    again = SameWordAligner("identity")
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path, again)})
    assert again.calls == 30 - 16  # the two finished chunks came from the cache
    assert read_manifest(tmp_path / "out")["configs"]["swa"]["stats"]["sentences_in"] == 30


def test_failed_rebuild_keeps_the_previous_output(tmp_path):
    spec = sample_spec()
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path)})
    before = (tmp_path / "out" / MANIFEST_NAME).read_text()
    other = sample_spec(validation_fraction=0.5)
    with pytest.raises(KeyboardInterrupt):
        build([other], tmp_path / "out", cache_dir=tmp_path / "cache",
              builds={"swa": make_build(other, tmp_path, method=FailingAfter(3))})
    assert (tmp_path / "out" / MANIFEST_NAME).read_text() == before
    datasets.load_from_disk(os.fspath(tmp_path / "out" / "swa"))


def test_refuses_to_replace_a_folder_that_is_not_a_build(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    spec = sample_spec()
    with pytest.raises(ValueError, match="not a silver-ner build folder"):
        build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path)})
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_ranks_share_the_work_then_assembly_aligns_nothing(tmp_path):
    spec = sample_spec()
    done = []
    for rank in range(3):
        lb = make_build(spec, tmp_path)
        done.append(lb.run(rank=rank, world_size=3))
        assert lb.aligner.calls < 30
    assert sum(done) == make_build(spec, tmp_path).num_chunks() == 4
    last = SameWordAligner("identity")
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path, last)})
    assert last.calls == 0
    with pytest.raises(ValueError, match="rank"):
        make_build(spec, tmp_path).run(rank=3, world_size=3)


PAIRS = [
    pair(0, "John Smith visited Paris .", "B-PER I-PER O B-LOC O", "John Smith alitembelea Paris ."),
    pair(1, "Acme Corp hired Ann .", "B-ORG I-ORG O B-PER O", "Ann aliajiriwa ."),  # Acme Corp has no link
    pair(2, "Ann met Bob in a very long meeting today .", "B-PER O B-PER O O O O O O O", "Ann Bob"),  # ratio 5
    pair(3, "The EU met in Rome .", "O B-ORG O O B-LOC O", "EU ilikutana Rome ."),
    pair(4, "Ann spoke German .", "B-PER O B-MISC O", "Ann alizungumza German ."),
    pair(5, "Empty .", "O O", ""),
]


def pairs_build(tmp_path, **kw):
    spec = BuildSpec("xx", SourceSpec("pairs"), method="naive", **kw)
    return LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner("identity"), pairs=PAIRS,
                         method=lambda *a, **k: copy_project(*a, score=lambda sp: 0.4 if sp.label == "ORG" else 0.9))


def test_filters_count_what_they_remove(tmp_path):
    plain = pairs_build(tmp_path).stats()
    assert plain["filters"] == {"empty": 1}
    assert plain["sentences_out"] == 5
    assert plain["source_entities"] == 9 and plain["projected_entities"] == 8
    assert plain["projection_rate"] == round(8 / 9, 4)
    f = FilterOptions(drop_unprojected=True, min_score=0.5, max_length_ratio=3)
    st = pairs_build(tmp_path, filters=f).stats()
    assert st["filters"] == {"empty": 1, "max_length_ratio": 1, "unprojected": 1, "min_score": 1}
    assert st["sentences_out"] == 2
    assert st["sentences_in"] == st["sentences_out"] + sum(st["filters"].values())
    rows = [r for _, _, r in pairs_build(tmp_path, filters=f).rows(range(1))]
    assert sorted(r["source_id"] for r in rows) == ["p0", "p4"]


def test_label_sets_and_mapping_are_explicit_and_recorded(tmp_path):
    lb = pairs_build(tmp_path)
    assert lb.label_mapping() == {"LOC": "LOC", "MISC": None, "ORG": "ORG", "PER": "PER"}
    assert lb.stats()["labels_dropped"] == {"MISC": 1}
    misc = pairs_build(tmp_path, labels="conll+misc")
    assert misc.stats()["source_entities_per_class"]["MISC"] == 1
    assert misc.spec.label_names[-2:] == ["B-MISC", "I-MISC"]
    renamed = pairs_build(tmp_path, labels="masakhaner", label_mapping={"MISC": "DATE", "ORG": None})
    assert renamed.label_mapping()["MISC"] == "DATE" and renamed.label_mapping()["ORG"] is None
    st = renamed.stats()
    assert "ORG" not in st["source_entities_per_class"] and st["labels_dropped"] == {"ORG": 2}
    assert resolve_labels("PER, LOC") == ("PER", "LOC")
    with pytest.raises(ValueError, match="not in the label set"):
        BuildSpec("xx", SourceSpec("pairs"), label_mapping={"MISC": "EVENT"})
    with pytest.raises(ValueError, match="twice"):
        resolve_labels("PER,PER")


def test_span_conventions_extend_projected_spans_and_are_counted_and_recorded(tmp_path):
    conv = {"LOC": [("jiji",)], "PER": [("bwana", "mkubwa")]}
    pairs = [
        pair(0, "John visited Paris .", "B-PER O B-LOC O", "Bwana mkubwa John alitembelea jiji Paris ."),
        pair(1, "Rome is old .", "B-LOC O O O", "jiji Rome ni la zamani ."),
        pair(2, "Ann is here .", "B-PER O O O", "jiji Ann yupo ."),  # jiji is declared for LOC, not PER
    ]

    def run(sub, **kw):
        spec = BuildSpec("xx", SourceSpec("pairs"), method="naive", **kw)
        return LanguageBuild(spec, cache_dir=tmp_path / sub, aligner=SameWordAligner("identity"), pairs=pairs, method=copy_project)

    plain, conv_build = run("a"), run("b", span_conventions=conv)
    assert plain.fingerprint() != conv_build.fingerprint()
    names = conv_build.spec.label_names
    rows = {r["source_id"]: [names[t] for t in r["ner_tags"]] for _, _, r in conv_build.rows(range(1))}
    assert rows["p0"] == ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
    assert rows["p1"] == ["B-LOC", "I-LOC", "O", "O", "O", "O"]
    assert rows["p2"] == ["O", "B-PER", "O", "O"]
    st = conv_build.stats()
    assert st["convention_attached"] == {"LOC": 2, "PER": 1}
    assert "convention_attached" not in plain.stats()
    entry = conv_build.config_entry()
    assert entry["span_conventions"] == {"LOC": ["jiji"], "PER": ["bwana mkubwa"]}
    with pytest.raises(ValueError, match="span convention for 'MISC': not in the label set"):
        BuildSpec("xx", SourceSpec("pairs"), span_conventions={"MISC": [("la",)]})


def test_duplicate_pair_ids_are_an_error(tmp_path):
    spec = BuildSpec("xx", SourceSpec("pairs"), method="naive")
    lb = LanguageBuild(spec, cache_dir=tmp_path, aligner=SameWordAligner("identity"), pairs=[PAIRS[0], PAIRS[0]])
    with pytest.raises(ValueError, match="'p0' occurs more than once"):
        lb.pairs()


def test_split_by_id_hash_is_stable_and_follows_the_fraction():
    ids = [f"swa-train.txt:{i}" for i in range(4000)]
    first = [split_of(i, 0.2) for i in ids]
    assert first == [split_of(i, 0.2) for i in ids]
    share = first.count("validation") / len(ids)
    assert 0.17 < share < 0.23
    assert all(split_of(i, 0.0) == "train" for i in ids[:100])


def test_source_spec_errors_name_what_is_missing():
    with pytest.raises(ValueError, match="source_labels|tagger"):
        SourceSpec("parallel", {"source_text": "a", "target_text": "b"})
    with pytest.raises(ValueError, match="translated_conll"):
        SourceSpec("translated-conll", {"source_gold": "a"})
    with pytest.raises(ValueError, match="unknown source kind"):
        SourceSpec("web")
    spec = BuildSpec("swa", SourceSpec("parallel", {"source_text": "/nope/eng.txt", "target_text": "/nope/{lang}.txt",
                                                    "source_labels": "/nope/eng.conll"}))
    assert spec.source.files["target_text"] == "/nope/swa.txt"
    with pytest.raises(FileNotFoundError, match="/nope/"):
        LanguageBuild(spec, aligner=SameWordAligner("identity")).fingerprint()


def test_cache_keys_cover_version_and_file_bytes(tmp_path, monkeypatch):
    f = tmp_path / "a.txt"
    f.write_text("x")
    k1 = cache.make_key(cache.files_fingerprint({"a": f}))
    f.write_text("y")
    assert cache.make_key(cache.files_fingerprint({"a": f})) != k1
    monkeypatch.setattr(cache, "__version__", "9.9.9")
    f.write_text("x")
    assert cache.make_key(cache.files_fingerprint({"a": f})) != k1
    cache.write_json_atomic(tmp_path / "d" / "e.json", {"a": 1})
    assert cache.read_json(tmp_path / "d" / "e.json") == {"a": 1}
    (tmp_path / "d" / "bad.json").write_text("{")
    assert cache.read_json(tmp_path / "d" / "bad.json") is None


class EchoTranslator:
    """Stands in for a translation model: returns the sentence with a suffix word."""

    def __init__(self, model, **options):
        self.identity = f"echo:{model}:{sorted(options.items())}"

    def translate(self, sentences, source_lang, target_lang):
        return [f"{s} {target_lang}" if "Police" not in s else "" for s in sentences]


def test_translate_source_goes_through_the_translator(tmp_path, monkeypatch):
    from silver_ner.builders import translate

    from silver_ner.projection import models

    monkeypatch.setattr(translate, "HFTranslator", EchoTranslator)
    (tmp_path / "hub-model").mkdir()
    (tmp_path / "hub-model" / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(models, "resolve_model", lambda name, **kw: tmp_path / "hub-model")  # a Hub id's snapshot
    spec = BuildSpec("yor", SourceSpec("translate", {"source_gold": str(SAMPLES_DIR / "eng.conll")}, model="m",
                                       params={"num_beams": 2}), method="naive")
    lb = make_build(spec, tmp_path)
    pairs = lb.pairs()
    assert len(pairs) == 29 and pairs[0].target_tokens[-1] == "yor"
    assert pairs[0].origin["translator"] == "echo:m:[('num_beams', 2)]"
    st = lb.stats()
    assert st["source_dropped"] == {"empty translation": 1} and st["sentences_in"] == 29
    src, tgt = spec.source.describe("yor")
    assert tgt == {"kind": "machine-translation", "files": [], "language": "yor", "model": "m", "params": {"num_beams": 2}}
    other = BuildSpec("yor", SourceSpec("translate", {"source_gold": str(SAMPLES_DIR / "eng.conll")}, model="m2"),
                      method="naive")
    assert make_build(other, tmp_path).source_key() != lb.source_key()


def test_gold_specs_resolve_to_files_of_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SILVER_NER_DATA", os.fspath(tmp_path))
    spec = BuildSpec("swa", SourceSpec("translated-conll", {"source_gold": "conll2003:train",
                                                            "translated_conll": "t/{lang}.txt"}))
    assert spec.source.files == {"source_gold": os.fspath(tmp_path / "conll2003_en" / "train.txt"),
                                 "translated_conll": "t/swa.txt"}
    with pytest.raises(FileNotFoundError, match="conll2003_en"):
        LanguageBuild(spec, aligner=SameWordAligner("identity")).source_key()


def test_repairing_cache_key_follows_the_sentence_encoder(tmp_path, monkeypatch):
    from silver_ner.projection import encoder

    enc = tmp_path / "enc"
    enc.mkdir()
    (enc / "config.json").write_text('{"hidden_size": 4}')
    monkeypatch.setattr(encoder, "resolve_encoder", lambda name: str(enc))
    gold = SAMPLES_DIR / "eng.conll"
    spec = BuildSpec("swa", SourceSpec("translated-conll", {"source_gold": str(gold), "translated_conll": str(gold)}),
                     method="naive", pairing_embedder="e5")
    first = make_build(spec, tmp_path).source_key()
    assert make_build(spec, tmp_path).source_key() == first
    (enc / "config.json").write_text('{"hidden_size": 8}')  # a rebuilt encoder re-pairs
    assert make_build(spec, tmp_path).source_key() != first
    bf16 = BuildSpec("swa", spec.source, method="naive", aligner_precision="bfloat16", pairing_embedder="e5")
    assert make_build(bf16, tmp_path).source_key() != make_build(spec, tmp_path).source_key()


# --- splits that have rows ---------------------------------------------------------------------


def test_validation_fraction_zero_writes_a_train_split_only(tmp_path):
    spec = sample_spec(validation_fraction=0.0)
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path)},
                parquet=True)
    entry = read_manifest(tmp_path / "out")["configs"]["swa"]
    assert entry["splits"] == ["train"] and entry["num_rows"] == {"train": 30}
    dd = datasets.load_from_disk(os.fspath(tmp_path / "out" / "swa"))
    assert list(dd) == ["train"] and dd["train"].num_rows == 30
    assert list(res.datasets["swa"]) == ["train"]
    assert sorted(p.name for p in (tmp_path / "out" / "swa" / "parquet").iterdir()) == ["train.parquet"]


def test_a_small_build_with_no_row_hashed_into_validation(tmp_path):
    pairs = [p for p in PAIRS if p.id != "p1"]  # p1 is the only id of PAIRS that hashes into validation at 0.1
    assert all(split_of(f"xx-{p.id}", 0.1) == "train" for p in pairs)
    spec = BuildSpec("xx", SourceSpec("pairs"), method="naive", labels="conll+misc")
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner("identity"), pairs=pairs, method=copy_project)
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"xx": lb})
    entry = res.manifest["configs"]["xx"]
    assert entry["splits"] == ["train"] and entry["num_rows"] == {"train": 4}
    assert list(datasets.load_from_disk(os.fspath(tmp_path / "out" / "xx"))) == ["train"]


def test_the_builder_generates_only_the_splits_that_have_rows(tmp_path):
    from silver_ner.builders.silver import SilverNerBuilder

    lb = make_build(sample_spec(validation_fraction=0.0), tmp_path)
    b = SilverNerBuilder.from_build(lb, cache_dir=os.fspath(tmp_path / "ds"))
    b.download_and_prepare()
    assert list(b.info.splits) == ["train"]
    assert list(b.as_dataset()) == ["train"]


# --- label sets --------------------------------------------------------------------------------


def test_label_types_are_matched_case_insensitively():
    assert resolve_labels("per, loc") == ("PER", "LOC")
    assert resolve_labels("CONLL") == ("PER", "ORG", "LOC")
    spec = BuildSpec("xx", SourceSpec("pairs"), labels="per,org", label_mapping={"MISC": "org"})
    assert spec.labels == ("PER", "ORG") and spec.label_mapping == {"MISC": "ORG"}


def test_lower_case_labels_keep_the_entities(tmp_path):
    spec = sample_spec(labels="per,loc")
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path)})
    st = res.manifest["configs"]["swa"]["stats"]
    assert set(st["entities_per_class"]) == {"PER", "LOC"} and st["entities_per_class"]["PER"] > 0
    assert set(st["labels_dropped"]) == {"ORG"}


@pytest.mark.parametrize("labels, mapping, message", [
    ("PER,FOO", {}, "FOO"),
    ("masakhaner", {}, "DATE"),
    ("conll", {"PERSON": "PER"}, "PERSON"),
])
def test_a_label_type_the_source_does_not_have_is_an_error(tmp_path, labels, mapping, message):
    from silver_ner.projection.errors import UserError

    spec = sample_spec(labels=labels, label_mapping=mapping)
    aligner = SameWordAligner("identity")
    with pytest.raises(UserError, match=f"{message}.*occur.* nowhere in the source|nowhere in the source.*{message}"):
        build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path, aligner)})
    assert aligner.calls == 0 and not (tmp_path / "out").exists()
    with pytest.raises(UserError, match=message):
        make_build(spec, tmp_path).run(rank=0, world_size=2)


def test_a_label_the_source_spells_otherwise_is_named_in_the_error(tmp_path):
    from silver_ner.projection.errors import UserError

    lower = [SourcePair("q0", ["Ann", "ran"], [Span(0, 1, "per")], ["Ann", "alikimbia"], "eng", "xx", {})]
    spec = BuildSpec("xx", SourceSpec("pairs"), method="naive", labels="PER")
    lb = LanguageBuild(spec, cache_dir=tmp_path, aligner=SameWordAligner("identity"), pairs=lower, method=copy_project)
    with pytest.raises(UserError, match="--label-map per=PER"):
        lb.check_labels()


def project_nothing(src, src_spans, tgt, alignment, **_):
    return ProjectionResult(unprojected=list(range(len(src_spans))))


def test_an_all_o_build_is_an_error_unless_allowed(tmp_path):
    from silver_ner.projection.errors import UserError

    spec = sample_spec()
    with pytest.raises(UserError, match="no entity in any of its 30 rows.*--allow-empty"):
        build([spec], tmp_path / "out", cache_dir=tmp_path / "cache",
              builds={"swa": make_build(spec, tmp_path, method=project_nothing)})
    assert not (tmp_path / "out").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", allow_empty=True,
                builds={"swa": make_build(spec, tmp_path, method=project_nothing)})
    assert res.manifest["configs"]["swa"]["stats"]["entities_per_class"] == {}
    assert sum(res.manifest["configs"]["swa"]["num_rows"].values()) == 30


def test_a_build_with_no_rows_is_an_error(tmp_path):
    from silver_ner.projection.errors import UserError

    spec = BuildSpec("xx", SourceSpec("pairs"), method="naive", filters=FilterOptions(min_score=0.5))
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner("identity"), pairs=[PAIRS[0], PAIRS[3]],
                       method=lambda *a, **k: copy_project(*a, score=0.1))
    with pytest.raises(UserError, match="xx: no rows to write .*min_score: 2"):
        build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", allow_empty=True, builds={"xx": lb})
    assert not (tmp_path / "out").exists()


# --- output folder -----------------------------------------------------------------------------


def test_an_output_path_that_is_a_file_is_a_user_error(tmp_path):
    from silver_ner.projection.errors import UserError

    (tmp_path / "out").write_text("not a folder")
    spec = sample_spec()
    aligner = SameWordAligner("identity")
    with pytest.raises(UserError, match="out: exists and is not a folder"):
        build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path, aligner)})
    with pytest.raises(UserError, match="out: is a file, not a folder"):
        build([spec], tmp_path / "out" / "sub", cache_dir=tmp_path / "cache",
              builds={"swa": make_build(spec, tmp_path, aligner)})
    assert aligner.calls == 0 and (tmp_path / "out").read_text() == "not a folder"


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_partial_folders_of_dead_processes_are_removed(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".out.partial-{dead}"
    (stale / "swa").mkdir(parents=True)
    alive = tmp_path / f".out.partial-{os.getpid()}x"  # not a pid suffix: not ours to touch
    alive.mkdir()
    other = tmp_path / f".other.partial-{dead}"  # another output's partial
    other.mkdir()
    spec = sample_spec()
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path)})
    assert not stale.exists() and alive.exists() and other.exists()


def test_a_previous_output_moved_aside_by_a_killed_swap_is_restored(tmp_path):
    spec = sample_spec()
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"swa": make_build(spec, tmp_path)})
    before = (tmp_path / "out" / MANIFEST_NAME).read_text()
    os.replace(tmp_path / "out", tmp_path / f".out.old-{_dead_pid()}")  # killed between the two renames
    other = sample_spec(validation_fraction=0.5)
    with pytest.raises(KeyboardInterrupt):
        build([other], tmp_path / "out", cache_dir=tmp_path / "cache",
              builds={"swa": make_build(other, tmp_path, method=FailingAfter(3))})
    assert (tmp_path / "out" / MANIFEST_NAME).read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- interrupts --------------------------------------------------------------------------------

INTERRUPTED_BUILD = r'''
import os, sys, time
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from conftest import SameWordAligner
from test_build import make_build, sample_spec
from silver_ner.builders.build import build

tmp, where = Path(sys.argv[2]), sys.argv[3]


class Finaliser:
    def __del__(self):
        (tmp / "ready").write_text(str(os.getpid()))
        time.sleep(60)  # the signal lands here, in a finaliser


class WaitsOnTheSecondLanguage(SameWordAligner):
    def align(self, pairs):
        if self.calls:  # only the first chunk waits
            pass
        elif where == "finaliser":
            Finaliser()  # collected at once: its __del__ runs now
        else:
            (tmp / "ready").write_text(str(os.getpid()))
            time.sleep(60)
        return super().align(pairs)


specs = [sample_spec("swa"), sample_spec("deu")]
build(specs, tmp / "out", cache_dir=tmp / "cache",
      builds={"swa": make_build(specs[0], tmp), "deu": make_build(specs[1], tmp, WaitsOnTheSecondLanguage())})
print("wrote", tmp / "out", flush=True)
'''


def _interrupt_a_build(tmp_path, sig, where="align"):
    """Run a two-language build in a subprocess and send ``sig`` as the second language's alignment starts."""
    import signal  # noqa: F401
    import subprocess
    import sys
    import time

    script = tmp_path / "interrupted_build.py"
    script.write_text(INTERRUPTED_BUILD, encoding="utf-8")
    tests = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen([sys.executable, os.fspath(script), tests, os.fspath(tmp_path), where],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not (tmp_path / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the build never reached the second language (exit {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.05)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the build went on after the signal:\n{out}\n{err}")
    return proc.returncode, out, err


def _partials(tmp_path):
    return sorted(p for p in tmp_path.iterdir() if p.name.startswith(".out."))


def _loads(path) -> bool:
    try:
        datasets.load_from_disk(os.fspath(path))
    except FileNotFoundError:
        return False
    return True


@pytest.mark.parametrize("where", ["align", "finaliser"])
def test_sigint_stops_the_build_with_a_non_zero_exit_and_no_output(tmp_path, where):
    import signal

    code, out, err = _interrupt_a_build(tmp_path, signal.SIGINT, where)
    assert code != 0, (out, err)
    assert "wrote" not in out
    assert not (tmp_path / "out").exists() and _partials(tmp_path) == []
    assert list((tmp_path / "cache" / "rows").iterdir())  # the first language's chunks stay cached


def test_sigterm_cleans_up_the_partial_folder(tmp_path):
    import signal

    code, out, err = _interrupt_a_build(tmp_path, signal.SIGTERM)
    assert code != 0 and "wrote" not in out
    assert not (tmp_path / "out").exists() and _partials(tmp_path) == []
    assert list((tmp_path / "cache" / "rows").iterdir())


def test_a_killed_build_leaves_nothing_that_loads_and_the_next_run_resumes_and_cleans_up(tmp_path):
    import signal

    code, out, err = _interrupt_a_build(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    partials = _partials(tmp_path)
    assert len(partials) == 1 and (partials[0] / "swa").is_dir()  # the first language was written, then the kill
    assert not _loads(partials[0] / "swa") and not _loads(partials[0] / "swa" / "train")
    specs = [sample_spec("swa"), sample_spec("deu")]
    aligners = {lang: SameWordAligner("identity") for lang in ("swa", "deu")}
    res = build(specs, tmp_path / "out", cache_dir=tmp_path / "cache",
                builds={lang: make_build(s, tmp_path, aligners[lang]) for lang, s in zip(("swa", "deu"), specs)})
    assert aligners["swa"].calls == 0  # resumed from the cached chunks
    assert set(res.manifest["configs"]) == {"swa", "deu"} and _partials(tmp_path) == []
    assert _loads(tmp_path / "out" / "swa")


def test_a_forked_worker_gets_the_signal_dispositions_from_before_the_build():
    """datasets' num_proc workers are forked: a Python-level handler there would leave a worker blocked in C deaf
    to the pool's SIGTERM, and the pool's exit would wait for it forever."""
    import signal

    from silver_ner.builders.build import interrupt_guard

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with interrupt_guard():
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child reports and leaves at once
            same = all(signal.getsignal(sig) is h for sig, h in before.items())
            os.write(w, b"1" if same else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(r, 1) == b"1"
    assert all(signal.getsignal(sig) is h for sig, h in before.items())


def test_tagger_version_is_part_of_the_fingerprint_where_a_model_tags(fake_hub_models, tmp_path, monkeypatch):
    """Builds whose source side (or candidates) a model tags are not reused after the tagger changes; builds
    from gold labels are."""
    import silver_ner.builders.tagger as tagger_module

    for name in ("eng.txt", "eng.conll", "swa.txt"):
        shutil.copy(SAMPLES_DIR / name, tmp_path / name)
    files = {"source_text": str(tmp_path / "eng.txt"), "target_text": str(tmp_path / "{lang}.txt")}
    tagged = SourceSpec("parallel", files, model="org/ner-model")
    gold = SourceSpec("parallel", {**files, "source_labels": str(tmp_path / "eng.conll")})

    def fp(src):
        return make_build(BuildSpec("swa", src, method="naive"), tmp_path, SameWordAligner("identity")).fingerprint()

    before = {"tagged": fp(tagged), "gold": fp(gold)}
    monkeypatch.setattr(tagger_module, "TAGGER_VERSION", tagger_module.TAGGER_VERSION + "-next")
    assert fp(tagged) != before["tagged"]
    assert fp(gold) == before["gold"]


class ArticleAligner:
    """Links identical words, and the German noun 'Kommission' to the article before 'Commission' too (as
    subword links from a case-marked noun do)."""

    identity = "article"

    def align(self, pairs):
        from silver_ner.projection.protocols import Alignment

        out = []
        for s, t in pairs:
            links = [(i, j) for i, a in enumerate(s) for j, b in enumerate(t) if a.lower() == b.lower()]
            for i, a in enumerate(s):
                if a == "Kommission":
                    links += [(i, j) for j, b in enumerate(t) if b == "Commission"]
                    links += [(i, j - 1) for j, b in enumerate(t) if b == "Commission" and j and t[j - 1] == "the"]
            out.append(Alignment.from_pairs(sorted(set(links))))
        return out

    def align_methods(self, pairs, methods):
        return {m: self.align(pairs) for m in methods}


ARTICLE_PAIRS = [
    pair(0, "heute tagte die Kommission", "O O O B-ORG", "today the Commission met"),
    pair(1, "gestern sprach die Kommission", "O O O B-ORG", "yesterday the Commission spoke"),
    pair(2, "Anna sah Berlin", "B-PER O B-LOC", "Anna saw the city of Berlin"),
]


def article_build(tmp_path, **kw):
    spec = BuildSpec("xx", SourceSpec("pairs"), method="tuned-greedy", validation_fraction=0, **kw)
    return LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=ArticleAligner(), pairs=ARTICLE_PAIRS)


def test_trim_frequent_cuts_the_corpus_articles_at_the_left_edge(tmp_path):
    def spans(lb):
        names = lb.spec.label_names
        return [tags_to_spans([names[t] for t in row["ner_tags"]]) for _, _, row in lb.rows(range(lb.num_chunks()))]

    plain = article_build(tmp_path / "a")
    assert spans(plain)[:2] == [[Span(1, 3, "ORG")], [Span(1, 3, "ORG")]]  # 'the Commission'
    trimmed = article_build(tmp_path / "b", trim_frequent=0.5)
    assert trimmed.frequent_target_words() == ["the"]  # in all three targets, always lower case
    assert spans(trimmed)[:2] == [[Span(2, 3, "ORG")], [Span(2, 3, "ORG")]]  # 'Commission'
    assert spans(trimmed)[2] == spans(plain)[2]
    assert trimmed.fingerprint() != plain.fingerprint()
    entry = trimmed.config_entry()
    assert entry["trim_frequent"] == {"share": 0.5, "words": ["the"]}


def test_trim_frequent_errors():
    with pytest.raises(UserError, match="expected a share"):
        BuildSpec("xx", SourceSpec("pairs"), trim_frequent=1.5)
    with pytest.raises(UserError, match="'heuristic' does not trim spans"):
        BuildSpec("xx", SourceSpec("pairs"), method="heuristic", trim_frequent=0.2)
    with pytest.raises(UserError, match="do not give both"):
        BuildSpec("xx", SourceSpec("pairs"), trim_frequent=0.2, method_params={"trim_words": ["the"]})


def test_frequent_lowercase_words_keeps_capitalised_names_off():
    from silver_ner.projection.matching import frequent_lowercase_words

    sents = [s.split() for s in ("The Commission said the plan works", "the Commission and the Council",
                                 "we thank the Commission", "Commission members of the house")]
    assert frequent_lowercase_words(sents, 0.75) == ["the"]  # 'commission' is as frequent but capitalised
    assert frequent_lowercase_words(sents, 0.5) == ["the"]
    assert "commission" in frequent_lowercase_words(sents, 0.75, min_lower=0.0)
    with pytest.raises(ValueError):
        frequent_lowercase_words(sents, 0)
