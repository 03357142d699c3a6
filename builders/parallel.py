"""Line-aligned parallel corpora (e.g. MAFAND-MT) as a source of labelled sentence pairs.

Signatures::

    pairs_from_parallel(src_path, tgt_path, target_lang, labeller, report,
                        source_lang="eng", batch_size=256) -> Iterator[SourcePair]
    mafand_paths(lang, split, data_root=None) -> (english_path, target_path)

Line ``i`` of ``src_path`` translates line ``i`` of ``tgt_path`` (one sentence a line, no
labels). The source side gets its entities from ``labeller``:

* a gold :class:`~silver_ner.builders.conll.ConllFile` that is sentence-parallel to the
  lines (sentence ``i`` <-> line ``i``; its tokens replace the tokenised line), or
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
from pathlib import Path
from typing import Iterator

from silver_ner.projection.protocols import Tagger

from .conll import ConllFile, read_lines
from .sources import SourcePair, SourceReport
from .wordsplit import split_elisions, tokenize


class ParallelFileError(ValueError):
    pass


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


def pairs_from_parallel(
    src_path: str | os.PathLike,
    tgt_path: str | os.PathLike,
    target_lang: str,
    labeller: ConllFile | Tagger,
    report: SourceReport,
    *,
    source_lang: str = "eng",
    batch_size: int = 256,
) -> Iterator[SourcePair]:
    """Yield one :class:`SourcePair` per non-empty line pair (see the module docstring)."""
    src_lines, tgt_lines = read_parallel_lines(src_path, tgt_path)
    src_name, tgt_name = os.fspath(src_path), os.fspath(tgt_path)
    gold = labeller if isinstance(labeller, ConllFile) else None
    if gold is None and not isinstance(labeller, Tagger):
        raise TypeError(f"labeller must be a ConllFile or a Tagger, got {type(labeller).__name__}")
    if gold is not None and len(gold) != len(src_lines):
        raise ParallelFileError(
            f"{gold.path} has {len(gold)} sentences but {src_name} has {len(src_lines)} lines; "
            "a gold labeller must be sentence-parallel to the source lines"
        )
    report.read += len(src_lines)
    empty: dict[str, list[int]] = {}
    todo: list[tuple[int, list[str], list[str]]] = []

    def flush() -> Iterator[SourcePair]:
        if not todo:
            return
        if gold is not None:
            spans_list = [gold.sentences[i].spans for i, _, _ in todo]
        else:
            spans_list = labeller.tag([toks for _, toks, _ in todo])
        for (i, stoks, ttoks), spans in zip(todo, spans_list):
            origin = {"source_file": src_name, "source_line": i + 1, "target_file": tgt_name, "target_line": i + 1}
            if gold is not None:
                origin["labels"] = f"{gold.path}:{gold.sentences[i].line}"
            else:
                origin["labels"] = f"tagger:{labeller.identity}"
            report.paired += 1
            yield SourcePair(f"{Path(tgt_name).name}:{i + 1}", list(stoks), list(spans), ttoks,
                             source_lang, target_lang, origin)
        todo.clear()

    for i, (s, t) in enumerate(zip(src_lines, tgt_lines)):
        s_empty, t_empty = not s.strip(), not t.strip()
        if s_empty or t_empty:
            reason = "empty line on both sides" if s_empty and t_empty else (
                "empty source line" if s_empty else "empty target line")
            report.drop(reason)
            empty.setdefault(reason, []).append(i + 1)
            continue
        ttoks = tokenize(t)
        stoks = gold.sentences[i].tokens if gold is not None else tokenize(s)
        if gold is None and source_lang == "fra":
            stoks = split_elisions(stoks)
        todo.append((i, stoks, ttoks))
        if len(todo) >= batch_size:
            yield from flush()
    yield from flush()
    for reason, lines in empty.items():
        shown = ", ".join(map(str, lines[:20])) + (" ..." if len(lines) > 20 else "")
        report.notes.append(f"{src_name} / {tgt_name}: {reason} at line(s) {shown} ({len(lines)} dropped)")
