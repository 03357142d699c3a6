"""Summarise the robustness runs: in-domain (MasakhaNER 2.0) and out-of-domain (WikiANN) F1 per
system and language, the gain of each student over direct transfer, the out-of-domain drop, and
the training cost.

    python experiments/robustness_summary.py experiments/results/robustness --output experiments/results/robustness/summary.md

Reads the evaluation records ``<system>.json`` and the training records ``training-*.json`` that
experiments/robustness.sh writes into that folder, and the MasakhaNER 2.0 dev records in its
``dev/`` subfolder: the student chosen for the headline is the one with the best mean dev F1, so
that no choice among the variants looks at the test sets. Writes the markdown summary, a JSON twin
(``summary.json``) and a plot (``in_vs_out_of_domain.png``) next to it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

IN_DOMAIN = "masakhaner2"
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
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list of evaluation records")
        for i, rec in enumerate(data):
            try:
                if rec["split"] != split:
                    continue
                out[(rec["system"], rec["dataset"], rec["language"])] = rec
            except (KeyError, TypeError) as exc:
                raise ValueError(f"{path}: record {i} lacks {exc}") from None
    return out


def load_training(folder: Path) -> dict[str, list[dict]]:
    """``system -> training records`` (one per language for students)."""
    out: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("training-*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        system = path.stem[len("training-"):]
        for lang in ("hau", "ibo", "swa", "yor"):
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


def to_markdown(summary: dict) -> str:
    li, lo = summary["langs_in_domain"], summary["langs_out_of_domain"]
    lines = ["## In-domain: MasakhaNER 2.0 test (F1 x 100, PER/ORG/LOC, strict IOB2)", ""]
    lines.append("| system | " + " | ".join(li) + " | mean | vs direct transfer | dev mean |")
    lines.append("|---|" + "---:|" * (len(li) + 3))
    sel = summary.get("selected_on_dev")
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
    ax.bar([x - width / 2 for x in xs], [100 * (r["in_domain_mean"] or 0) for r in rows], width, label="MasakhaNER 2.0 (in-domain)")
    ax.bar([x + width / 2 for x in xs], [100 * (r["out_of_domain_mean"] or 0) for r in rows], width, label="WikiANN (out-of-domain)")
    ax.set_xticks(list(xs), [r["system"] for r in rows], rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("mean entity F1")
    ax.set_title("hau/ibo/swa/yor in-domain mean, ibo/swa/yor out-of-domain mean", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="folder with the evaluation and training records")
    ap.add_argument("--output", help="markdown file to write (default: FOLDER/summary.md)")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    summary = summarise(folder)
    if not summary["rows"]:
        print(f"{folder}: no evaluation records", file=sys.stderr)
        return 1
    md = to_markdown(summary)
    out = Path(args.output) if args.output else folder / "summary.md"
    out.write_text(md, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    plot(summary, out.parent / "in_vs_out_of_domain.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
