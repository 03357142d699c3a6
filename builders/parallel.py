"""Line-aligned parallel corpora (e.g. MAFAND-MT) as a source of labelled sentence pairs.

Signatures::

    pairs_from_parallel(src_path, tgt_path, target_lang, labeller, report,
                        source_lang="eng", batch_size=256) -> Iterator[SourcePair]
        # in three parts: read_parallel(...) -> ParallelLines; tag_batch(tagger, batch) per
        #                 lines.batches(); lines.pairs(spans, report, tagger_identity)
    mafand_paths(lang, split, data_root=None) -> (english_path, target_path)

Line ``i`` of ``src_path`` translates line ``i`` of ``tgt_path`` (one sentence a line, no
labels). The source side gets its entities from ``labeller``:

* a gold :class:`~silver_ner.builders.conll.ConllFile` that is sentence-parallel to the
  lines (sentence ``i`` <-> line ``i``). The tokens of every label sentence must equal its
  tokenised line (after NFC normalisation; for a French source, elisions split or not; an
  empty source line's sentence is not compared):
  a difference is a :class:`ParallelFileError` naming ``file:line`` of both files, since a
  label file shifted by one sentence would otherwise label every line with its neighbour's
  entities. With ``source_labels_tokens=True`` the label file's tokens are taken instead and
  each difference is counted in ``report.inputs["label_token_mismatches"]``. IOB2 repairs of
  the label file are counted in ``report.inputs["iob2_repairs"]``. Or
* a :class:`~silver_ner.projection.protocols.Tagger` (e.g. :class:`~silver_ner.builders.tagger.HFTagger`)
  run on the tokenised source lines.

Files of different line counts are an error naming both files and the first unpaired line.
A pair with an empty line on either side is dropped and counted (``report.dropped``), its
line numbers listed in ``report.notes``. Target lines are tokenised with
:func:`~silver_ner.builders.wordsplit.tokenize`; so are untagged source lines, and French ones
(``source_lang="fra"``) also have their elisions split off (``l’ONU`` -> ``l’ ONU``).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from silver_ner.projection.protocols import Tagger
from silver_ner.projection.spans import Span

from silver_ner.projection.errors import UserError

from .conll import ConllFile, read_lines
from .sources import SourcePair, SourceReport
from .wordsplit import split_elisions, tokenize


class ParallelFileError(UserError):
    """Line-aligned files (or their labels) that do not pair up; names the files and lines."""


def mafand_paths(lang: str, split: str, data_root: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """``<data_root>/mafand/en-<lang>/<split>.en`` and ``.<lang>``."""
    from .gold import default_data_root

    root = Path(data_root) if data_root is not None else default_data_root()
    folder = root / "mafand" / f"en-{lang}"
    src, tgt = folder / f"{split}.en", folder / f"{split}.{lang}"
    for p in (src, tgt):
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file (MAFAND {lang} {split})")
    return src, tgt


def read_parallel_lines(src_path, tgt_path) -> tuple[list[str], list[str]]:
    """Both files' lines; different counts raise :class:`ParallelFileError` naming the first unpaired line."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        n = min(len(src), len(tgt))
        longer = src_path if len(src) > len(tgt) else tgt_path
        raise ParallelFileError(
            f"{os.fspath(src_path)} has {len(src)} lines but {os.fspath(tgt_path)} has {len(tgt)}: "
            f"line {n + 1} of {os.fspath(longer)} has no partner"
        )
    return src, tgt


def _norm(tokens: list[str]) -> list[str]:
    return [unicodedata.normalize("NFC", t) for t in tokens]


def _line_tokens(line: str, lang: str) -> list[list[str]]:
    """The tokenisations of a source line a label sentence may hold (French: elisions split or not)."""
    toks = tokenize(line)
    return [split_elisions(toks), toks] if lang == "fra" else [toks]


def _same(label_tokens: list[str], line: str, lang: str = "eng") -> bool:
    return any(toks == label_tokens or _norm(toks) == _norm(label_tokens) for toks in _line_tokens(line, lang))


def check_label_tokens(gold: ConllFile, src_lines: list[str], src_name: str, report: SourceReport,
                       take_label_tokens: bool = False, source_lang: str = "eng") -> None:
    """Check that sentence ``i`` of ``gold`` holds the tokens of source line ``i`` (module docstring).

    Records the label file's IOB2 repairs and, with ``take_label_tokens``, the differing
    sentences in ``report.inputs``; otherwise a difference (or a different sentence count)
    raises :class:`ParallelFileError` naming both files' lines.
    """
    report.note_inputs("iob2_repairs", gold.repair_locations())
    n = min(len(gold), len(src_lines))
    differ = [i for i in range(n)
              if src_lines[i].strip() and not _same(gold.sentences[i].tokens, src_lines[i], source_lang)]
    where = [f"{gold.path}:{gold.sentences[i].line} / {src_name}:{i + 1}" for i in differ]
    hint = ("to take the label file's tokens anyway and count the differences, pass --source-labels-tokens "
            "(source_labels_tokens=True)")
    if len(gold) != len(src_lines):
        first = f"; the first label sentence that differs from its line: {where[0]}" if differ else ""
        raise ParallelFileError(
            f"{gold.path} has {len(gold)} sentences but {src_name} has {len(src_lines)} lines; "
            f"source labels must be sentence-parallel to the source lines (one sentence a line){first}"
        )
    if differ and not take_label_tokens:
        i = differ[0]
        sent = gold.sentences[i]
        toks = _line_tokens(src_lines[i], source_lang)[0]
        k = next((k for k, (a, b) in enumerate(zip(sent.tokens, toks)) if a != b), min(len(sent.tokens), len(toks)))
        first = (f"token {k + 1} is {sent.tokens[k]!r} where the line has {toks[k]!r}"
                 if k < min(len(sent.tokens), len(toks)) else
                 f"{len(sent.tokens)} tokens where the tokenised line has {len(toks)}")
        shift = ""
        for j in (i + 1, i - 1):
            if 0 <= j < len(src_lines) and src_lines[j].strip() and _same(sent.tokens, src_lines[j], source_lang):
                shift = f"; label sentence {i + 1} matches line {j + 1}, so the label file looks shifted"
                break
        raise ParallelFileError(
            f"{gold.path}:{sent.line}: tokens of label sentence {i + 1} differ from line {i + 1} of {src_name}: "
            f"{first} ({len(differ)} of {len(gold)} label sentences differ){shift}; {hint}"
        )
    report.note_inputs("label_token_mismatches", where)


TAG_BATCH = 256  # source sentences handed to the tagger at once


@dataclass
class ParallelLines:
    """The read part of :func:`pairs_from_parallel`: the line pairs of two line-aligned files that are kept (both
    sides non-empty), tokenised, in line order, and the empty ones dropped (already counted in the report)."""

    src_name: str
    tgt_name: str
    target_lang: str
    source_lang: str
    gold: ConllFile | None  # the sentence-parallel source labels, else the source side is tagged
    kept: list[tuple[int, list[str], list[str]]] = field(default_factory=list)  # (line index, source, target tokens)
    empty: dict[str, list[int]] = field(default_factory=dict)  # reason -> line numbers

    def batches(self, batch_size: int = TAG_BATCH) -> list[list[list[str]]]:
        """The tagger's inputs: the kept source sentences in batches of ``batch_size``, in line order."""
        toks = [stoks for _, stoks, _ in self.kept]
        return [toks[b : b + batch_size] for b in range(0, len(toks), batch_size)]

    def batch_lines(self, batch_size: int = TAG_BATCH) -> list[list[int]]:
        """The source line numbers of each batch of :meth:`batches`."""
        lines = [i + 1 for i, _, _ in self.kept]
        return [lines[b : b + batch_size] for b in range(0, len(lines), batch_size)]

    def gold_spans(self) -> list[list[Span]]:
        """The label file's spans of every kept line."""
        return [self.gold.sentences[i].spans for i, _, _ in self.kept]

    def pairs(self, spans: Sequence[Sequence[Span]], report: SourceReport,
              tagger_identity: str | None = None) -> Iterator[SourcePair]:
        """The assemble part: one :class:`SourcePair` per kept line with ``spans[k]`` for its ``k``-th source
        sentence (from the label file, or from the tagger ``tagger_identity``); the drops' notes last."""
        if len(spans) != len(self.kept):
            raise ValueError(f"{self.src_name}: {len(spans)} labelled sentences for {len(self.kept)} lines")
        for (i, stoks, ttoks), sent_spans in zip(self.kept, spans):
            origin = {"source_file": self.src_name, "source_line": i + 1, "target_file": self.tgt_name,
                      "target_line": i + 1}
            if self.gold is not None:
                origin["labels"] = f"{self.gold.path}:{self.gold.sentences[i].line}"
            else:
                origin["labels"] = f"tagger:{tagger_identity}"
            report.paired += 1
            yield SourcePair(f"{Path(self.tgt_name).name}:{i + 1}", list(stoks), list(sent_spans), ttoks,
                             self.source_lang, self.target_lang, origin)
        for reason, lines in self.empty.items():
            shown = ", ".join(map(str, lines[:20])) + (" ..." if len(lines) > 20 else "")
            report.notes.append(f"{self.src_name} / {self.tgt_name}: {reason} at line(s) {shown} ({len(lines)} dropped)")


def read_parallel(src_path: str | os.PathLike, tgt_path: str | os.PathLike, target_lang: str, report: SourceReport,
                  *, gold: ConllFile | None = None, source_lang: str = "eng",
                  source_labels_tokens: bool = False) -> ParallelLines:
    """Read both files (and check ``gold`` against the source lines), tokenise, drop and count the empty lines:
    everything of :func:`pairs_from_parallel` but the labels."""
    src_lines, tgt_lines = read_parallel_lines(src_path, tgt_path)
    src_name, tgt_name = os.fspath(src_path), os.fspath(tgt_path)
    if gold is not None:
        check_label_tokens(gold, src_lines, src_name, report, source_labels_tokens, source_lang)
    report.read += len(src_lines)
    out = ParallelLines(src_name, tgt_name, target_lang, source_lang, gold)
    for i, (s, t) in enumerate(zip(src_lines, tgt_lines)):
        s_empty, t_empty = not s.strip(), not t.strip()
        if s_empty or t_empty:
            reason = "empty line on both sides" if s_empty and t_empty else (
                "empty source line" if s_empty else "empty target line")
            report.drop(reason)
            out.empty.setdefault(reason, []).append(i + 1)
            continue
        ttoks = tokenize(t)
        stoks = gold.sentences[i].tokens if gold is not None else tokenize(s)
        if gold is None and source_lang == "fra":
            stoks = split_elisions(stoks)
        out.kept.append((i, stoks, ttoks))
    return out


def tag_batch(tagger: Tagger, sentences: Sequence[Sequence[str]]) -> list[list[Span]]:
    """The model part of :func:`pairs_from_parallel` with a tagger: one batch of :meth:`ParallelLines.batches`."""
    return tagger.tag([list(s) for s in sentences])


def pairs_from_parallel(
    src_path: str | os.PathLike,
    tgt_path: str | os.PathLike,
    target_lang: str,
    labeller: ConllFile | Tagger,
    report: SourceReport,
    *,
    source_lang: str = "eng",
    batch_size: int = TAG_BATCH,
    source_labels_tokens: bool = False,
) -> Iterator[SourcePair]:
    """Yield one :class:`SourcePair` per non-empty line pair (see the module docstring).

    In three parts, which an engine that tags elsewhere calls: :func:`read_parallel`, :func:`tag_batch` per
    batch of :meth:`ParallelLines.batches` (or the label file's spans), :meth:`ParallelLines.pairs`."""
    gold = labeller if isinstance(labeller, ConllFile) else None
    if gold is None and not isinstance(labeller, Tagger):
        raise TypeError(f"labeller must be a ConllFile or a Tagger, got {type(labeller).__name__}")
    lines = read_parallel(src_path, tgt_path, target_lang, report, gold=gold, source_lang=source_lang,
                          source_labels_tokens=source_labels_tokens)
    if gold is not None:
        yield from lines.pairs(lines.gold_spans(), report)
        return
    spans = [s for batch in lines.batches(batch_size) for s in tag_batch(labeller, batch)]
    yield from lines.pairs(spans, report, labeller.identity)
