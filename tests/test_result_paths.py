"""Result files name model folders and data files portably: no path of the machine that wrote them."""

import json

from conftest import FAST, write_conll

from silver_ner.students.evaluation import evaluate_model
from silver_ner.students.train import TrainSettings, load_conll_data, train_token_classifier


def _machine_paths(tmp_path_factory) -> list[str]:
    base = tmp_path_factory.getbasetemp()
    return [str(base), str(base.resolve())]


def test_evaluation_records_name_the_model_folder_and_the_gold_file(word_model, tmp_path, tmp_path_factory):
    gold = write_conll(tmp_path / "test.txt")
    results = tmp_path / "res.json"
    for model, gold_file in ((str(word_model), str(gold)), (str(word_model.resolve()), str(gold.resolve()))):
        evaluate_model(model, [gold_file], results_file=results)
        text = results.read_text(encoding="utf-8")
        assert [p for p in _machine_paths(tmp_path_factory) if p in text] == []
        records = json.loads(text)
        # both spellings of the folder name the same model: the second scoring replaces the first record
        assert [(r["model"], r["gold_path"]) for r in records] == [(word_model.name, "test.txt")]


def test_training_records_name_the_encoder_folder_and_the_data_file(tiny_bert, tmp_path, tmp_path_factory):
    data = load_conll_data(write_conll(tmp_path / "train.txt"))
    out = tmp_path / "student"
    rec = train_token_classifier(data, out, encoder=str(tiny_bert), settings=TrainSettings(max_steps=1, **FAST),
                                 keep_types=["PER", "ORG", "LOC"], show_progress=False)
    text = (out / "silver_ner_training.json").read_text(encoding="utf-8")
    assert [p for p in _machine_paths(tmp_path_factory) if p in text] == []
    saved = json.loads(text)
    assert saved == rec
    assert saved["base_encoder"]["path"] == tiny_bert.name
    assert saved["training_data"][0]["path"] == "train.txt"


def _strip_paths():
    from conftest import load_script

    return load_script("benchmarks", "strip_paths")


def test_strip_paths_rewrites_committed_results_once(tmp_path, capsys):
    strip = _strip_paths()
    ws = tmp_path / "ws"  # the folder holding the repository, runs/ and shared/data
    results = tmp_path / "results"
    results.mkdir()
    record = results / "student.json"
    record.write_text(json.dumps({"model": f"{ws}/runs/teacher", "gold_path": f"{ws}/shared/data/masakhaner2/swa/test.txt",
                                  "encoder": f"meanpool:{tmp_path}/cache/encoders/e5:prefix='query: '"}), encoding="utf-8")
    maps = ["--map", f"{ws}/shared/data=", "--map", f"{tmp_path}/cache=<cache>", "--map", f"{ws}="]
    assert strip.main([str(results), "--check", *maps]) == 1
    assert json.loads(record.read_text(encoding="utf-8"))["model"] == f"{ws}/runs/teacher"  # --check changes nothing
    assert strip.main([str(results), *maps]) == 0
    assert json.loads(record.read_text(encoding="utf-8")) == {
        "model": "runs/teacher", "gold_path": "masakhaner2/swa/test.txt", "encoder": "meanpool:<cache>/encoders/e5:prefix='query: '"}
    assert strip.main([str(results), "--check", *maps]) == 0  # a rerun finds nothing left


def test_build_manifests_hold_no_machine_path(tmp_path, tmp_path_factory):
    from conftest import SameWordAligner

    from silver_ner.builders.build import MANIFEST_NAME, BuildSpec, LanguageBuild, SourceSpec, build

    en, de = write_conll(tmp_path / "en.conll"), write_conll(tmp_path / "de.conll")
    spec = BuildSpec("deu", SourceSpec("parallel-conll", {"source_gold": str(en), "target_conll": str(de)}),
                     method="ngram-exact", validation_fraction=0, source_license="cc-by-4.0", reference=str(de))
    lb = LanguageBuild(spec, cache_dir=tmp_path / "cache", aligner=SameWordAligner())
    build([spec], tmp_path / "out", cache_dir=tmp_path / "cache", builds={"deu": lb})
    text = (tmp_path / "out" / MANIFEST_NAME).read_text(encoding="utf-8")
    assert [p for p in _machine_paths(tmp_path_factory) if p in text] == []
    entry = json.loads(text)["configs"]["deu"]
    assert entry["source"]["files"] == ["en.conll"] and entry["target_source"]["files"] == ["de.conll"]
