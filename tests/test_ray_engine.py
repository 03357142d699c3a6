"""The build on Ray Data (a local two-CPU Ray): same output as the local engine, resumable, retried."""

import json
import os
from pathlib import Path

import datasets
import pytest

ray = pytest.importorskip("ray")

from silver_ner.builders.build import MANIFEST_NAME, BuildSpec, build, demo_source  # noqa: E402
from silver_ner.builders.ray_engine import RayOptions, build_on_ray, original_error, plan_actors  # noqa: E402
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
    return [BuildSpec(lang, demo_source(), method="ngram-exact", labels="PER,ORG,LOC") for lang in ("swa", "deu")]


def everything(folder):
    out = {}
    for lang in ("swa", "deu"):
        dd = datasets.load_from_disk(os.fspath(Path(folder) / lang))
        out[lang] = {k: (dd[k].to_list(), dd[k].features.to_dict()) for k in dd}
    manifest = json.loads((Path(folder) / MANIFEST_NAME).read_text())
    stats = {lang: c["stats"] for lang, c in manifest["configs"].items()}
    return out, stats


def local_build(tmp_path):
    from silver_ner.builders.build import LanguageBuild

    builds = {s.lang: LanguageBuild(s, cache_dir=tmp_path / "local-cache", aligner=ray_fakes.SameWordAligner())
              for s in specs()}
    build(specs(), tmp_path / "local", cache_dir=tmp_path / "local-cache", builds=builds)
    return everything(tmp_path / "local")


def test_ray_build_equals_the_local_build_and_a_rerun_computes_nothing(local_ray, tmp_path):
    opts = RayOptions(actors=2, cpus_per_actor=0.5)
    _, report = build_on_ray(specs(), tmp_path / "ray", opts, cache_dir=tmp_path / "ray-cache", chunk_size=8,
                             aligner_factory=ray_fakes.same_word)
    assert report.computed == {"swa": 4, "deu": 4} and report.cached == {"swa": 0, "deu": 0}
    assert everything(tmp_path / "ray") == local_build(tmp_path)
    _, again = build_on_ray(specs(), tmp_path / "ray2", opts, cache_dir=tmp_path / "ray-cache", chunk_size=8,
                            aligner_factory=ray_fakes.same_word)
    assert again.computed == {"swa": 0, "deu": 0} and again.cached == {"swa": 4, "deu": 4}
    assert everything(tmp_path / "ray2") == everything(tmp_path / "ray")


def test_a_killed_actor_is_restarted_and_its_chunk_retried(local_ray, tmp_path):
    marker = tmp_path / "died"
    _, report = build_on_ray(specs(), tmp_path / "ray", RayOptions(actors=1, cpus_per_actor=1),
                             cache_dir=tmp_path / "ray-cache", chunk_size=8, aligner_factory=ray_fakes.dies_once(str(marker)))
    assert marker.exists()  # one actor process really died
    assert int(marker.read_text()) not in report.pids  # every chunk was finished by another process
    assert sum(report.computed.values()) == 8
    assert everything(tmp_path / "ray") == local_build(tmp_path)


def test_an_input_error_in_a_stage_is_the_same_one_line_error(local_ray, tmp_path):
    with pytest.raises(UserError, match=r"^corpus.txt:7: a line the aligner cannot read$"):
        build_on_ray(specs(), tmp_path / "ray", RayOptions(actors=1, cpus_per_actor=0.5), cache_dir=tmp_path / "c",
                     chunk_size=8, aligner_factory=ray_fakes.bad_input)
    assert not (tmp_path / "ray").exists()


def test_actor_plan_never_asks_for_more_cpus_than_the_cluster_has():
    assert plan_actors(RayOptions(cpus_per_actor=1), 2, chunks=10) == 1  # two 1-CPU actors + a read task would hang
    assert plan_actors(RayOptions(cpus_per_actor=0.5), 2, chunks=10) == 3
    assert plan_actors(RayOptions(cpus_per_actor=0.5), 2, chunks=2) == 2
    assert plan_actors(RayOptions(actors=2, cpus_per_actor=0.75), 2, chunks=10) == 2
    with pytest.raises(UserError, match="do not fit the cluster's 2 CPUs"):
        plan_actors(RayOptions(actors=2, cpus_per_actor=1), 2, chunks=10)  # no room left for Ray Data's own tasks


def test_original_error_unwraps_a_cause_chain():
    inner = UserError("x.conll:3: bad")

    class Wrapped(Exception):
        cause = inner

    outer = RuntimeError("ray says")
    outer.__cause__ = Wrapped()
    assert original_error(outer) is inner
    plain = RuntimeError("a bug")
    assert original_error(plain) is plain
