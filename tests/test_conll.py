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


def test_unicode_whitespace_stays_inside_the_token(tmp_path):
    p = write(tmp_path, "u.txt", "Berlin\u00a0Mitte B-LOC\nliegt O\n\nNew\u2009York B-LOC\n\nTokyo\u3000Bay B-LOC\n")
    f = read_conll(p)
    assert [s.tokens for s in f.sentences] == [["Berlin\u00a0Mitte", "liegt"], ["New\u2009York"], ["Tokyo\u3000Bay"]]
    assert [s.tags for s in f.sentences] == [["B-LOC", "O"], ["B-LOC"], ["B-LOC"]]
    # ASCII columns keep working: runs of spaces, several columns (tag last), tabs (spaces kept in the token)
    g = read_conll(write(tmp_path, "c.txt", "John  B-PER\nEU NNP B-NP B-ORG\n\nNew York\tB-LOC\n"))
    assert [s.tokens for s in g.sentences] == [["John", "EU"], ["New York"]]
    assert [s.tags for s in g.sentences] == [["B-PER", "B-ORG"], ["B-LOC"]]


def test_a_token_of_unicode_whitespace_only_is_an_error(tmp_path):
    with pytest.raises(ConllFormatError, match=r"w.txt:2: expected 'token tag'"):
        read_conll(write(tmp_path, "w.txt", "a O\n\u00a0 O\n"))


def test_byte_order_mark_is_not_part_of_the_first_token(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes("\ufeffJohn B-PER\n".encode("utf-8"))
    assert read_conll(p).sentences[0].tokens == ["John"]


def test_non_utf8_bytes_name_file_line_and_byte(tmp_path):
    from silver_ner.builders.conll import InputEncodingError, read_lines
    from silver_ner.projection.errors import UserError

    p = tmp_path / "latin.conll"
    p.write_bytes("John B-PER\r\n\r\nJ\u00e4hn B-PER\r\n".encode("latin-1"))
    with pytest.raises(InputEncodingError, match=r"latin.conll:3: not valid utf-8 text: byte 0xe4 at byte 2 ") as err:
        read_conll(p)
    assert isinstance(err.value, UserError) and err.value.line == 3 and err.value.byte == 0xE4
    assert read_conll(p, encoding="latin-1").sentences[1].tokens == ["J\u00e4hn"]
    t = tmp_path / "lines.en"
    t.write_bytes(b"ok\nalso ok\nbad \xff here\n")
    with pytest.raises(InputEncodingError, match=r"lines.en:3: .*byte 0xff at byte 5 "):
        read_lines(t)


def test_a_folder_is_a_one_line_user_error(tmp_path):
    from silver_ner.builders.conll import read_lines
    from silver_ner.projection.errors import UserError

    for reader in (read_conll, read_lines):
        with pytest.raises(UserError, match=rf"^{tmp_path}: is a folder, expected a "):
            reader(tmp_path)


def test_errors_are_user_errors(tmp_path):
    from silver_ner.builders.parallel import ParallelFileError
    from silver_ner.projection.errors import UserError

    assert issubclass(ConllFormatError, UserError) and issubclass(ParallelFileError, UserError)
    with pytest.raises(UserError):  # a missing file stays a FileNotFoundError too
        read_conll(tmp_path / "nope.txt")


def test_repair_locations_name_file_and_line(tmp_path):
    f = read_conll(write(tmp_path, "r.txt", "a O\nb I-ORG\n\nc I-LOC\n"))
    assert f.repair_locations() == [f"{tmp_path / 'r.txt'}:2: I-ORG without B- turned into B-",
                                    f"{tmp_path / 'r.txt'}:4: I-LOC without B- turned into B-"]


def test_every_command_reads_conll_through_the_shared_reader(tmp_path):
    """train, evaluate and eval-projection see the same tokens as the reader (no private splitting)."""
    from silver_ner.leaderboard.scoring import load_gold
    from silver_ner.students.train import load_conll_data

    p = write(tmp_path, "g.txt", "Berlin\u00a0Mitte B-LOC\nliegt O\n")
    assert load_conll_data(p).sentences == [["Berlin\u00a0Mitte", "liegt"]]
    assert load_gold(str(p)).tokens == [["Berlin\u00a0Mitte", "liegt"]]


def test_commands_report_bad_input_files_in_one_line(tmp_path, capsys):
    from silver_ner.cli import main

    good = write(tmp_path, "good.conll", "John B-PER\n")
    bad = tmp_path / "bad.conll"
    bad.write_bytes(b"J\xe4hn B-PER\n")
    assert main(["eval-projection", "--source", str(bad), "--target", str(good)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{bad}:1: not valid utf-8 text: byte 0xe4" in err
    assert main(["eval-projection", "--source", str(tmp_path), "--target", str(good)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{tmp_path}: is a folder" in err


@pytest.mark.slow
def test_every_masakhaner_and_conll2003_file_reads_whole(shared_data):
    """Every token line of the real files becomes a token (nothing dropped), repairs are located."""
    files = sorted(shared_data.glob("masakhaner2/*/*.txt")) + sorted(shared_data.glob("conll2003_en/*.txt"))
    assert len(files) >= 50
    for path in files:
        f = read_conll(path)
        lines = path.read_text(encoding="utf-8").split("\n")
        token_lines = sum(1 for line in lines if line.strip() and not line.startswith("-DOCSTART-"))
        assert len(f) > 0 and sum(len(s.tokens) for s in f.sentences) == token_lines, path
        assert all(" " not in t for s in f.sentences for t in s.tokens), path
        assert all(loc.startswith(f"{path}:") for loc in f.repair_locations())


def test_a_line_separated_only_by_other_whitespace_says_so(tmp_path):
    with pytest.raises(ConllFormatError, match=r"n.txt:1: expected 'token tag'.*only by U\+00A0"):
        read_conll(write(tmp_path, "n.txt", "Berlin\u00a0B-LOC\n"))
