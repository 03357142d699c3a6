import unicodedata

from silver_ner.builders.wordsplit import detokenize, tokenize


def test_punctuation_split_like_masakhaner():
    assert tokenize("Al-Shabab walisema (UNHCR) 27,000 na 1.99%.") == [
        "Al", "-", "Shabab", "walisema", "(", "UNHCR", ")", "27", ",", "000", "na", "1.99", "%", "."]


def test_words_keep_apostrophes_and_digit_hyphens():
    assert tokenize("n'ime ‘yan bang' People's COVID-19") == ["n'ime", "‘yan", "bang'", "People's", "COVID-19"]
    assert tokenize("ni 'Handshake' leo") == ["ni", "'", "Handshake", "'", "leo"]


def test_combining_tone_marks_stay_on_their_letter():
    text = unicodedata.normalize("NFD", "Ọba ilé ẹ̀kọ́ dé, àwọn.")
    toks = tokenize(text)
    assert len(toks) == 7 and toks[-2:] == [unicodedata.normalize("NFD", "àwọn"), "."]


def test_quote_token_spelling():
    assert tokenize('alisema "leo"', quote_token='""""') == ["alisema", '""""', "leo", '""""']


def test_detokenize_round_trip():
    toks = ["Rais", "(", "Kenya", ")", "alisema", '"', "leo", '"', ",", "27", ",", "000", "."]
    text = detokenize(toks)
    assert text == 'Rais (Kenya) alisema "leo", 27,000.'
    assert tokenize(text) == toks


def test_consistent_with_masakhaner_gold(shared_data):
    from silver_ner.builders.gold import read_gold

    for lang in ("yor", "swa"):
        g = read_gold(f"masakhaner2:{lang}:test", shared_data)
        # the files spell a double quote either as " or as four quote characters
        gold = [[t if t != '""""' else '"' for t in s.tokens] for s in g.sentences]
        same = sum(tokenize(" ".join(toks)) == toks for toks in gold)
        assert same / len(g) > 0.98
