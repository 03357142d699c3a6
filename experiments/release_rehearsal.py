"""Rehearse the release of every language's silver data and student against the local Hub-compatible server.

    python experiments/release_rehearsal.py [--runs ../runs] [--langs kin,swa] [--dataset-only hau,lug]
        [--version 1.0.0] [--source-license ID] [--base-model HUB_ID]
        [--out experiments/results/release_rehearsal.json]

For the languages with a student folder ``RUNS/all/student-<lang>`` (or ``--langs``), plus the languages of
``--dataset-only`` (released as dataset configs without a student: steps 4 and the pipeline and model card of
5 are left out for them, and the record says so), in one process:

1. start the Hub-compatible server of ``tests/hub_server.py`` on loopback (in-memory storage) and point
   ``huggingface_hub``, ``datasets`` and ``transformers`` at it (``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET=1``);
2. ``silver-ner publish assemble`` one release folder from every ``RUNS/all/silver-*-<lang>`` build
   folder, one config per language;
3. ``silver-ner publish dataset RELEASE --repo ORG/silver-ner --version V`` (``--source-license``,
   when given, is passed on: the licence of build inputs the manifests record no licence for; the
   MAFAND-MT pools carry provenance sidecars, so their builds record MAFAND-MT and need none);
4. ``silver-ner publish model RUNS/all/student-<lang> --repo ORG/silver-ner-student-<lang> --version V
   --dataset-repo ORG/silver-ner@vV`` for every language (``--base-model``, when given, is passed on;
   a student trained from the teacher folder records the teacher as its start point, so its card
   names the teacher's Hub encoder without it);
5. for every language ``datasets.load_dataset(ORG/silver-ner, lang, revision=vV)`` (its row counts
   must equal the release folder's), ``transformers.pipeline("token-classification",
   model=ORG/silver-ner-student-<lang>, revision=vV)`` on the first training sentence of the
   language, and the model card at vV (its ``model-index`` scores must equal the student's
   ``eval_results.json``; its ``datasets`` must name the dataset repository; its ``base_model`` must
   name a Hub model).

The commands run through ``silver_ner.cli.main``, as on the command line. Writes ``--out``: per step
its wall time, per language the parts, row counts (release folder and loaded), the pipeline output and
the model-index scores, and every mismatch. Exit code 0 when nothing mismatched, 1 on a mismatch or
a failed step, 2 for bad arguments. The server runs in this process, so the times are the clients'
cost of a release, not network time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


def _relative(path: Path) -> str:
    """``path`` relative to the repository (no machine path in the record)."""
    return Path(os.path.relpath(Path(path).resolve(), ROOT)).as_posix()


def _plain(value):
    """Pipeline output as JSON values (numpy scalars → Python numbers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    return round(value, 4) if isinstance(value, float) else value


def _scores(meta: dict) -> list[dict]:
    """The ``model-index`` results of a card's metadata: dataset, config, split and metric values."""
    out = []
    for model in meta.get("model-index") or []:
        for res in model.get("results") or []:
            ds = res.get("dataset") or {}
            out.append({"dataset": ds.get("type"), "config": ds.get("config"), "split": ds.get("split"),
                        "metrics": {m.get("type"): m.get("value") for m in res.get("metrics") or []}})
    return out


def _expected_scores(student: Path, results: list[Path] | None = None) -> list[dict]:
    """What the card's ``model-index`` must hold: the student's evaluation records (its ``eval_results.json`` and
    the records of ``results`` files that name it), as the publisher rounds them."""
    from silver_ner.builders.corpora import hub_dataset_id
    from silver_ner.leaderboard.scoring import read_results_file

    path = student / "eval_results.json"
    records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    for f in results or []:
        records += [r for r in read_results_file(f) if Path(str(r["model"])).name == student.name and r not in records]
    return [{"dataset": hub_dataset_id(str(r["dataset"])), "config": str(r["config"]), "split": str(r["split"]),
             "metrics": {k: round(float(r["metrics"][k]), 4) for k in ("f1", "precision", "recall")}} for r in records]


class Rehearsal:
    def __init__(self, args):
        self.args = args
        self.steps: list[dict] = []
        self.mismatches: list[str] = []
        self.languages: dict[str, dict] = {}

    def step(self, name: str, fn, lang: str | None = None, **record):
        """Run ``fn`` and record its wall time; an exception is recorded as a failed step (returns ``None``)."""
        t0 = time.perf_counter()
        entry = {"step": name, **({"lang": lang} if lang else {}), **record}
        try:
            result = fn()
            entry["ok"] = True
        except Exception as exc:  # noqa: BLE001 - every failure is a finding of the rehearsal
            result = None
            entry["ok"] = False
            entry["error"] = f"{type(exc).__name__}: {exc}"
            self.mismatches.append(f"{name}{' ' + lang if lang else ''}: {entry['error']}")
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        self.steps.append(entry)
        print(f"[{entry['seconds']:8.2f} s] {name}{' ' + lang if lang else ''}: {'ok' if entry['ok'] else entry['error']}",
              flush=True)
        return result


def _cli(argv: list[str]) -> str:
    """``silver-ner ARGV`` in this process; its output, or a RuntimeError with its error line."""
    from silver_ner.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"silver-ner {' '.join(argv[:2])} exited {rc}: {err.getvalue().strip()[-2000:]}")
    return out.getvalue()


def find_inputs(runs: Path, langs: list[str] | None,
                dataset_only: list[str] = ()) -> tuple[list[str], dict[str, list[Path]], list[str]]:
    """(languages, their build folders, problems) under ``runs/all``; ``dataset_only`` languages need no student."""
    from silver_ner.builders.manifest import MANIFEST_NAME

    base = runs / "all"
    if langs is None:
        langs = sorted(p.name[len("student-"):] for p in base.glob("student-*") if p.is_dir()) if base.is_dir() else []
    langs = sorted(set(langs) | set(dataset_only))
    problems, parts = [], {}
    for lang in langs:
        parts[lang] = sorted(p for p in base.glob(f"silver-*-{lang}") if (p / MANIFEST_NAME).is_file())
        if not parts[lang]:
            problems.append(f"{lang}: no build folder {base / f'silver-*-{lang}'} with a {MANIFEST_NAME}")
        if lang not in dataset_only and not (base / f"student-{lang}").is_dir():
            problems.append(f"{lang}: no student folder {base / f'student-{lang}'}")
    return langs, parts, problems


def rehearse(args, runs: Path, langs: list[str], parts: dict[str, list[Path]], work: Path) -> Rehearsal:
    from hub_server import running_hub

    r = Rehearsal(args)
    version = args.version.lstrip("vV")
    tag = f"v{version}"
    data_repo = f"{args.org}/{args.dataset_name}"
    release_dir = work / "release"
    hub_gen = running_hub(work / "hf-home")
    next(hub_gen)
    try:
        from datasets import load_from_disk
        from huggingface_hub import DatasetCard, ModelCard, hf_hub_download

        from silver_ner.builders.manifest import read_manifest

        folders = [p for lang in langs for p in parts[lang]]
        r.step("assemble", lambda: _cli(["publish", "assemble", str(release_dir), *map(str, folders),
                                         "--config", ",".join(langs)]),
               builds=[p.name for p in folders])
        manifest = r.step("read release manifest", lambda: read_manifest(release_dir))
        if manifest is None:
            return r
        publish = ["publish", "dataset", str(release_dir), "--repo", data_repo, "--version", version]
        if args.source_license:
            publish += ["--source-license", args.source_license]
        if r.step("publish dataset", lambda: _cli(publish), repo=data_repo) is None:
            return r
        card = r.step("dataset card", lambda: DatasetCard(Path(hf_hub_download(
            data_repo, "README.md", repo_type="dataset", revision=tag)).read_text(encoding="utf-8")))
        dataset_meta = card.data.to_dict() if card is not None else {}
        for lang in langs:
            entry = manifest.configs[lang]
            info = {"builds": [p["build"] for p in entry.parts or []], "rows_release_folder": dict(entry.num_rows)}
            r.languages[lang] = info
            loaded = r.step("load_dataset", lambda lang=lang: _load_rows(data_repo, lang, tag), lang=lang)
            info["rows_loaded"] = loaded
            if loaded is not None and loaded != dict(entry.num_rows):
                r.mismatches.append(f"{lang}: load_dataset({data_repo!r}, {lang!r}, revision={tag!r}) gave rows {loaded}, "
                                    f"the release folder has {dict(entry.num_rows)}")
            if lang in args.dataset_only:
                info["student"] = None  # released as a dataset config only
                continue
            student = runs / "all" / f"student-{lang}"
            model_repo = f"{args.org}/silver-ner-student-{lang}"
            info["model_repo"] = model_repo
            model_args = ["publish", "model", str(student), "--repo", model_repo, "--version", version,
                          "--dataset-repo", f"{data_repo}@{tag}"]
            if args.base_model:
                model_args += ["--base-model", args.base_model]
            for f in args.results or []:
                model_args += ["--results", str(f)]
            r.step("publish model", lambda: _cli(model_args), lang=lang, repo=model_repo)

            def predict(lang=lang, model_repo=model_repo):
                from transformers import pipeline

                first = next(iter(load_from_disk(str(release_dir / lang)).values()))[0]  # train, when it has rows
                sentence = " ".join(first["tokens"])
                ner = pipeline("token-classification", model=model_repo, revision=tag)
                return {"sentence": sentence, "row_id": first["id"], "entities": _plain(ner(sentence))}

            info["pipeline"] = r.step("pipeline", predict, lang=lang)

            def model_card(model_repo=model_repo):
                text = Path(hf_hub_download(model_repo, "README.md", revision=tag)).read_text(encoding="utf-8")
                return ModelCard(text).data.to_dict()

            meta = r.step("model card", model_card, lang=lang)
            if meta is not None:
                info["model_index"] = _scores(meta)
                info["card_datasets"] = meta.get("datasets") or []
                info["card_license"] = meta.get("license")
                info["card_base_model"] = meta.get("base_model")
                if not info["card_base_model"]:
                    r.mismatches.append(f"{lang}: the card of {model_repo}@{tag} names no base_model: the training record "
                                        f"of student-{lang} names no Hub encoder along its start points (--base-model)")
                expected = _expected_scores(student, args.results)
                if info["model_index"] != expected:
                    r.mismatches.append(f"{lang}: the model-index of {model_repo}@{tag} differs from the records of "
                                        f"student-{lang} (its eval_results.json and --results)")
                if not expected:
                    r.mismatches.append(f"{lang}: no evaluation record of student-{lang}: its card has no scores "
                                        "(pass --results FILE)")
                if data_repo not in info["card_datasets"]:
                    r.mismatches.append(f"{lang}: the card of {model_repo}@{tag} does not name {data_repo} among its "
                                        f"datasets ({info['card_datasets']})")
        r.dataset = {"repo": data_repo, "tag": tag, "license": dataset_meta.get("license"),
                     "configs": [c.get("config_name") for c in dataset_meta.get("configs") or []],
                     "sources": [{"name": s.get("name"), "license": s.get("license"), "files": s.get("files"),
                                  "roles": s.get("roles")} for s in _release_sources(data_repo, tag)]}
        if sorted(r.dataset["configs"]) != sorted(langs):
            r.mismatches.append(f"the card of {data_repo}@{tag} has configs {r.dataset['configs']}, expected {langs}")
    finally:
        hub_gen.close()
    return r


def _load_rows(repo: str, lang: str, tag: str) -> dict[str, int]:
    """Rows per split of ``load_dataset(repo, lang, revision=tag)``."""
    from datasets import load_dataset

    ds = load_dataset(repo, lang, revision=tag)
    return {split: ds[split].num_rows for split in ds}


def _release_sources(repo: str, tag: str) -> list[dict]:
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(repo, "silver_ner_release.json", repo_type="dataset", revision=tag)
    except Exception:  # noqa: BLE001 - the publish step failed: recorded there
        return []
    return json.loads(Path(path).read_text(encoding="utf-8")).get("sources") or []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT.parent / "runs", help="the runs folder (default ../runs)")
    parser.add_argument("--langs", help="comma-separated languages (default: every RUNS/all/student-<lang>)")
    parser.add_argument("--dataset-only", metavar="LANGS",
                        help="comma-separated languages released as dataset configs without a student (no student "
                             "folder needed; no model published for them)")
    parser.add_argument("--version", default="1.0.0", help="release version (default 1.0.0; tag v1.0.0)")
    parser.add_argument("--org", default="silver-org", help="namespace of the repositories (the local server's org)")
    parser.add_argument("--dataset-name", default="silver-ner", help="name of the dataset repository (default silver-ner)")
    parser.add_argument("--source-license", metavar="ID",
                        help="passed to `publish dataset`: the licence of build inputs whose manifests record none "
                             "(only builds of files without a provenance sidecar need it)")
    parser.add_argument("--base-model", metavar="HUB_ID",
                        help="passed to `publish model`: the Hub id of the students' base encoder when their training "
                             "records name no Hub encoder (students trained before start points were recorded)")
    parser.add_argument("--results", type=Path, action="append", metavar="FILE",
                        help="results files whose records of each student go into its card's model-index (repeatable), e.g. "
                             "experiments/results/all_languages/student-ours-pool-p90.json")
    parser.add_argument("--work", type=Path, help="keep the release folder and Hub caches here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "results" / "release_rehearsal.json")
    args = parser.parse_args(argv)
    langs = [x.strip() for x in args.langs.split(",") if x.strip()] if args.langs else None
    args.dataset_only = [x.strip() for x in (args.dataset_only or "").split(",") if x.strip()]
    langs, parts, problems = find_inputs(args.runs, langs, args.dataset_only)
    if not langs:
        problems.append(f"{args.runs / 'all'}: no student-<lang> folder")
    if problems:
        for p in problems:
            print(f"release_rehearsal: error: {p}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        work = args.work or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="release-rehearsal-")))
        work.mkdir(parents=True, exist_ok=True)
        r = rehearse(args, args.runs, langs, parts, work)
    total = round(time.perf_counter() - t0, 2)
    cmd = ["python", "experiments/release_rehearsal.py", "--runs", _relative(args.runs), "--langs", ",".join(langs),
           "--version", args.version]
    for flag, value in (("--dataset-only", ",".join(args.dataset_only)), ("--source-license", args.source_license),
                        ("--base-model", args.base_model)):
        if value:
            cmd += [flag, value]
    for f in args.results or []:
        cmd += ["--results", _relative(f)]
    record = {
        "command": " ".join(cmd),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m": round(os.getloadavg()[0], 2)},
        "version": args.version,
        "langs": langs,
        "students": [lang for lang in langs if lang not in args.dataset_only],
        "dataset_only": args.dataset_only,
        "builds": {lang: [p.name for p in parts[lang]] for lang in langs},
        "dataset": getattr(r, "dataset", None),
        "steps": r.steps,
        "languages": r.languages,
        "total_seconds": total,
        "mismatches": r.mismatches,
        "ok": not r.mismatches,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'ok' if record['ok'] else 'MISMATCH'}: {len(langs)} languages in {total} s; record in {args.out}")
    for m in r.mismatches:
        print(f"  {m}", file=sys.stderr)
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
