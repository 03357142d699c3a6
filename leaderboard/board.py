"""The leaderboard: evaluation records of several systems x gold sets in tables and one figure.

A *benchmark* is one dataset and split (``masakhaner2`` test, ``wikiann`` test, ``masakhaner2``
dev); its columns are languages. Every benchmark gets its own table and its own mean, so that
in-domain and out-of-domain scores, or dev and test, never enter one average.

Writes, into an output folder: ``leaderboard.md`` (one table per benchmark: systems as rows
sorted by their mean F1 on it, languages as columns, best of each column in bold, the change
of the mean against a baseline system), ``leaderboard.csv`` (one row per record: system,
dataset, language, split, P, R, F1, sentences), ``leaderboard.json`` (the benchmarks with their
means, the columns and rows of the flat table, and the records), ``results.jsonl`` (the
records one per line, loadable with ``datasets.load_dataset("json", ...)`` and readable again
by the leaderboard and ``publish results``) and ``leaderboard.png`` (a dot plot: one panel per
benchmark, languages down the side, F1 along the bottom, one marker per system, the baseline
in black with a dotted line, missing runs marked ``n/a``).
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from silver_ner.leaderboard.scoring import RESULTS_FILE, read_results_located
from silver_ner.projection.errors import UserError

# the system drawn and compared against when it is present and no other baseline is named
DEFAULT_BASELINE = "direct-transfer"
MAX_PLOT_SYSTEMS = 8
RECORD_SUFFIXES = (".json", ".jsonl")


def _key(rec: dict) -> tuple:
    return (rec["system"], rec["dataset"], rec.get("config"), rec.get("split"), rec.get("language"))


def results_files(folder: Path, *, recursive: bool = False) -> tuple[list[Path], list[str]]:
    """The files of ``folder`` to read records from, and notes on what was left out.

    A folder holding ``eval_results.json`` is a model folder: only that file is read. Any other
    folder gives its ``*.json`` and ``*.jsonl`` files (sorted by name); its subfolders are read
    only when ``recursive`` (so that e.g. a ``dev/`` folder of dev-split records or a previous
    leaderboard's output is never picked up unasked).
    """
    if (folder / RESULTS_FILE).is_file():
        return [folder / RESULTS_FILE], []
    entries = sorted(folder.iterdir())
    files = [p for p in entries if p.is_file() and p.suffix in RECORD_SUFFIXES]
    subfolders = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    notes = []
    if recursive:
        for sub in subfolders:
            more, sub_notes = results_files(sub, recursive=True)
            files += more
            notes += sub_notes
    elif subfolders:
        notes.append(f"{folder}: subfolders not read ({', '.join(p.name for p in subfolders)}); --recursive reads them")
    return files, notes


def collect_records(paths: Sequence[str | os.PathLike], *, recursive: bool = False) -> tuple[list[dict], list[str]]:
    """Records from results files (JSON array, JSON object or JSON lines) and folders.

    A folder is a model folder holding ``eval_results.json`` or a folder of results files (see
    :func:`results_files`); in a folder, JSON files that hold no evaluation records (training
    records, build manifests, summaries) are skipped and listed in the notes. A later record for
    the same system, dataset, config, split and language replaces an earlier one; each
    replacement is reported in the returned notes.
    """
    found: dict[tuple, dict] = {}
    notes = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files, folder_notes = results_files(path, recursive=recursive)
            notes += folder_notes
            skipped = []
            n_before = len(found)
            for f in files:
                located = read_results_located(f, lenient=True)
                if located is None:
                    skipped.append(f.relative_to(path).as_posix())
                else:
                    notes += _add(found, f, located)
            if skipped:
                notes.append(f"{path}: skipped {len(skipped)} JSON files that hold no evaluation records: "
                             + ", ".join(skipped[:8]) + (f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""))
            if len(found) == n_before and not any(f.name == RESULTS_FILE for f in files):
                raise UserError(f"{path}: no evaluation records in the folder's {', '.join(RECORD_SUFFIXES)} files")
        elif path.is_file():
            notes += _add(found, path, read_results_located(path))
        else:
            raise UserError(f"{path}: no such results file or folder")
    if not found:
        raise UserError("no evaluation records in " + ", ".join(str(p) for p in paths))
    return list(found.values()), notes


def _add(found: dict, path: Path, located: list[tuple[str, dict]]) -> list[str]:
    notes = []
    if not located:
        notes.append(f"{path}: no records")
    repeats = 0
    for where, rec in located:
        k = _key(rec)
        if k in found:
            if found[k] == rec:
                repeats += 1
            else:
                notes.append(f"{where} replaces an earlier one for {'/'.join(str(x) for x in k if x)}")
        found[k] = rec
    if repeats:
        notes.append(f"{path}: {repeats} records repeat earlier ones unchanged")
    return notes


def column_name(rec: dict) -> str:
    """``masakhaner2 swa`` (plus the split when it is not ``test``): a column of the flat table."""
    name = f"{rec['dataset']} {rec['language'] or rec.get('config') or ''}".strip()
    if rec.get("split") not in (None, "test"):
        name += f" ({rec['split']})"
    return name


def pivot(records: Sequence[dict]) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
    """The flat table: systems (rows), gold-set columns (dataset then language order) and F1 per cell."""
    systems = list(dict.fromkeys(r["system"] for r in records))
    cols = sorted({column_name(r) for r in records})
    cells = {(r["system"], column_name(r)): float(r["metrics"]["f1"]) for r in records}
    return systems, cols, cells


def _language(rec: dict) -> str:
    return str(rec.get("language") or rec.get("config") or "-")


@dataclass
class Benchmark:
    """One dataset and split: its languages and the F1 of each system on each of them."""

    dataset: str
    split: str | None
    languages: list[str]
    cells: dict[tuple[str, str], float]
    sizes: dict[str, set] = field(default_factory=dict)
    label: str | None = None

    @property
    def name(self) -> str:
        return f"{self.dataset} ({self.split})" if self.split else self.dataset

    @property
    def heading(self) -> str:
        return f"{self.label}: {self.name}" if self.label else self.name

    @property
    def title(self) -> str:
        return self.label or self.name

    def mean(self, system: str) -> float | None:
        """Mean F1 over the benchmark's languages; ``None`` unless the system has all of them."""
        vals = [self.cells.get((system, lang)) for lang in self.languages]
        return None if any(v is None for v in vals) else sum(vals) / len(vals)

    def systems(self) -> list[str]:
        """Systems scored on the benchmark, best mean first; systems lacking a language after those."""
        names = {s for s, _ in self.cells}

        def rank(s):
            m = self.mean(s)
            have = sum((s, lang) in self.cells for lang in self.languages)
            return (m is None, -(m or 0.0), -have, s)

        return sorted(names, key=rank)


def benchmarks(records: Sequence[dict], labels: Mapping[str, str] | None = None) -> list[Benchmark]:
    """One :class:`Benchmark` per dataset and split: the test split first, then by number of records."""
    labels = dict(labels or {})
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["dataset"], r.get("split")), []).append(r)
    out = []
    for (dataset, split), recs in groups.items():
        sizes: dict[str, set] = {}
        for r in recs:
            sizes.setdefault(_language(r), set()).add(r.get("n_sentences"))
        out.append(Benchmark(dataset, split, sorted(sizes), {(r["system"], _language(r)): float(r["metrics"]["f1"]) for r in recs},
                             sizes, labels.get(dataset)))
    counts = {(b.dataset, b.split): len(groups[(b.dataset, b.split)]) for b in out}
    return sorted(out, key=lambda b: (b.split != "test", -counts[(b.dataset, b.split)], b.dataset, str(b.split)))


def parse_labels(items: Sequence[str]) -> dict[str, str]:
    """``["masakhaner2=MasakhaNER 2.0 (in-domain)"]`` -> ``{"masakhaner2": "MasakhaNER 2.0 (in-domain)"}``."""
    labels = {}
    for item in items:
        dataset, sep, text = item.partition("=")
        if not sep or not dataset.strip() or not text.strip():
            raise UserError(f"--label {item}: expected DATASET=TEXT")
        labels[dataset.strip()] = text.strip()
    return labels


def resolve_baseline(records: Sequence[dict], baseline: str | None) -> str | None:
    """``baseline`` (which must be a system of the records), else ``direct-transfer`` when present, else none."""
    systems = list(dict.fromkeys(r["system"] for r in records))
    if baseline is None:
        return DEFAULT_BASELINE if DEFAULT_BASELINE in systems else None
    if baseline not in systems:
        raise UserError(f"--baseline {baseline}: no such system (systems: {', '.join(systems)})")
    return baseline


def ranked_systems(benches: Sequence[Benchmark]) -> list[str]:
    """Every system, in the order of the first benchmark's ranking, then the next benchmark's for the rest."""
    order: list[str] = []
    for b in benches:
        order += [s for s in b.systems() if s not in order]
    return order


def figure_systems(benches: Sequence[Benchmark], baseline: str | None, *, systems: Sequence[str] | None = None,
                   max_systems: int = MAX_PLOT_SYSTEMS) -> tuple[list[str], list[str]]:
    """The systems to draw (ranked, the baseline always among them) and those left out.

    ``systems`` chooses them by name; otherwise the ``max_systems`` best by the first
    benchmark's mean (complete rows first), counting the baseline.
    """
    ranking = ranked_systems(benches)
    if systems:
        unknown = [s for s in systems if s not in ranking]
        if unknown:
            raise UserError(f"--plot-system {unknown[0]}: no such system (systems: {', '.join(ranking)})")
        chosen = set(systems) | ({baseline} if baseline else set())
    else:
        if max_systems < 1:
            raise UserError(f"--max-plot-systems {max_systems}: must be at least 1")
        chosen = set(ranking[:max_systems])
        if baseline and baseline not in chosen:
            chosen = set([s for s in ranking if s != baseline][: max_systems - 1]) | {baseline}
    shown = [s for s in ranking if s in chosen]
    return shown, [s for s in ranking if s not in chosen]


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def _bold_if_best(v: float | None, best: str | None) -> str:
    text = _fmt(v)
    return f"**{text}**" if v is not None and text == best else text


def markdown_table(records: Sequence[dict], title: str | None = None, *, baseline: str | None = None,
                   labels: Mapping[str, str] | None = None, figure: tuple[list[str], list[str]] | None = None) -> str:
    """One table per benchmark (see the module docstring); ``figure``: the systems drawn and left out."""
    benches = benchmarks(records, labels)
    lines = [f"**{title}**", ""] if title else []
    for b in benches:
        systems = b.systems()
        delta = baseline is not None and b.mean(baseline) is not None
        lines += [f"### {b.heading}", ""]
        head = ["system", *b.languages, "mean"] + ([f"Δ mean vs {baseline}"] if delta else [])
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|---|" + "---:|" * (len(head) - 1))
        best = {lang: max((_fmt(b.cells[(s, lang)]) for s in systems if (s, lang) in b.cells), key=float)
                for lang in b.languages}
        means = {s: b.mean(s) for s in systems}
        have = [m for m in means.values() if m is not None]
        best_mean = _fmt(max(have)) if have else None
        for s in systems:
            cells = [_bold_if_best(b.cells.get((s, lang)), best[lang]) for lang in b.languages]
            cells.append(_bold_if_best(means[s], best_mean))
            if delta:
                base = b.mean(baseline)
                cells.append("" if s == baseline else "n/a" if means[s] is None else f"{100 * (means[s] - base):+.1f}")
            name = f"{s} (baseline)" if s == baseline else s
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "Sentences scored: " + "; ".join(
            f"{lang} {'/'.join(str(n) for n in sorted(b.sizes[lang], key=str))}" for lang in b.languages) + ".", ""]
    lines.append("Entity-level F1 x 100, strict IOB2 (seqeval), on the entity types the system and the gold set share. "
                 "One table per dataset and split; mean over the table's languages, only for systems scored on all of "
                 "them (n/a otherwise); rows sorted by that mean; best of each column in bold"
                 + (f"; Δ: the mean minus that of the baseline, {baseline}." if baseline else "."))
    ignored = sorted({f"{r['dataset']}: {', '.join(r['labels']['ignored_gold'])}" for r in records
                      if r.get("labels", {}).get("ignored_gold")})
    if ignored:
        lines.append("Gold types not scored (no system of that row predicts them): " + "; ".join(ignored) + ".")
    if figure is not None:
        shown, omitted = figure
        lines.append(f"Figure (leaderboard.png): {len(shown)} systems, ranked by their mean on {benches[0].name}"
                     + (f", with the baseline {baseline}" if baseline else "")
                     + (f"; omitted from the figure: {', '.join(omitted)}." if omitted else "."))
    return "\n".join(lines) + "\n"


# colours (tab10 without its grey, which is too close to the baseline's black) and markers; the
# pair (colour, marker) of every system differs from all others for up to 90 systems
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
MARKERS = ("o", "s", "^", "v", "P", "X", "<", ">", "h", "p")


def _panel_rows(benches: Sequence[Benchmark]) -> list[list[str]] | list[str]:
    """The language rows: shared by every panel when their languages largely overlap, else one list per panel."""
    union = sorted({lang for b in benches for lang in b.languages})
    if len(union) <= 1.5 * max(len(b.languages) for b in benches):
        return union
    return [b.languages for b in benches]


def leaderboard_figure(records: Sequence[dict], *, title: str = "", baseline: str | None = None,
                       systems: Sequence[str] | None = None, max_systems: int = MAX_PLOT_SYSTEMS,
                       labels: Mapping[str, str] | None = None):
    """The leaderboard's figure: ``(matplotlib Figure, systems drawn, systems omitted)``.

    One panel per benchmark; in each, a block per language (and a ``mean`` block on top) holds one
    row per system, drawn as a marker at its F1 (systems in ranking order, the same in every
    panel). The baseline is black, larger, and a dotted line through each block marks its F1. A
    system with no record for a language gets ``n/a`` in place of its marker; a language a
    benchmark does not have is greyed out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MultipleLocator

    benches = benchmarks(records, labels)
    baseline = resolve_baseline(records, baseline)
    shown, omitted = figure_systems(benches, baseline, systems=systems, max_systems=max_systems)
    rows = _panel_rows(benches)
    shared = bool(rows) and isinstance(rows[0], str)
    panel_rows = [rows if shared else rows[i] for i in range(len(benches))]
    n_blocks = 1 + max(len(r) for r in panel_rows)
    k = len(shown)
    # height of one system's row in inches: roomy for a few blocks, tighter when there are many
    step = max(0.045, min(0.085, (8.5 / n_blocks - 0.12) / k))
    block_h = 0.12 + k * step
    ncols = min(len(benches), 3)
    nrows = math.ceil(len(benches) / ncols)
    legend_cols = 2 if max(len(s) for s in shown) > 24 else 3
    legend_h = 0.35 + 0.17 * math.ceil(k / legend_cols)
    width = max(6.0, 3.0 * ncols + 1.2)
    height = nrows * (n_blocks * block_h + 0.6) + legend_h + (0.35 if title else 0.0)
    marker_size = max(2.8, min(5.0, step * 72 * 0.75))
    style = {}
    for i, s in enumerate(x for x in shown if x != baseline):
        style[s] = dict(color=COLOURS[i % len(COLOURS)], marker=MARKERS[i % len(MARKERS)], markersize=marker_size)
    if baseline:
        style[baseline] = dict(color="black", marker="D", markersize=marker_size + 1.2)

    values = [b.cells[(s, lang)] for b in benches for s in shown for lang in b.languages if (s, lang) in b.cells]
    lo = max(0.0, math.floor((100 * min(values) - 2) / 5) * 5) if values else 0.0
    hi = min(100.0, math.ceil((100 * max(values) + 2) / 5) * 5) if values else 100.0
    span = hi - lo

    with plt.rc_context({"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7.5}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", squeeze=False,
                                 sharex=True, sharey=shared)
        for ax in axes.flat[len(benches):]:
            ax.set_visible(False)
        for b, ax, langs in zip(benches, axes.flat, panel_rows):
            blocks = ["mean", *langs]
            offsets = {s: (j - (k - 1) / 2) * step / block_h for j, s in enumerate(shown)}
            for y in range(len(blocks)):
                ax.axhline(y + 0.5, color="0.85", lw=0.6, zorder=0)
            ax.axhline(0.5, color="0.5", lw=0.8, zorder=0)
            for y, lang in enumerate(blocks):
                if lang != "mean" and lang not in b.languages:
                    ax.axhspan(y - 0.5, y + 0.5, color="0.95", zorder=0)
                    ax.text(lo + span / 2, y, f"not in {b.dataset}", ha="center", va="center", fontsize=7,
                            color="0.55", style="italic")
                    continue
                base = b.mean(baseline) if lang == "mean" and baseline else b.cells.get((baseline, lang)) if baseline else None
                if base is not None:
                    ax.plot([100 * base] * 2, [y - 0.45, y + 0.45], color="black", lw=0.8, ls=":", zorder=1,
                            label="_baseline")
            for s in shown:
                xs, ys = [], []
                for y, lang in enumerate(blocks):
                    v = b.mean(s) if lang == "mean" else b.cells.get((s, lang))
                    xs.append(float("nan") if v is None else 100 * v)
                    ys.append(y + offsets[s])
                    if lang != "mean" and lang not in b.languages:
                        continue
                    if v is None:
                        ax.text(lo - 0.02 * span, y + offsets[s], "n/a", ha="left", va="center", fontsize=5.5,
                                color=style[s]["color"])
                    elif lang == "mean":
                        ax.annotate(f"{100 * v:.1f}", (100 * v, y + offsets[s]), xytext=(5, 0), textcoords="offset points",
                                    ha="left", va="center", fontsize=5.5, color=style[s]["color"])
                ax.plot(xs, ys, ls="none", label=s, zorder=3 if s == baseline else 2, **style[s])
            ax.set_yticks(range(len(blocks)), blocks)
            ax.tick_params(axis="y", length=0)
            for label in ax.get_yticklabels():
                label.set_fontweight("bold" if label.get_text() == "mean" else "normal")
            ax.set_ylim(n_blocks - 0.5, -0.5)
            ax.set_xlim(lo - 0.025 * span, hi)  # a little room left of the lowest grid line for a 0.0
            ax.xaxis.set_major_locator(MultipleLocator(10 if span <= 80 else 20))
            ax.grid(axis="x", color="0.9", lw=0.6)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            ax.set_title(b.title)
            ax.set_xlabel("entity F1 × 100 (strict IOB2)")
        if title:
            fig.suptitle(title, fontsize=10)
        handles = [Line2D([], [], ls="none", **style[s]) for s in shown]
        names = [f"{s} (baseline, dotted line)" if s == baseline else s for s in shown]
        legend_title = f"systems, best mean on {benches[0].title} first"
        if omitted:
            legend_title += f" ({len(omitted)} more in leaderboard.md)"
        fig.legend(handles, names, loc="outside lower center", ncols=legend_cols, frameon=False, title=legend_title,
                   title_fontsize=7.5)
    return fig, shown, omitted


def plot(records: Sequence[dict], path: str | os.PathLike, title: str = "", **options) -> Path:
    """Write :func:`leaderboard_figure` as a PNG (200 dpi)."""
    import matplotlib.pyplot as plt

    fig, _, _ = leaderboard_figure(records, title=title, **options)
    path = Path(path)
    fig.savefig(path, dpi=200)
    plt.close(fig)
    return path


def write_leaderboard(records: Sequence[dict], output: str | os.PathLike, *, split: str | None = "test",
                      title: str = "Entity-level F1 (strict IOB2)", baseline: str | None = None,
                      plot_systems: Sequence[str] | None = None, max_plot_systems: int = MAX_PLOT_SYSTEMS,
                      labels: Mapping[str, str] | None = None) -> dict:
    """Write the tables (md, csv, json), ``results.jsonl`` and the PNG; returns the paths and the markdown.

    ``baseline``: the system to compare against (default ``direct-transfer`` when present);
    ``plot_systems`` / ``max_plot_systems``: the systems of the figure (default the 8 best);
    ``labels``: display names of datasets (``{"masakhaner2": "MasakhaNER 2.0 (in-domain)"}``).
    """
    recs = [r for r in records if split is None or r.get("split") == split]
    if not recs:
        have = sorted({str(r.get("split")) for r in records})
        raise UserError(f"no records for split {split!r} (splits present: {', '.join(have)}); use --split")
    baseline = resolve_baseline(recs, baseline)
    benches = benchmarks(recs, labels)
    figure = figure_systems(benches, baseline, systems=plot_systems, max_systems=max_plot_systems)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    md = markdown_table(recs, title, baseline=baseline, labels=labels, figure=figure)
    (out / "leaderboard.md").write_text(md, encoding="utf-8")
    with open(out / "leaderboard.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["system", "dataset", "config", "split", "language", "precision", "recall", "f1", "n_sentences", "model"])
        for r in recs:
            m = r["metrics"]
            w.writerow([r["system"], r["dataset"], r.get("config") or "", r.get("split") or "", r.get("language") or "",
                        f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", r.get("n_sentences", ""), r.get("model", "")])
    systems, cols, cells = pivot(recs)
    table = {
        "benchmarks": [{"dataset": b.dataset, "split": b.split, "label": b.label, "languages": b.languages,
                        "systems": b.systems(), "means": {s: b.mean(s) for s in b.systems()}} for b in benches],
        "baseline": baseline,
        "figure": {"systems": figure[0], "omitted": figure[1]},
        "columns": cols,
        "rows": [{"system": s, "f1": {c: cells.get((s, c)) for c in cols}} for s in systems],
        "records": list(recs),
    }
    (out / "leaderboard.json").write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    png = plot(recs, out / "leaderboard.png", title, baseline=baseline, systems=plot_systems,
               max_systems=max_plot_systems, labels=labels)
    return {"markdown": out / "leaderboard.md", "csv": out / "leaderboard.csv", "json": out / "leaderboard.json",
            "jsonl": out / "results.jsonl", "png": png, "markdown_text": md}
