"""The build on Ray Data (a local two-CPU Ray), one operator per stage: same output as the local engine
(rows, features, manifest statistics, Parquet files), with and without model stages, resumable, retried."""

import json
import os
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
def local_ray():
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": TESTS}})
    yield ray
    ray.shutdown()


def specs():
    # deu trims the corpus's frequent words off span starts: a list over every pair, which workers get from the driver
    return [BuildSpec("swa", demo_source(), method="ngram-exact", labels="PER,ORG,LOC"),
            BuildSpec("deu", demo_source(), method="ngram-exact", labels="PER,ORG,LOC", trim_frequent=0.2)]


def everything(folder, langs=("swa", "deu")):
    """Rows and features of every split, the manifest's statistics and the Parquet files (name -> rows)."""
    import pyarrow.parquet as pq

    out = {}
    for lang in langs:
        dd = datasets.load_from_disk(os.fspath(Path(folder) / lang))
        out[lang] = {k: (dd[k].to_list(), dd[k].features.to_dict()) for k in dd}
    manifest = json.loads((Path(folder) / MANIFEST_NAME).read_text())
    stats = {lang: c["stats"] for lang, c in manifest["configs"].items()}
    parquet = {os.fspath(p.relative_to(folder)): pq.read_table(p).to_pylist()
               for p in sorted(Path(folder).glob("*/parquet/*.parquet"))}
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
