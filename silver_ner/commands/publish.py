"""`silver-ner publish dataset|model|results`: versioned releases to a Hub (registered by :mod:`silver_ner.cli`);
`silver-ner publish assemble`: one release folder from several build folders (no network).

The Hub is the one in ``HF_ENDPOINT`` (default https://huggingface.co); the token comes from
``HF_TOKEN`` or the ``huggingface_hub`` login and is never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, help="Hub repository id namespace/name")
    p.add_argument("--version", required=True, help="semantic version MAJOR.MINOR.PATCH; tagged vMAJOR.MINOR.PATCH")
    p.add_argument("--private", action="store_true", help="create (or switch) the repository as private")
    p.add_argument("--branch", action="store_true", help="also create the branch release-vX.Y.Z at the release commit")
    p.add_argument("--dry-run", action="store_true", help="render the card and list what would be pushed; no network")
    p.add_argument("--show-card", action="store_true", help="print the full card as pushed (always shown with --dry-run)")
    p.add_argument("--token", help="Hub access token (default: HF_TOKEN or the saved `hf auth login`); never printed")
    p.add_argument("--revision", metavar="BRANCH",
                   help="commit the release to this branch (created from the default branch when missing); default main")
    p.add_argument("--commit-message", metavar="TEXT", help="summary of the release's commits (default: one naming each step)")
    p.add_argument("--create-pr", action="store_true",
                   help="put the release in a new pull request against the default branch; the version tag names the "
                        "pull request's verified commit, and the default branch changes when the pull request is merged")


def register(sub) -> None:
    """Add this area's subcommands to the `silver-ner` parser."""
    parser = sub.add_parser("publish", help="publish a silver dataset, a student model or leaderboard results to a Hub")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True

    p = kinds.add_parser("dataset", help="publish a built silver dataset folder, one config per language")
    p.add_argument("dir", type=Path, help="folder written by `silver-ner build`")
    _common(p)
    p.add_argument("--quality", type=Path, help="JSON object of measured projection-quality figures to show in the card")
    p.add_argument("--license", help="Hub licence id (default: the most restrictive licence of the sources; "
                                     "never less restrictive than any of them)")
    p.add_argument("--source-license", metavar="ID",
                   help="Hub licence id of the build's user source files whose licence the build did not record")
    p.add_argument("--pretty-name", help="title of the dataset card")
    p.set_defaults(func=run_dataset)

    p = kinds.add_parser("assemble", help="write one release folder from several build folders (configs of the same "
                                          "language concatenated); publish it with `publish dataset`")
    p.add_argument("output", type=Path, help="release folder to write (new, or a previous release folder to replace)")
    p.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="folders written by `silver-ner build`")
    p.add_argument("--config", action="append", metavar="LANG",
                   help="only this language (repeatable, or comma-separated); default every config of every DIR")
    p.set_defaults(func=run_assemble)

    p = kinds.add_parser("model", help="publish a trained student model folder with its model card")
    p.add_argument("dir", type=Path, help="folder saved with save_pretrained (model + tokenizer)")
    _common(p)
    p.add_argument("--license", help="Hub licence id (default: inherited from the training data)")
    p.add_argument("--base-model", help="Hub id of the base encoder when the training record lacks it")
    p.add_argument("--language", action="append", help="language code of the model (repeatable; added to those in the records)")
    p.add_argument("--results", action="append", type=Path, metavar="FILE",
                   help="results file (silver-ner evaluate --results) whose records of this model (matched by the folder's "
                        "name) join its eval_results.json and the card's model-index; repeatable")
    p.add_argument("--dataset-repo", metavar="ORG/NAME@REVISION",
                   help="a silver dataset release (e.g. my-org/silver-ner@v1.0.0) holding the local build folders the "
                        "model was trained on: the card names it as the training data (checked against its release manifest)")
    p.set_defaults(func=run_model)

    p = kinds.add_parser("results", help="publish leaderboard records as a small versioned dataset")
    p.add_argument("file", type=Path, help="eval_results.json (JSON list) or records.jsonl")
    _common(p)
    p.add_argument("--license", default="cc-by-4.0", help="licence of the results table (default cc-by-4.0)")
    p.set_defaults(func=run_results)


def _report(args, result, plan) -> int:
    print(plan.describe())
    if args.dry_run or args.show_card:
        print("\n----- card (README.md) -----")
        print(str(plan.card))
    print(result.summary())
    return 0


def _guard(fn, args):
    from silver_ner.cli import CommandError
    from silver_ner.publish.hub import PublishError

    try:
        return fn()
    except PublishError as exc:
        raise CommandError(str(exc)) from exc


def _quality(path: Path | None) -> dict | None:
    if path is None:
        return None
    from silver_ner.publish.hub import read_json_file

    from silver_ner.projection.errors import UserError

    data = read_json_file(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object of figures, e.g. {{\"europarl de F1\": 0.916}}")
    return data


def _release_options(args) -> dict:
    return {"token": args.token, "revision": args.revision, "commit_message": args.commit_message, "create_pr": args.create_pr}


def run_dataset(args) -> int:
    from silver_ner.publish.dataset import publish_dataset

    result, plan = _guard(lambda: publish_dataset(
        args.dir, args.repo, args.version, private=args.private, branch=args.branch, quality=_quality(args.quality),
        license=args.license, pretty_name=args.pretty_name, source_license=args.source_license, dry_run=args.dry_run,
        **_release_options(args)), args)
    return _report(args, result, plan)


def run_assemble(args) -> int:
    from silver_ner.builders.assemble import assemble, describe

    langs = [lang.strip() for item in args.config or [] for lang in item.split(",") if lang.strip()] or None
    manifest = assemble(args.output, args.dirs, langs=langs)
    print(describe(manifest))
    print(f"wrote {args.output} ({len(manifest.configs)} configs from {len(args.dirs)} build folders)")
    return 0


def run_model(args) -> int:
    from silver_ner.publish.model import publish_model

    result, plan = _guard(lambda: publish_model(
        args.dir, args.repo, args.version, private=args.private, branch=args.branch, license=args.license,
        base_model=args.base_model, languages=args.language, dataset_repo=args.dataset_repo, dry_run=args.dry_run,
        results=args.results,
        **_release_options(args)), args)
    return _report(args, result, plan)


def run_results(args) -> int:
    from silver_ner.publish.results import publish_results

    result, plan = _guard(lambda: publish_results(
        args.file, args.repo, args.version, private=args.private, branch=args.branch, license=args.license,
        dry_run=args.dry_run, **_release_options(args)), args)
    return _report(args, result, plan)
