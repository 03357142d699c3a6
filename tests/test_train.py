"""Teacher/student training on tiny random models: labels, mappings, files written, resume, errors."""

import json
import math

import pytest
from conftest import FAST, SENTS, write_conll

from silver_ner.cli import main
from silver_ner.projection.labels import apply_mapping, build_mapping, parse_renames, target_types
from silver_ner.students.train import (
    TrainSettings,
    TrainingDataError,
    encode_sentences,
    load_conll_data,
    load_dataset_data,
    train_token_classifier,
)


def save_build(root, config="swa", sents=SENTS, types=("PER", "ORG", "LOC", "DATE", "MISC"), empty_validation=False):
    """A silver build folder: manifest + DIR/<config>/ saved with save_to_disk."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

    from silver_ner.projection.spans import iob2_names

    names = iob2_names(types)
    feats = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=names)), "method": Value("string")})
    rows = {"tokens": [s[0] for s in sents], "ner_tags": [[names.index(t) for t in s[1]] for s in sents], "method": ["test"] * len(sents)}
    val = {k: (v[:0] if empty_validation else v[:2]) for k, v in rows.items()}
    DatasetDict({"train": Dataset.from_dict(rows, features=feats), "validation": Dataset.from_dict(val, features=feats)}).save_to_disk(str(root / config))
    (root / "silver_ner_build.json").write_text(json.dumps({"configs": [config]}))
    return root


def test_mapping_keeps_renames_drops_and_counts():
    m = build_mapping(["PER", "ORG", "LOC", "DATE", "MISC"], keep=["PER", "ORG", "LOC"], renames=parse_renames(["DATE="]))
    assert m == {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "DATE": None, "MISC": None}
    out = apply_mapping([s[1] for s in SENTS], m)
    assert out.dropped == {"DATE": 1, "MISC": 1}
    assert out.tags[4] == ["B-ORG", "I-ORG", "I-ORG", "O", "O"]
    renamed = build_mapping(["PERSON", "GPE"], renames={"PERSON": "PER", "GPE": "LOC"})
    assert target_types(renamed) == ["PER", "LOC"]
    assert apply_mapping([["B-GPE", "I-GPE"]], renamed).renamed == {"GPE->LOC": 1}
    with pytest.raises(ValueError, match="does not have: FOO"):
        build_mapping(["PER"], renames={"FOO": "PER"})
    with pytest.raises(ValueError, match="kept types DATE do not occur"):
        build_mapping(["PER"], keep=["PER", "DATE"])
    with pytest.raises(ValueError, match="expected SOURCE=TARGET"):
        parse_renames(["PER"])


def test_labels_on_first_subword_only(tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    enc, stats = encode_sentences(tok, [["Johnxyz", "Paris"]], [[1, 5]], max_length=64)
    words = enc.get("input_ids")[0]
    labels = enc["labels"][0]
    assert stats["truncated_words"] == 0 and len(labels) == len(words)
    assert labels[0] == -100 and labels[-1] == -100  # [CLS], [SEP]
    assert [x for x in labels if x != -100] == [1, 5]
    assert labels[1] == 1 and labels[2] == -100  # "Johnxyz" is several subwords, labelled once
    enc, stats = encode_sentences(tok, [["John"] * 10], [[1] * 10], max_length=6)
    assert stats == {"truncated_words": 6, "windowed_sentences": 0, "windows": 0}  # 4 of 10 words fit between [CLS] and [SEP]


def test_windows_label_every_word_once(tiny_bert):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert)
    short = [["Johnxyz", "Paris", "visited"], ["Ada"]]
    short_ids = [[1, 5, 0], [1]]
    # sentences that fit: the same rows as truncation gives
    assert encode_sentences(tok, short, short_ids, 64, "window") == encode_sentences(tok, short, short_ids, 64)
    # a long sentence: several rows of at most max_length subwords, each word's label exactly once, in order
    words = ["Johnxyz", "went", "to", "Paris", "and", "Lagosqq", "with", "Ada"] * 3
    ids = list(range(len(words)))
    enc, stats = encode_sentences(tok, [words, ["Ada"]], [ids, [3]], 12, "window")
    assert stats["windowed_sentences"] == 1 and stats["windows"] == len(enc["input_ids"]) - 1 > 2
    assert stats["truncated_words"] == 0
    assert all(len(x) <= 12 and len(x) == len(lab) == len(m) for x, lab, m in zip(enc["input_ids"], enc["labels"], enc["attention_mask"]))
    assert [x for row in enc["labels"][:-1] for x in row if x != -100] == ids
    assert all(row[0] == tok.cls_token_id and row[-1] == tok.sep_token_id for row in enc["input_ids"])
    # each row holds whole words, and consecutive windows overlap (context on both sides of a cut)
    decoded = [tok.convert_ids_to_tokens(row[1:-1]) for row in enc["input_ids"][:-1]]
    assert all(not d[0].startswith("##") for d in decoded)
    first = tok(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    assert sum(len(row) - 2 for row in enc["input_ids"][:-1]) > len(first)
    with pytest.raises(ValueError, match="long_sentences must be one of truncate, window"):
        encode_sentences(tok, short, short_ids, 64, "split")
    with pytest.raises(ValueError, match="long_sentences must be one of truncate, window, got 'split'"):
        TrainSettings(long_sentences="split")


def test_teacher_from_conll_writes_model_and_record(tiny_bert, tmp_path):
    from transformers import AutoConfig

    conll = write_conll(tmp_path / "train.txt", decompose=True)
    data = load_conll_data(conll)
    assert data.sentences[5][0] == "Ọba"  # NFC-normalised on reading
    out = tmp_path / "teacher"
    rec = train_token_classifier(data, out, encoder=str(tiny_bert), settings=TrainSettings(freeze_embeddings=True, **FAST),
                                 keep_types=["PER", "ORG", "LOC"], role="teacher", show_progress=False)
    for f in ("model.safetensors", "config.json", "tokenizer.json", "silver_ner_training.json"):
        assert (out / f).exists(), f
    assert not (out / "checkpoints").exists()
    cfg = AutoConfig.from_pretrained(out)
    assert [cfg.id2label[i] for i in range(7)] == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    saved = json.loads((out / "silver_ner_training.json").read_text())
    assert saved == json.loads(json.dumps(rec))
    assert saved["labels"]["mapping"] == {"DATE": None, "LOC": "LOC", "MISC": None, "ORG": "ORG", "PER": "PER"}
    assert saved["labels"]["dropped_entities"] == {"DATE": 1, "MISC": 1}
    assert saved["training_data"][0]["n_sentences"] == 6 and saved["training_data"][0]["sha256"]
    assert saved["frozen_parameters"] > 0 and saved["steps"] == 3
    assert saved["hyperparameters"]["seed"] == 42 and saved["role"] == "teacher"
    with pytest.raises(ValueError, match="already holds a trained model"):
        train_token_classifier(data, out, encoder=str(tiny_bert), settings=TrainSettings(**FAST), show_progress=False)


def test_windowed_training_records_its_windows(tiny_bert, tmp_path, capsys):
    conll = tmp_path / "long.txt"
    long_sentence = [("Ada", "B-PER"), ("Lovelace", "I-PER"), ("visited", "O"), ("Lagos", "B-LOC"), ("today", "O")] * 6
    conll.write_text("\n".join(f"{w} {t}" for w, t in long_sentence) + "\n\nAda B-PER\nslept O\n")
    out = tmp_path / "windowed"
    code = main(["train", "--conll", str(conll), "--model", str(tiny_bert), "--output", str(out), "--max-length", "16",
                 "--long-sentences", "window", "--max-steps", "1", "--batch-size", "4", "--no-progress"])
    assert code == 0
    rec = json.loads((out / "silver_ner_training.json").read_text())
    assert rec["hyperparameters"]["long_sentences"] == "window" and rec["hyperparameters"]["max_length"] == 16
    assert rec["truncated_words"] == 0 and rec["windowed_sentences"] == 1 and rec["n_sentences"] == 2
    assert rec["training_rows"] > 3
    assert f"1 long sentences split into overlapping windows ({rec['training_rows']} training rows in all)" in capsys.readouterr().out
    cut = tmp_path / "cut"
    assert main(["train", "--conll", str(conll), "--model", str(tiny_bert), "--output", str(cut), "--max-length", "16",
                 "--max-steps", "1", "--batch-size", "4", "--no-progress"]) == 0
    rec = json.loads((cut / "silver_ner_training.json").read_text())
    assert rec["hyperparameters"]["long_sentences"] == "truncate" and rec["truncated_words"] > 0 and "windowed_sentences" not in rec


def test_fixed_seed_gives_identical_weights(tiny_bert, tmp_path):
    from safetensors.numpy import load_file

    data = load_conll_data(write_conll(tmp_path / "t.txt"))
    for name in ("a", "b"):
        train_token_classifier(data, tmp_path / name, encoder=str(tiny_bert), settings=TrainSettings(max_steps=2, **FAST), show_progress=False)
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_student_from_build_folder_and_resume(tiny_bert, tmp_path):
    build = save_build(tmp_path / "build")
    data = load_dataset_data(str(build), ["swa"], max_sentences=5)
    assert len(data) == 5 and data.source_types == ["PER", "ORG", "LOC", "DATE", "MISC"]
    assert data.provenance[0]["source"] == "local" and data.provenance[0]["n_sentences_available"] == 6
    out = tmp_path / "student"
    s = TrainSettings(max_steps=2, **FAST)
    train_token_classifier(data, out, encoder=str(tiny_bert), settings=s, keep_checkpoints=True, show_progress=False)
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    (out / "silver_ner_training.json").unlink()  # as if the run had stopped after its last checkpoint
    with pytest.raises(ValueError, match="pass --resume"):
        train_token_classifier(data, out, encoder=str(tiny_bert), settings=s, show_progress=False)
    rec = train_token_classifier(data, out, encoder=str(tiny_bert), settings=TrainSettings(max_steps=3, **FAST), resume=True, show_progress=False)
    assert rec["resumed_from"] == "checkpoint-2" and rec["steps"] == 3
    assert rec["labels"]["types"] == ["PER", "ORG", "LOC", "DATE", "MISC"]


def test_bad_training_data_errors(tmp_path):
    build = save_build(tmp_path / "build", empty_validation=True)
    with pytest.raises(TrainingDataError, match="no config 'yor'.*configs: swa"):
        load_dataset_data(str(build), ["yor"])
    with pytest.raises(TrainingDataError, match="no split 'dev'"):
        load_dataset_data(str(save_build(tmp_path / "ok")), ["swa"], split="dev")
    with pytest.raises(TrainingDataError, match="split of this dataset is empty"):
        load_dataset_data(str(build), ["swa"], split="validation")
    blank = save_build(tmp_path / "blank", sents=[([], [])] * 3)
    with pytest.raises(TrainingDataError, match="split train: no sentence with tokens"):
        load_dataset_data(str(blank), ["swa"])
    with pytest.raises(FileNotFoundError, match="no such dataset folder"):
        load_dataset_data(str(tmp_path / "nope"), ["swa"])
    bad = tmp_path / "bad.txt"
    bad.write_text("John B-PER\nSmith X-PER\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt:2: not an IOB2 tag"):
        load_conll_data(bad)


def test_cli_train_student_and_summary(tiny_bert, tmp_path, capsys):
    build = save_build(tmp_path / "build")
    out = tmp_path / "m"
    rc = main(["train", "--dataset", str(build), "--config", "swa", "--output", str(out), "--model", str(tiny_bert),
               "--max-steps", "2", "--batch-size", "2", "--labels", "PER,ORG,LOC", "--map", "MISC=", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "saved student model" in text and "DATE: 1 entities" in text and "MISC->dropped" in text
    assert json.loads((out / "silver_ner_training.json").read_text())["training_data"][0]["config"] == "swa"
    rc = main(["train", "--dataset", str(build), "--output", str(tmp_path / "x"), "--model", str(tiny_bert)])
    assert rc == 2 and "--config is required" in capsys.readouterr().err
    rc = main(["train", "--dataset", str(build), "--config", "swa", "--output", str(tmp_path / "y"), "--model", str(tiny_bert),
               "--labels", "PER,EVENT"])
    assert rc == 2 and "kept types EVENT do not occur" in capsys.readouterr().err


def test_cli_train_on_silver_and_gold_together(tiny_bert, tmp_path, capsys):
    build = save_build(tmp_path / "build")
    gold = tmp_path / "en.txt"
    gold.write_text("John B-PER\nlives O\nin O\nParis B-LOC\n\nACME B-ORG\nwins O\n", encoding="utf-8")
    out = tmp_path / "m"
    rc = main(["train", "--conll", str(gold), "--dataset", str(build), "--config", "swa", "--output", str(out),
               "--model", str(tiny_bert), "--max-steps", "1", "--batch-size", "2", "--labels", "PER,ORG,LOC", "--no-progress"])
    assert rc == 0
    rec = json.loads((out / "silver_ner_training.json").read_text())
    assert [p["source"] for p in rec["training_data"]][0] == "conll" and rec["training_data"][1]["config"] == "swa"
    assert rec["role"] == "student"
    assert rec["n_sentences"] == 2 + rec["training_data"][1]["n_sentences"]
    rc = main(["train", "--output", str(tmp_path / "z"), "--model", str(tiny_bert)])
    assert rc == 2 and "give training data" in capsys.readouterr().err


def train_swa(build, out, model, *extra):
    """`silver-ner train` on the swa config of ``build`` for one step of 2 sentences; returns the exit code."""
    return main(["train", "--dataset", str(build), "--config", "swa", "--output", str(out), "--model", str(model),
                 "--max-steps", "1", "--batch-size", "2", "--no-progress", *extra])


def test_fine_tuning_a_trained_classifier_keeps_its_label_order_or_refuses(tiny_bert, tmp_path, capsys):
    build = save_build(tmp_path / "build")
    first = tmp_path / "first"
    assert train_swa(build, first, tiny_bert, "--labels", "LOC,PER,ORG") == 0
    base_order = json.loads((first / "config.json").read_text())["id2label"]
    second = tmp_path / "second"
    assert train_swa(build, second, first, "--labels", "PER,ORG,LOC") == 0
    assert json.loads((second / "config.json").read_text())["id2label"] == base_order
    capsys.readouterr()
    rc = train_swa(build, tmp_path / "third", first, "--labels", "PER,ORG,LOC,DATE")
    assert rc == 2 and "base model is a token classifier" in capsys.readouterr().err


def test_ignored_types_carry_no_label_and_are_counted(tiny_bert, tmp_path, capsys):
    from silver_ner.students.train import _ignore_words

    ids, counts = _ignore_words([[0, 1, 0, 0, 0]], [["O", "B-PER", "B-MISC", "I-MISC", "O"]], ["MISC"])
    assert ids == [[0, 1, -100, -100, 0]] and counts == {"MISC": 1}
    build = save_build(tmp_path / "build")
    out = tmp_path / "m"
    rc = train_swa(build, out, tiny_bert, "--labels", "PER,ORG,LOC", "--map", "DATE=", "--ignore", "MISC")
    assert rc == 0
    assert "MISC: 1 entities (no loss on their words)" in capsys.readouterr().out
    labels = json.loads((out / "silver_ner_training.json").read_text())["labels"]
    assert labels["ignored_entities"] == {"MISC": 1} and "MISC" not in labels["dropped_entities"]
    rc = train_swa(build, tmp_path / "n", tiny_bert, "--ignore", "EVENT")
    assert rc == 2 and "ignored types EVENT do not occur" in capsys.readouterr().err


# The word classifier (conftest.word_model) tags John B-PER, Smith I-PER and Nairobi B-LOC, every other
# word O. Its entity probability (1 - P(O)) by hand: a plain word has a zero embedding, so its logits are
# the biases (O: 2, the six entity labels: 0) and 1 - P(O) = 6 / (e^2 + 6); a trigger word's embedding is
# 10 on one of 16 dimensions, 3.873 there after LayerNorm, so its label's logit is 4 * 3.873 = 15.49 and
# 1 - P(O) is 1 to within 1e-5.
PLAIN_WORD_P = 6 / (math.exp(2) + 6)  # 0.448
NAIROBI_AS_O = [s if s[0][3:4] != ["Nairobi"] else (s[0], ["B-PER", "O", "O", "O", "O", "B-LOC"]) for s in SENTS]


def test_mask_with_a_model_leaves_its_entity_words_out_of_the_loss(word_model, tiny_bert, tmp_path, capsys):
    from silver_ner.students.train import _mask_where_model_disagrees

    sents = [list(t) for t, _ in SENTS]
    ids = [[0] * len(t) for t in sents]  # all O
    ids[0][0] = 3  # one word with an entity label (John) is never masked
    masked, counts = _mask_where_model_disagrees(ids, sents, 0, str(word_model))
    # the model's entity words: John (labelled), Smith and Nairobi (O in the data: masked)
    assert masked == [[3, -100, 0, 0, 0], [0] * 6, [0, 0, 0, -100, 0, 0], [0] * 4, [0] * 5, [0] * 3]
    assert (counts["words"], counts["sentences"]) == (2, 2)
    # through the command: the data labels Nairobi O in sentence 3 only; John, Smith and Paris are entities
    build = save_build(tmp_path / "build", sents=NAIROBI_AS_O)
    out = tmp_path / "m"
    assert train_swa(build, out, tiny_bert, "--labels", "PER,ORG,LOC", "--mask-with", str(word_model)) == 0
    rec = json.loads((out / "silver_ner_training.json").read_text())
    assert rec["masked_by_model"]["model"] == word_model.name  # the folder's name, never a machine path
    assert (rec["masked_by_model"]["words"], rec["masked_by_model"]["sentences"]) == (1, 1)


def test_mask_min_prob_masks_only_confident_entity_words(word_model, tiny_bert, tmp_path, capsys):
    from silver_ner.students.predict import load_token_classifier, predict_tags
    from silver_ner.students.train import _mask_where_model_disagrees

    sents = [list(t) for t, _ in SENTS]
    pred = predict_tags(load_token_classifier(word_model), sents)
    triggers = {(0, 0), (0, 1), (2, 3)}  # John, Smith, Nairobi
    for i, row in enumerate(pred.entity_probs):
        for j, p in enumerate(row):
            assert p == pytest.approx(1.0 if (i, j) in triggers else PLAIN_WORD_P, abs=1e-5), (i, j)
    ids = [[0] * len(t) for t in sents]
    masked, counts = _mask_where_model_disagrees(ids, sents, 0, str(word_model), min_prob=0.5)
    assert {(i, j) for i, row in enumerate(masked) for j, x in enumerate(row) if x == -100} == triggers
    assert (counts["words"], counts["sentences"], counts["below_min_prob"]) == (3, 2, 0)
    with pytest.raises(ValueError, match="threshold"):
        _mask_where_model_disagrees(ids, sents, 0, str(word_model), min_prob=1.0)
    build = save_build(tmp_path / "build", sents=NAIROBI_AS_O)
    assert train_swa(build, tmp_path / "m", tiny_bert, "--mask-min-prob", "0.5") == 2
    assert "--mask-min-prob needs --mask-with" in capsys.readouterr().err
    out = tmp_path / "n"
    assert train_swa(build, out, tiny_bert, "--labels", "PER,ORG,LOC", "--mask-with", str(word_model),
                     "--mask-min-prob", "0.5") == 0
    rec = json.loads((out / "silver_ner_training.json").read_text())["masked_by_model"]
    assert (rec["min_prob"], rec["words"], rec["sentences"], rec["below_min_prob"]) == (0.5, 1, 1, 0)
    assert "with p >= 0.5" in capsys.readouterr().out


def test_consistently_o_words_by_share_and_count():
    from silver_ner.students.train import consistently_o_words

    sents = [["Maazị", "Obi", "bịara"]] * 4 + [["Maazị", "Okeke"], ["Obi", "Maazị"]]
    ids = [[0, 1, 0]] * 4 + [[1, 2], [-100, 0]]  # Maazị: O 5 of 6; Obi: O 0 of 5 (one unlabelled)
    assert consistently_o_words(sents, ids, 0, 0.8) == {"Maazị"}
    assert consistently_o_words(sents, ids, 0, 0.9) == frozenset()
    assert consistently_o_words(sents, ids, 0, 0.8, min_count=7) == frozenset()
    assert consistently_o_words(sents, ids, 0, 0.5, min_count=1) == {"Maazị", "bịara"}
    with pytest.raises(ValueError, match="O ratio"):
        consistently_o_words(sents, ids, 0, 0.0)
    with pytest.raises(ValueError, match="minimum count"):
        consistently_o_words(sents, ids, 0, 0.8, min_count=0)


def test_mask_disagreements_keeps_listed_word_forms_as_o():
    from silver_ner.students.train import mask_disagreements

    sents = [["Maazị", "Obi", "bịara", "Enugwu"]]
    ids = [[0, 1, 0, 0]]
    tags = [["B-PER", "I-PER", "O", "B-LOC"]]
    probs = [[0.95, 0.99, 0.01, 0.5]]
    out, c = mask_disagreements(ids, sents, tags, probs, 0)
    assert out == [[-100, 1, 0, -100]] and c == {"words": 2, "sentences": 1, "below_min_prob": 0, "kept_consistent_o": 0}
    out, c = mask_disagreements(ids, sents, tags, probs, 0, min_prob=0.9, keep_o=frozenset({"Maazị"}))
    assert out == [[0, 1, 0, 0]] and c == {"words": 0, "sentences": 0, "below_min_prob": 1, "kept_consistent_o": 1}


def test_mask_keep_o_through_the_cli(word_model, tiny_bert, tmp_path, capsys):
    build = save_build(tmp_path / "build", sents=NAIROBI_AS_O)
    tagger = word_model
    assert train_swa(build, tmp_path / "a", tiny_bert, "--mask-keep-o", "0.8") == 2
    assert "--mask-keep-o needs --mask-with" in capsys.readouterr().err
    assert train_swa(build, tmp_path / "b", tiny_bert, "--mask-with", str(tagger), "--mask-keep-o", "1.5") == 2
    assert "--mask-keep-o must be in (0, 1]" in capsys.readouterr().err
    assert train_swa(build, tmp_path / "c", tiny_bert, "--mask-with", str(tagger), "--mask-keep-o", "0.8",
                     "--mask-keep-o-min-count", "0") == 2
    assert "--mask-keep-o-min-count must be at least 1" in capsys.readouterr().err
    out = tmp_path / "m"
    assert train_swa(build, out, tiny_bert, "--labels", "PER,ORG,LOC", "--mask-with", str(tagger),
                     "--mask-keep-o", "0.5", "--mask-keep-o-min-count", "1") == 0
    rec = json.loads((out / "silver_ner_training.json").read_text())["masked_by_model"]
    assert rec["keep_o_ratio"] == 0.5 and rec["keep_o_min_count"] == 1
    # word forms the data labels O (DATE and MISC are dropped to O by --labels): visited . The met in is ,
    # Nairobi Rais alisema leo Euro 2004 ilé; Nairobi, the one word the model tags against the data, keeps its O
    assert rec["consistent_o_word_forms"] == 14
    assert (rec["kept_consistent_o"], rec["words"], rec["sentences"]) == (1, 0, 0)
    assert "kept as O" in capsys.readouterr().out


def test_student_data_through_load_dataset_repo_layout(tmp_path):
    """A folder in the Hub repository layout goes through datasets.load_dataset(repo, config, split=...)."""
    from datasets import load_from_disk

    save_build(tmp_path / "build")
    repo = tmp_path / "repo"
    (repo / "swa").mkdir(parents=True)
    load_from_disk(str(tmp_path / "build" / "swa"))["train"].to_parquet(str(repo / "swa" / "train-00000.parquet"))
    (repo / "README.md").write_text(
        "---\nconfigs:\n- config_name: swa\n  data_files:\n  - split: train\n    path: swa/train-*.parquet\n---\n", encoding="utf-8")
    data = load_dataset_data(str(repo), ["swa"])
    assert data.provenance[0]["source"] == "local-repo" and data.provenance[0]["config"] == "swa"
    assert data.tags == [s[1] for s in SENTS] and data.source_types == ["PER", "ORG", "LOC", "DATE", "MISC"]
    with pytest.raises(TrainingDataError, match="split 'test'"):
        load_dataset_data(str(repo), ["swa"], split="test")


@pytest.mark.slow
def test_real_data_teacher_smoke(tiny_bert, shared_data, tmp_path):
    """A few steps on real CoNLL-2003 English, then zero-shot scoring on real MasakhaNER 2.0 Yoruba."""
    from silver_ner.students.evaluation import evaluate_model

    data = load_conll_data(shared_data / "conll2003_en" / "train.txt", max_sentences=64)
    out = tmp_path / "teacher"
    train_token_classifier(data, out, encoder=str(tiny_bert), settings=TrainSettings(max_steps=4, batch_size=16), show_progress=False)
    rec = evaluate_model(str(out), ["masakhaner2:yor:test"], data_root=shared_data, max_sentences=100)[0]
    assert rec["n_sentences"] == 100 and rec["labels"]["ignored_gold"] == ["DATE"]
    assert rec["labels"]["gold_entities_ignored"] == {"DATE": 11}  # B-DATE spans in the first 100 sentences of the file


def test_mask_keep_o_without_a_mask_model_is_refused_before_training(tmp_path):
    from silver_ner.students.train import load_conll_data, train_token_classifier

    conll = tmp_path / "tiny.conll"
    conll.write_text("Maazị O\nObi B-PER\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="only applies with a mask model"):
        train_token_classifier(load_conll_data(conll), tmp_path / "m", mask_keep_o=0.8)
    assert not (tmp_path / "m").exists()
