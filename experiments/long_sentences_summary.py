"""Compare students trained with long sentences cut at the subword limit against the same students
trained on windows of those sentences (experiments/long_sentences.sh).

    python experiments/long_sentences_summary.py --base experiments/results/all_languages \
        --windowed experiments/results/long_sentences --output experiments/results/long_sentences/summary.md

``--base`` holds the records of the cut students (``<system>.json``, ``dev/<system>.json``,
``training-<system>-<lang>.json``), ``--windowed`` those of the windowed ones. A language counts
only when both students start from the same teacher and train on the same silver builds (the
training records' teacher record hash and build manifest hashes); otherwise its row says why it is
not comparable and it stays out of the means. Writes the markdown table and a JSON twin
(``summary.json``) beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from silver_ner.leaderboard.scoring import read_results_file

BASE_SYSTEM = "student-ours-pool-p90"
WINDOW_SYSTEM = "student-ours-pool-p90-window"


def f1_by_language(path: Path, split: str) -> dict[str, float]:
    """``language -> F1`` of the MasakhaNER 2.0 records of ``split`` in ``path`` (the last one wins)."""
    if not path.exists():
        return {}
    out = {}
    for rec in read_results_file(path):
        if rec["dataset"] == "masakhaner2" and rec["split"] == split:
            out[rec["language"]] = rec["metrics"]["f1"]
    return out


def training_records(folder: Path, system: str) -> dict[str, dict]:
    """``language -> training record`` of ``system`` in ``folder``."""
    out = {}
    for path in sorted(folder.glob(f"training-{system}-*.json")):
        lang = path.stem[len(f"training-{system}-"):]
        if "-" in lang:  # a longer system name that starts with this one
            continue
        try:
            out[lang] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{exc.lineno}: not a training record ({exc.msg})") from exc
    return out


def identity(rec: dict) -> tuple:
    """What must agree for two students to be compared: the teacher and the silver builds."""
    teacher = (rec.get("base_encoder") or {}).get("start_point", {}).get("training_record_sha256")
    builds = tuple(sorted(t.get("build_manifest_sha256") or "" for t in rec.get("training_data", [])))
    return teacher, builds


def compare(base: Path, windowed: Path) -> dict:
    train_b, train_w = training_records(base, BASE_SYSTEM), training_records(windowed, WINDOW_SYSTEM)
    test_b, test_w = f1_by_language(base / f"{BASE_SYSTEM}.json", "test"), f1_by_language(windowed / f"{WINDOW_SYSTEM}.json", "test")
    dev_b = f1_by_language(base / "dev" / f"{BASE_SYSTEM}.json", "dev")
    dev_w = f1_by_language(windowed / "dev" / f"{WINDOW_SYSTEM}.json", "dev")
    rows = []
    for lang in sorted(train_w):
        rb, rw = train_b.get(lang), train_w[lang]
        row = {"language": lang, "comparable": True, "why_not": None}
        if rb is None:
            row.update(comparable=False, why_not=f"no training-{BASE_SYSTEM}-{lang}.json in the base folder")
        elif identity(rb)[0] != identity(rw)[0]:
            row.update(comparable=False, why_not="different teachers")
        elif identity(rb)[1] != identity(rw)[1]:
            row.update(comparable=False, why_not="different silver builds")
        elif lang not in test_b or lang not in test_w:
            row.update(comparable=False, why_not="a test record is missing")
        words = rw.get("n_words")
        cut = rb.get("truncated_words") if rb else None
        row.update(
            sentences=rw["n_sentences"], words=words, cut_words=cut,
            cut_share=(cut / words if (cut is not None and words) else None),
            windowed_sentences=rw.get("windowed_sentences"), training_rows=rw.get("training_rows"),
            window_cut_words=rw.get("truncated_words"),
            test_cut=test_b.get(lang), test_window=test_w.get(lang),
            dev_cut=dev_b.get(lang), dev_window=dev_w.get(lang),
            train_s_cut=rb.get("training_time_s") if rb else None, train_s_window=rw.get("training_time_s"),
        )
        rows.append(row)
    ok = [r for r in rows if r["comparable"]]

    def mean_gain(a, b):
        pairs = [(r[a], r[b]) for r in ok if r[a] is not None and r[b] is not None]
        return sum(y - x for x, y in pairs) / len(pairs) if pairs else None

    return {"rows": rows, "languages": [r["language"] for r in ok],
            "mean_test_gain": mean_gain("test_cut", "test_window"), "mean_dev_gain": mean_gain("dev_cut", "dev_window"),
            "better_on_test": sum(1 for r in ok if r["test_window"] > r["test_cut"]),
            "worse_on_test": sum(1 for r in ok if r["test_window"] < r["test_cut"])}


def pct(x, signed=False):
    if x is None:
        return "-"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"


def render(s: dict) -> str:
    lines = [
        "# Long sentences in training: cut at 128 subwords vs windows",
        "",
        f"`{BASE_SYSTEM}` (words past 128 subwords carry no label) against `{WINDOW_SYSTEM}` (the same student, "
        "same teacher, same silver builds, long sentences as overlapping windows of whole words). "
        "MasakhaNER 2.0, F1 x 100 on PER/ORG/LOC, strict IOB2.",
        "",
        "| lang | silver sentences | words | words cut (share) | sentences windowed | training rows, windowed | test cut | test window | gain | dev cut | dev window | dev gain | training min cut | training min window |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in s["rows"]:
        if not r["comparable"]:
            lines.append(f"| {r['language']} | not comparable: {r['why_not']} |" + " |" * 12)
            continue
        gain = r["test_window"] - r["test_cut"]
        dev_gain = (r["dev_window"] - r["dev_cut"]) if r["dev_window"] is not None and r["dev_cut"] is not None else None
        share = f"{r['cut_words']:,} ({100 * r['cut_share']:.1f} %)" if r["cut_share"] is not None else f"{r['cut_words']:,}"
        lines.append(
            f"| {r['language']} | {r['sentences']:,} | {r['words']:,} | {share} | {r['windowed_sentences']:,} | "
            f"{r['training_rows']:,} | {pct(r['test_cut'])} | {pct(r['test_window'])} | {pct(gain, True)} | "
            f"{pct(r['dev_cut'])} | {pct(r['dev_window'])} | {pct(dev_gain, True)} | "
            f"{r['train_s_cut'] / 60:.1f} | {r['train_s_window'] / 60:.1f} |")
    lines += ["", f"Languages compared: {len(s['languages'])} ({' '.join(s['languages'])}); windows ahead on test in "
              f"{s['better_on_test']}, behind in {s['worse_on_test']}; mean gain {pct(s['mean_test_gain'], True)} on test, "
              f"{pct(s['mean_dev_gain'], True)} on dev.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True, help=f"records of {BASE_SYSTEM} (experiments/results/all_languages)")
    ap.add_argument("--windowed", type=Path, required=True, help=f"records of {WINDOW_SYSTEM}")
    ap.add_argument("--output", type=Path, required=True, help="markdown summary (summary.json is written beside it)")
    args = ap.parse_args(argv)
    for folder in (args.base, args.windowed):
        if not folder.is_dir():
            raise SystemExit(f"{folder}: no such folder")
    s = compare(args.base, args.windowed)
    if not s["rows"]:
        raise SystemExit(f"{args.windowed}: no training-{WINDOW_SYSTEM}-<lang>.json records")
    args.output.write_text(render(s), encoding="utf-8")
    args.output.with_name("summary.json").write_text(json.dumps(s, indent=1) + "\n", encoding="utf-8")
    print(render(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
