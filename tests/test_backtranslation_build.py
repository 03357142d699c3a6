"""Back-translation refinement from the build: each target sentence translated back into the
source language by a (tiny, random) translation model, labelled by projection from the source or
by a source-side tagger, and projected onto the target. The models produce gibberish: these tests
check the plumbing (rows, provenance, counters, the translation cache, the fingerprint, errors)."""

import json
import os

import pytest

from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec, build, read_manifest
from silver_ner.builders.steps import BackTranslate, Batch, LabelBacktranslation, MapLabels, PreFilter, run_steps
from silver_ner.builders.translate import HFTranslator
from silver_ner.builders.wordsplit import tokenize
from silver_ner.cli import main
from silver_ner.projection.errors import UserError
from silver_ner.projection.protocols import Alignment
from silver_ner.projection.spans import Span, tags_to_spans
from silver_ner.projection.step import ProjectionStep

pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

EN = "John\tB-PER\nSmith\tI-PER\nvisited\tO\nBerlin\tB-LOC\n.\tO\n\nThe\tO\nCommission\tB-ORG\nmet\tO\nin\tO\nParis\tB-LOC\n.\tO\n"
DE = "John\tO\nSmith\tO\nbesuchte\tO\nBerlin\tO\n.\tO\n\nDie\tO\nCommission\tO\ntagte\tO\nin\tO\nParis\tO\n.\tO\n"


class PositionAligner:
    """Links word i to word i; keeps every batch of pairs it was asked to align."""

    identity = "position"

    def __init__(self):
        self.calls = []

    def align(self, pairs):
        self.calls.append([(list(s), list(t)) for s, t in pairs])
        return [Alignment.from_pairs([(i, i) for i in range(min(len(s), len(t)))]) for s, t in pairs]

    def align_methods(self, pairs, methods):
        return {m: self.align(pairs) for m in methods}


class FirstWordsTagger:
    """Tags the first word PER and the second MISC (a type outside the label set) in every sentence."""

    identity = "first-words"

    def __init__(self):
        self.seen = []

    def tag(self, sentences):
        self.seen += [list(s) for s in sentences]
        return [[Span(0, 1, "PER"), Span(1, 2, "MISC")][: len(s)] for s in sentences]


@pytest.fixture
def files(tmp_path):
    out = {}
    for lang, text in (("en", EN), ("de", DE)):
        out[lang] = tmp_path / f"{lang}.conll"
        out[lang].write_text(text, encoding="utf-8")
    return out


def spec_for(files, model, **kw):
    src = SourceSpec("parallel-conll", {"source_gold": str(files["en"]), "target_conll": str(files["de"])})
    options = {"method": "ngram-exact", "validation_fraction": 0, "backtranslate_params": {"num_beams": 1, "max_length": 24},
               **kw}
    return BuildSpec("deu", src, backtranslate_model=model, **options)


@pytest.fixture
def generate_calls(monkeypatch):
    """Counts the translation model's batches (every call that runs the model)."""
    calls = []
    original = HFTranslator._generate

    def counting(self, texts, src, tgt):
        calls.append(list(texts))
        return original(self, texts, src, tgt)

    monkeypatch.setattr(HFTranslator, "_generate", counting)
    return calls


def rows_of(lb):
    return [row for _, _, row in lb.rows(range(lb.num_chunks()))]


def names(lb, tags):
    return [lb.spec.label_names[t] for t in tags]


def test_projected_labels_go_through_the_back_translation(files, tiny_m2m100, tmp_path, generate_calls):
    aligner = PositionAligner()
    lb = LanguageBuild(spec_for(files, tiny_m2m100), cache_dir=tmp_path / "cache", aligner=aligner)
    rows = rows_of(lb)
    assert len(rows) == 2 and len(generate_calls) == 1  # both targets in one batch
    # the back-translations, as the translator gives them (German -> English), are what was projected from
    tr = HFTranslator(tiny_m2m100, num_beams=1, max_length=24, long_input="split",
                      cache_path=tmp_path / "cache" / "translations.sqlite")
    texts = tr.translate(["John Smith besuchte Berlin.", "Die Commission tagte in Paris."], "deu", "eng")
    assert tr.stats["translated"] == 0  # answered by the build's translation cache
    for row, text in zip(rows, texts):
        assert row["source_tokens"] == tokenize(text) and row["source_lang"] == "eng"
        origin = json.loads(row["origin"])
        bt = origin["backtranslation"]
        assert bt["text"] == text and bt["translator"] == tr.identity and bt["lang"] == "eng"
        assert bt["labels"]["by"] == "projection" and bt["labels"]["from"] == "source"
        assert bt["labels"]["method"] == "ngram-exact"
        assert origin["source_file"] == "en.conll"  # the original source is still named
    # source -> back-translation first, then back-translation -> target, both through the aligner
    src_bt, bt_tgt = aligner.calls
    assert [s for s, _ in src_bt] == [["John", "Smith", "visited", "Berlin", "."],
                                      ["The", "Commission", "met", "in", "Paris", "."]]
    assert [t for _, t in src_bt] == [r["source_tokens"] for r in rows]
    assert bt_tgt == [(r["source_tokens"], r["tokens"]) for r in rows]
    # position links: each source span lands on the same positions of the back-translation, then of the target
    source_spans = [[Span(0, 2, "PER"), Span(3, 4, "LOC")], [Span(1, 2, "ORG"), Span(4, 5, "LOC")]]
    for row, spans in zip(rows, source_spans):
        n = len(row["source_tokens"])
        kept = [sp for sp in spans if sp.end <= n]
        assert tags_to_spans(names(lb, row["source_ner_tags"])) == kept
        assert tags_to_spans(names(lb, row["ner_tags"])) == kept
        assert json.loads(row["origin"])["backtranslation"]["labels"]["unprojected"] == len(spans) - len(kept)
    st = lb.stats()["backtranslation"]
    assert st["sentences"] == 2 and st["empty"] == 0
    assert st["entities"] == sum(len(tags_to_spans(names(lb, r["source_ner_tags"]))) for r in rows)


def test_tagger_labels_the_back_translation(fake_hub_models, files, tiny_m2m100, tmp_path):
    spec = spec_for(files, tiny_m2m100, backtranslate_labels="tagger", backtranslate_tagger="first-words-model")
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=PositionAligner())
    lb._backtranslation_tagger = tagger = FirstWordsTagger()
    rows = rows_of(lb)
    assert tagger.seen == [r["source_tokens"] for r in rows]  # the tagger read the back-translations
    for row in rows:
        assert tags_to_spans(names(lb, row["source_ner_tags"])) == [Span(0, 1, "PER")]  # MISC is not in the label set
        assert tags_to_spans(names(lb, row["ner_tags"])) == [Span(0, 1, "PER")]
        assert json.loads(row["origin"])["backtranslation"]["labels"] == {"by": "tagger", "tagger": "first-words"}
    st = lb.stats()
    assert st["backtranslation"]["labels_dropped"] == 2 and st["backtranslation"]["entities"] == 2
    assert st["source_entities"] == 2 and st["projected_entities"] == 2  # counted on what was projected from


def test_rerun_translates_nothing(files, tiny_m2m100, tmp_path, generate_calls):
    cache = tmp_path / "cache"
    first = LanguageBuild(spec_for(files, tiny_m2m100), cache_dir=cache, aligner=PositionAligner())
    rows = rows_of(first)
    cut = first.stats()["backtranslation"]["cut_at_max_length"]
    assert cut == 2 and generate_calls  # the random model never stops before max_length
    n_calls = len(generate_calls)
    # the same build: every chunk from the cache, the translator is not even loaded
    again = LanguageBuild(spec_for(files, tiny_m2m100), cache_dir=cache, aligner=PositionAligner())
    assert rows_of(again) == rows and again._backtranslator is None and len(generate_calls) == n_calls
    # another projection method: the chunks are computed again, the translations come from the translation cache
    other = LanguageBuild(spec_for(files, tiny_m2m100, method="ngram-greedy"), cache_dir=cache, aligner=PositionAligner())
    assert other.fingerprint() != first.fingerprint()
    other_rows = rows_of(other)
    assert other._backtranslator is not None and len(generate_calls) == n_calls
    assert [r["source_tokens"] for r in other_rows] == [r["source_tokens"] for r in rows]
    # the outputs cut at max_length are remembered with the translations
    assert other.stats()["backtranslation"]["cut_at_max_length"] == cut


def test_outputs_cut_at_max_length_are_counted(files, tiny_m2m100, tmp_path):
    # the random model never emits its end token: every output runs to max_length. With max_length=16 each
    # target is translated in two pieces (both cut): the counter counts sentences, the translator pieces
    lb = LanguageBuild(spec_for(files, tiny_m2m100, backtranslate_params={"num_beams": 1, "max_length": 16}),
                       cache_dir=tmp_path / "c1", aligner=PositionAligner())
    rows = rows_of(lb)
    assert lb.stats()["backtranslation"]["cut_at_max_length"] == 2
    assert lb._backtranslator.stats["outputs_at_max_length"] == 4 and lb._backtranslator.stats["split_inputs"] == 2
    assert all(json.loads(r["origin"])["backtranslation"]["cut_at_max_length"] for r in rows)


def test_fingerprint_covers_the_back_translation(fake_hub_models, files, tiny_m2m100, tmp_path):
    from tiny_models import build_tiny_m2m100

    def fp(**kw):
        return LanguageBuild(spec_for(files, **kw), cache_dir=tmp_path / "cache", aligner=PositionAligner()).fingerprint()

    other_model = str(build_tiny_m2m100(tmp_path / "other-m2m100", seed=1))
    prints = [
        LanguageBuild(spec_for(files, None, backtranslate_params={}), cache_dir=tmp_path / "cache",
                      aligner=PositionAligner()).fingerprint(),
        fp(model=tiny_m2m100),
        fp(model=other_model),
        fp(model=tiny_m2m100, backtranslate_params={"num_beams": 2, "max_length": 24}),
        fp(model=tiny_m2m100, backtranslate_labels="tagger", backtranslate_tagger="tagger-a"),
        fp(model=tiny_m2m100, backtranslate_labels="tagger", backtranslate_tagger="tagger-b"),
    ]
    assert len(set(prints)) == len(prints)
    assert fp(model=tiny_m2m100) == prints[1]


def test_manifest_describes_the_back_translation(files, tiny_m2m100, tmp_path):
    spec = spec_for(files, tiny_m2m100)
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=PositionAligner())
    res = build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"deu": lb}, allow_empty=True)
    entry = read_manifest(tmp_path / "out")["configs"]["deu"]
    bt = entry["backtranslation"]
    name = os.path.basename(tiny_m2m100)  # the manifest names a local model folder portably, by its name
    assert bt["model"] == name and bt["model_identity"].startswith(name + "@")
    assert bt["labels"] == "project" and bt["lang"] == "eng"
    assert bt["options"] == {"long_input": "split", "num_beams": 1, "max_length": 24}
    assert entry["stats"]["backtranslation"]["sentences"] == 2
    assert "empty_backtranslation" in entry["stats"]["filters"]
    ds = res.datasets["deu"]["train"]
    assert len(ds) == 2 and all("backtranslation" in json.loads(o) for o in ds["origin"])


class TableTranslator:
    identity = "table"

    def __init__(self, table, cut=()):
        self.table, self.cut, self.calls = table, set(cut), []

    def translate(self, sentences, source_lang, target_lang):
        self.calls.append((list(sentences), source_lang, target_lang))
        return [self.table[s] for s in sentences]

    def at_max_length(self, sentences, source_lang, target_lang):
        return [s in self.cut for s in sentences]


def test_empty_back_translations_are_dropped_and_counted(files, tmp_path):
    lb = LanguageBuild(BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(files["en"]),
                                                                      "target_conll": str(files["de"])}),
                                 method="ngram-exact"), cache_dir=tmp_path / "cache", aligner=PositionAligner())
    tr = TableTranslator({"John Smith besuchte Berlin.": "  ", "Die Commission tagte in Paris.": "The Commission met"},
                         cut={"Die Commission tagte in Paris."})
    proj = ProjectionStep("ngram-exact")
    steps = [MapLabels(("PER", "ORG", "LOC")), PreFilter(), BackTranslate(tr, "eng", "deu"),
             LabelBacktranslation(proj, aligner=PositionAligner())]
    batch = run_steps(steps, Batch.of(lb.pairs()))
    assert tr.calls == [(["John Smith besuchte Berlin.", "Die Commission tagte in Paris."], "deu", "eng")]
    assert [r.backtranslation.tokens for r in batch.records] == [["The", "Commission", "met"]]
    assert batch.records[0].backtranslation.spans == [Span(1, 2, "ORG")]
    assert batch.counters.filters["empty_backtranslation"] == 1
    assert dict(batch.counters.backtranslation) == {"sentences": 2, "cut_at_max_length": 1, "empty": 1, "entities": 1,
                                                    "unprojected": 1}


def test_back_translation_options_that_do_not_go_together(files):
    with pytest.raises(UserError, match="--backtranslate-labels tagger needs a source-language NER model"):
        spec_for(files, "m", backtranslate_labels="tagger")
    with pytest.raises(UserError, match="--backtranslate-labels 'copy': expected one of project, tagger"):
        spec_for(files, "m", backtranslate_labels="copy")
    with pytest.raises(UserError, match="--backtranslate-tagger goes with --backtranslate-labels tagger"):
        spec_for(files, "m", backtranslate_labels="project", backtranslate_tagger="t")
    with pytest.raises(UserError, match="--backtranslate-labels go.* with --backtranslate MODEL"):
        spec_for(files, None, backtranslate_labels="tagger", backtranslate_params={})
    with pytest.raises(UserError, match="--backtranslate-param beams: unknown translator option"):
        spec_for(files, "m", backtranslate_params={"beams": 2})
    with pytest.raises(UserError, match="'spans-exact' matches candidate spans, which the back-translation has none"):
        spec_for(files, "m", method="spans-exact", candidates_model="c")
    with pytest.raises(UserError, match="--backtranslate and --more-source do not go together"):
        BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": "a", "target_conll": "b", "more_source:spa": "c"}),
                  backtranslate_model="m")
    with pytest.raises(UserError, match="source language qaa: no translation-model code"):
        BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": "a", "target_conll": "b"}, language="qaa"),
                  backtranslate_model="m")


def test_command_errors_and_options(files, capsys):
    base = ["build", "--lang", "deu", "--parallel-conll", str(files["en"]), str(files["de"]), "--output", "unused"]
    assert main([*base, "--backtranslate", "m", "--backtranslate-labels", "tagger"]) == 2
    assert "--backtranslate-labels tagger needs a source-language NER model" in capsys.readouterr().err
    assert main([*base, "--backtranslate-labels", "project"]) == 2
    assert "go(es) with --backtranslate MODEL" in capsys.readouterr().err
    from silver_ner.cli import build_parser
    from silver_ner.commands.build import specs_from_args

    (spec,) = specs_from_args(build_parser().parse_args(
        [*base, "--backtranslate", "m", "--backtranslate-labels", "tagger", "--tagger", "src-ner",
         "--backtranslate-param", "num_beams=2"]))
    assert (spec.backtranslate_model, spec.backtranslate_labels, spec.backtranslate_tagger) == ("m", "tagger", "src-ner")
    assert spec.backtranslate_params == {"num_beams": 2}
    (spec,) = specs_from_args(build_parser().parse_args([*base, "--backtranslate", "m", "--backtranslate-tagger", "bt-ner"]))
    assert (spec.backtranslate_labels, spec.backtranslate_tagger) == ("tagger", "bt-ner")
    (spec,) = specs_from_args(build_parser().parse_args([*base, "--backtranslate", "m"]))
    assert (spec.backtranslate_labels, spec.backtranslate_tagger) == ("project", None)
