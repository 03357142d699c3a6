"""The build on Ray Data (a local two-CPU Ray), one operator per stage: same output as the local engine
(rows, features, manifest statistics, Parquet files), with and without model stages, resumable, retried."""

import json
import os
import time
from pathlib import Path

import datasets
import pytest

ray = pytest.importorskip("ray")

from silver_ner.builders.build import MANIFEST_NAME, BuildSpec, build, demo_source  # noqa: E402
from silver_ner.builders.ray_engine import (TASK_ROOM, RayOptions, _language_builds, build_on_ray,  # noqa: E402
                                            corpus_presets, original_error, plan_actors, plan_pools)
from silver_ner.projection.errors import UserError  # noqa: E402

import ray_fakes  # noqa: E402

pytestmark = pytest.mark.timeout(240)
TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture(scope="module")
def node_cache(tmp_path_factory):
    """The workers' node-local cache folder ($SILVER_NER_CACHE: their translations.sqlite), apart from the driver's."""
    return tmp_path_factory.mktemp("ray-node-cache")


@pytest.fixture(scope="module")
def local_ray(node_cache):
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": TESTS, "SILVER_NER_CACHE": os.fspath(node_cache)}})
    yield ray
    ray.shutdown()


def specs():
    # deu trims the corpus's frequent words off span starts: a list over every pair, which workers get from the driver
    return [BuildSpec("swa", demo_source(), method="ngram-exact", labels="PER,ORG,LOC"),
            BuildSpec("deu", demo_source(), method="ngram-exact", labels="PER,ORG,LOC", trim_frequent=0.2)]


def everything(folder, langs=("swa", "deu")):
    """Rows and features of every split, the manifest's statistics and the Parquet files (name -> rows); ``folder``
    may be a path or an fsspec URL."""
    import fsspec
    import pyarrow.parquet as pq

    fs, root = fsspec.core.url_to_fs(os.fspath(folder))
    out = {}
    for lang in langs:
        dd = datasets.load_from_disk(f"{os.fspath(folder)}/{lang}")
        out[lang] = {k: (dd[k].to_list(), dd[k].features.to_dict()) for k in dd}
    manifest = json.loads(fs.cat_file(f"{root}/{MANIFEST_NAME}"))
    stats = {lang: c["stats"] for lang, c in manifest["configs"].items()}
    parquet = {}
    for p in sorted(fs.glob(f"{root}/*/parquet/*.parquet")):
        with fs.open(p, "rb") as fh:
            parquet[p[len(root.rstrip("/")) + 1:]] = pq.read_table(fh).to_pylist()
    return out, stats, parquet


def local_build(tmp_path, the_specs=None, langs=("swa", "deu"), **kwargs):
    from silver_ner.builders.build import LanguageBuild

    the_specs = the_specs or specs()
    builds = {s.lang: LanguageBuild(s, cache_dir=tmp_path / "local-cache", aligner=ray_fakes.SameWordAligner(),
                                    chunk_size=kwargs.pop("chunk_size", 512)) for s in the_specs}
    build(the_specs, tmp_path / "local", cache_dir=tmp_path / "local-cache", builds=builds, **kwargs)
    return everything(tmp_path / "local", langs)


def test_ray_build_equals_the_local_build_and_a_rerun_computes_nothing(local_ray, tmp_path):
    opts = RayOptions(actors=2, cpus_per_actor=0.5)
    _, report = build_on_ray(specs(), tmp_path / "ray", opts, cache_dir=tmp_path / "ray-cache", chunk_size=8,
                             aligner_factory=ray_fakes.same_word, parquet=True)
    assert report.computed == {"swa": 4, "deu": 4} and report.cached == {"swa": 0, "deu": 0}
    # one operator per stage; no model stage but the aligner's without candidates or back-translation
    assert [(s["stage"], s["kind"], s["actors"]) for s in report.stages] == [
        ("prepare", "tasks", 0), ("align", "actors", 2), ("finish", "tasks", 0)]
    assert set(report.stage_seconds) == {"prepare", "align", "finish"} and len(report.chunk_seconds) == 8
    ray_out = everything(tmp_path / "ray")
    assert sorted(ray_out[2]) == ["deu/parquet/train.parquet", "deu/parquet/validation.parquet",
                                  "swa/parquet/train.parquet", "swa/parquet/validation.parquet"]
    assert ray_out == local_build(tmp_path, parquet=True)  # rows, features, statistics and Parquet files
    _, again = build_on_ray(specs(), tmp_path / "ray2", opts, cache_dir=tmp_path / "ray-cache", chunk_size=8,
                            aligner_factory=ray_fakes.same_word, parquet=True)
    assert again.computed == {"swa": 0, "deu": 0} and again.cached == {"swa": 4, "deu": 4}
    assert everything(tmp_path / "ray2") == everything(tmp_path / "ray")


def test_a_killed_actor_is_restarted_and_its_chunk_retried(local_ray, tmp_path):
    marker = tmp_path / "died"
    _, report = build_on_ray(specs(), tmp_path / "ray", RayOptions(actors=1, cpus_per_actor=1),
                             cache_dir=tmp_path / "ray-cache", chunk_size=15, aligner_factory=ray_fakes.dies_once(str(marker)))
    assert marker.exists()  # one aligner actor process really died
    assert int(marker.read_text()) not in report.pids  # every chunk was aligned by another process
    assert sum(report.computed.values()) == 4
    assert everything(tmp_path / "ray") == local_build(tmp_path)


def test_an_input_error_in_a_stage_is_the_same_one_line_error(local_ray, tmp_path):
    with pytest.raises(UserError, match=r"^corpus.txt:7: a line the aligner cannot read$"):
        build_on_ray(specs(), tmp_path / "ray", RayOptions(actors=1, cpus_per_actor=0.5), cache_dir=tmp_path / "c",
                     chunk_size=8, aligner_factory=ray_fakes.bad_input)
    assert not (tmp_path / "ray").exists()
    assert not list((tmp_path / "c").glob("rows/*/*.json"))  # no chunk got past the failing stage into the cache


EN = "John\tB-PER\nSmith\tI-PER\nvisited\tO\nBerlin\tB-LOC\n.\tO\n\nThe\tO\nCommission\tB-ORG\nmet\tO\nin\tO\nParis\tB-LOC\n.\tO\n"
DE = "John\tO\nSmith\tO\nbesuchte\tO\nBerlin\tO\n.\tO\n\nDie\tO\nCommission\tO\ntagte\tO\nin\tO\nParis\tO\n.\tO\n"


def model_specs(tmp_path, translator, tagger):
    """deu: back-translation labelled by projection (in the aligner stage); fra: candidates from a tagger;
    nld: back-translation labelled by a tagger. Every model stage of the pipeline runs."""
    from silver_ner.builders.build import SourceSpec

    (tmp_path / "en.conll").write_text((EN + "\n") * 3, encoding="utf-8")
    (tmp_path / "de.conll").write_text((DE + "\n") * 3, encoding="utf-8")
    src = SourceSpec("parallel-conll", {"source_gold": str(tmp_path / "en.conll"), "target_conll": str(tmp_path / "de.conll")})
    bt = {"backtranslate_model": translator, "backtranslate_params": {"num_beams": 1, "max_length": 16}}
    return [BuildSpec("deu", src, method="ngram-exact", validation_fraction=0.3, **bt),
            BuildSpec("fra", src, method="spans-exact", validation_fraction=0.3, candidates_model=tagger),
            BuildSpec("nld", src, method="ngram-exact", validation_fraction=0.3, backtranslate_labels="tagger",
                      backtranslate_tagger=tagger, **bt)]


def test_model_stages_as_actor_pools_equal_the_local_build(local_ray, tmp_path, tiny_m2m100, word_model):
    langs = ("deu", "fra", "nld")
    the_specs = model_specs(tmp_path, tiny_m2m100, str(word_model))
    # three actor pools at once on two CPUs: half a CPU each, and room for the tasks
    opts = RayOptions(actors=1, cpus_per_actor=0.5)
    _, report = build_on_ray(the_specs, tmp_path / "ray", opts, cache_dir=tmp_path / "ray-cache", chunk_size=4,
                             aligner_factory=ray_fakes.same_word, allow_empty=True)
    assert [(s["stage"], s["kind"], s["actors"], s["cpus"]) for s in report.stages] == [
        ("prepare", "tasks", 0, 0.25), ("candidates", "actors", 1, 0.5), ("backtranslate", "actors", 1, 0.5),
        ("align", "actors", 1, 0.5), ("finish", "tasks", 0, 0.25)]
    assert report.computed == {"deu": 2, "fra": 2, "nld": 2}
    ray_out = everything(tmp_path / "ray", langs)
    local = local_build(tmp_path, model_specs(tmp_path, tiny_m2m100, str(word_model)), langs, chunk_size=4,
                        allow_empty=True)
    assert ray_out == local  # rows (back-translations and their labels in the origin), features, statistics
    stats = ray_out[1]
    assert stats["deu"]["backtranslation"]["sentences"] == stats["nld"]["backtranslation"]["sentences"] == 6
    assert stats["fra"]["entities_per_class"] == {"PER": 3}  # the candidate "John Smith" of each first sentence
    by = {lang: {json.loads(r["origin"])["backtranslation"]["labels"]["by"]
                 for split in ray_out[0][lang].values() for r in split[0]} for lang in ("deu", "nld")}
    assert by == {"deu": {"projection"}, "nld": {"tagger"}}
    _, again = build_on_ray(the_specs, tmp_path / "ray2", opts, cache_dir=tmp_path / "ray-cache", chunk_size=4,
                            aligner_factory=ray_fakes.same_word, allow_empty=True)
    assert again.computed == {"deu": 0, "fra": 0, "nld": 0} and again.stages == []  # no operator starts
    assert everything(tmp_path / "ray2", langs) == ray_out


# -- the source stage's model work on actors ---------------------------------------------------------------------------

GOLD = ("John B-PER\nSmith I-PER\nvisited O\nParis B-LOC\n.\tO\n\nThe O\nCommission B-ORG\nmet O\n.\tO\n\n"
        "Amina B-PER\nis O\nin O\nNairobi B-LOC\n\nBunge B-ORG\nla I-ORG\nUlaya I-ORG\n\nAde B-PER\nleft O\n")


def source_specs(tmp_path, translator, tagger, *, lines=300):
    """swa: the gold file machine-translated (2 sentences a batch: 3 batches); deu: a parallel text whose source
    side a tagger labels (an empty source line, dropped; 256 lines a batch: 2 batches)."""
    from silver_ner.builders.build import SourceSpec

    (tmp_path / "gold.conll").write_text(GOLD, encoding="utf-8")
    src = ["John Smith met Amina in Nairobi .", "The ẹ̀kọ́ of Nairobi is new .", "Smith left ."]
    tgt = ["John Smith alikutana na Amina Nairobi .", "Die ẹ̀kọ́ von Nairobi ist neu .", "Smith ging ."]
    src_lines = [src[i % 3] for i in range(lines)]
    src_lines[4] = ""
    (tmp_path / "par.en").write_text("\n".join(src_lines) + "\n", encoding="utf-8")
    (tmp_path / "par.de").write_text("\n".join(tgt[i % 3] for i in range(lines)) + "\n", encoding="utf-8")
    translate = SourceSpec("translate", {"source_gold": str(tmp_path / "gold.conll")}, model=translator,
                           params={"num_beams": 1, "max_length": 40, "chunk": 2})
    tagged = SourceSpec("parallel", {"source_text": str(tmp_path / "par.en"), "target_text": str(tmp_path / "par.de")},
                        model=tagger)
    return [BuildSpec("swa", translate, method="ngram-exact", labels="PER,ORG,LOC"),
            BuildSpec("deu", tagged, method="ngram-exact", labels="PER,ORG,LOC")]


def pairs_files(cache):
    return {p.name: p.read_bytes() for p in sorted((Path(cache) / "pairs").glob("*.json"))}


@pytest.mark.timeout(180)
def test_source_translation_and_tagging_on_actors_equal_the_local_build(local_ray, node_cache, tmp_path, monkeypatch,
                                                                       tiny_m2m100, word_model):
    from silver_ner.builders.build import LanguageBuild

    monkeypatch.setenv("SILVER_NER_CACHE", os.fspath(tmp_path / "driver-node"))  # the driver's translation cache
    langs = ("swa", "deu")
    opts = RayOptions(actors=1, cpus_per_actor=0.75)
    the_specs = source_specs(tmp_path, tiny_m2m100, str(word_model))
    _, report = build_on_ray(the_specs, tmp_path / "ray", opts, cache_dir=tmp_path / "ray-cache", chunk_size=512,
                             aligner_factory=ray_fakes.same_word, allow_empty=True)
    # the model work ran on two actor pools (one per work), the driver only read and assembled
    assert [(s["stage"], s["kind"], s["actors"], s["cpus"]) for s in report.source.stages] == [
        ("translate", "actors", 1, 0.75), ("tag", "actors", 1, 0.75)]
    assert report.source.computed == {"swa": 3, "deu": 2}
    assert os.getpid() not in report.source.pids and len(report.source.pids) == 5
    assert (node_cache / "translations.sqlite").exists() and not (tmp_path / "driver-node").exists()
    assert report.computed == {"swa": 1, "deu": 1}
    ray_out = everything(tmp_path / "ray", langs)
    # the local engine translates (into the driver's own cache) and tags in this process
    builds = {s.lang: LanguageBuild(s, cache_dir=tmp_path / "local-cache", aligner=ray_fakes.SameWordAligner())
              for s in source_specs(tmp_path, tiny_m2m100, str(word_model))}
    build(list(source_specs(tmp_path, tiny_m2m100, str(word_model))), tmp_path / "local",
          cache_dir=tmp_path / "local-cache", builds=builds, allow_empty=True)
    assert (tmp_path / "driver-node" / "translations.sqlite").exists()
    assert ray_out == everything(tmp_path / "local", langs)  # rows, features, statistics (the source report too)
    assert pairs_files(tmp_path / "ray-cache") == pairs_files(tmp_path / "local-cache")  # same keys, same bytes
    assert len(pairs_files(tmp_path / "ray-cache")) == 2
    stats = ray_out[1]
    assert stats["deu"]["source_dropped"] == {"empty source line": 1} and stats["deu"]["sentences_in"] == 299
    # the tagger's labels (John Smith PER, Nairobi LOC, ẹ̀kọ́ ORG, a lone Smith PER) on every kept line
    assert stats["deu"]["source_entities_per_class"] == {"LOC": 199, "ORG": 99, "PER": 200}
    assert stats["swa"]["source_report"]["read"] == 5
    origins = [json.loads(r["origin"]) for split in ray_out[0]["swa"].values() for r in split[0]]
    assert {o["translator"].split("@")[0] for o in origins} == {Path(tiny_m2m100).name}  # portable in the rows
    # a rerun finds the pairs (and the chunks) cached: no actor starts
    _, again = build_on_ray(the_specs, tmp_path / "ray2", opts, cache_dir=tmp_path / "ray-cache", chunk_size=512,
                            aligner_factory=ray_fakes.same_word, allow_empty=True)
    assert again.source.computed == {} and again.source.stages == [] and again.stages == []
    assert again.computed == {"swa": 0, "deu": 0}
    assert everything(tmp_path / "ray2", langs) == ray_out


def local_error(tmp_path, the_specs):
    from silver_ner.builders.build import LanguageBuild

    builds = {s.lang: LanguageBuild(s, cache_dir=tmp_path / "local-cache", aligner=ray_fakes.SameWordAligner())
              for s in the_specs}
    with pytest.raises(UserError) as local:
        build(the_specs, tmp_path / "local", cache_dir=tmp_path / "local-cache", builds=builds, allow_empty=True)
    return local.value


@pytest.mark.timeout(180)
def test_a_bad_source_input_is_the_same_one_line_error_as_locally(local_ray, tmp_path, tiny_m2m100, word_model):
    from dataclasses import replace

    swa, deu = source_specs(tmp_path, tiny_m2m100, str(word_model), lines=6)
    opts = RayOptions(actors=1, cpus_per_actor=0.5)

    def ray_error(*the_specs):
        with pytest.raises(UserError) as err:
            build_on_ray(list(the_specs), tmp_path / "ray", opts, cache_dir=tmp_path / "ray-cache",
                         aligner_factory=ray_fakes.same_word, allow_empty=True)
        assert "\n" not in str(err.value) and not (tmp_path / "ray").exists()
        assert not list((tmp_path / "ray-cache").glob("pairs/*.json"))  # nothing of the failed stage is cached
        return err.value

    # a tagging model folder that does not exist: found while keying the source stage, before Ray
    missing = replace(deu, source=replace(deu.source, model=str(tmp_path / "no-such-model")))
    err = ray_error(missing)
    assert str(err) == str(local_error(tmp_path, [missing])) == f"{tmp_path / 'no-such-model'}: no such model folder"
    # a folder that holds no tagger: the actor fails loading it, and the driver raises its error as it is
    not_a_tagger = replace(deu, source=replace(deu.source, model=tiny_m2m100))
    err = ray_error(not_a_tagger)
    local = local_error(tmp_path, [not_a_tagger])
    assert (type(err), str(err)) == (type(local), str(local)) and str(err).startswith(f"{tiny_m2m100}: config id2label")
    # sentences too long for the translator in the second and third batch: the first batch's error in line order,
    # and before the error of a later language's files (the local engine meets the languages in turn)
    def long(n):
        return "\n".join(f"Word{i} O" for i in range(n))

    gold = tmp_path / "gold.conll"  # sentences 3 and 4 too long: the second batch's second, the third batch's first
    gold.write_text(GOLD.replace("Amina B-PER\nis O\nin O\nNairobi B-LOC\n\nBunge",
                                 f"Amina B-PER\n\n{long(40)}\n\n{long(50)}\n\nBunge"), encoding="utf-8")
    unread = replace(deu, source=replace(deu.source, files={**deu.source.files, "target_text": str(tmp_path / "gone.de")}))
    err = ray_error(swa, unread)
    assert str(err) == str(local_error(tmp_path, [swa, unread]))
    assert str(err).startswith("sentence 1: ") and "more than max_length=40" in str(err)


def test_actor_plan_never_asks_for_more_cpus_than_the_cluster_has():
    assert plan_actors(RayOptions(cpus_per_actor=1), 2, chunks=10) == 1  # two 1-CPU actors + a read task would hang
    assert plan_actors(RayOptions(cpus_per_actor=0.5), 2, chunks=10) == 3
    assert plan_actors(RayOptions(cpus_per_actor=0.5), 2, chunks=2) == 2
    assert plan_actors(RayOptions(actors=2, cpus_per_actor=0.75), 2, chunks=10) == 2
    with pytest.raises(UserError, match="do not fit the cluster's 2 CPUs"):
        plan_actors(RayOptions(actors=2, cpus_per_actor=1), 2, chunks=10)  # no room left for Ray Data's own tasks


def test_concurrent_actor_pools_fit_the_cluster_together():
    # the sum over pools plus the tasks' room never exceeds the cluster
    for pools in (1, 2, 3):
        for cpus in (1, 2, 4, 16):
            n, c = plan_pools(RayOptions(), cpus, chunks=100, pools=pools)
            assert n >= 1 and 0 < c <= 1 and pools * n * c + TASK_ROOM <= cpus + 1e-9
    # one 1-CPU actor per pool does not fit two CPUs: the request becomes fractional
    assert plan_pools(RayOptions(), 2, chunks=10, pools=3) == (1, 0.5)
    assert plan_pools(RayOptions(), 2, chunks=10, pools=2) == (1, 0.75)
    assert plan_pools(RayOptions(cpus_per_actor=2), 2, chunks=10) == (1, 1.5)
    assert plan_pools(RayOptions(), 8, chunks=10, pools=3) == (2, 1.0)
    with pytest.raises(UserError, match=r"in each of 2 model stages do not fit .* \(at most 0.75\)"):
        plan_pools(RayOptions(actors=1, cpus_per_actor=1), 2, chunks=10, pools=2)
    assert plan_pools(RayOptions(actors=1, cpus_per_actor=0.75), 2, chunks=10, pools=2) == (1, 0.75)
    # GPUs: every pool's actors need theirs
    assert plan_pools(RayOptions(gpus_per_actor=1), 16, chunks=10, pools=2, cluster_gpus=4)[0] == 2
    assert plan_pools(RayOptions(gpus_per_actor=0.5), 16, chunks=10, pools=2, cluster_gpus=4)[0] == 4
    with pytest.raises(UserError, match="do not fit the cluster's 1 GPUs"):
        plan_pools(RayOptions(actors=1, gpus_per_actor=1), 16, chunks=10, pools=2, cluster_gpus=1)
    with pytest.raises(UserError, match="the cluster has 0 GPU"):
        plan_pools(RayOptions(gpus_per_actor=1), 16, chunks=10, pools=1, cluster_gpus=0)


def test_workers_get_the_corpus_wide_inputs_from_the_driver_and_read_no_pair(tmp_path):
    from silver_ner.builders.build import LanguageBuild

    deu = specs()[1]
    driver = LanguageBuild(deu, cache_dir=tmp_path / "cache")
    presets = {"deu": corpus_presets(driver)}
    assert presets == {"deu": {"_frequent_words": [".", "die", "in", "von"]}}
    assert corpus_presets(LanguageBuild(specs()[0], cache_dir=tmp_path / "cache")) == {}
    (worker,) = _language_builds({"deu": deu}, str(tmp_path / "cache"), 8, presets=presets).values()
    assert worker.projection().params["trim_words"] == [".", "die", "in", "von"]
    assert worker._pairs is None  # the worker's steps were made without reading the corpus


def test_original_error_unwraps_a_cause_chain():
    inner = UserError("x.conll:3: bad")

    class Wrapped(Exception):
        cause = inner

    outer = RuntimeError("ray says")
    outer.__cause__ = Wrapped()
    assert original_error(outer) is inner
    plain = RuntimeError("a bug")
    assert original_error(plain) is plain


# -- Parquet shards --------------------------------------------------------------------------------------------------


def parquet_rows(folder, lang, split):
    """The rows of every Parquet file of one split, in file-name order, and the file names."""
    import pyarrow.parquet as pq

    files = sorted(p for p in (Path(folder) / lang / "parquet").iterdir() if p.name.startswith(f"{split}"))
    return [row for p in files for row in pq.read_table(p).to_pylist()], [p.name for p in files]


def test_parquet_shards_concatenated_are_the_unsharded_rows_in_as_many_files_as_asked(tmp_path):
    from silver_ner.builders.build import LanguageBuild
    from silver_ner.publish.dataset import load_built_dataset

    def local(out, **kwargs):
        the_specs = specs()
        builds = {s.lang: LanguageBuild(s, cache_dir=tmp_path / "cache", aligner=ray_fakes.SameWordAligner())
                  for s in the_specs}
        return build(the_specs, tmp_path / out, cache_dir=tmp_path / "cache", builds=builds, **kwargs)

    whole = local("whole", parquet=True)
    local("sharded", parquet_shard_rows=5)  # implies --parquet
    for lang in ("swa", "deu"):
        for split, n in whole.manifest["configs"][lang]["num_rows"].items():
            rows, names = parquet_rows(tmp_path / "whole", lang, split)
            assert names == [f"{split}.parquet"] and len(rows) == n  # the default keeps one file for a small split
            shards, names = parquet_rows(tmp_path / "sharded", lang, split)
            assert shards == rows  # row for row, in chunk and position order
            count = -(-n // 5)
            assert names == ([f"{split}.parquet"] if count == 1 else
                             [f"{split}-{i:05d}-of-{count:05d}.parquet" for i in range(count)])
            assert count > 1 or n <= 5
    assert len(parquet_rows(tmp_path / "sharded", "swa", "train")[1]) == 6  # 27 rows in shards of 5
    assert not list((tmp_path / "sharded").rglob(".*.tmp-*"))  # no temporary file left behind
    # publish reads the save_to_disk folders, which shards do not change
    built = load_built_dataset(tmp_path / "sharded")
    assert {lang: c.num_rows for lang, c in built.configs.items()} == {
        lang: c["num_rows"] for lang, c in whole.manifest["configs"].items()}
    with pytest.raises(UserError, match=r"^--parquet-shard-rows must be >= 1, got 0$"):
        local("bad", parquet_shard_rows=0)
    assert not (tmp_path / "bad").exists()


def test_the_command_hands_the_shard_size_to_either_engine(monkeypatch, tmp_path):
    from types import SimpleNamespace

    import silver_ner.builders.build as build_module
    import silver_ner.builders.ray_engine as ray_module
    from silver_ner.cli import main

    seen = []

    def fake_build(specs, output, **kw):
        seen.append(("local", kw["parquet_shard_rows"], kw["cache_dir"], output))
        return SimpleNamespace(manifest={"configs": {}}, output_dir=output)

    def fake_ray(specs, output, options, **kw):
        seen.append(("ray", kw["parquet_shard_rows"], kw["cache_dir"], output))
        return SimpleNamespace(manifest={"configs": {}}, output_dir=output), ray_module.RayReport({}, {}, 0, 0, 0, [], [])

    monkeypatch.setattr(build_module, "build", fake_build)
    monkeypatch.setattr(ray_module, "build_on_ray", fake_ray)
    argv = ["build", "--demo", "--parquet-shard-rows", "7", "--cache-dir", "s3://bucket/cache", "--output"]
    assert main([*argv, "s3://bucket/out"]) == 0
    assert main([*argv, "s3://bucket/out", "--engine", "ray"]) == 0
    assert seen == [("local", 7, "s3://bucket/cache", "s3://bucket/out"), ("ray", 7, "s3://bucket/cache", "s3://bucket/out")]


# -- fsspec locations ------------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_ray_build_with_cache_and_output_under_file_urls_equals_the_local_build(local_ray, tmp_path):
    opts = RayOptions(actors=1, cpus_per_actor=1)
    cache_url, out_url = (tmp_path / "ray-cache").as_uri(), (tmp_path / "ray").as_uri()
    assert cache_url.startswith("file://")
    res, report = build_on_ray(specs(), out_url, opts, cache_dir=cache_url, chunk_size=15,
                               aligner_factory=ray_fakes.same_word, parquet_shard_rows=5)
    assert report.computed == {"swa": 2, "deu": 2} and res.output_dir == tmp_path / "ray"
    assert len(list((tmp_path / "ray-cache" / "rows").glob("*/15-*.json"))) == 4  # the URL's folder holds the chunks
    ray_out = everything(out_url)
    assert "swa/parquet/train-00005-of-00006.parquet" in ray_out[2]
    assert ray_out == local_build(tmp_path, parquet_shard_rows=5)  # rows, statistics and the same Parquet shards


def test_chunk_cache_and_output_under_memory_urls_are_reused_within_the_process(tmp_path, monkeypatch, caplog):
    """The fsspec layer without Ray (memory:// is one process's; Ray's workers could not share it)."""
    import fsspec

    from silver_ner.builders.build import LanguageBuild

    class MustNotAlign(ray_fakes.SameWordAligner):
        def align(self, pairs):
            raise AssertionError("a cached chunk was aligned again")

    monkeypatch.setenv("SILVER_NER_CACHE", os.fspath(tmp_path / "node-local"))
    root = f"memory://{tmp_path.name}"
    cache_url, out_url = f"{root}/cache", f"{root}/out"
    fs = fsspec.filesystem("memory")
    try:
        def memory_build(aligner, **kwargs):
            the_specs = specs()
            builds = {s.lang: LanguageBuild(s, cache_dir=cache_url, aligner=aligner, chunk_size=8) for s in the_specs}
            return build(the_specs, out_url, cache_dir=cache_url, builds=builds, **kwargs), builds

        with caplog.at_level("INFO", logger="silver_ner.builders.build"):
            res, builds = memory_build(ray_fakes.SameWordAligner(), parquet_shard_rows=5)
        # the SQLite caches and the datasets cache are node-local, and a log line says so
        assert builds["swa"].local_cache_dir == tmp_path / "node-local"
        assert any(f"cache {cache_url} is not a local folder" in r.getMessage() for r in caplog.records)
        assert res.output_dir == out_url and not (tmp_path / "node-local" / "rows").exists()
        assert len(fs.glob(f"/{tmp_path.name}/cache/rows/*/8-*.json")) == 8  # the chunks went to the URL
        assert not fs.exists(f"/{tmp_path.name}/out/.silver-ner-uploading")
        first = everything(out_url)
        assert first == local_build(tmp_path, parquet_shard_rows=5)
        assert [p.name for p in (tmp_path / "node-local").iterdir()] == ["datasets"]  # staging removed
        # a rerun in the same process finds every chunk in the memory:// cache and aligns nothing; it replaces the
        # previous output, whose shards it does not write again
        res, _ = memory_build(MustNotAlign(), parquet=True)
        again = everything(out_url)
        assert again[:2] == first[:2]
        assert sorted(again[2]) == ["deu/parquet/train.parquet", "deu/parquet/validation.parquet",
                                    "swa/parquet/train.parquet", "swa/parquet/validation.parquet"]
    finally:
        if fs.exists(f"/{tmp_path.name}"):
            fs.rm(f"/{tmp_path.name}", recursive=True)


def test_chunk_cache_layer_on_memory_urls():
    import fsspec

    from silver_ner.builders import storage

    fs = fsspec.filesystem("memory")
    base = storage.location("memory://chunk-layer/cache/")
    assert base == "memory://chunk-layer/cache" and storage.location("file:///x/y") == Path("/x/y")
    path = storage.join(base, "rows", "fp", "8-00000.json")
    try:
        assert storage.read_json(path) is None and storage.names(storage.join(base, "rows", "fp")) == set()
        storage.write_json_atomic(path, {"rows": [{"id": "a"}], "stats": {}})
        assert storage.read_json(path) == {"rows": [{"id": "a"}], "stats": {}}
        assert storage.exists(path) and storage.names(storage.join(base, "rows", "fp")) == {"8-00000.json"}
        fs.pipe_file("/chunk-layer/cache/rows/fp/8-00001.json", b'{"rows": [')  # unreadable: recomputed
        assert storage.read_json(storage.join(base, "rows", "fp", "8-00001.json")) is None
        # an output folder that is not a build is refused; one whose upload was cut short is replaced
        fs.pipe_file("/chunk-layer/other/notes.txt", b"mine")
        with pytest.raises(UserError, match=r"^memory://chunk-layer/other: exists and is not a silver-ner build folder"):
            storage.check_output("memory://chunk-layer/other")
        fs.pipe_file("/chunk-layer/cut/.silver-ner-uploading", b"")
        fs.pipe_file("/chunk-layer/cut/swa/train/data-00000-of-00001.arrow", b"partial")
        storage.check_output("memory://chunk-layer/cut")
    finally:
        fs.rm("/chunk-layer", recursive=True)


def test_a_url_without_a_filesystem_stops_with_the_package_to_install(tmp_path):
    import importlib.util

    from silver_ner.builders.build import LanguageBuild

    with pytest.raises(UserError, match=r"^nosuch://x/cache: no fsspec implementation knows the protocol 'nosuch'$"):
        build_on_ray(specs(), tmp_path / "out", cache_dir="nosuch://x/cache")
    if importlib.util.find_spec("s3fs") is None:
        with pytest.raises(UserError, match=r"^s3://bucket/cache: the fsspec implementation of 's3' is not installed: "
                                            r"pip install s3fs$"):
            build_on_ray(specs(), tmp_path / "out", cache_dir="s3://bucket/cache")
        with pytest.raises(UserError, match=r"pip install s3fs$"):
            LanguageBuild(specs()[0], cache_dir="s3://bucket/cache")
    if importlib.util.find_spec("gcsfs") is None:
        with pytest.raises(UserError, match=r"^gs://bucket/out: .* pip install gcsfs$"):
            build(specs(), "gs://bucket/out", cache_dir=tmp_path / "cache")
    # a memory:// cache cannot reach Ray's worker processes: refused before Ray starts
    with pytest.raises(UserError, match=r"^memory://c: a memory:// cache lives in one process"):
        build_on_ray(specs(), tmp_path / "out", cache_dir="memory://c")
    assert not (tmp_path / "out").exists()


def test_rows_of_a_stage_stop_at_the_timeout_and_unwrap_a_stage_error():
    """No Ray needed: the row loop of both pipelines (source batches and chunks)."""
    from silver_ner.builders.ray_engine import RayOptions, _rows

    class Rows:
        def __init__(self, items, fail=None):
            self.items, self.fail = items, fail

        def iter_rows(self):
            yield from self.items
            if self.fail is not None:
                raise self.fail

    got = list(_rows(Rows([{"a": 1}, {"a": 2}]), RayOptions(), time.perf_counter(), lambda: "-"))
    assert got == [{"a": 1}, {"a": 2}]
    seen = []
    with pytest.raises(UserError, match=r"^the Ray engine stopped after 0 s with 1 of 2 chunks done; rerun to resume$"):
        for row in _rows(Rows([{"a": 1}, {"a": 2}]), RayOptions(timeout_s=0), time.perf_counter() - 1,
                         lambda: f"with {len(seen)} of 2 chunks done"):
            seen.append(row)
    assert seen == [{"a": 1}]

    class Wrapped(Exception):  # how Ray hands back an error raised inside a task
        def __init__(self, cause):
            super().__init__("ray traceback wall")
            self.cause = cause

    with pytest.raises(UserError, match=r"^bad\.conll:3: broken$"):
        list(_rows(Rows([], Wrapped(UserError("bad.conll:3: broken"))), RayOptions(), time.perf_counter(), lambda: ""))
    with pytest.raises(Wrapped):  # anything else is not hidden
        list(_rows(Rows([], Wrapped(ValueError("bug"))), RayOptions(), time.perf_counter(), lambda: ""))
