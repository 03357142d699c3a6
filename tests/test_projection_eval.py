import json

import pytest

from silver_ner.builders.conll import ConllFormatError
from silver_ner.cli import main
from silver_ner.leaderboard import projection_eval
from silver_ner.leaderboard.projection_eval import evaluate_projection, format_table
from silver_ner.projection.protocols import Alignment

EN = [
    [("John", "B-PER"), ("Smith", "I-PER"), ("visited", "O"), ("Paris", "B-LOC"), (".", "O")],
    [("The", "O"), ("European", "B-ORG"), ("Union", "I-ORG"), ("agreed", "O")],
    [("Nothing", "O"), ("here", "O")],
]
DE = [
    [("John", "B-PER"), ("Smith", "I-PER"), ("besuchte", "O"), ("Paris", "B-LOC"), (".", "O")],
    [("Die", "O"), ("Europäische", "B-ORG"), ("Union", "I-ORG"), ("stimmte", "O"), ("zu", "O")],
    [("Nichts", "O"), ("hier", "O")],
]


def write(path, sentences):
    path.write_text("".join("".join(f"{t}\t{g}\n" for t, g in s) + "\n" for s in sentences), encoding="utf-8")
    return str(path)


class DiagonalAligner:
    """Links word i to word i (as far as both sentences reach); drops the links listed in ``skip``."""

    identity = "diagonal"

    def __init__(self, skip=()):
        self.skip = set(skip)
        self.calls = []

    def _one(self, src, tgt):
        return Alignment.from_pairs([(i, i) for i in range(min(len(src), len(tgt))) if (tuple(src), i) not in self.skip])

    def align(self, pairs):
        self.calls.append(("align", len(pairs)))
        return [self._one(s, t) for s, t in pairs]

    def align_methods(self, pairs, methods):
        self.calls.append(("align_methods", tuple(methods)))
        return {m: [self._one(s, t) for s, t in pairs] for m in methods}


@pytest.fixture
def files(tmp_path):
    return write(tmp_path / "en.conll", EN), write(tmp_path / "de.conll", DE)


def test_perfect_links_give_perfect_scores(files):
    en, de = files
    out = evaluate_projection([en], de, "ngram-exact", aligner=DiagonalAligner())
    assert (out["precision"], out["recall"], out["f1"]) == (1.0, 1.0, 1.0)
    assert set(out["per_class"]) == {"PER", "LOC", "ORG"}
    assert out["sentences"] == 3 and out["unprojected"] == 0 and out["repairs"] == 0
    assert out["aligner"] == "diagonal" and out["method"] == "ngram-exact"
    assert out["peak_rss_mb"] > 0 and out["seconds"] >= out["align_seconds"] + out["project_seconds"]  # the stages lie inside the run
    assert "ORG" in format_table(out)


def test_unaligned_entity_is_counted_not_fatal(files):
    en, de = files
    aligner = DiagonalAligner(skip=[(tuple(t for t, _ in EN[0]), 3)])  # Paris has no link
    out = evaluate_projection([en], de, "heuristic", aligner=aligner)
    assert out["unprojected"] == 1
    assert out["recall"] == pytest.approx(2 / 3) and out["precision"] == 1.0
    assert out["per_class"]["LOC"]["recall"] == 0.0


def test_combined_links_use_align_methods(files):
    en, de = files
    aligner = DiagonalAligner()
    out = evaluate_projection([en], de, "ngram-greedy", aligner=aligner, align_method="itermax+argmax")
    assert aligner.calls == [("align_methods", ("itermax", "argmax"))]
    assert out["links"] == "itermax+argmax" and out["f1"] == 1.0


def test_multi_source_votes(files, tmp_path):
    en, de = files
    es = write(tmp_path / "es.conll", [
        [("John", "B-PER"), ("Smith", "I-PER"), ("visitó", "O"), ("París", "B-LOC"), (".", "O")],
        [("La", "O"), ("Unión", "B-ORG"), ("Europea", "I-ORG"), ("acordó", "O")],
        [("Nada", "O"), ("aquí", "O")],
    ])
    out = evaluate_projection([en, es], de, "naive", aligner=DiagonalAligner(), min_votes=2)
    assert out["f1"] == 1.0 and out["min_votes"] == 2 and out["spans_left_out_by_voting"] == 0


def test_mismatched_files_name_file_and_line(files, tmp_path):
    en, _ = files
    short = write(tmp_path / "short.conll", DE[:2])
    with pytest.raises(ConllFormatError, match=r"en\.conll:12: .*sentence 3 \(line 12\)"):
        evaluate_projection([en], short, aligner=DiagonalAligner())


def test_spans_methods_need_candidates(files, tmp_path):
    en, de = files
    with pytest.raises(ValueError, match="--candidates"):
        evaluate_projection([en], de, "spans-exact", aligner=DiagonalAligner())
    cands = write(tmp_path / "cands.conll", [[(t, "B-X" if g.startswith("B") else g.replace("PER", "X").replace("ORG", "X").replace("LOC", "X")) for t, g in s] for s in DE])
    out = evaluate_projection([en], de, "spans-exact", aligner=DiagonalAligner(), candidates=cands)
    assert out["f1"] == 1.0


def test_cli_json_and_table(files, monkeypatch, capsys):
    en, de = files
    monkeypatch.setattr(projection_eval, "make_aligner", lambda *a: DiagonalAligner())
    assert main(["eval-projection", "--source", en, "--target", de, "--method", "elp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["f1"] == 1.0 and out["method"] == "elp"
    assert main(["eval-projection", "--source", en, "--target", de]) == 0
    assert "precision" in capsys.readouterr().out
    assert main(["eval-projection", "--source", en, "--target", de, "--method", "magic"]) == 2
    assert "valid methods" in capsys.readouterr().err
    args = ["eval-projection", "--source", en, "--target", de, "--method", "ngram-greedy", "--json"]
    assert main(args + ["--param", "threshold=1.5", "--param", "weighted=false"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["threshold"] == 1.5 and out["predicted_entities"] == 0
    assert main(args + ["--param", "ratio=0.5"]) == 2
    assert "bad parameters" in capsys.readouterr().err
    assert main(args + ["--param", "threshold"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


@pytest.mark.slow  # builds the tiny model (tens of seconds on a loaded machine)
def test_real_embedding_aligner_on_a_tiny_model(files, tiny_bert):
    en, de = files
    out = evaluate_projection([en], de, "ngram-exact", aligner_model=str(tiny_bert), layer=2, align_method="argmax")
    assert out["aligner"].startswith("embedding:") and "layer=2" in out["aligner"]
    assert out["sentences"] == 3
