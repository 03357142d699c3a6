"""experiments/span_conventions.py error_breakdown: each predicted span sorted by how it meets the gold spans."""

from conftest import load_script

sc = load_script("experiments", "span_conventions")


def test_every_kind_of_error_is_counted_once():
    tokens = [["Nana", "Addo", "visited", "Accra", "and", "Kumasi", "Bank", "today", "Ghana"]]
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-LOC"]]
    pred = [["O", "B-PER", "O", "B-LOC", "O", "B-LOC", "O", "B-PER", "B-ORG"]]
    # Addo: PER inside gold PER "Nana Addo" -> boundary; Accra exact; Kumasi LOC overlaps ORG "Kumasi Bank"
    # -> type+boundary; today: spurious; Ghana: same span as gold LOC, other type -> type
    out = sc.error_breakdown(tokens, pred, gold)
    assert {k: out.get(k, 0) for k in ("exact", "boundary", "type", "type+boundary", "spurious", "missed", "gold",
                                       "predicted")} == {
        "exact": 1, "boundary": 1, "type": 1, "type+boundary": 1, "spurious": 1, "missed": 0, "gold": 4, "predicted": 5}
    assert out["top_spurious"] == [["today", "PER", 1]]
    assert out["spurious_capitalised_share"] == 0.0


def test_missed_gold_spans_and_capitalised_spurious_share():
    tokens = [["Kofi", "went", "to", "Tamale", "with", "Ama"]]
    gold = [["B-PER", "O", "O", "B-LOC", "O", "O"]]
    pred = [["O", "O", "O", "O", "O", "B-PER"]]
    out = sc.error_breakdown(tokens, pred, gold)
    assert out["missed"] == 2 and out["spurious"] == 1 and out.get("exact", 0) == 0
    assert out["spurious_capitalised_share"] == 1.0
