"""``silver-ner build``: silver NER configs per target language, with a summary table."""

from __future__ import annotations

import argparse
import os
import sys
import time

from silver_ner.projection.errors import UserError

EPILOG = """\
sources (choose one):
  --demo                                   the embedded offline sample (English -> Swahili, German)
  --source-gold FILE --target-translate M  machine-translate a gold CoNLL file with model M
  --source-gold FILE --translated-conll F  re-pair a translation of FILE (CoNLL, sentences may be missing)
  --parallel SRC TGT --source-labels FILE  line-aligned corpus, source labels from a CoNLL file
  --parallel SRC TGT --tagger MODEL        line-aligned corpus, source labels from a tagger
  --parallel-conll SRC TGT                 sentence-parallel CoNLL files (labelled source, target tokens)
  ... --more-source LANG=FILE              (with --parallel/--parallel-conll) further labelled sources of the
                                           same targets, combined by voting (--combine, --min-votes)

back-translation refinement (with any source):
  --backtranslate M [--backtranslate-labels project|tagger] [--backtranslate-tagger T]
      translate each target sentence back into --source-lang with M, label the back-translation
      (project: the source's labels projected onto it; tagger: tagged by T, else by --tagger) and
      project its labels onto the target instead of the source's

Paths may contain {lang}, filled in per --lang. FILE for --source-gold/--source-labels may also be
a gold spec such as conll2003:train (read from the data folder).

examples:
  silver-ner build --demo --output out/demo
  silver-ner build --lang swa --source-gold conll2003:train \\
      --translated-conll data/tprojection_mt/{lang}.train.txt --output out/swa
"""


def _key_values(items, what: str) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"{what} {item!r}: expected KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = _scalar(v.strip())
    return out


def _scalar(v: str):
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _label_map(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--label-map {item!r}: expected FROM=TO (TO empty to drop the type)")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip() or None
    return out


def read_span_conventions(path, labels, langs) -> dict:
    """``{lang: {type: [phrase]}}`` from a --span-conventions file (empty without one)."""
    if not path:
        return {}
    from silver_ner.builders.build import load_span_conventions
    from silver_ner.projection.labels import resolve_labels

    conventions = load_span_conventions(path, resolve_labels(labels))
    if not any(lang in conventions for lang in langs):
        raise UserError(f"{path}: declares span conventions for {', '.join(sorted(conventions)) or 'no language'}, "
                         f"none of the languages built ({', '.join(langs)})")
    return conventions


def source_from_args(args):
    """The :class:`SourceSpec` named by the source flags (exactly one kind)."""
    from silver_ner.builders.build import SourceSpec

    kinds = [name for name, on in (("--demo", args.demo), ("--target-translate", args.target_translate),
                                   ("--translated-conll", args.translated_conll), ("--parallel", args.parallel),
                                   ("--parallel-conll", getattr(args, "parallel_conll", None))) if on]
    if len(kinds) != 1:
        raise UserError("name one source: --demo, --target-translate, --translated-conll, --parallel or --parallel-conll"
                         + (f" (got {', '.join(kinds)})" if kinds else ""))
    more = _more_sources(getattr(args, "more_source", None))
    if more and kinds[0] not in ("--parallel", "--parallel-conll"):
        raise UserError("--more-source goes with --parallel or --parallel-conll (sources numbering their target sentences)")
    params = _key_values(args.source_param, "--source-param")
    language = _source_language(getattr(args, "source_lang", None) or "eng")
    if args.demo:
        from silver_ner.builders.build import demo_source

        return demo_source()
    if args.parallel:
        if bool(args.source_labels) == bool(args.tagger):
            raise UserError("--parallel needs exactly one of --source-labels FILE or --tagger MODEL")
        files = {"source_text": args.parallel[0], "target_text": args.parallel[1]}
        if args.source_labels:
            files["source_labels"] = args.source_labels
        if getattr(args, "source_labels_tokens", False):
            if not args.source_labels:
                raise UserError("--source-labels-tokens goes with --source-labels FILE")
            params["source_labels_tokens"] = True
        return SourceSpec("parallel", {**files, **more}, model=args.tagger, params=params, language=language)
    if getattr(args, "parallel_conll", None):
        return SourceSpec("parallel-conll", {"source_gold": args.parallel_conll[0], "target_conll": args.parallel_conll[1],
                                             **more}, params=params, language=language)
    if not args.source_gold:
        raise UserError(f"{kinds[0]} needs --source-gold FILE (the labelled source sentences)")
    if args.target_translate:
        return SourceSpec("translate", {"source_gold": args.source_gold}, model=args.target_translate, params=params,
                          language=language)
    return SourceSpec("translated-conll", {"source_gold": args.source_gold, "translated_conll": args.translated_conll},
                      params=params, language=language)


def _more_sources(items) -> dict:
    """``--more-source LANG=FILE`` entries as source files keyed ``more_source:<lang>``."""
    from silver_ner.builders.build import MORE_SOURCE_PREFIX

    out = {}
    for item in items or []:
        code, sep, path = item.partition("=")
        if not sep or not code.strip() or not path.strip():
            raise UserError(f"--more-source {item!r}: expected LANG=FILE (a labelled CoNLL file, one sentence per target)")
        key = MORE_SOURCE_PREFIX + _source_language(code.strip())
        if key in out:
            raise UserError(f"--more-source: language {code.strip()!r} named twice")
        out[key] = path.strip()
    return out


def _source_language(code: str) -> str:
    """``--source-lang`` checked like ``--lang``: an ISO 639-3 code (``fr`` is refused with a hint at ``fra``)."""
    from silver_ner.builders.langcodes import check_language

    return check_language(code, what="--source-lang")


def specs_from_args(args):
    from silver_ner.builders.build import DEMO_LANGS, BuildSpec, FilterOptions

    langs = list(dict.fromkeys(args.lang or []))
    if args.demo:
        langs = langs or list(DEMO_LANGS)
        bad = [x for x in langs if x not in DEMO_LANGS]
        if bad:
            raise UserError(f"--demo ships {', '.join(DEMO_LANGS)} only, not {', '.join(bad)}")
    if not langs:
        raise UserError("name at least one target language with --lang (e.g. --lang swa)")
    from silver_ner.builders.langcodes import check_language

    for lang in langs:  # before anything is read or loaded
        check_language(lang, allow_unlisted=getattr(args, "allow_unlisted_lang", False))
    source = source_from_args(args)
    conventions = read_span_conventions(args.span_conventions, args.labels, langs)
    filters = FilterOptions(drop_unprojected=args.drop_unprojected, min_score=args.min_score,
                            max_length_ratio=args.max_length_ratio)
    licenses = list(args.license or []) or (["Apache-2.0"] if args.demo else [])
    reference = args.reference
    if args.demo and reference is None:
        from silver_ner.builders.build import SAMPLES_DIR

        reference = str(SAMPLES_DIR / "{lang}.conll")
    return [
        BuildSpec(lang, source, method=args.method, method_params=_key_values(args.method_param, "--method-param"),
                  aligner_model=args.aligner_model, layer=args.layer, align_method=args.align_method,
                  token_type=args.token_type,
                  align_batch_size=args.batch_size, aligner_precision=args.precision,
                  pairing_embedder=getattr(args, "pairing_embedder", "aligner"), labels=args.labels, label_mapping=_label_map(args.label_map),
                  filters=filters, validation_fraction=args.validation_fraction, licenses=licenses,
                  source_license=getattr(args, "source_license", None),
                  reference=reference, span_conventions=conventions.get(lang, {}),
                  combine=getattr(args, "combine", "vote"), min_votes=getattr(args, "min_votes", 1),
                  candidates_model=getattr(args, "candidates_from", None),
                  candidates_union=getattr(args, "candidates_union_ngrams", False),
                  trim_frequent=getattr(args, "trim_frequent", None),
                  **_backtranslation_options(args))
        for lang in langs
    ]


def _backtranslation_options(args) -> dict:
    """The BuildSpec fields of --backtranslate and its options (checked by BuildSpec)."""
    labels = getattr(args, "backtranslate_labels", None)
    tagger = getattr(args, "backtranslate_tagger", None)
    if labels is None and tagger:
        labels = "tagger"
    if labels == "tagger" and not tagger:
        tagger = getattr(args, "tagger", None)  # the source-side tagger tags the back-translations too
    return {"backtranslate_model": getattr(args, "backtranslate", None), "backtranslate_labels": labels,
            "backtranslate_tagger": tagger,
            "backtranslate_params": _key_values(getattr(args, "backtranslate_param", None), "--backtranslate-param")}


SUMMARY_COLUMNS = ("lang", "in", "out", "entities", "proj. rate", "filtered", "ref. F1", "time")


def summary_row(lang: str, entry: dict) -> list[str]:
    st = entry["stats"]
    ents = " ".join(f"{k}:{v}" for k, v in st["entities_per_class"].items()) or "-"
    removed = " ".join(f"{k}:{v}" for k, v in st["filters"].items() if v) or "-"
    rate = f"{st['projection_rate']:.3f}" if st["projection_rate"] is not None else "-"
    secs = entry.get("seconds")
    ref = f"{entry['reference']['f1']:.3f}" if "reference" in entry else "-"
    return [lang, str(st["sentences_in"]), str(st["sentences_out"]), ents, rate, removed, ref,
            f"{secs:.1f}s" if secs is not None else "-"]


def format_table(rows: list[list[str]]) -> str:
    table = [list(SUMMARY_COLUMNS)] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(SUMMARY_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args) -> int:
    from silver_ner.builders.build import LanguageBuild, build, interrupt_guard

    specs = specs_from_args(args)
    if args.world_size is not None or args.rank is not None:
        if args.world_size is None or args.rank is None:
            raise UserError("--rank and --world-size go together")
        with interrupt_guard():  # SIGTERM too stops with an exception; finished chunks stay cached
            for spec in specs:
                lb = LanguageBuild(spec, cache_dir=args.cache_dir, chunk_size=args.chunk_size)
                n = lb.run(rank=args.rank, world_size=args.world_size, progress=not args.no_progress)
                print(f"{spec.lang}: {n} of {lb.num_chunks()} chunks cached (rank {args.rank} of {args.world_size}); "
                      "run without --rank to assemble the output", file=sys.stderr)
        return 0
    if args.output is None:
        raise UserError("--output DIR is required")
    rows: list[list[str]] = []
    t0 = time.perf_counter()
    common = dict(cache_dir=args.cache_dir, parquet=args.parquet, parquet_shard_rows=args.parquet_shard_rows,
                  progress=not args.no_progress,
                  chunk_size=args.chunk_size, on_language=lambda lang, entry: rows.append(summary_row(lang, entry)),
                  allow_empty=args.allow_empty)
    ray_report = None
    if getattr(args, "engine", "local") == "ray":
        from silver_ner.builders.ray_engine import RayOptions, build_on_ray, require_ray

        require_ray()  # before anything is read: a missing extra is named at once
        options = RayOptions(address=args.ray_address, actors=args.ray_actors, cpus_per_actor=args.ray_cpus_per_actor,
                             gpus_per_actor=args.ray_gpus_per_actor)
        result, ray_report = build_on_ray(specs, args.output, options, **common)
    else:
        result = build(specs, args.output, num_proc=args.num_proc, **common)
    print(format_table(rows))
    if ray_report is not None:
        source = (f"{sum(ray_report.source.computed.values())} source batch(es) translated or tagged; "
                  if ray_report.source.computed else "")
        print(f"ray: {source}{sum(ray_report.computed.values())} chunk(s) computed, {sum(ray_report.cached.values())} "
              f"found cached; {ray_report.actors + sum(st['actors'] for st in ray_report.source.stages)} actor(s); "
              f"{ray_report.seconds:.1f}s")
    for lang, entry in result.manifest["configs"].items():
        st = entry["stats"]
        if st["labels_dropped"]:
            print(f"{lang}: source entities of types outside the label set dropped: "
                  + ", ".join(f"{k}:{v}" for k, v in st["labels_dropped"].items()))
        if st["source_dropped"]:
            print(f"{lang}: source pairs dropped before the build: "
                  + ", ".join(f"{k}: {v}" for k, v in st["source_dropped"].items()))
        for check, what in (("iob2_repairs", "IOB2 repairs in the source labels"),
                            ("label_token_mismatches", "label sentences whose tokens differ from their source line "
                                                       "(label file's tokens taken)")):
            found = st.get("input_checks", {}).get(check)
            if found and found["count"]:
                more = " ..." if found["count"] > 5 else ""
                print(f"{lang}: {what}: {found['count']} ({', '.join(found['at'][:5])}{more}; all in the manifest)"
                      if found["count"] <= len(found["at"]) else
                      f"{lang}: {what}: {found['count']} ({', '.join(found['at'][:5])}{more}; the first "
                      f"{len(found['at'])} in the manifest)")
    print(f"wrote {os.fspath(result.output_dir)} ({len(rows)} config(s), {time.perf_counter() - t0:.1f}s)")
    return 0


def register(sub) -> None:
    """Add ``silver-ner build`` to the parser."""
    p = sub.add_parser(
        "build",
        help="build silver NER datasets (one config per target language)",
        description="Project entity labels from labelled source sentences onto target sentences by word "
                    "alignment and write one datasets config per target language, plus a manifest "
                    "(silver_ner_build.json).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--lang", action="append", metavar="LANG", help="target language code (ISO 639-3); repeat for several")
    p.add_argument("--allow-unlisted-lang", action="store_true",
                   help="accept a lower-case three-letter --lang missing from the ISO 639-3 table (e.g. a private-use "
                        "code qaa..qtz)")
    p.add_argument("--output", "-o", metavar="DIR",
                   help="output folder (replaced atomically at the end), or an fsspec URL (s3://BUCKET/PATH, ...: built "
                        "locally, then uploaded file by file, the manifest last)")
    src = p.add_argument_group("source of sentence pairs")
    src.add_argument("--demo", action="store_true", help="use the embedded offline sample (30 sentences; swa, deu)")
    src.add_argument("--source-gold", metavar="FILE", help="labelled source sentences: a CoNLL file or a gold spec")
    src.add_argument("--target-translate", metavar="MODEL", help="translate --source-gold with this translation model")
    src.add_argument("--translated-conll", metavar="FILE", help="a translation of --source-gold in CoNLL format, re-paired")
    src.add_argument("--parallel", nargs=2, metavar=("SRC", "TGT"), help="line-aligned source and target text files")
    src.add_argument("--source-labels", metavar="FILE",
                     help="with --parallel: CoNLL labels of the source lines, sentence i for line i; the tokens of "
                          "every sentence must be those of its tokenised line")
    src.add_argument("--source-labels-tokens", action="store_true",
                     help="with --source-labels: where a label sentence's tokens differ from its tokenised source "
                          "line, take the label file's tokens instead of stopping (each difference is counted, with "
                          "file:line, in the manifest)")
    src.add_argument("--tagger", metavar="MODEL", help="with --parallel: tag the source lines with this NER model "
                                                        "(with --backtranslate-labels tagger: the back-translations too)")
    eng = p.add_argument_group("engine")
    eng.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local: this process (and --num-proc workers); ray: chunks computed by Ray Data actors "
                          "(pip install 'silver-ner[ray]'), same output")
    eng.add_argument("--ray-address", metavar="ADDR", default=None,
                     help="with --engine ray: a running cluster (auto, ray://HOST:10001); default a local Ray")
    eng.add_argument("--ray-actors", type=int, default=None, metavar="N",
                     help="with --engine ray: actors per model stage (aligner; the source's translator or tagger, candidate tagger and back-translator when configured; default: as many as the CPUs hold)")
    eng.add_argument("--ray-cpus-per-actor", type=float, default=1.0, metavar="X",
                     help="with --engine ray: CPUs per actor, fractions allowed; torch threads follow (default 1)")
    eng.add_argument("--ray-gpus-per-actor", type=float, default=0.0, metavar="X",
                     help="with --engine ray: GPUs per actor, fractions allowed (default 0)")
    src.add_argument("--parallel-conll", nargs=2, metavar=("SRC", "TGT"),
                     help="sentence-parallel CoNLL files: labelled source sentences, target sentences (tokens used, "
                          "labels not read)")
    src.add_argument("--more-source", action="append", metavar="LANG=FILE",
                     help="with --parallel or --parallel-conll: a further labelled source (CoNLL, sentence i translates "
                          "target sentence i) whose projection votes with the others; repeatable")
    src.add_argument("--source-lang", metavar="CODE", default="eng",
                     help="language of the source sentences, recorded in the manifest (default eng; fra: French "
                          "elisions such as l'ONU are split off untagged --parallel source lines)")
    src.add_argument("--source-param", action="append", metavar="KEY=VALUE",
                     help="option of the source (e.g. min_confidence=0.5 for re-pairing); repeatable")
    pr = p.add_argument_group("alignment and projection")
    pr.add_argument("--method", metavar="NAME", default=None, help="projection method (default: the best measured)")
    pr.add_argument("--method-param", action="append", metavar="KEY=VALUE", help="projection method parameter; repeatable")
    pr.add_argument("--candidates-from", metavar="MODEL",
                    help="candidate target spans predicted by this token-classification model (class ignored), "
                         "matched by a spans-* method (spans-greedy, spans-exact)")
    pr.add_argument("--candidates-union-ngrams", action="store_true",
                    help="with --candidates-from: every target n-gram is a candidate too")
    pr.add_argument("--backtranslate", metavar="MODEL",
                    help="back-translation refinement: translate each target sentence back into the source language "
                         "with this translation model (NLLB, M2M100 or Marian; cached), label the back-translation "
                         "and project its labels onto the target instead of the source's")
    pr.add_argument("--backtranslate-labels", choices=("project", "tagger"), default=None,
                    help="with --backtranslate: project the source's labels onto the back-translation (default), or "
                         "tag it with --backtranslate-tagger (else --tagger)")
    pr.add_argument("--backtranslate-tagger", metavar="MODEL",
                    help="with --backtranslate: a source-language NER model that tags the back-translations")
    pr.add_argument("--backtranslate-param", action="append", metavar="KEY=VALUE",
                    help="with --backtranslate: translator option num_beams, max_length, batch_size or long_input "
                         "(default split: long targets translated in pieces); repeatable")
    pr.add_argument("--trim-frequent", type=float, metavar="SHARE", default=None,
                    help="cut, at a projected span's left edge, the target corpus's own frequent lower-case words "
                         "(in at least SHARE of its sentences: articles, prepositions), e.g. 0.2; off by default "
                         "(see docs/projection.md, Every direction)")
    pr.add_argument("--combine", choices=("vote", "nested-vote"), default="vote",
                    help="with --more-source: combine the sources' projections by votes, or first narrow each span "
                         "to a same-type span another source proposes inside it (default vote)")
    pr.add_argument("--min-votes", type=int, default=1, help="with --more-source: votes a span needs (default 1)")
    pr.add_argument("--aligner-model", metavar="M", default=None,
                    help="encoder for word alignment: a local folder or 'me5-small' (default)")
    pr.add_argument("--layer", type=int, default=None, help="encoder layer (default: the method's, else 8)")
    pr.add_argument("--align-method", default=None, help="link method: argmax, itermax, match (default: the method's)")
    pr.add_argument("--token-type", choices=["word", "bpe"], default=None,
                    help="compare word vectors or subword vectors (default: the method's)")
    pr.add_argument("--batch-size", type=int, default=32, help="sentence pairs per encoder batch (default 32)")
    pr.add_argument("--precision", choices=["float32", "bfloat16", "auto"], default="auto",
                    help="encoder precision for re-pairing and alignment: auto (default) is bfloat16 where the CPU "
                         "(avx512_bf16/amx_bf16) or GPU runs it natively, else float32; bfloat16 elsewhere is slow; "
                         "float32 gives the same rows on every machine; the manifest records the precision used")
    pr.add_argument("--pairing-embedder", choices=["aligner", "e5"], default="aligner",
                    help="sentence vectors that re-pair a translated corpus (--translated-conll) with its source: "
                         "aligner (default): the word aligner's own pass, mean-pooled, so each sentence is encoded "
                         "once; e5: multilingual-e5-small, all 12 layers with its 'query: ' prefix (a second pass)")
    lab = p.add_argument_group("labels")
    lab.add_argument("--labels", default="conll",
                     help="label set: conll (PER,ORG,LOC), conll+misc, masakhaner (adds DATE) or a comma list "
                          "(case-insensitive; every type must occur in the source)")
    lab.add_argument("--span-conventions", metavar="FILE",
                     help="target-language words the annotation puts at the start of a span, one 'LANG TYPE WORD...' "
                          "per line (e.g. 'hau LOC jihar'); projected spans are extended left over them")
    lab.add_argument("--label-map", action="append", metavar="FROM=TO",
                     help="rename a source entity type (TO empty: drop it); repeatable")
    flt = p.add_argument_group("quality filters (each counts what it removes)")
    flt.add_argument("--drop-unprojected", action="store_true", help="drop sentences with an entity that found no target")
    flt.add_argument("--min-score", type=float, default=None, help="drop sentences with a projected entity scoring below this")
    flt.add_argument("--max-length-ratio", type=float, default=None,
                     help="drop pairs whose token counts differ by more than this factor")
    out = p.add_argument_group("output and scale")
    out.add_argument("--reference", metavar="FILE",
                     help="hand labels of the target sentences (CoNLL, line-parallel) to score the silver rows; "
                          "--demo uses its own")
    out.add_argument("--validation-fraction", type=float, default=0.1,
                     help="share of rows in the validation split (by id hash); 0: no validation split. Only the "
                          "splits that get rows are written (the manifest's 'splits')")
    out.add_argument("--allow-empty", action="store_true",
                     help="write a config whose rows hold no entity at all (otherwise an error)")
    out.add_argument("--license", action="append", metavar="ID", help="licence of the inputs, recorded in the manifest; repeatable")
    out.add_argument("--source-license", metavar="ID",
                     help="Hub licence id (e.g. cc-by-4.0) of input files that are no known corpus; recorded per source "
                          "in the manifest (known corpora such as CoNLL-2003 or MasakhaNER carry their own)")
    out.add_argument("--parquet", action="store_true",
                     help="also write <lang>/parquet/: <split>.parquet, or <split>-00000-of-000NN.parquet shards for a "
                          "split larger than --parquet-shard-rows")
    out.add_argument("--parquet-shard-rows", type=int, default=None, metavar="N",
                     help="most rows in one Parquet file (implies --parquet); a larger split is written as shards of N "
                          "rows in chunk and position order (default 500000)")
    out.add_argument("--num-proc", type=int, default=None, help="processes for datasets' sharded generation")
    out.add_argument("--cache-dir", metavar="DIR", default=None,
                     help="cache folder (default: the user cache, or $SILVER_NER_CACHE), or an fsspec URL for the pairs "
                          "and chunk cache (s3://BUCKET/PATH, ...; the SQLite caches then stay in the user cache)")
    out.add_argument("--chunk-size", type=int, default=512, help="sentence pairs per cached chunk (default 512)")
    out.add_argument("--rank", type=int, default=None, help="run only this share of the alignment stage (with --world-size)")
    out.add_argument("--world-size", type=int, default=None, help="number of shares for --rank")
    p.set_defaults(func=run)
