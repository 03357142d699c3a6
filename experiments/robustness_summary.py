"""Summarise the robustness runs: in-domain (MasakhaNER 2.0) and out-of-domain (WikiANN) F1 per
system and language, the gain of each student over direct transfer, the out-of-domain drop, and
the training cost.

    python experiments/robustness_summary.py experiments/results/robustness --output experiments/results/robustness/summary.md

Reads the evaluation records ``<system>.json`` and the training records ``training-*.json`` that
experiments/robustness.sh writes into that folder, and the MasakhaNER 2.0 dev records in its
``dev/`` subfolder: the student chosen for the headline is the one with the best mean dev F1, so
that no choice among the variants looks at the test sets. Writes the markdown summary, a JSON twin
(``summary.json``) and a plot (``in_vs_out_of_domain.png``) next to it; with ``--published`` also
``per_language.png`` (each language's direct transfer, student and published figures).

With ``--published CSV`` (experiments/all_languages.sh) the summary opens with one row per language
(``--languages``, default every language of the records and of the CSV): direct transfer, the
``--student`` system, the gain, the published model-transfer figure and the best published
translate-test figure of the language, and the counts of languages where the student reaches them.
A language without a record yet is marked ``missing`` (never 0), one without a published figure
``n/a``:

    python experiments/robustness_summary.py experiments/results/all_languages \
        --published experiments/published_masakhaner2.csv --student student-ours-pool-p90
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from silver_ner.leaderboard.scoring import read_results_file

IN_DOMAIN = "masakhaner2"
#: MasakhaNER 2.0 languages (suffixes of per-language training records).
MASAKHANER2_LANGS = ("bam", "bbj", "ewe", "fon", "hau", "ibo", "kin", "lug", "luo", "mos", "nya", "pcm", "sna", "swa",
                     "tsn", "twi", "wol", "xho", "yor", "zul")
MISSING = "missing"
NOT_AVAILABLE = "n/a"
OUT_OF_DOMAIN = "wikiann"
BASELINE = "direct-transfer"
DESCRIPTIONS = {
    "direct-transfer": "teacher (CoNLL-2003 English) applied zero-shot",
    "student-ours-tpmt": "student on our projection onto T-Projection's translations of CoNLL-2003",
    "student-ours-mafand": "student on MAFAND-MT news, English side tagged by the teacher, our projection",
    "student-tprojection": "student on T-Projection's own labels of the same translations",
    "student-ours-both-masked": "student on both of our sources (half of the sentences from each), "
                                "silver O words the teacher tags as entities left out of the loss",
    "student-ours-mafand-masked": "as student-ours-mafand, with the teacher mask",
    "student-ours-tpmt-masked": "as student-ours-tpmt, with the teacher mask",
    "student-ours-all-masked": "every sentence of both of our sources, with the teacher mask",
    "student-ours-all-masked-p90": "as student-ours-all-masked, masking only words the teacher gives an entity "
                                   "probability of at least 0.9",
    "student-ours-all-masked-p90-keep-o": "as student-ours-all-masked-p90, but word forms the silver data labels O "
                                          "in at least 80 % of their 5 or more occurrences are never masked "
                                          "(--mask-keep-o 0.8)",
    "student-ours-self-trained": "second round: student-ours-all-masked-p90 trained one more epoch on the same "
                                 "rows, masking where it (not the teacher) gives an entity probability of at "
                                 "least 0.9",
    "student-ours-soup": "weight average of student-ours-all-masked, -all-masked-p90 and -self-trained of the "
                         "language (silver-ner average)",
    "student-ours-pool-p90": "as student-ours-all-masked-p90, with every MAFAND-MT line of the language (train, "
                             "dev and test splits; pairs whose target side occurs in MasakhaNER 2.0 dev or test "
                             "left out) instead of the first 6,000 training lines",
    "student-ours-pool-self-trained": "second round from student-ours-pool-p90 on its rows, masking where it gives "
                                      "an entity probability of at least 0.9",
    "student-ours-conventions": "as student-ours-all-masked-p90, with both sources rebuilt so that projected spans "
                                "take in the span-opening words of experiments/conventions/masakhaner2-train.tsv "
                                "(read off MasakhaNER 2.0 train labels)",
}
# Systems that use target-language gold annotation (not zero-shot): never selected, marked in the tables.
USES_TARGET_ANNOTATION = {"student-ours-conventions"}
TARGET_NOTE = ("†: uses target-language annotation (a list of span-opening words read off MasakhaNER 2.0 train "
               "labels), so not zero-shot; never selected")
SCRATCH_NOTE = ("`scratch-*`: the same student trained from the plain encoder instead of the teacher's weights "
                "(ablation; 2 epochs)")


def load_records(folder: Path, split: str = "test") -> dict[tuple[str, str, str], dict]:
    """``(system, dataset, language) -> record`` for ``split``; a later record replaces an earlier one."""
    out: dict[tuple[str, str, str], dict] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(("training-", "build-", "summary", "mafand_", "span_conventions")):
            continue
        for rec in read_results_file(path):  # the leaderboard's reader: errors name the file and record
            if rec["split"] == split:
                out[(rec["system"], rec["dataset"], rec["language"])] = rec
    return out


def load_training(folder: Path) -> dict[str, list[dict]]:
    """``system -> training records`` (one per language for students)."""
    out: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("training-*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        system = path.stem[len("training-"):]
        for lang in MASAKHANER2_LANGS:
            if system.endswith("-" + lang):
                system = system[: -len(lang) - 1]
        out.setdefault(system, []).append(rec)
    return out


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def fmt(x, signed=False, digits=1):
    if x is None:
        return "-"
    return f"{100 * x:+.{digits}f}" if signed else f"{100 * x:.{digits}f}"


def summarise(folder: Path) -> dict:
    recs = load_records(folder)
    systems = sorted({s for s, _, _ in recs}, key=lambda s: (s != BASELINE, s.startswith("scratch-"), s))
    langs_in = sorted({lang for _, d, lang in recs if d == IN_DOMAIN})
    langs_out = sorted({lang for _, d, lang in recs if d == OUT_OF_DOMAIN})

    def f1(system, dataset, lang):
        rec = recs.get((system, dataset, lang))
        return rec["metrics"]["f1"] if rec else None

    dev = load_records(folder / "dev", split="dev") if (folder / "dev").is_dir() else {}
    rows = []
    for s in systems:
        ind = {lang: f1(s, IN_DOMAIN, lang) for lang in langs_in}
        dev_f1 = [dev[(s, IN_DOMAIN, lang)]["metrics"]["f1"] if (s, IN_DOMAIN, lang) in dev else None for lang in langs_in]
        ood = {lang: f1(s, OUT_OF_DOMAIN, lang) for lang in langs_out}
        drop = {lang: (ind[lang] - ood[lang]) if ind.get(lang) is not None and ood[lang] is not None else None for lang in langs_out}
        rows.append({
            "system": s,
            "in_domain": ind,
            "in_domain_mean": mean(ind.values()) if all(v is not None for v in ind.values()) else None,
            "dev_mean": mean(dev_f1) if dev_f1 and all(v is not None for v in dev_f1) else None,
            "out_of_domain": ood,
            "out_of_domain_mean": mean(ood.values()) if all(v is not None for v in ood.values()) else None,
            "drop": drop,
            "drop_mean": mean(drop.values()) if all(v is not None for v in drop.values()) else None,
        })
    base = next((r for r in rows if r["system"] == BASELINE), None)
    for r in rows:
        r["gain_in_domain"] = (
            r["in_domain_mean"] - base["in_domain_mean"]
            if base and r["in_domain_mean"] is not None and base["in_domain_mean"] is not None else None
        )
        r["gain_out_of_domain"] = (
            r["out_of_domain_mean"] - base["out_of_domain_mean"]
            if base and r["out_of_domain_mean"] is not None and base["out_of_domain_mean"] is not None else None
        )
    candidates = [r for r in rows if r["system"] != BASELINE and not r["system"].startswith("scratch-")
                  and r["system"] not in USES_TARGET_ANNOTATION and r["dev_mean"] is not None and r["in_domain_mean"] is not None]
    selected = max(candidates, key=lambda r: r["dev_mean"])["system"] if candidates else None
    sizes = {(s, d, lang): rec["n_sentences"] for (s, d, lang), rec in recs.items()}
    training = {}
    for system, trs in load_training(folder).items():
        training[system] = [
            {
                "language": next((p.get("config") for p in t["training_data"] if p.get("config")), None)
                or Path(t["training_data"][0].get("path", "")).name,
                "n_sentences": t["n_sentences"],
                "steps": t.get("steps"),
                "epochs": t.get("epochs"),
                "training_time_s": t.get("training_time_s"),
                "sentences_per_s": t.get("sentences_per_s"),
            }
            for t in trs
        ]
    return {"langs_in_domain": langs_in, "langs_out_of_domain": langs_out, "rows": rows, "selected_on_dev": selected,
            "gold_sentences": {f"{d}:{lang}": n for (s, d, lang), n in sizes.items() if s == BASELINE},
            "training": training}


def load_published(path: Path) -> dict:
    """``{"model_transfer": {lang: f1}, "translate_test": {method: {lang: f1}}}`` (F1 x 100) from the CSV
    (``#`` lines are its source note; columns system, kind, one per language, mean)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    out: dict = {"model_transfer": {}, "translate_test": {}}
    for i, row in enumerate(csv.DictReader(lines)):
        kind, system = row.pop("kind"), row.pop("system")
        row.pop("mean", None)
        try:
            values = {lang: float(v) for lang, v in row.items() if v not in ("", None)}
        except ValueError as exc:
            raise ValueError(f"{path}: row {i + 1} ({system}): {exc}") from None
        if kind == "model-transfer":
            out["model_transfer"].update(values)
        elif kind == "translate-test":
            out["translate_test"][system] = values
        else:
            raise ValueError(f"{path}: row {i + 1} ({system}): unknown kind {kind!r}")
    return out


def _side_reports(folder: Path) -> dict[str, dict]:
    """``lang -> mafand_overlap.py report`` of the per-language pool builds (``mafand_pool_overlap-<lang>.json``)."""
    out = {}
    for path in sorted(folder.glob("mafand_pool_overlap-*.json")):
        out.update(json.loads(path.read_text(encoding="utf-8")))
    return out


def _read_stage_records(path: Path) -> list[dict]:
    recs = []
    if path.is_file():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                rec["lang"], rec["stage"], rec["seconds"]
            except (ValueError, KeyError, TypeError) as err:
                raise SystemExit(f"{path}:{number}: not a stage record ({err!r}): {line[:80]}") from None
            recs.append(rec)
    return recs


def _timing_records(folder: Path) -> list[dict]:
    """The stage records of ``timings.jsonl``, with the build and filter records of ``build-only/timings.jsonl`` that
    started before the language's last student training there (builds a later full run trained on without building
    them again; a build-only run after it made data for a release, not for that student); oldest first by
    ``started``, records without it in file order, those of ``timings.jsonl`` last."""
    main = _read_stage_records(folder / "timings.jsonl")
    trained: dict[str, str] = {}
    for rec in main:
        if rec["stage"] == "train" and rec["lang"] != "all" and rec.get("started"):
            trained[rec["lang"]] = max(trained.get(rec["lang"], ""), rec["started"])
    extra = [rec for rec in _read_stage_records(folder / "build-only" / "timings.jsonl")
             if rec["stage"] in ("build", "filter")
             and not (rec.get("started") and rec["lang"] in trained and rec["started"] > trained[rec["lang"]])]
    return sorted(extra + main, key=lambda rec: rec.get("started") or "")


def _timings(folder: Path) -> dict[str, dict[str, float]]:
    """``lang -> {stage: seconds}`` from the stage records (:func:`_timing_records`): per stage the sum over its
    outputs (``what``). A stage run again from the start (on a new machine, or as a build-only run whose build a
    full run then used) replaces its earlier record; a resumed training (``"resumed": true``) adds to it. ``all``
    holds the stages of no one language (the teacher's training: the last one)."""
    runs: dict[tuple[str, str, str], float] = {}
    for rec in _timing_records(folder):
        key = (rec["lang"], rec["stage"], rec.get("what", ""))
        runs[key] = (runs.get(key, 0.0) if rec.get("resumed") else 0.0) + rec["seconds"]
    out: dict[str, dict[str, float]] = {}
    for (lang, stage, _), seconds in runs.items():
        stages = out.setdefault(lang, {})
        stages[stage] = stages.get(stage, 0.0) + seconds
    return out


def per_language(folder: Path, published: dict, student: str, langs: list[str] | None = None,
                 wikiann_langs: list[str] | None = None) -> dict:
    """One row per language, alphabetically (F1 x 100; None where missing), and the counts and means over the
    languages measured. ``wikiann_langs``: languages with a WikiANN test set (default: those with records)."""
    recs = load_records(folder)
    mt, tt = published["model_transfer"], published["translate_test"]
    if not langs:
        langs = {lang for _, d, lang in recs if d == IN_DOMAIN} | set(mt) | {lang for v in tt.values() for lang in v}
    langs = sorted(set(langs))
    wiki = set(wikiann_langs or []) | {lang for _, d, lang in recs if d == OUT_OF_DOMAIN}
    sides, seconds = _side_reports(folder), _timings(folder)
    training = {}
    for t in load_training(folder).get(student, []):
        config = next((p.get("config") for p in t["training_data"] if p.get("config")), None)
        training[config] = t["n_sentences"]

    def f1(system, dataset, lang):
        rec = recs.get((system, dataset, lang))
        return 100 * rec["metrics"]["f1"] if rec else None

    rows = []
    for lang in langs:
        best = max(((v[lang], m) for m, v in tt.items() if lang in v), default=(None, None))
        dt, st = f1(BASELINE, IN_DOMAIN, lang), f1(student, IN_DOMAIN, lang)
        ood = {s: f1(s, OUT_OF_DOMAIN, lang) for s in (BASELINE, student)}
        stages = seconds.get(lang, {})
        rows.append({
            "lang": lang, "pair": sides.get(lang, {}).get("pair"), "pool_pairs": sides.get(lang, {}).get("pool_pairs"),
            "student_sentences": training.get(lang), "direct_transfer": dt, "student": st,
            "gain": st - dt if st is not None and dt is not None else None,
            "published_model_transfer": mt.get(lang), "best_translate_test": best[0], "best_translate_test_method": best[1],
            "wikiann_direct_transfer": ood[BASELINE], "wikiann_student": ood[student],
            "wikiann": lang in wiki,
            "seconds": sum(stages.values()) if stages else None,
            "build_seconds": stages.get("build"), "train_seconds": stages.get("train"),
        })
    done = [r for r in rows if r["gain"] is not None]
    # compared at the published precision (one decimal)
    vs_mt = [r for r in rows if r["student"] is not None and r["published_model_transfer"] is not None]
    vs_tt = [r for r in rows if r["student"] is not None and r["best_translate_test"] is not None]
    ood = [r for r in rows if r["wikiann_student"] is not None and r["wikiann_direct_transfer"] is not None]
    timed = [r for r in done if r["seconds"] is not None]
    return {
        "student": student, "rows": rows, "languages": len(rows), "measured": len(done),
        "missing": [r["lang"] for r in rows if r["student"] is None or r["direct_transfer"] is None],
        "mean_direct_transfer": mean(r["direct_transfer"] for r in done) if done else None,
        "mean_student": mean(r["student"] for r in done) if done else None,
        "mean_gain": mean(r["gain"] for r in done) if done else None,
        "published_covered": sum(1 for r in rows if r["published_model_transfer"] is not None),
        "student_vs_model_transfer": {"measured": len(vs_mt), "at_least": sum(
            1 for r in vs_mt if round(r["student"], 1) >= r["published_model_transfer"])},
        "student_vs_best_translate_test": {"measured": len(vs_tt), "at_least": sum(
            1 for r in vs_tt if round(r["student"], 1) >= r["best_translate_test"])},
        "mean_student_on_published": mean(r["student"] for r in vs_mt) if vs_mt else None,
        "mean_model_transfer_on_published": mean(r["published_model_transfer"] for r in vs_mt) if vs_mt else None,
        "mean_best_translate_test_on_published": mean(r["best_translate_test"] for r in vs_tt) if vs_tt else None,
        "timed": len(timed),
        "wall_seconds": sum(r["seconds"] for r in timed) if timed else None,
        "build_seconds": sum(r["build_seconds"] or 0.0 for r in done) if done else None,
        "train_seconds": sum(r["train_seconds"] or 0.0 for r in done) if done else None,
        "teacher_seconds": seconds.get("all", {}).get("train"),
        "wikiann_measured": len(ood),
        "wikiann_mean_gain": mean(r["wikiann_student"] - r["wikiann_direct_transfer"] for r in ood) if ood else None,
    }


def _cell(x, signed=False, missing=MISSING):
    if x is None:
        return missing
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def _count(n):
    return f"{n:,}" if n is not None else MISSING


def _minutes(seconds):
    return f"{seconds / 60:.1f}" if seconds is not None else MISSING


def _wall_line(table: dict) -> str:
    """Total wall time of the measured languages (2 CPU cores), and the teacher's training, run once."""
    if table["wall_seconds"] is None:
        return "Wall time: no measured language has timings yet."
    timed = (f"the {table['measured']} measured languages" if table["timed"] == table["measured"]
             else f"the {table['timed']} of {table['measured']} measured languages with timings")
    line = (f"Wall time over {timed}: **{table['wall_seconds'] / 3600:.2f} h** "
            f"(silver builds {_minutes(table['build_seconds'])} min, student training {_minutes(table['train_seconds'])} min; "
            "the rest is the leakage filter and the evaluations of teacher and student)")
    if table["teacher_seconds"] is not None:
        line += (f", plus the teacher's training, once for all languages (the last one recorded): "
                 f"{_minutes(table['teacher_seconds'])} min")
    return line + "."


def per_language_markdown(table: dict) -> str:
    st = table["student"]
    lines = [f"## Per language: direct transfer vs `{st}` on MasakhaNER 2.0 test (F1 x 100, PER/ORG/LOC, strict IOB2)", "",
             "| lang | MAFAND pair | pool pairs | student rows | direct transfer | student | gain | published model "
             "transfer (XLM-R-large) | student - model transfer | best published translate-test | student - best "
             "translate-test | build (min) | training (min) | wall time (min) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in table["rows"]:
        pub, best, student = r["published_model_transfer"], r["best_translate_test"], r["student"]

        def diff(ref):
            if ref is None:
                return NOT_AVAILABLE
            return _cell(student - ref, signed=True) if student is not None else MISSING

        cells = [r["lang"], r["pair"] or MISSING, _count(r["pool_pairs"]), _count(r["student_sentences"]),
                 _cell(r["direct_transfer"]), _cell(student), _cell(r["gain"], signed=True),
                 _cell(pub, missing=NOT_AVAILABLE), diff(pub),
                 f"{best:.1f} ({r['best_translate_test_method']})" if best is not None else NOT_AVAILABLE, diff(best),
                 _minutes(r["build_seconds"]), _minutes(r["train_seconds"]), _minutes(r["seconds"])]
        lines.append("| " + " | ".join(cells) + " |")
    mt, tt = table["student_vs_model_transfer"], table["student_vs_best_translate_test"]
    lines += [
        "",
        f"Languages measured: {table['measured']} of {table['languages']}"
        + (f" (missing: {', '.join(table['missing'])})" if table["missing"] else "") + ".",
        f"Mean over the measured languages: direct transfer {_cell(table['mean_direct_transfer'])}, student "
        f"{_cell(table['mean_student'])}, mean gain **{_cell(table['mean_gain'], signed=True)}**.",
        f"Student >= published model transfer (XLM-R-large): **{mt['at_least']} of {mt['measured']}** languages measured "
        f"(the published figures cover {table['published_covered']}); mean over those {mt['measured']}: student "
        f"{_cell(table['mean_student_on_published'])}, published model transfer "
        f"{_cell(table['mean_model_transfer_on_published'])}.",
        f"Student >= the best published translate-test row of the language: **{tt['at_least']} of {tt['measured']}**; "
        f"mean of those best rows {_cell(table['mean_best_translate_test_on_published'])}.",
        _wall_line(table),
        "Comparisons with published figures are made at their precision (one decimal). Published: "
        "experiments/published_masakhaner2.csv (translate-test: NLLB-200-3.3B, XLM-R-large, projection back; "
        "a different teacher and test-time translation, so a reference point rather than a like-for-like row).",
        "", "### Out of domain: WikiANN test (Rahimi splits)", "",
        "| lang | direct transfer | student | gain |", "|---|---:|---:|---:|",
    ]
    for r in table["rows"]:
        if not r["wikiann"]:
            continue
        dt, s = r["wikiann_direct_transfer"], r["wikiann_student"]
        lines.append(f"| {r['lang']} | {_cell(dt)} | {_cell(s)} | "
                     f"{_cell(s - dt, signed=True) if s is not None and dt is not None else MISSING} |")
    lines += ["", f"Mean WikiANN gain over {table['wikiann_measured']} language(s): "
              f"{_cell(table['wikiann_mean_gain'], signed=True)}.", ""]
    return "\n".join(lines)


def to_markdown(summary: dict, selection: bool = True) -> str:
    """The tables over every system; ``selection=False`` leaves out the dev-selection headline (one student)."""
    li, lo = summary["langs_in_domain"], summary["langs_out_of_domain"]
    lines = ["## In-domain: MasakhaNER 2.0 test (F1 x 100, PER/ORG/LOC, strict IOB2)", ""]
    lines.append("| system | " + " | ".join(li) + " | mean | vs direct transfer | dev mean |")
    lines.append("|---|" + "---:|" * (len(li) + 3))
    sel = summary.get("selected_on_dev") if selection else None
    for r in summary["rows"]:
        name = f"**{r['system']}**" if r["system"] == sel else r["system"]
        name += " †" if r["system"] in USES_TARGET_ANNOTATION else ""
        lines.append(f"| {name} | " + " | ".join(fmt(r["in_domain"][lang]) for lang in li)
                     + f" | {fmt(r['in_domain_mean'])} | {fmt(r['gain_in_domain'], signed=True) if r['system'] != BASELINE else ''}"
                     + f" | {fmt(r.get('dev_mean'), digits=2)} |")
    if sel:
        lines += ["", f"Selected on MasakhaNER 2.0 dev (best mean dev F1 among the zero-shot students): **{sel}**. "
                  "Dev mean = mean F1 over the same languages on the dev split (two decimals: the selection reads them)."]
    if any(r["system"] in USES_TARGET_ANNOTATION for r in summary["rows"]):
        lines += ["", TARGET_NOTE]
    lines += ["", "## Out-of-domain: WikiANN test (Rahimi splits) and the drop from in-domain", ""]
    lines.append("| system | " + " | ".join(f"{lang} F1 (drop)" for lang in lo) + " | mean F1 | mean drop | vs direct transfer |")
    lines.append("|---|" + "---:|" * (len(lo) + 3))
    for r in summary["rows"]:
        if all(v is None for v in r["out_of_domain"].values()):
            continue
        cells = [f"{fmt(r['out_of_domain'][lang])} ({fmt(r['drop'][lang], signed=True)})" for lang in lo]
        mark = " †" if r["system"] in USES_TARGET_ANNOTATION else ""
        lines.append(f"| {r['system']}{mark} | " + " | ".join(cells) + f" | {fmt(r['out_of_domain_mean'])} | {fmt(r['drop_mean'], signed=True)}"
                     f" | {fmt(r['gain_out_of_domain'], signed=True) if r['system'] != BASELINE else ''} |")
    lines += ["", "Drop = in-domain F1 minus out-of-domain F1 of the same language (positive: worse out of domain).", ""]
    lines += ["## Systems", ""] + [f"- `{s}`: {d}" for s, d in DESCRIPTIONS.items()] + [f"- {SCRATCH_NOTE}"]
    lines += ["", "## Training cost (2 CPU cores)", "", "| system | data | sentences | steps | time (s) | sentences/s |", "|---|---|---:|---:|---:|---:|"]
    for system, trs in sorted(summary["training"].items()):
        for t in trs:
            lines.append(f"| {system} | {t['language']} | {t['n_sentences']} | {t['steps']} | {t['training_time_s']} | {t['sentences_per_s']} |")
    lines += ["", "Gold sentences scored: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["gold_sentences"].items())), ""]
    return "\n".join(lines)


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary["rows"] if r["in_domain_mean"] is not None]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    xs = range(len(rows))
    for key, shift, label in (("in_domain_mean", -width / 2, "MasakhaNER 2.0 (in-domain)"),
                              ("out_of_domain_mean", width / 2, "WikiANN (out-of-domain)")):
        have = [(x, 100 * r[key]) for x, r in zip(xs, rows) if r[key] is not None]  # a missing mean draws no bar
        ax.bar([x + shift for x, _ in have], [v for _, v in have], width, label=label)
        for x, v in have:
            ax.annotate(f"{v:.1f}", (x + shift, v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs), [r["system"] for r in rows], rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("mean entity F1")
    ax.set_title(f"{'/'.join(summary['langs_in_domain'])} in-domain mean, "
                 f"{'/'.join(summary['langs_out_of_domain'])} out-of-domain mean", fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_per_language(per_language: dict, path: Path) -> dict[str, list[str]]:
    """One row per language: direct transfer, the student, the published model transfer and the best published
    translate-test row (F1 x 100); a value not measured or not published draws no mark. Returns, per kind of
    mark, the languages that got one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = per_language["rows"]
    fig, ax = plt.subplots(figsize=(7.2, 0.34 * len(rows) + 1.6))
    marks = (("direct_transfer", "direct transfer (teacher, 118M)", "o", "#9e9e9e", 1.0),
             ("student", "our student (118M, CPU)", "o", "#1f77b4", 1.0),
             ("published_model_transfer", "published model transfer (XLM-R-large, 560M)", "x", "#ff7f0e", 1.0),
             ("best_translate_test", "published best translate-test (NLLB-3.3B + XLM-R-large)", "^", "#2ca02c", 1.0))
    ys = list(range(len(rows)))[::-1]
    for y, r in zip(ys, rows):
        vals = [r[k] for k, *_ in marks if r[k] is not None]
        if len(vals) > 1:
            ax.plot([min(vals), max(vals)], [y, y], color="#dddddd", lw=1, zorder=1)
    drawn: dict[str, list[str]] = {}
    for key, label, marker, color, _ in marks:
        pts = [(r[key], y) for y, r in zip(ys, rows) if r[key] is not None]
        drawn[key] = [r["lang"] for r in rows if r[key] is not None]
        ax.scatter([x for x, _ in pts], [y for _, y in pts], marker=marker, color=color, s=36, label=label, zorder=3)
    ax.set_yticks(ys, [r["lang"] + ("" if r["student"] is not None else " (not run)") for r in rows], fontsize=8)
    ax.set_xlabel("MasakhaNER 2.0 test, entity F1 x 100 (PER/ORG/LOC)")
    ax.grid(axis="x", color="#eeeeee")
    done = sum(r["student"] is not None for r in rows)
    ax.set_title(f"Per language: {done} of {len(rows)} run", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return drawn


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="folder with the evaluation and training records")
    ap.add_argument("--output", help="markdown file to write (default: FOLDER/summary.md)")
    ap.add_argument("--published", metavar="CSV",
                    help="published per-language figures (experiments/published_masakhaner2.csv): open the summary "
                         "with one row per language against them")
    ap.add_argument("--student", default="student-ours-pool-p90", help="with --published: the student compared")
    ap.add_argument("--languages", help="with --published: the languages of the table, space- or comma-separated "
                                        "(default: those of the records and of the CSV)")
    ap.add_argument("--wikiann-languages", help="with --published: languages that have a WikiANN test set (listed "
                                                "out of domain, marked missing until scored)")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    summary = summarise(folder)
    if not summary["rows"]:
        print(f"{folder}: no evaluation records", file=sys.stderr)
        return 1
    if args.published:
        langs = args.languages.replace(",", " ").split() if args.languages else None
        wiki = args.wikiann_languages.replace(",", " ").split() if args.wikiann_languages else None
        summary["per_language"] = per_language(folder, load_published(Path(args.published)), args.student, langs, wiki)
        md = per_language_markdown(summary["per_language"]) + "\n" + to_markdown(summary, selection=False)
        plot_per_language(summary["per_language"], (Path(args.output) if args.output else folder / "summary.md").parent
                          / "per_language.png")
    else:
        md = to_markdown(summary)
    out = Path(args.output) if args.output else folder / "summary.md"
    out.write_text(md, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    plot(summary, out.parent / "in_vs_out_of_domain.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
