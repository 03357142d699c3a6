import unicodedata

import pytest

from silver_ner.builders.gold import DATASETS, load_gold_hub, read_gold, resolve_gold
from silver_ner.projection.errors import UserError


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path):
    yor = unicodedata.normalize("NFD", "Ọba")
    _write(tmp_path / "masakhaner2/yor/test.txt", f"{yor} B-PER\nlọ O\nsí O\nÈkó B-LOC\n\nLónìí B-DATE\n")
    _write(tmp_path / "conll2003_en/dev.txt", "-DOCSTART- O\n\nJohn B-PER\nSmith I-PER\nin O\nParis B-LOC\n\nEU I-ORG\n")
    _write(tmp_path / "europarl_gold/de.conll", "Die\tO\nKommission\tB-ORG\n\nEuropa\tB-MISC\n")
    _write(tmp_path / "wikiann_rahimi/swa/train.txt", "Nairobi B-LOC\nni O\n\nRais B-DATE\n")
    return tmp_path


def test_specs_map_to_paths(root):
    assert resolve_gold("masakhaner2:swa:test").local_path(root) == root / "masakhaner2/swa/test.txt"
    assert resolve_gold("conll2003:dev").local_path(root) == root / "conll2003_en/dev.txt"
    assert resolve_gold("conll2003:eng:dev").split == "dev"
    assert resolve_gold("europarl:de").local_path(root) == root / "europarl_gold/de.conll"
    assert resolve_gold("wikiann:sw:train").lang == "swa"  # two-letter codes accepted
    with pytest.raises(UserError, match="unknown dataset 'ontonotes'"):
        resolve_gold("ontonotes:eng:test")
    with pytest.raises(ValueError, match="not a split"):
        resolve_gold("masakhaner2:swa:valid")
    with pytest.raises(ValueError, match="needs a language"):
        resolve_gold("masakhaner2")


def test_read_local_with_label_sets_and_nfc(root):
    g = read_gold("masakhaner2:yor:test", root)
    assert g.label_set == DATASETS["masakhaner2"].labels
    assert g.records[0][1] == ["B-PER", "O", "O", "B-LOC"]
    assert unicodedata.is_normalized("NFD", g.records[0][0][0]) and g.normalized == 0
    n = read_gold("masakhaner2:yor:test", root, normalize="NFC")
    assert n.records[0][0][0] == "Ọba" and n.normalized == 1
    c = read_gold("conll2003:dev", root)
    assert [len(s.tokens) for s in c.sentences] == [4, 1]
    assert c.records[1][1] == ["B-ORG"] and len(c.repairs) == 1 and c.skipped
    e = read_gold("europarl:de", root)
    assert e.labels == ["MISC", "ORG"]
    # MISC is not a CoNLL-2003 label here unless asked for; restricting labels counts removals
    r = read_gold("europarl:de", root, labels=["PER", "ORG", "LOC"])
    assert r.records[1][1] == ["O"] and r.removed == {"MISC": 1}


def test_unknown_label_names_file_and_line(root):
    with pytest.raises(ValueError, match=r"wikiann_rahimi/swa/train.txt:4: entity type 'DATE'"):
        read_gold("wikiann:swa:train", root)
    with pytest.raises(FileNotFoundError, match="wikiann:swa:test"):
        read_gold("wikiann:swa:test", root)


def test_hub_path_gives_the_same_records(tmp_path, root):
    datasets = pytest.importorskip("datasets")
    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE"]
    feats = datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
    })
    local = read_gold("masakhaner2:yor:test", root)
    rows = {"id": ["0", "1"], "tokens": [s.tokens for s in local.sentences],
            "ner_tags": [[names.index(t) for t in s.tags] for s in local.sentences]}
    repo = tmp_path / "hub_repo"
    (repo / "yor").mkdir(parents=True)
    datasets.Dataset.from_dict(rows, features=feats).to_parquet(str(repo / "yor" / "test.parquet"))
    (repo / "README.md").write_text(
        "---\nconfigs:\n- config_name: yor\n  data_files:\n  - split: test\n    path: yor/test.parquet\n---\n")
    hub = load_gold_hub("masakhaner2:yor:test", repo=repo, normalize="NFC",
                        cache_dir=str(tmp_path / "cache"))
    nfc = read_gold("masakhaner2:yor:test", root, normalize="NFC")
    assert hub.records == nfc.records
    assert hub.label_set == nfc.label_set and hub.path.startswith("hub:")


def test_real_masakhaner_reads(shared_data):
    g = read_gold("masakhaner2:swa:test", shared_data)
    assert len(g) > 1000 and set(g.labels) == {"PER", "ORG", "LOC", "DATE"}


def test_gold_errors_are_user_errors(root):
    from silver_ner.projection.errors import UserError

    for spec, message in (("ontonotes:eng:test", "unknown dataset 'ontonotes'"), ("masakhaner2:swa:valid", "not a split"),
                          ("masakhaner2", "needs a language"), ("conll2003:deu:test", "eng only"),
                          ("europarl:de:test:x", "expected dataset:lang:split")):
        with pytest.raises(UserError) as err:
            resolve_gold(spec)
        assert str(err.value).startswith(f"gold spec {spec!r}: ") and message in str(err.value)
    with pytest.raises(KeyError):  # still a KeyError for callers that catch one
        resolve_gold("ontonotes:eng:test")
    with pytest.raises(UserError, match=r"wikiann_rahimi/swa/train.txt:4: entity type 'DATE'"):
        read_gold("wikiann:swa:train", root)
    with pytest.raises(UserError, match="wikiann:swa:test"):
        read_gold("wikiann:swa:test", root)


def test_gold_files_keep_unicode_whitespace_inside_tokens(root):
    _write(root / "masakhaner2/swa/dev.txt", "Dar\u00a0es\u00a0Salaam B-LOC\nni O\n")
    assert read_gold("masakhaner2:swa:dev", root).records == [(["Dar\u00a0es\u00a0Salaam", "ni"], ["B-LOC", "O"])]


def test_gold_hub_repos_come_from_the_corpus_table():
    from silver_ner.builders.corpora import CORPORA
    from silver_ner.builders.gold import DATASETS

    for name, info in DATASETS.items():
        if info.hub_repo:
            assert info.hub_repo == CORPORA[name].hub_id, name
    assert DATASETS["conll2003"].hub_repo == "eriktks/conll2003"
    assert DATASETS["wikiann"].hub_repo == "unimelb-nlp/wikiann"
