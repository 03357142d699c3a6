"""`silver-ner tag`: tag target-language text with a NER model, or by translate-test (registered by :mod:`silver_ner.cli`)."""

from __future__ import annotations

import os
import sys
import time

from silver_ner.projection.errors import UserError


def register(sub) -> None:
    """Add `silver-ner tag` to the `silver-ner` parser."""
    p = sub.add_parser(
        "tag",
        help="tag target-language text with a NER model, or by translate-test",
        description="Tag raw text (one sentence a line) or a CoNLL file in the target language. Directly: "
        "--model MODEL (e.g. a student). Translate-test: translate each sentence into the source language "
        "(--translator MODEL, or --translations FILE made elsewhere), tag the translation with --tagger MODEL "
        "(e.g. the teacher), align it with the sentence and project the entities back.",
    )
    p.add_argument("input", metavar="INPUT", help="text file (one sentence a line) or CoNLL file (first column the token)")
    p.add_argument("--lang", required=True, metavar="CODE", help="language of INPUT (ISO 639-3, e.g. swa)")
    p.add_argument("--output", "-o", default="-", help="output file (default -: standard output)")
    p.add_argument("--format", choices=("conll", "jsonl"), default="conll",
                   help="conll: 'token tag' lines; jsonl: one JSON object per sentence with entities, scores and, "
                        "for translate-test, the translation (default conll)")
    p.add_argument("--input-format", choices=("auto", "text", "conll"), default="auto",
                   help="auto (default): CoNLL when every non-blank line ends in an IOB tag column, else text")
    p.add_argument("--pretokenized", action="store_true",
                   help="text input: split lines on spaces only (default: split punctuation off as the gold NER files do)")
    p.add_argument("--model", metavar="MODEL", help="direct tagging: a token-classification model (folder or Hub id)")
    tt = p.add_argument_group("translate-test")
    tt.add_argument("--translator", metavar="MODEL", help="translation model (NLLB, M2M100 or Marian; cached) into --source-lang")
    tt.add_argument("--translations", metavar="FILE",
                    help="translations made elsewhere: one line per input sentence, in order (instead of --translator)")
    tt.add_argument("--translator-param", action="append", metavar="KEY=VALUE",
                    help="translator option num_beams, max_length, batch_size or long_input (default split); repeatable")
    tt.add_argument("--tagger", metavar="MODEL", help="NER model of the source language that tags the translations (e.g. the teacher)")
    tt.add_argument("--source-lang", default="eng", metavar="CODE", help="language translated into (default eng)")
    tt.add_argument("--labels", default=None,
                    help="keep only these entity types of the tagger (comma-separated; default: all of its types)")
    tt.add_argument("--method", metavar="NAME", default=None, help="projection method (default: the build's default)")
    tt.add_argument("--method-param", action="append", metavar="KEY=VALUE", help="projection method parameter; repeatable")
    tt.add_argument("--candidates-from", metavar="MODEL",
                    help="with a spans-* method: candidate spans on the target predicted by this model (class ignored)")
    tt.add_argument("--aligner-model", metavar="M", default=None, help="encoder for word alignment (default: multilingual-e5-small)")
    tt.add_argument("--layer", type=int, default=None, help="encoder layer of the aligner (default: the method's, else 8)")
    tt.add_argument("--precision", choices=["float32", "bfloat16", "auto"], default="float32",
                    help="aligner precision (default float32)")
    p.add_argument("--batch-size", type=int, default=32, help="sentences per model batch (default 32)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    p.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="cache of translations and alignments (default: the user cache, or $SILVER_NER_CACHE)")
    p.set_defaults(func=run_tag)


def _mode(args) -> str:
    translate = bool(args.translator or args.translations)
    if args.model and translate:
        raise UserError("--model tags directly; --translator/--translations tag by translate-test: give one of the two")
    if args.translator and args.translations:
        raise UserError("give --translator MODEL or --translations FILE, not both")
    if translate:
        if not args.tagger:
            raise UserError("translate-test needs --tagger MODEL: a NER model of the source language (e.g. the teacher)")
        return "translate-test"
    if not args.model:
        raise UserError("name the model: --model MODEL (direct), or --translator/--translations with --tagger (translate-test)")
    given = [f for f, v in (("--tagger", args.tagger), ("--method", args.method), ("--candidates-from", args.candidates_from),
                            ("--translator-param", args.translator_param), ("--labels", args.labels)) if v]
    if given:
        raise UserError(f"{', '.join(given)}: translate-test options; give --translator or --translations too")
    return "direct"


def run_tag(args) -> int:
    from silver_ner.builders.langcodes import normalize_iso3
    from silver_ner.builders.tagging import read_input, write_output

    mode = _mode(args)
    try:
        lang = normalize_iso3(args.lang)
    except KeyError:
        raise UserError(f"--lang {args.lang}: not an ISO 639-3 code") from None
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    text = read_input(args.input, args.input_format, pretokenized=args.pretokenized)
    start = time.perf_counter()
    if mode == "direct":
        from silver_ner.builders.tagger import HFTagger
        from silver_ner.builders.tagging import tag_direct

        tagged, report = tag_direct(HFTagger(args.model, batch_size=args.batch_size, threads=args.threads), text.sentences)
        extra = {}
    else:
        tagged, report, extra = _translate_test(args, lang, text)
    elapsed = time.perf_counter() - start
    written = write_output(args.output, tagged, args.format)
    if not args.quiet:
        r = report
        notes = [f"{r.windowed_sentences} long sentences tagged in windows"] if r.windowed_sentences else []
        if mode == "translate-test":
            notes.append(f"{r.translation_entities} entities on the translations, {r.unprojected} not projected")
            if r.empty_translations:
                notes.append(f"{r.empty_translations} empty translations (those sentences tagged O)")
            if r.cut_translations:
                notes.append(f"{r.cut_translations} translations ran to the maximum length")
            notes += [f"{k}: {v}" for k, v in extra.items()]
        if text.blank_lines:
            notes.append(f"{text.blank_lines} blank input lines (no sentence)")
        where = "standard output" if args.output in (None, "-") else args.output
        print(f"silver-ner tag: {written} sentences ({r.words} words, {r.entities} entities) from {text.path} "
              f"({text.format}, {mode}) to {where} in {elapsed:.1f} s ({written / max(elapsed, 1e-9):.1f} sentences/s)"
              + "".join(f"; {n}" for n in notes), file=sys.stderr)
    return 0


def _translate_test(args, lang: str, text):
    from silver_ner.builders.build import BACKTRANSLATE_OPTIONS, link_settings
    from silver_ner.builders.cache import default_cache_dir
    from silver_ner.builders.langcodes import check_translatable, normalize_iso3
    from silver_ner.builders.steps import MapLabels
    from silver_ner.builders.tagger import HFTagger
    from silver_ner.builders.tagging import FileTranslator, TranslateTest, check_candidates
    from silver_ner.projection.labels import resolve_labels
    from silver_ner.projection.step import ProjectionStep

    from .build import _key_values

    try:
        source_lang = normalize_iso3(args.source_lang)
    except KeyError:
        raise UserError(f"--source-lang {args.source_lang}: not an ISO 639-3 code") from None
    params = _key_values(args.translator_param, "--translator-param")
    if params and not args.translator:
        raise UserError("--translator-param goes with --translator MODEL")
    unknown = sorted(set(params) - set(BACKTRANSLATE_OPTIONS))
    if unknown:
        raise UserError(f"--translator-param {', '.join(unknown)}: unknown translator option(s); valid: "
                        f"{', '.join(BACKTRANSLATE_OPTIONS)}")
    projection = ProjectionStep(args.method, params=_key_values(args.method_param, "--method-param"))
    check_candidates(projection, bool(args.candidates_from))  # before any model loads
    cache_dir = default_cache_dir() if args.cache_dir is None else args.cache_dir
    extra = {}
    if args.translations:
        translator = FileTranslator(args.translations, text.sentences)
        if translator.conflicts:
            extra["repeated sentences with different translations (first one used)"] = translator.conflicts
    else:
        from silver_ner.builders.translate import HFTranslator

        check_translatable(lang, "--lang")
        check_translatable(source_lang, "--source-lang")
        translator = HFTranslator(args.translator, **{"long_input": "split", **params},
                                  cache_path=os.path.join(cache_dir, "translations.sqlite"))
    tagger = HFTagger(args.tagger, batch_size=args.batch_size, threads=args.threads)
    map_labels = MapLabels(resolve_labels(args.labels)) if args.labels else None
    from silver_ner.projection.aligner import EmbeddingAligner

    layer, links, token_type = link_settings(projection.name, args.layer)
    aligner = EmbeddingAligner(model=args.aligner_model, layer=layer, method=links, token_type=token_type,
                               batch_size=args.batch_size, precision=args.precision,
                               cache_dir=os.path.join(cache_dir, "aligner"), num_threads=args.threads)
    candidates = HFTagger(args.candidates_from, batch_size=args.batch_size, threads=args.threads) if args.candidates_from else None
    run = TranslateTest(translator, tagger, aligner, projection, lang, source_lang, map_labels, candidates)
    tagged, report, _ = run.run(text.sentences)
    stats = getattr(translator, "stats", None)
    if stats:
        extra["translated"] = stats.get("translated", 0)
        extra["translations from the cache"] = stats.get("from_cache", 0)
    return tagged, report, extra
