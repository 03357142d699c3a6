import pytest

from silver_ner.builders.conll import ConllFormatError, check_parallel, read_conll, write_conll


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_space_and_tab(tmp_path):
    f = read_conll(write(tmp_path, "a.txt", "John B-PER\nruns O\n\n\nParis B-LOC\n"))
    assert [s.tokens for s in f.sentences] == [["John", "runs"], ["Paris"]]
    assert f.sentences[1].line == 5
    g = read_conll(write(tmp_path, "b.conll", "New\tB-LOC\nYork\tI-LOC\n"))
    assert g.sentences[0].spans[0].end == 2
    assert g.labels == ["LOC"]


def test_malformed_line_names_file_and_line(tmp_path):
    p = write(tmp_path, "bad.txt", "John B-PER\nruns\n")
    with pytest.raises(ConllFormatError, match=r"bad.txt:2: expected"):
        read_conll(p)
    p = write(tmp_path, "bad2.txt", "John B-PER\n\nruns Q-X\n")
    with pytest.raises(ConllFormatError, match=r"bad2.txt:3: not an IOB2 tag"):
        read_conll(p)


def test_repairs_are_counted_with_lines(tmp_path):
    p = write(tmp_path, "r.txt", "a O\nb I-ORG\nc I-ORG\n")
    f = read_conll(p)
    assert f.sentences[0].tags == ["O", "B-ORG", "I-ORG"]
    assert f.repairs == [(2, "I-ORG without B- turned into B-")]
    with pytest.raises(ConllFormatError, match="r.txt:2"):
        read_conll(p, repair=False)


def test_normalisation(tmp_path):
    p = write(tmp_path, "y.txt", "Ade\u0301 B-PER\n")
    assert read_conll(p, normalize="NFC").sentences[0].tokens == ["Adé"]


def test_parallel_check_and_write(tmp_path):
    a = read_conll(write(tmp_path, "a.txt", "x O\n\ny O\n"))
    b = read_conll(write(tmp_path, "b.txt", "x O\n"))
    with pytest.raises(ConllFormatError, match="a.txt:3: 2 sentences"):
        check_parallel(a, b)
    out = tmp_path / "w.txt"
    assert write_conll(out, [(["x"], ["B-PER"])]) == 1
    assert read_conll(out).sentences[0].tags == ["B-PER"]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_conll(tmp_path / "nope.txt")
