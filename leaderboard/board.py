"""The leaderboard: evaluation records of several systems x gold sets in one table and one plot.

Writes, into an output folder: ``leaderboard.md`` (systems as rows, gold sets as columns,
F1), ``leaderboard.csv`` (one row per record: system, dataset, language, split, P, R, F1,
sentences), ``leaderboard.json`` (columns, rows and the records), ``results.jsonl`` (the
records one per line, loadable with ``datasets.load_dataset("json", ...)``) and
``leaderboard.png`` (F1 per language, one bar per system).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Sequence

from silver_ner.leaderboard.scoring import RESULTS_FILE, read_results

REQUIRED = ("system", "dataset", "split", "language", "metrics")


def _key(rec: dict) -> tuple:
    return (rec["system"], rec["dataset"], rec.get("config"), rec.get("split"), rec.get("language"))


def collect_records(paths: Sequence[str | os.PathLike]) -> tuple[list[dict], list[str]]:
    """Records from ``eval_results.json`` files or model folders holding one.

    A later record for the same system, dataset, config, split and language replaces an
    earlier one; each replacement is reported in the returned notes.
    """
    found: dict[tuple, dict] = {}
    notes = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            path = path / RESULTS_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such results file")
        recs = read_results(path)
        if not recs:
            notes.append(f"{path}: no records")
        for i, rec in enumerate(recs):
            missing = [k for k in REQUIRED if k not in rec]
            if missing or "f1" not in rec.get("metrics", {}):
                raise ValueError(f"{path}: record {i + 1} lacks {', '.join(missing) or 'metrics.f1'}")
            k = _key(rec)
            if k in found:
                notes.append(f"{path}: record {i + 1} replaces an earlier one for {'/'.join(str(x) for x in k if x)}")
            found[k] = rec
    if not found:
        raise ValueError("no evaluation records in " + ", ".join(str(p) for p in paths))
    return list(found.values()), notes


def column_name(rec: dict) -> str:
    """``masakhaner2 swa`` (plus the split when it is not ``test``)."""
    name = f"{rec['dataset']} {rec['language'] or rec.get('config') or ''}".strip()
    if rec.get("split") not in (None, "test"):
        name += f" ({rec['split']})"
    return name


def pivot(records: Sequence[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
    """Systems (rows), gold-set columns (dataset then language order) and F1 per cell."""
    systems = list(dict.fromkeys(r["system"] for r in records))
    cols = sorted({column_name(r) for r in records})
    cells = {(r["system"], column_name(r)): float(r["metrics"]["f1"]) for r in records}
    return systems, cols, cells


def markdown_table(records: Sequence[dict], title: str | None = None) -> str:
    systems, cols, cells = pivot(records)
    lines = [f"**{title}**", ""] if title else []
    lines.append("| system | " + " | ".join(cols) + " | mean |")
    lines.append("|---|" + "---:|" * (len(cols) + 1))
    for s in systems:
        vals = [cells.get((s, c)) for c in cols]
        have = [v for v in vals if v is not None]
        mean = f"{100 * sum(have) / len(have):.1f}" if len(have) == len(cols) else "-"
        lines.append(f"| {s} | " + " | ".join(f"{100 * v:.1f}" if v is not None else "-" for v in vals) + f" | {mean} |")
    lines.append("")
    lines.append("Entity-level F1 x 100, strict IOB2 (seqeval), on the entity types the system and the gold set share;"
                 " mean only over complete rows.")
    sizes = {}
    for r in records:
        sizes.setdefault(column_name(r), set()).add(r.get("n_sentences"))
    lines.append("Sentences scored: " + "; ".join(f"{c} {'/'.join(str(n) for n in sorted(sizes[c], key=str))}" for c in cols) + ".")
    ignored = sorted({f"{r['dataset']}: {', '.join(r['labels']['ignored_gold'])}" for r in records
                      if r.get("labels", {}).get("ignored_gold")})
    if ignored:
        lines.append("Gold types not scored (no system of that row predicts them): " + "; ".join(ignored) + ".")
    return "\n".join(lines) + "\n"


def plot(records: Sequence[dict], path: str | os.PathLike, title: str = "") -> Path:
    """Grouped bars: one group per gold-set column, one bar per system (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems, cols, cells = pivot(records)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(cols) * max(1, len(systems)) ** 0.5 + 2), 4.2))
    width = 0.8 / max(1, len(systems))
    for i, s in enumerate(systems):
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(cols))]
        ys = [100 * cells.get((s, c), float("nan")) for c in cols]
        bars = ax.bar(xs, ys, width, label=s)
        for b, y in zip(bars, ys):
            if y == y:  # not NaN
                ax.annotate(f"{y:.1f}", (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=30, ha="right")
    ax.set_ylabel("F1 (entity level, strict)")
    ax.set_ylim(0, 100)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_leaderboard(records: Sequence[dict], output: str | os.PathLike, *, split: str | None = "test",
                      title: str = "Entity-level F1 (strict IOB2)") -> dict:
    """Write the table (md, csv, json), ``results.jsonl`` and the PNG; returns the paths and the markdown."""
    recs = [r for r in records if split is None or r.get("split") == split]
    if not recs:
        have = sorted({str(r.get("split")) for r in records})
        raise ValueError(f"no records for split {split!r} (splits present: {', '.join(have)}); use --split")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    md = markdown_table(recs, title)
    (out / "leaderboard.md").write_text(md, encoding="utf-8")
    with open(out / "leaderboard.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["system", "dataset", "config", "split", "language", "precision", "recall", "f1", "n_sentences", "model"])
        for r in recs:
            m = r["metrics"]
            w.writerow([r["system"], r["dataset"], r.get("config") or "", r.get("split") or "", r.get("language") or "",
                        f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", r.get("n_sentences", ""), r.get("model", "")])
    systems, cols, cells = pivot(recs)
    table = {"columns": cols, "rows": [{"system": s, "f1": {c: cells.get((s, c)) for c in cols}} for s in systems],
             "records": list(recs)}
    (out / "leaderboard.json").write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    png = plot(recs, out / "leaderboard.png", title)
    return {"markdown": out / "leaderboard.md", "csv": out / "leaderboard.csv", "json": out / "leaderboard.json",
            "jsonl": out / "results.jsonl", "png": png, "markdown_text": md}
