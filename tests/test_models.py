"""The model layer (projection/models.py): fingerprints, cache root, devices, precision, resolving models."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from silver_ner.projection import models
from silver_ner.projection.errors import UserError


def _folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"hidden_size": 4}')
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "pooling.json").write_text('{"mean": true}')
    return root


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_follows_contents_not_times_or_place(tmp_path):
    folder = _folder(tmp_path / "m")
    first = models.fingerprint(folder)
    os.utime(folder / "model.safetensors", (1_000_000, 1_000_000))
    os.utime(folder / "config.json", (2_000_000, 2_000_000))
    assert models.fingerprint(folder) == first  # touched, not changed
    copy = shutil.copytree(folder, tmp_path / "elsewhere" / "copy")
    assert models.fingerprint(copy) == first  # the same files somewhere else

    # one byte in the middle of the weights, same size, modification time put back
    weights = folder / "model.safetensors"
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.stat().st_size == st.st_size
    changed = models.fingerprint(folder)
    assert changed != first
    # a file in a subfolder counts, and so does its relative path
    (copy / "sub" / "pooling.json").rename(copy / "pooling.json")
    assert models.fingerprint(copy) != first


def test_fingerprint_ignores_hidden_files_and_folders(tmp_path):
    folder = _folder(tmp_path / "m")
    first = models.fingerprint(folder)
    (folder / ".lock").write_text("x")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "model.safetensors").write_bytes(b"junk")
    (folder / "sub" / ".DS_Store").write_bytes(b"junk")
    assert models.fingerprint(folder) == first
    (folder / "extra.json").write_text("{}")
    assert models.fingerprint(folder) != first


def test_fingerprint_of_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such model folder"):
        models.fingerprint(tmp_path / "nothing")


def test_no_other_fingerprint_definition_remains():
    from silver_ner.builders import translate
    from silver_ner.projection import aligner

    assert aligner.model_fingerprint is models.fingerprint
    assert not hasattr(translate, "_fingerprint")


def test_the_aligner_identity_uses_the_fingerprint(tmp_path):
    from silver_ner.projection.aligner import EmbeddingAligner

    folder = _folder(tmp_path / "enc")
    ident = EmbeddingAligner(model=str(folder)).identity
    assert f"embedding:enc@{models.fingerprint(folder)}:" in ident
    os.utime(folder / "config.json", (3_000_000, 3_000_000))
    assert EmbeddingAligner(model=str(folder)).identity == ident
    (folder / "config.json").write_text('{"hidden_size": 8}')
    assert EmbeddingAligner(model=str(folder)).identity != ident


def test_the_build_cache_keys_use_the_fingerprint(tmp_path, monkeypatch):
    from silver_ner.builders import build
    from silver_ner.projection import encoder

    folder = _folder(tmp_path / "tagger")
    assert build.LanguageBuild._model_identity(str(folder)) == f"tagger@{models.fingerprint(folder)}"
    moved = tmp_path / "elsewhere" / "tagger"
    shutil.copytree(folder, moved)
    assert build.LanguageBuild._model_identity(str(moved)) == build.LanguageBuild._model_identity(str(folder))
    # a Hub id: the files of its snapshot in the Hub cache
    monkeypatch.setattr(models, "resolve_model", lambda name, **kw: folder)
    assert build.LanguageBuild._model_identity("owner/hub-model") == f"owner/hub-model@{models.fingerprint(folder)}"
    assert models.model_identity("owner/hub-model", revision="v1") == f"owner/hub-model@v1@{models.fingerprint(folder)}"
    enc = _folder(tmp_path / "enc")
    monkeypatch.setattr(encoder, "resolve_encoder", lambda name: str(enc))
    assert build._embedder_identity("float32") == f"meanpool:enc@{models.fingerprint(enc)}:precision=float32"


def test_weight_averaging_records_the_fingerprint(tiny_bert, tmp_path):
    from hub_server import write_student

    from silver_ner.students.average import average_models

    a = write_student(tmp_path / "a", tiny_bert, training=False, seed=1)
    b = write_student(tmp_path / "b", tiny_bert, training=False, seed=2)
    record = average_models([a, b], tmp_path / "avg")
    assert [s["fingerprint"] for s in record["averaged_from"]] == [models.fingerprint(a), models.fingerprint(b)]


# --------------------------------------------------------------------------- cache root


def test_cache_root_honours_the_environment(tmp_path, monkeypatch):
    from silver_ner.builders import cache, translate
    from silver_ner.projection import encoder

    monkeypatch.setenv("SILVER_NER_CACHE", str(tmp_path / "c"))
    assert models.cache_root() == tmp_path / "c"
    assert models.cache_root(tmp_path / "given") == tmp_path / "given"
    assert cache.default_cache_dir() == tmp_path / "c"
    assert encoder.cache_root() == tmp_path / "c"
    assert translate.default_cache_path() == tmp_path / "c" / "translations.sqlite"
    monkeypatch.delenv("SILVER_NER_CACHE")
    import platformdirs

    assert models.cache_root() == Path(platformdirs.user_cache_dir("silver-ner"))
    assert cache.default_cache_dir() == models.cache_root()


# --------------------------------------------------------------------------- device and precision


class _FakeCuda:
    def __init__(self, available: bool, bf16: bool = False, count: int = 1):
        self.available, self.bf16, self.count = available, bf16, count

    def is_available(self):
        return self.available

    def is_bf16_supported(self):
        return self.bf16

    def device_count(self):
        return self.count if self.available else 0


def test_pick_device(monkeypatch):
    import torch

    monkeypatch.setattr(torch, "cuda", _FakeCuda(False))
    assert models.pick_device() == "cpu"
    assert models.pick_device("auto") == "cpu"
    assert models.pick_device("cpu") == "cpu"
    with pytest.raises(UserError, match="CUDA is not available"):
        models.pick_device("cuda")
    with pytest.raises(UserError, match="expected cpu, cuda"):
        models.pick_device("gpu")
    monkeypatch.setattr(torch, "cuda", _FakeCuda(True, count=2))
    assert models.pick_device() == "cuda"
    assert models.pick_device("cpu") == "cpu"  # an explicit request is honoured
    assert models.pick_device("cuda:1") == "cuda:1"
    with pytest.raises(UserError, match="2 CUDA device"):
        models.pick_device("cuda:2")


@pytest.mark.parametrize("flags, expected", [
    ({"fpu", "avx2", "avx512f"}, "float32"),
    ({"fpu", "avx2", "avx512f", "avx512_bf16"}, "bfloat16"),
    ({"fpu", "amx_tile", "amx_bf16"}, "bfloat16"),
])
def test_auto_precision_on_the_cpu_follows_the_bf16_flags(monkeypatch, flags, expected):
    import torch

    monkeypatch.setattr(torch, "cuda", _FakeCuda(False))
    monkeypatch.setattr(models, "cpu_flags", lambda: set(flags))
    assert models.pick_precision("auto") == expected
    assert models.pick_precision(None) == expected
    assert models.pick_precision("float32") == "float32"
    assert models.pick_precision("bfloat16") == "bfloat16"


def test_auto_precision_without_cpuinfo_asks_torch(monkeypatch):
    import torch

    monkeypatch.setattr(torch, "cuda", _FakeCuda(False))
    monkeypatch.setattr(models, "cpu_flags", lambda: set())
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert models.pick_precision("auto") == "float32"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert models.pick_precision("auto") == "bfloat16"


def test_auto_precision_on_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(models, "cpu_flags", lambda: {"avx512_bf16"})
    monkeypatch.setattr(torch, "cuda", _FakeCuda(True, bf16=False))
    assert models.pick_precision("auto") == "float32"
    assert models.pick_precision("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(torch, "cuda", _FakeCuda(True, bf16=True))
    assert models.pick_precision("auto") == "bfloat16"


def test_an_unknown_precision_is_a_user_error():
    with pytest.raises(UserError, match="float32, bfloat16, auto"):
        models.pick_precision("fp16")


# --------------------------------------------------------------------------- resolving a model


def test_a_local_folder_resolves_to_itself(tmp_path):
    folder = _folder(tmp_path / "m")
    assert models.resolve_model(folder) == folder
    assert models.resolve_model(str(folder)) == folder


@pytest.mark.parametrize("name, message", [
    ("./no/such/model", "no such model folder"),
    ("a/b/c", "no such model folder"),
    ("", "no model given"),
])
def test_a_bad_local_path_is_a_one_line_user_error(tmp_path, name, message):
    with pytest.raises(UserError) as err:
        models.resolve_model(name)
    assert message in str(err.value) and "\n" not in str(err.value)
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(UserError, match="a file, not a model folder"):
        models.resolve_model(f)


@pytest.fixture
def hub(tmp_path):
    from hub_server import running_hub

    yield from running_hub(tmp_path / "hf-home")


def test_a_hub_id_is_downloaded_once_and_found_offline(hub, tiny_bert, tmp_path, monkeypatch):
    from huggingface_hub import HfApi, constants

    api = HfApi(endpoint=hub.endpoint)
    api.create_repo("silver-org/tiny-encoder")
    api.upload_folder(repo_id="silver-org/tiny-encoder", folder_path=str(tiny_bert))
    got = models.resolve_model("silver-org/tiny-encoder")
    assert got.is_dir() and (got / "config.json").is_file()
    assert models.fingerprint(got) == models.fingerprint(tiny_bert)

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert models.resolve_model("silver-org/tiny-encoder") == got  # from the Hub cache
    with pytest.raises(UserError) as err:
        models.resolve_model("silver-org/never-downloaded")
    msg = str(err.value)
    assert msg.startswith("silver-org/never-downloaded: not a local model folder") and "HF_HUB_OFFLINE" in msg
    assert "\n" not in msg


def test_an_unknown_hub_id_is_a_one_line_user_error(hub):
    with pytest.raises(UserError) as err:
        models.resolve_model("silver-org/no-such-repo")
    msg = str(err.value)
    assert msg.startswith("silver-org/no-such-repo: not a local model folder, and cannot fetch it from the Hub")
    assert "\n" not in msg


# --------------------------------------------------------------------------- the model users


def test_env_prints_the_device_and_the_automatic_precision(monkeypatch, capsys):
    import torch

    from silver_ner.cli import main

    monkeypatch.setattr(torch, "cuda", _FakeCuda(False))
    monkeypatch.setattr(models, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    assert main(["env"]) == 0
    text = capsys.readouterr().out
    assert "  device          cpu\n" in text
    assert "  precision auto  bfloat16 (CPU flags amx_bf16)\n" in text
    monkeypatch.setattr(models, "cpu_flags", lambda: {"avx2"})
    assert main(["env", "--json"]) == 0
    devices = __import__("json").loads(capsys.readouterr().out)["devices"]
    assert devices["device"] == "cpu" and devices["cpu bf16"] is False
    assert devices["precision auto"] == "float32 (CPU without avx512_bf16 or amx_bf16)"


@pytest.mark.parametrize("flags, expected", [({"avx2"}, "float32"), ({"avx512_bf16"}, "bfloat16")])
def test_precision_auto_is_resolved_before_any_cache_key(monkeypatch, flags, expected):
    import torch

    from silver_ner.builders.build import BuildSpec, SourceSpec
    from silver_ner.cli import build_parser

    monkeypatch.setattr(torch, "cuda", _FakeCuda(False))
    monkeypatch.setattr(models, "cpu_flags", lambda: set(flags))
    gold = Path(__file__).resolve().parent.parent / "builders" / "samples" / "eng.conll"
    spec = BuildSpec("swa", SourceSpec("translated-conll", {"source_gold": str(gold), "translated_conll": str(gold)}),
                     method="naive", aligner_precision="auto")
    assert spec.aligner_precision == expected
    with pytest.raises(UserError, match="precision must be one of"):
        BuildSpec("swa", spec.source, method="naive", aligner_precision="fp16")
    assert build_parser().parse_args(["build", "--precision", "auto", "--lang", "swa"]).precision == "auto"
    assert build_parser().parse_args(["eval-projection", "--precision", "auto", "--source", "s", "--target", "t"]).precision == "auto"


def test_the_translator_identity_uses_the_fingerprint(tiny_nllb, tmp_path):
    from silver_ner.builders.translate import HFTranslator

    tr = HFTranslator(tiny_nllb, num_beams=1, max_length=12, cache_path=tmp_path / "c.sqlite")
    assert tr.identity.startswith(f"{tiny_nllb}@{models.fingerprint(tiny_nllb)}:")
    os.utime(tiny_nllb / "config.json", (4_000_000, 4_000_000))  # touched: the same translator
    assert HFTranslator(tiny_nllb, num_beams=1, max_length=12, cache_path=tmp_path / "c.sqlite").identity == tr.identity


from test_translate import tiny_nllb  # noqa: E402,F401  (the tiny translation model fixture)


# -- the one on-disk store ------------------------------------------------------------------------------


def test_store_round_trip_across_instances_and_tables(tmp_path):
    a = models.SQLiteStore(tmp_path / "c" / "s.sqlite", ("one", "two"))
    a.put_many("one", [("k1", "v1"), ("k2", "v2")])
    a.put_many("two", [("k1", "other")])
    a.put_many("one", [("k1", "v1b")])  # replaces
    b = models.SQLiteStore(tmp_path / "c" / "s.sqlite", ("one", "two"))
    assert b.get_many("one", ["k1", "k2", "k3", "k1"]) == {"k1": "v1b", "k2": "v2"}
    assert b.get_many("two", ["k1", "k2"]) == {"k1": "other"}
    assert b.count("one") == 2 and b.count("two") == 1
    with pytest.raises(KeyError, match="no table 'three'"):
        b.get_many("three", ["k1"])


def test_store_survives_pickling_and_many_keys(tmp_path):
    import pickle

    store = models.SQLiteStore(tmp_path / "s.sqlite", ("t",))
    store.put_many("t", [(f"k{i}", str(i)) for i in range(1234)])  # more than one IN (...) batch
    copy = pickle.loads(pickle.dumps(store))
    got = copy.get_many("t", [f"k{i}" for i in range(0, 1300, 7)])
    assert got == {f"k{i}": str(i) for i in range(0, 1234, 7)}


def test_alignment_and_translation_caches_share_the_store(tmp_path):
    from silver_ner.builders.translate import TranslationCache
    from silver_ner.projection.aligner import AlignmentCache
    from silver_ner.projection.protocols import Alignment

    al = AlignmentCache(tmp_path)
    tr = TranslationCache(tmp_path / "translations.sqlite")
    assert isinstance(al.store, models.SQLiteStore) and isinstance(tr.store, models.SQLiteStore)
    key = AlignmentCache.key("enc", ["a"], ["b"])
    al.put_many([(key, Alignment.from_pairs([(0, 0)], [0.5]))])
    assert AlignmentCache(tmp_path).get_many([key])[key].links == ((0, 0),)
    tr.put_many("mt", "swa", "eng", [("Habari", "Hello")])
    tr.mark_at_max_length("mt", "swa", "eng", ["Habari"])
    again = TranslationCache(tmp_path / "translations.sqlite")
    assert again.get_many("mt", "swa", "eng", ["Habari", "Kwaheri"]) == {"Habari": "Hello"}
    assert again.at_max_length("mt", "swa", "eng", ["Habari", "Kwaheri"]) == {"Habari"}
    assert again.get_many("mt", "swa", "fra", ["Habari"]) == {}


def test_sqlite_is_used_by_the_store_only():
    """One on-disk cache implementation: no other product module opens SQLite."""
    import re

    root = Path(__file__).resolve().parent.parent
    users = sorted(str(p.relative_to(root)) for folder in ("projection", "builders", "students", "leaderboard", "publish", "silver_ner")
                   for p in (root / folder).rglob("*.py") if re.search(r"^\s*(import sqlite3|from sqlite3)", p.read_text(encoding="utf-8"), re.M))
    assert users == ["projection/models.py"]


def test_an_unreachable_hub_model_is_one_user_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(UserError, match="owner/not-cached-anywhere: not a local model folder"):
        models.model_identity("owner/not-cached-anywhere")
