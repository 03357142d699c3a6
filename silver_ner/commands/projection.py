"""`silver-ner` subcommands of the projection area (registered by :mod:`silver_ner.cli`)."""

from __future__ import annotations

import json

from silver_ner.projection.errors import UserError


def register(sub) -> None:
    """Add this area's subcommands to the `silver-ner` parser."""
    from silver_ner.projection.methods import DEFAULT_METHOD, METHODS

    p = sub.add_parser(
        "eval-projection",
        help="project gold source entities onto a parallel gold target and score them",
        description=(
            "Project the gold entities of one or more sentence-parallel source CoNLL files onto the "
            "target file through word alignment and score the result against the target's gold "
            "entities (entity level, exact span). Several --source files are combined by voting."
        ),
    )
    p.add_argument("--source", action="append", required=True, metavar="FILE", help="source CoNLL file (repeatable)")
    p.add_argument("--target", required=True, metavar="FILE", help="target CoNLL file, sentence-parallel to the sources")
    p.add_argument(
        "--method",
        default=None,
        metavar="NAME",
        help=f"projection method, one of: {', '.join(sorted(METHODS))} (default: {DEFAULT_METHOD}, the best measured)",
    )
    p.add_argument("--aligner-model", default=None, metavar="M", help="encoder name or folder (default: multilingual-e5-small)")
    p.add_argument("--layer", type=int, default=None, metavar="N", help="encoder layer for the word embeddings")
    p.add_argument(
        "--align-method",
        default=None,
        metavar="M",
        help="itermax, argmax or match, or several joined by '+' (default: what the method was measured with)",
    )
    p.add_argument(
        "--token-type",
        choices=("word", "bpe"),
        default=None,
        help="compare word vectors or subword vectors (default: what the method was measured with)",
    )
    p.add_argument("--precision", choices=("float32", "bfloat16", "auto"), default="float32",
                   help="encoder precision for alignment: bfloat16 is faster on CPUs with BF16 support; auto: bfloat16 "
                        "where the CPU (avx512_bf16/amx_bf16) or GPU runs it natively, else float32 (default float32)")
    p.add_argument("--cache-dir", default=None, metavar="DIR", help="cache folder for alignments")
    p.add_argument("--candidates", default=None, metavar="FILE", help="CoNLL file of target candidate spans (spans-* methods)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a method parameter, e.g. --param unlinked_cost=0 --param weighted=true (repeatable)",
    )
    p.add_argument("--min-votes", type=int, default=1, metavar="K", help="with several sources: votes a span needs")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run_eval_projection)


def parse_params(items: list[str]) -> dict:
    """``["weighted=true", "threshold=0.2", "solver=exact"]`` -> typed values (JSON, else text)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def run_eval_projection(args) -> int:
    from silver_ner.leaderboard.projection_eval import evaluate_projection, format_table
    from silver_ner.projection.models import pick_precision

    if args.min_votes < 1:
        raise UserError(f"--min-votes must be at least 1, got {args.min_votes}")
    if args.layer is not None and args.layer < 0:
        raise UserError(f"--layer must be 0 or more, got {args.layer}")
    result = evaluate_projection(
        args.source,
        args.target,
        args.method,
        aligner_model=args.aligner_model,
        layer=args.layer,
        align_method=args.align_method,
        token_type=args.token_type,
        cache_dir=args.cache_dir,
        candidates=args.candidates,
        min_votes=args.min_votes,
        params=parse_params(args.param),
        precision=pick_precision(args.precision),
    )
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0
