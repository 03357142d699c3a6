"""`silver-ner train`, `silver-ner evaluate` and `silver-ner leaderboard` (registered by :mod:`silver_ner.cli`)."""

from __future__ import annotations

import json
import sys

from silver_ner.projection.errors import UserError


def register(sub) -> None:
    """Add this area's subcommands to the `silver-ner` parser."""
    p = sub.add_parser(
        "train",
        help="train a teacher (--conll) or a student (--dataset) NER model",
        description="Fine-tune an encoder for token classification on a CoNLL file (teacher) or on "
        "silver configs of a build folder or Hub dataset repo (student).",
    )
    p.add_argument("--dataset", action="append", default=[],
                   help="silver build folder (DIR/<config>/) or Hub dataset repo id; repeat to train on several")
    p.add_argument("--conll", action="append", default=[],
                   help="CoNLL training file (e.g. English CoNLL-2003 for the teacher); repeatable, combines with --dataset")
    p.add_argument("--config", help="dataset config(s), comma-separated (e.g. swa or swa,yor); taken from every --dataset")
    p.add_argument("--revision", help="Hub dataset revision (tag, branch or commit)")
    p.add_argument("--split", default="train", help="training split (default: train)")
    p.add_argument("--validation", help="evaluate each epoch on this: a split name of --dataset, or a CoNLL file")
    p.add_argument("--max-validation", type=int, default=500, help="cap on validation sentences (default 500)")
    p.add_argument("--output", required=True, help="model folder to write")
    p.add_argument("--model", help="base encoder: folder or Hub id (default: offline multilingual-e5-small)")
    p.add_argument("--labels", help="entity types of the model, comma-separated (default: all types of the data)")
    p.add_argument("--map", action="append", metavar="SRC=DST", help="rename a data type (SRC=DST) or drop it (SRC=); repeatable")
    p.add_argument("--mask-with", metavar="MODEL",
                   help="tag the training sentences with MODEL (e.g. the teacher); words the data labels O but MODEL "
                   "tags as an entity carry no training label")
    p.add_argument("--mask-min-prob", type=float, default=0.0, metavar="P",
                   help="with --mask-with: mask only words whose entity probability under MODEL is at least P "
                   "(default 0: every word MODEL tags as an entity)")
    p.add_argument("--mask-keep-o", type=float, metavar="RATIO",
                   help="with --mask-with: never mask a word form that the data labels O in at least RATIO of its "
                        "occurrences (e.g. 0.8; a title such as Igbo 'Maazị' that projection consistently leaves O)")
    p.add_argument("--mask-keep-o-min-count", type=int, default=5, metavar="N",
                   help="with --mask-keep-o: only word forms seen at least N times (default 5)")
    p.add_argument("--ignore", help="entity types whose words carry no training label, neither entity nor O "
                   "(comma-separated, e.g. MISC when learning PER,ORG,LOC from projected CoNLL-2003)")
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-length", type=int, default=128, help="subwords per training row (special tokens included)")
    p.add_argument("--long-sentences", choices=("truncate", "window"), default="truncate",
                   help="sentences longer than --max-length: cut them (words past the limit carry no label, counted) "
                        "or split them into overlapping windows of whole words, each word labelled once (default truncate)")
    p.add_argument("--max-sentences", type=int, help="use the first N training sentences (per config)")
    p.add_argument("--max-steps", type=int, default=-1, help="stop after N optimiser steps (overrides --epochs)")
    p.add_argument("--freeze-embeddings", action="store_true", help="keep the word-embedding matrix fixed (about 3x faster on CPU)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-group-by-length", action="store_true", help="random batches instead of batches of similar lengths (more padding)")
    p.add_argument("--save-steps", type=int, default=100, help="checkpoint every N steps")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/checkpoints")
    p.add_argument("--overwrite", action="store_true", help="replace a model already in OUTPUT")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep OUTPUT/checkpoints after training")
    p.add_argument("--role", choices=("teacher", "student"), help="recorded in silver_ner_training.json (default: teacher for --conll)")
    p.set_defaults(func=run_train)

    e = sub.add_parser(
        "evaluate",
        help="score a NER model on gold sets (entity-level, strict IOB2)",
        description="Tag gold sets with a model and score it with the local seqeval evaluate module; "
        "appends records to MODEL/eval_results.json.",
    )
    e.add_argument("--model", required=True, help="model folder or Hub model repo id")
    e.add_argument("--revision", help="Hub model revision")
    e.add_argument("--gold", action="append", required=True,
                   help="masakhaner2:<lang>:<split>, wikiann:<lang>:<split>, europarl:<lang>, conll2003:<split>, or a CoNLL file; repeatable")
    e.add_argument("--data-root", help="gold data folder (default: $SILVER_NER_DATA or ../shared/data)")
    e.add_argument("--map", action="append", metavar="GOLD=MODEL", help="rename a gold type onto a model type; repeatable")
    e.add_argument("--system", help="system name in the records (default: the model folder name)")
    e.add_argument("--language", help="language of a gold given as a file path")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--max-sentences", type=int, help="score only the first N sentences of each gold set")
    e.add_argument("--results", help="file to append records to (default: MODEL/eval_results.json for a folder)")
    e.add_argument("--no-save", action="store_true", help="do not write any results file")
    e.add_argument("--json", action="store_true", help="print the records as JSON instead of a table")
    e.set_defaults(func=run_evaluate)

    lb = sub.add_parser(
        "leaderboard",
        help="collect evaluation records into a table (markdown, CSV, JSON) and a plot",
        description="Read evaluation records (eval_results.json, results.jsonl, leaderboard.json: a JSON array, "
        "a JSON object or JSON lines), model folders, or folders of such files, and write leaderboard.md (one table "
        "and one mean per dataset and split), leaderboard.csv, leaderboard.json, results.jsonl and leaderboard.png "
        "(one panel per dataset and split).",
    )
    lb.add_argument("results", nargs="+", help="results files, model folders or folders of results files")
    lb.add_argument("--output", required=True, help="folder to write the table and plot into")
    lb.add_argument("--split", default="test", help="split to tabulate (default: test; 'all' for every split, "
                    "each dataset and split in its own table)")
    lb.add_argument("--recursive", action="store_true", help="also read the subfolders of a folder given as RESULTS")
    lb.add_argument("--baseline", metavar="SYSTEM", help="system to compare against and highlight "
                    "(default: direct-transfer when present)")
    lb.add_argument("--max-plot-systems", type=int, default=8, metavar="N",
                    help="draw the N systems with the best mean, the baseline included (default 8)")
    lb.add_argument("--plot-system", action="append", metavar="SYSTEM",
                    help="draw this system (repeatable; replaces --max-plot-systems; the baseline is always drawn)")
    lb.add_argument("--label", action="append", metavar="DATASET=TEXT",
                    help="display name of a dataset in the tables and the figure, e.g. masakhaner2='MasakhaNER 2.0 "
                    "(in-domain)'; repeatable")
    lb.add_argument("--title", default="Entity-level F1 (strict IOB2)")
    lb.set_defaults(func=run_leaderboard)

    av = sub.add_parser(
        "average",
        help="average the weights of NER models fine-tuned from one starting point (a model soup)",
        description="Element-wise mean of the weights of token-classification models with the same architecture, "
        "labels and tokenizer (e.g. students of one teacher trained with different settings); saved as one model.",
    )
    av.add_argument("models", nargs="+", metavar="MODEL", help="model folders (at least two)")
    av.add_argument("--output", required=True, help="model folder to write")
    av.add_argument("--weights", help="comma-separated positive weights, one per model (default: equal)")
    av.set_defaults(func=run_average)


def run_train(args) -> int:
    from silver_ner.projection.labels import parse_renames, parse_type_list
    from silver_ner.students.train import TrainSettings, load_conll_data, load_dataset_data, train_token_classifier

    from pathlib import Path

    if args.mask_min_prob and not args.mask_with:
        raise UserError("--mask-min-prob needs --mask-with MODEL")
    if not 0.0 <= args.mask_min_prob < 1.0:
        raise UserError(f"--mask-min-prob must be in [0, 1), got {args.mask_min_prob}")
    if args.mask_keep_o is not None:
        if not args.mask_with:
            raise UserError("--mask-keep-o needs --mask-with MODEL")
        if not 0.0 < args.mask_keep_o <= 1.0:
            raise UserError(f"--mask-keep-o must be in (0, 1], got {args.mask_keep_o}")
    if args.mask_keep_o_min_count < 1:
        raise UserError(f"--mask-keep-o-min-count must be at least 1, got {args.mask_keep_o_min_count}")
    if not args.dataset and not args.conll:
        raise UserError("give training data: --dataset DIR_OR_REPO (with --config) and/or --conll FILE")
    for ds in args.dataset:
        if not args.config and Path(ds, "silver_ner_build.json").exists():
            raise UserError(f"--config is required with a build folder ({ds}; e.g. --config swa)")
    # option values are checked before any data or model is read
    types, renames, ignore = parse_type_list(args.labels), parse_renames(args.map), parse_type_list(args.ignore) or ()
    configs = [c.strip() for c in args.config.split(",")] if args.config else [None]
    parts = [load_conll_data(f, max_sentences=args.max_sentences) for f in args.conll]
    parts += [load_dataset_data(ds, configs, split=args.split, revision=args.revision, max_sentences=args.max_sentences)
              for ds in args.dataset]
    data = _combine(parts)
    validation = None
    if args.validation:
        if Path(args.validation).is_file():
            validation = load_conll_data(args.validation, max_sentences=args.max_validation)
        elif args.dataset:
            validation = _combine([load_dataset_data(ds, configs, split=args.validation, revision=args.revision,
                                                     max_sentences=args.max_validation) for ds in args.dataset])
        else:
            raise FileNotFoundError(f"--validation {args.validation}: no such file")
    settings = TrainSettings(
        epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size, max_length=args.max_length,
        freeze_embeddings=args.freeze_embeddings, seed=args.seed, save_steps=args.save_steps, max_steps=args.max_steps,
        group_by_length=not args.no_group_by_length, long_sentences=args.long_sentences,
    )
    print(f"training data: {len(data)} sentences, entity types {', '.join(data.source_types)}", file=sys.stderr)
    rec = train_token_classifier(
        data, args.output, encoder=args.model, settings=settings, keep_types=types, renames=renames,
        validation=validation, resume=args.resume, overwrite=args.overwrite, keep_checkpoints=args.keep_checkpoints,
        role=args.role or ("student" if args.dataset else "teacher"), show_progress=not args.no_progress,
        ignore_types=ignore, mask_model=args.mask_with, mask_min_prob=args.mask_min_prob,
        mask_keep_o=args.mask_keep_o, mask_keep_o_min_count=args.mask_keep_o_min_count,
    )
    print(training_summary(rec, args.output))
    return 0


def _combine(parts):
    """One training set from several sources, in the order given (provenance keeps each part)."""
    data = parts[0]
    for part in parts[1:]:
        data.extend(part)
    return data


def training_summary(rec: dict, output: str) -> str:
    """A few lines that say what was trained, on what, how fast, and what was dropped."""
    lines = [
        f"saved {rec['role']} model to {output}",
        f"  base encoder   {rec['base_encoder']['name']}",
        f"  data           {rec['n_sentences']} sentences ("
        + "; ".join(p.get("path") or p.get("repo", "?") + (f" [{p['config']}]" if p.get("config") else "") for p in rec["training_data"]) + ")",
        f"  labels         {' '.join(rec['labels']['id2label'].values())}",
        f"  mapping        " + ", ".join(f"{k}->{v or 'dropped'}" for k, v in rec["labels"]["mapping"].items()),
        f"  steps          {rec['steps']} ({rec['epochs']} epochs), train loss {rec['train_loss']:.4f}",
        f"  time           {rec['training_time_s']} s, {rec['sentences_per_s']} sentences/s",
    ]
    if any(rec["labels"].get("ignored_entities", {}).values()):
        lines.append("  ignored        " + ", ".join(f"{k}: {v} entities (no loss on their words)"
                                                   for k, v in rec["labels"]["ignored_entities"].items()))
    if rec.get("masked_by_model"):
        m = rec["masked_by_model"]
        lines.append(f"  masked         {m['words']} O words in {m['sentences']} sentences that {m['model']} tags as entities"
                     + (f" with p >= {m['min_prob']} ({m['below_min_prob']} below, kept as O)" if m.get("min_prob") else ""))
        if "kept_consistent_o" in m:
            lines.append(f"  kept as O      {m['kept_consistent_o']} tagged words of {m['consistent_o_word_forms']} word forms "
                         f"the data labels O in >= {m['keep_o_ratio']:.0%} of their >= {m['keep_o_min_count']} occurrences")
    if rec["labels"]["dropped_entities"]:
        lines.append("  dropped        " + ", ".join(f"{k}: {v} entities" for k, v in rec["labels"]["dropped_entities"].items()))
    if rec.get("truncated_words"):
        lines.append(f"  truncated      {rec['truncated_words']} words past the subword limit carry no training label")
    if rec.get("windowed_sentences"):
        lines.append(f"  windowed       {rec['windowed_sentences']} long sentences split into overlapping windows "
                     f"({rec['training_rows']} training rows in all)")
    if rec.get("eval"):
        lines.append("  validation     " + ", ".join(f"{k}={v:.4f}" for k, v in rec["eval"].items() if isinstance(v, float)))
    return "\n".join(lines)


def run_evaluate(args) -> int:
    from silver_ner.students.evaluation import evaluate_model, format_records

    records = evaluate_model(
        args.model, args.gold, data_root=args.data_root, revision=args.revision, renames=args.map, system=args.system,
        language=args.language, batch_size=args.batch_size, max_sentences=args.max_sentences,
        results_file=None if args.no_save else (args.results or "auto"),
    )
    print(json.dumps(records, indent=2, ensure_ascii=False) if args.json else format_records(records))
    return 0


def run_average(args) -> int:
    from silver_ner.students.average import average_models

    weights = None
    if args.weights:
        try:
            weights = [float(w) for w in args.weights.split(",")]
        except ValueError:
            raise UserError(f"--weights {args.weights!r}: expected comma-separated numbers") from None
    rec = average_models(args.models, args.output, weights)
    print(f"wrote {args.output}: mean of {len(rec['averaged_from'])} models (weights "
          + ", ".join(str(s["weight"]) for s in rec["averaged_from"]) + ")")
    return 0


def run_leaderboard(args) -> int:
    from silver_ner.leaderboard.board import collect_records, parse_labels, write_leaderboard

    labels = parse_labels(args.label or [])
    records, notes = collect_records(args.results, recursive=args.recursive)
    for n in notes:
        print(n, file=sys.stderr)
    written = write_leaderboard(records, args.output, split=None if args.split == "all" else args.split, title=args.title,
                                baseline=args.baseline, plot_systems=args.plot_system,
                                max_plot_systems=args.max_plot_systems, labels=labels)
    print(written["markdown_text"])
    print("wrote " + ", ".join(str(v) for k, v in written.items() if k != "markdown_text"), file=sys.stderr)
    return 0
