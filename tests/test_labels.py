"""The label module: label sets, label-set arguments, mappings, restricted tag sequences."""

from collections import Counter

import pytest

from silver_ner.projection import labels as L
from silver_ner.projection.errors import UserError


# -- named sets and label-set arguments ------------------------------------------------------


def test_named_sets_case_insensitive():
    assert L.resolve_labels(None) == ("PER", "ORG", "LOC")
    assert L.resolve_labels(" Conll+MISC ") == ("PER", "ORG", "LOC", "MISC")
    assert L.resolve_labels("MasakhaNER") == ("PER", "ORG", "LOC", "DATE")


def test_unknown_set_name_is_a_type():
    # "conl" is no set name: it is read as the type CONL, which the build refuses when its source
    # has no such type (LanguageBuild.check_labels)
    assert L.resolve_labels("conl") == ("CONL",)


def test_type_lists_upper_cased():
    assert L.resolve_labels("per, loc,,") == ("PER", "LOC")
    assert L.resolve_labels(["date", "Per"]) == ("DATE", "PER")


@pytest.mark.parametrize("arg, message", [
    ("", "empty label set"),
    (" , ", "empty label set"),
    ("PER,per", "label set PER,PER names a type twice"),
    ("PER,O", "invalid entity type 'O' in the label set"),
    ("PER,B-LOC", "invalid entity type 'B-LOC' in the label set"),
])
def test_bad_label_sets_refused(arg, message):
    with pytest.raises(UserError) as exc:
        L.resolve_labels(arg)
    assert str(exc.value) == message


def test_type_list_and_renames():
    assert L.parse_type_list("PER, Loc") == ["PER", "Loc"]
    assert L.parse_type_list("") is None
    with pytest.raises(UserError, match=r"entity type 'A-B' in 'PER,A-B'"):
        L.parse_type_list("PER,A-B")
    assert L.parse_renames(["PERSON = PER", "MISC="]) == {"PERSON": "PER", "MISC": None}
    with pytest.raises(UserError, match="expected SOURCE=TARGET"):
        L.parse_renames(["PERSON"])
    with pytest.raises(UserError, match="empty source type"):
        L.parse_renames(["=PER"])


def test_type_order_and_names():
    assert L.order_types({"ZZZ", "LOC", "AAA", "PER"}) == ["PER", "LOC", "AAA", "ZZZ"]
    assert L.types_of_names(["O", "B-LOC", "I-LOC", "B-PER"]) == ["LOC", "PER"]
    assert L.label_names(["PER", "DATE"]) == ["O", "B-PER", "I-PER", "B-DATE", "I-DATE"]
    assert L.iob2_names(["LOC"]) == ["O", "B-LOC", "I-LOC"]


# -- mappings --------------------------------------------------------------------------------


def test_map_type_renames_then_keeps():
    renames = {"PERSON": "PER", "MISC": None}
    assert L.map_type("PERSON", renames, ("PER", "LOC")) == "PER"
    assert L.map_type("MISC", renames, ("PER", "LOC")) is None
    assert L.map_type("LOC", renames, ("PER", "LOC")) == "LOC"
    assert L.map_type("DATE", renames, ("PER", "LOC")) is None
    assert L.map_type("DATE", renames) == "DATE"


def test_build_mapping_and_its_errors():
    assert L.build_mapping(["PERSON", "LOC", "DATE"], ["PER", "LOC"], {"PERSON": "PER"}) == {
        "PERSON": "PER", "LOC": "LOC", "DATE": None}
    assert L.target_types({"PERSON": "PER", "LOC": "LOC", "DATE": None}) == ["PER", "LOC"]
    assert L.target_types({"PERSON": "PER", "LOC": "LOC"}, ["LOC", "PER", "ORG"]) == ["LOC", "PER"]
    with pytest.raises(UserError, match=r"names types the data does not have: GPE \(it has PER\)"):
        L.build_mapping(["PER"], None, {"GPE": "LOC"})
    with pytest.raises(UserError, match=r"kept types ORG do not occur in the data \(types: PER\)"):
        L.build_mapping(["PER"], ["PER", "ORG"])


# -- tag sequences ---------------------------------------------------------------------------


def test_apply_mapping_renames_drops_and_counts():
    tags = [["B-PERSON", "I-PERSON", "O", "B-MISC"], ["B-LOC"]]
    out = L.apply_mapping(tags, {"PERSON": "PER", "MISC": None, "LOC": "LOC"})
    assert out.tags == [["B-PER", "I-PER", "O", "O"], ["B-LOC"]]
    assert out.dropped == Counter({"MISC": 1})
    assert out.renamed == Counter({"PERSON->PER": 1})


def test_apply_mapping_refuses_an_unmapped_type():
    with pytest.raises(KeyError, match="'DATE'"):
        L.apply_mapping([["B-DATE"]], {"PER": "PER"})


def test_restrict_tags_turns_types_outside_the_set_into_o():
    # predictions of MISC (mapped to None) and DATE (absent) become O; an I- without B- is repaired
    preds = [["B-PER", "I-PER", "B-MISC", "I-MISC", "O", "B-DATE"], ["I-LOC", "B-MISC"]]
    out, removed = L.restrict_tags(preds, {"PER": "PER", "LOC": "LOC", "MISC": None})
    assert out == [["B-PER", "I-PER", "O", "O", "O", "O"], ["B-LOC", "O"]]
    assert removed == Counter({"MISC": 2, "DATE": 1})


def test_repair_tags_reexported():
    assert L.repair_tags(["O", "I-PER", "I-PER", "I-LOC"]) == (["O", "B-PER", "I-PER", "B-LOC"], 2)


def test_align_label_sets():
    al = L.align_label_sets(["PER", "ORG", "LOC", "MISC"], ["PER", "LOC", "DATE", "GPE"], {"GPE": "LOC"})
    assert al.scored == ["PER", "LOC"]
    assert al.gold_mapping == {"PER": "PER", "LOC": "LOC", "DATE": None, "GPE": "LOC"}
    assert al.model_mapping == {"PER": "PER", "ORG": None, "LOC": "LOC", "MISC": None}
    assert al.ignored_gold == ["DATE"]
    assert al.ignored_model == ["ORG", "MISC"]
    with pytest.raises(UserError, match="nothing in common"):
        L.align_label_sets(["PER"], ["DATE"])
    with pytest.raises(UserError, match="onto types the model does not predict: ORG"):
        L.align_label_sets(["PER"], ["PER", "GPE"], {"GPE": "ORG"})

