"""experiments/french_teacher_check.py with a stand-in tagger (no model)."""


from silver_ner.projection.spans import Span
from conftest import load_script

def _load():
    return load_script("experiments", "french_teacher_check")


class CapitalTagger:
    identity = "capitals"

    def tag(self, sentences):
        return [[Span(i, i + 1, "LOC") for i, t in enumerate(s) if i and t[:1].isupper()] for s in sentences]


def _pair(folder, split, side, lang, src, tgt):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.{side}").write_text("".join(x + "\n" for x in src), encoding="utf-8")
    (folder / f"{split}.{lang}").write_text("".join(x + "\n" for x in tgt), encoding="utf-8")


def test_overlaps_only_where_a_language_has_both_sides(tmp_path):
    mod = _load()
    m = tmp_path / "mafand"
    _pair(m / "fr-ewe", "train", "fr", "ewe", ["Il est à Lomé"], ["Ele Lomé"])
    assert mod.en_fr_overlaps(tmp_path, ["ewe"]) == []
    _pair(m / "en-ewe", "dev", "en", "ewe", ["He is in Lomé", "Other"], ["Ele Lomé.", "Bubu"])
    found = mod.en_fr_overlaps(tmp_path, ["ewe"])
    assert [(o["en"], o["fr"]) for o in found] == [("He is in Lomé", "Il est à Lomé")]
    assert found[0]["fr_at"].endswith("fr-ewe/train.fr:1") and found[0]["en_at"].endswith("en-ewe/dev.en:1")
    fr = [["O", "B-LOC"], ["B-PER", "O"]]
    assert mod.type_agreement([["O", "B-LOC"], ["O", "B-LOC"]], fr) == {"pairs": 2, "same_entity_types": 1,
                                                                        "share": 0.5}


def test_sample_is_reproducible_spread_and_distinct_then_checked_file_scores(tmp_path):
    mod = _load()
    pool = tmp_path / "pool"
    for lang, lines in (("bam", [f"Ligne {i} de Bamako" for i in range(6)]),
                        ("wol", ["Il parle de l’ONU à Dakar"] * 3 + ["Dakar"])):
        (pool / f"fr-{lang}").mkdir(parents=True)
        (pool / f"fr-{lang}" / "pool.fr").write_text("\n".join(lines) + "\n", encoding="utf-8")
    a = mod.sample_french(tmp_path, ["bam", "wol"], 5, seed=13, pool=pool)
    assert a == mod.sample_french(tmp_path, ["bam", "wol"], 5, seed=13, pool=pool)
    assert len(a) == 5 and len({s["text"] for s in a}) == 5
    assert [s["lang"] for s in a].count("wol") == 2  # wol has two distinct lines only; bam fills the rest
    onu = next(s for s in a if "ONU" in s["text"])
    assert onu["tokens"] == ["Il", "parle", "de", "l’", "ONU", "à", "Dakar"]
    assert onu["at"].startswith(str(pool / "fr-wol" / "pool.fr") + ":")
    tags = mod.tag(CapitalTagger(), [s["tokens"] for s in a])
    out = tmp_path / "sample.tsv"
    mod.write_sample(out, a, tags, {"seed": 13})
    text = out.read_text(encoding="utf-8")
    assert "ONU\tB-LOC\t\n" in text
    # the checker corrects ONU to ORG and leaves every other tag
    out.write_text(text.replace("ONU\tB-LOC\t\n", "ONU\tB-LOC\tB-ORG\n"), encoding="utf-8")
    teacher, hand = mod.read_checked(out)
    assert len(teacher) == 5 and sum(t != h for ts, hs in zip(teacher, hand) for t, h in zip(ts, hs)) == 1
    n_entities = sum(t.startswith("B-") for ts in teacher for t in ts)
    scores = mod.score_checked(out)
    assert scores["sentences"] == 5
    assert abs(scores["precision"] - (n_entities - 1) / n_entities) < 1e-9


def test_no_overlap_in_the_shared_data(shared_data):
    mod = _load()
    assert mod.en_fr_overlaps(shared_data, list(mod.FRENCH_SIDE)) == []
