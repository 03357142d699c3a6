"""The corpora a silver build can read, with their licences and citations, and portable file names.

:data:`CORPORA` is the one table of known corpora: id, name, Hub dataset id, licence (a Hub
licence id, ``other`` with the terms spelled out), the restrictions the licence carries,
citation, and where its files lie (under the data folder, or the embedded sample).

:func:`identify` names the corpus of an input file; :func:`sources_of` turns the files a build
read into the manifest's ``sources`` records (a file of no known corpus is a *user* source whose
licence must be declared with ``--source-license``). :func:`portable_path` turns a local path into
what may leave the machine: the path under the data folder (``masakhaner2/swa/train.txt``), the
sample's ``samples/eng.conll``, or the bare file name; :func:`portable` applies it to every
absolute path inside a JSON-like value (rows' ``origin``, records).

A file derived from known corpora outside the data folder (a filtered pool of MAFAND-MT lines)
keeps its corpus through a *provenance sidecar* ``<file>.provenance.json`` beside it
(:func:`write_provenance`, :func:`read_provenance`): it names the original files relative to the
data folder, the filter applied and the derived file's SHA-256. :func:`identify` and
:func:`sources_of` then record the original corpus (licence, citation, original file names) with a
``derived`` note naming the file and its filter.

:func:`configs_readme` renders the ``README.md`` a build writes into its output folder, so that
``datasets.load_dataset(folder, lang)`` loads one config per language like the Hub repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_ID = "silver-ner-sample"


@dataclass(frozen=True)
class Corpus:
    id: str
    name: str
    license: str  # a Hub licence id; "other": custom terms (``terms``)
    citation: str = ""
    hub_id: str = ""  # the Hub dataset id, for links and model-index
    terms: str = ""
    restrictions: tuple[str, ...] = ()  # for "other": nc, sa, nd, custom
    local: tuple[str, ...] = ()  # folders under the data root that hold its files

    def record(self, files: Iterable[str] = (), roles: Iterable[str] = ()) -> dict[str, Any]:
        """This corpus as a manifest ``sources`` record."""
        rec: dict[str, Any] = {"id": self.id, "name": self.name, "license": self.license}
        if self.hub_id:
            rec["hub_id"] = self.hub_id
        if self.terms:
            rec["license_terms"] = self.terms
        if self.license == "other":
            rec["restrictions"] = list(self.restrictions)
        if self.citation:
            rec["citation"] = self.citation
        rec["files"] = sorted(set(files))
        rec["roles"] = sorted(set(roles))
        return rec


CORPORA: dict[str, Corpus] = {c.id: c for c in (
    Corpus(
        "conll2003", "CoNLL-2003 (English)", "other", hub_id="eriktks/conll2003",
        terms="CoNLL-2003 text comes from the Reuters Corpus (RCV1), available for research use under the "
              "Reuters Corpus agreement; redistribution and commercial use are not permitted by those terms",
        restrictions=("custom", "nc"), local=("conll2003_en",),
        citation="""@inproceedings{tjong-kim-sang-de-meulder-2003-introduction,
  title = {Introduction to the {C}o{NLL}-2003 Shared Task: Language-Independent Named Entity Recognition},
  author = {Tjong Kim Sang, Erik F. and De Meulder, Fien},
  booktitle = {Proceedings of the Seventh Conference on Natural Language Learning at HLT-NAACL 2003},
  year = {2003},
  pages = {142--147}
}"""),
    Corpus(
        "masakhaner2", "MasakhaNER 2.0", "cc-by-nc-4.0", hub_id="masakhane/masakhaner2", local=("masakhaner2",),
        citation="""@inproceedings{adelani-etal-2022-masakhaner,
  title = {{M}asakha{NER} 2.0: {A}frica-centric Transfer Learning for Named Entity Recognition},
  author = {Adelani, David Ifeoluwa and others},
  booktitle = {Proceedings of the 2022 Conference on Empirical Methods in Natural Language Processing},
  year = {2022},
  pages = {4488--4508}
}"""),
    Corpus(
        "mafand", "MAFAND-MT", "cc-by-nc-4.0", hub_id="masakhane/mafand", local=("mafand",),
        citation="""@inproceedings{adelani-etal-2022-thousand,
  title = {A Few Thousand Translations Go a Long Way! Leveraging Pre-trained Models for {A}frican News Translation},
  author = {Adelani, David Ifeoluwa and others},
  booktitle = {Proceedings of the 2022 Conference of the North American Chapter of the Association for Computational Linguistics},
  year = {2022},
  pages = {3053--3070}
}"""),
    Corpus(
        "europarl", "Europarl NER gold (Agerri et al. 2018)", "other",
        terms="Europarl: no known copyright restrictions", restrictions=(), local=("europarl_gold",),
        citation="""@inproceedings{agerri-etal-2018-building,
  title = {Building Named Entity Recognition Taggers via Parallel Corpora},
  author = {Agerri, Rodrigo and Chung, Yiling and Aldabe, Itziar and Aranberri, Nora and Labaka, Gorka and Rigau, German},
  booktitle = {Proceedings of the Eleventh International Conference on Language Resources and Evaluation (LREC 2018)},
  year = {2018}
}"""),
    Corpus(
        "tprojection", "T-Projection machine-translated CoNLL-2003", "apache-2.0", local=("tprojection_mt",),
        citation="""@inproceedings{garcia-ferrero-etal-2023-t,
  title = {T-Projection: High Quality Annotation Projection for Sequence Labeling Tasks},
  author = {Garc{\\'i}a-Ferrero, Iker and Agerri, Rodrigo and Rigau, German},
  booktitle = {Findings of the Association for Computational Linguistics: EMNLP 2023},
  year = {2023}
}"""),
    Corpus(
        "wikiann", "WikiANN", "odc-by", hub_id="unimelb-nlp/wikiann", local=("wikiann_rahimi",),
        citation="""@inproceedings{pan-etal-2017-cross,
  title = {Cross-lingual Name Tagging and Linking for 282 Languages},
  author = {Pan, Xiaoman and Zhang, Boliang and May, Jonathan and Nothman, Joel and Knight, Kevin and Ji, Heng},
  booktitle = {Proceedings of the 55th Annual Meeting of the Association for Computational Linguistics},
  year = {2017},
  pages = {1946--1958}
}"""),
    Corpus(SAMPLE_ID, "silver-ner embedded sample (30 English sentences with Swahili and German translations)",
           "apache-2.0"),
)}


def hub_dataset_id(name: str) -> str:
    """The Hub dataset id of a corpus named by its local id (``masakhaner2`` → ``masakhane/masakhaner2``)."""
    corpus = CORPORA.get(str(name).lower())
    return corpus.hub_id if corpus and corpus.hub_id else str(name)


def corpus_name(name: str) -> str:
    corpus = CORPORA.get(str(name).lower())
    return corpus.name if corpus else str(name)


def data_root() -> Path:
    from .gold import default_data_root

    return default_data_root()


def _under(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _locate(path: str | os.PathLike) -> tuple[str | None, str]:
    """``(corpus id or None, portable file name)`` of a file from where it lies (no sidecar read)."""
    p = Path(path)
    if not p.is_absolute():  # already relative to the data folder, as a manifest may name it
        top = p.parts[0] if p.parts else ""
        return next((c.id for c in CORPORA.values() if top in c.local), None), p.as_posix()
    rel = _under(p, SAMPLES_DIR)
    if rel is not None:
        return SAMPLE_ID, f"samples/{rel}"
    rel = _under(p, data_root())
    if rel is not None:
        top = rel.split("/", 1)[0]
        for corpus in CORPORA.values():
            if top in corpus.local:
                return corpus.id, rel
        return None, rel
    return None, p.name


def identify(path: str | os.PathLike) -> tuple[str | None, str]:
    """``(corpus id or None, portable file name)`` of an input file.

    A file outside the data folder with a provenance sidecar (:func:`read_provenance`) is of the
    corpus its sidecar names (``None`` when it names several); its portable name is its file name.
    """
    cid, name = _locate(path)
    if cid is None:
        prov = read_provenance(path)
        if prov is not None and len(prov["corpora"]) == 1:
            return next(iter(prov["corpora"])), name
    return cid, name


# -- provenance sidecars of derived files ---------------------------------------------------------

PROVENANCE_SUFFIX = ".provenance.json"
PROVENANCE_FORMAT = "silver-ner-provenance/1"


def provenance_path(path: str | os.PathLike) -> Path:
    """The sidecar of a derived file: ``<file>.provenance.json`` beside it."""
    return Path(os.fspath(path) + PROVENANCE_SUFFIX)


def _sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_provenance(path: str | os.PathLike, derived_from: list[dict[str, Any]], filter: str,
                     tool: str = "", **extra: Any) -> Path:
    """Write the sidecar of the derived file ``path`` (written before) and return the sidecar's path.

    ``derived_from`` lists the original files, each ``{"file": path relative to the data folder, ...}``
    with whatever counts the derivation knows (``lines``, ``kept``, ``dropped_lines``); ``filter`` says
    in words what was left out or changed. The sidecar records ``path``'s SHA-256 and line count, so a
    file rewritten without its sidecar is caught when read.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        lines = sum(1 for _ in fh)
    doc = {"format": PROVENANCE_FORMAT, "file": path.name, "sha256": _sha256(path), "lines": lines,
           "derived_from": list(derived_from), "filter": filter}
    if tool:
        doc["tool"] = tool
    doc.update(extra)
    side = provenance_path(path)
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, side)
    return side


def read_provenance(path: str | os.PathLike) -> dict[str, Any] | None:
    """The checked sidecar of ``path``, or ``None`` when there is none.

    The returned document carries ``corpora``: ``{corpus id: [original files]}``. Malformed JSON, a
    missing or wrong field, an original file that is no known corpus's (its first folder under the
    data folder is none of :data:`CORPORA`'s ``local`` folders) or a SHA-256 that is not ``path``'s
    is a :class:`~silver_ner.projection.errors.UserError` naming the sidecar.
    """
    from silver_ner.projection.errors import UserError

    side = provenance_path(path)
    if not side.is_file():
        return None
    try:
        doc = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{side}: not a readable provenance sidecar ({exc})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{side}: a provenance sidecar is a JSON object")
    if doc.get("format") != PROVENANCE_FORMAT:
        raise UserError(f"{side}: format {doc.get('format')!r}, expected {PROVENANCE_FORMAT!r}")
    if not isinstance(doc.get("filter"), str) or not doc["filter"].strip():
        raise UserError(f"{side}: 'filter' must say what the derivation left out or changed")
    items = doc.get("derived_from")
    if not isinstance(items, list) or not items:
        raise UserError(f"{side}: 'derived_from' must list the original files")
    corpora: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        name = item.get("file") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise UserError(f"{side}: derived_from[{i}] has no 'file'")
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or "\\" in name:
            raise UserError(f"{side}: derived_from[{i}] {name!r} must be a path relative to the data folder")
        top = rel.parts[0] if rel.parts else ""
        cid = next((c.id for c in CORPORA.values() if top in c.local), None)
        if cid is None:
            raise UserError(f"{side}: derived_from[{i}] {name!r} is in no known corpus "
                            f"(folders {', '.join(sorted(f for c in CORPORA.values() for f in c.local))})")
        corpora.setdefault(cid, []).append(rel.as_posix())
    digest = doc.get("sha256")
    if not isinstance(digest, str):
        raise UserError(f"{side}: no 'sha256' of the derived file")
    if os.path.isfile(path) and _sha256(path) != digest:
        raise UserError(f"{side}: describes other content than {Path(path).name} (sha256 differs); "
                        f"the file was changed after its sidecar was written")
    return {**doc, "corpora": corpora}


def derived_note(prov: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``derived`` entry of a sources record for a derived file ``name`` and its checked sidecar."""
    note: dict[str, Any] = {"file": name, "filter": prov["filter"],
                            "derived_from": [item["file"] for item in prov["derived_from"]]}
    for key in ("lines", "tool"):
        if key in prov:
            note[key] = prov[key]
    dropped = [len(item["dropped_lines"]) for item in prov["derived_from"]
               if isinstance(item, dict) and isinstance(item.get("dropped_lines"), list)]
    if dropped:
        note["dropped"] = sum(dropped)
    return note


def portable_path(path: str | os.PathLike) -> str:
    """A local path as it may be published: under the data folder, ``samples/…``, or the file name."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    return _locate(text)[1]


# an absolute path inside a text: starts a word with "/", ends before whitespace or a separator (":" of a
# line number, "@" of a fingerprint, ...); never the "//" of a URL, a "a/b" word or a relative path
_ABS_IN_TEXT = re.compile(r"(?<![\w./~-])/(?!/)[^\s:@,;\"'()\[\]{}<>|=]+")


def portable(value: Any) -> Any:
    """``value`` with every absolute path inside its strings made portable (see :func:`portable_path`).

    ``/data/mafand/en-swa/train.swa:12`` → ``mafand/en-swa/train.swa:12``; ``hf-tagger:/models/x`` →
    ``hf-tagger:x``; ``/models/m2m@3f2a:beams=4`` → ``m2m@3f2a:beams=4``.
    """
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(portable(v) for v in value)
    if isinstance(value, str) and "/" in value:
        return _ABS_IN_TEXT.sub(lambda m: portable_path(m.group(0)), value)
    return value


def sources_of(files: dict[str, Iterable[str]], user_license: str | None = None) -> list[dict[str, Any]]:
    """The ``sources`` records of the files a build read, ``{role: [paths]}``.

    Known corpora carry their licence and citation from :data:`CORPORA`; a file derived from known
    corpora (with a provenance sidecar, :func:`read_provenance`) counts as the original corpora, its
    original files among the record's ``files`` and a ``derived`` entry naming it and its filter;
    every other file is a user source with ``license`` = ``user_license`` (``None`` when it was not
    declared).
    """
    known: dict[str, tuple[set[str], set[str]]] = {}
    derived: dict[str, dict[str, dict]] = {}
    user: dict[str, set[str]] = {}
    for role, paths in files.items():
        for path in paths:
            if not path:
                continue
            cid, name = _locate(path)
            if cid is None:
                prov = read_provenance(path)
                if prov is not None:
                    for pcid, originals in prov["corpora"].items():
                        f, r = known.setdefault(pcid, (set(), set()))
                        f.update(originals)
                        r.add(role)
                        derived.setdefault(pcid, {})[name] = derived_note(prov, name)
                    continue
                user.setdefault(name, set()).add(role)
            else:
                f, r = known.setdefault(cid, (set(), set()))
                f.add(name)
                r.add(role)
    out = []
    for cid, (f, r) in sorted(known.items()):
        rec = CORPORA[cid].record(f, r)
        if cid in derived:
            rec["derived"] = [derived[cid][n] for n in sorted(derived[cid])]
        out.append(rec)
    for name, roles in sorted(user.items()):
        out.append({"id": f"file:{name}", "name": name, "license": user_license, "files": [name], "roles": sorted(roles)})
    return out


def merge_sources(lists: Iterable[list[dict]]) -> list[dict]:
    """One record per source id over several configs (files and roles united)."""
    merged: dict[str, dict] = {}
    for records in lists:
        for rec in records:
            cur = merged.get(rec["id"])
            if cur is None:
                merged[rec["id"]] = {**rec, "files": list(rec.get("files", [])), "roles": list(rec.get("roles", []))}
            else:
                cur["files"] = sorted(set(cur["files"]) | set(rec.get("files", [])))
                cur["roles"] = sorted(set(cur["roles"]) | set(rec.get("roles", [])))
                if rec.get("derived"):
                    notes = {d.get("file"): d for d in cur.get("derived") or []}
                    notes.update({d.get("file"): d for d in rec["derived"] if d.get("file") not in notes})
                    cur["derived"] = [notes[k] for k in sorted(notes, key=str)]
                if cur.get("license") is None:
                    cur["license"] = rec.get("license")
    return list(merged.values())


SPLIT_NAMES = ("train", "validation")


def configs_yaml(langs: Iterable[str] | dict[str, Iterable[str]], pattern: str = "{lang}/{split}-*") -> list[dict]:
    """The ``configs:`` card metadata, one config per language with ``data_files`` per split.

    ``langs`` lists the languages (each with every split) or maps each language to its splits.
    """
    splits = langs if isinstance(langs, dict) else {lang: SPLIT_NAMES for lang in langs}
    return [{"config_name": lang, "data_files": [{"split": s, "path": pattern.format(lang=lang, split=s)} for s in names]}
            for lang, names in splits.items()]


def configs_readme(manifest: dict) -> str:
    """The ``README.md`` of a build folder: ``configs:`` over the ``save_to_disk`` arrow files, and the sources."""
    import yaml

    configs = manifest.get("configs") or {}
    langs = list(configs)
    splits = {lang: entry.get("splits") or [s for s in SPLIT_NAMES if (entry.get("num_rows") or {}).get(s)]
              for lang, entry in configs.items()}  # only the splits the build wrote
    meta = {
        "language": langs,
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "annotations_creators": ["machine-generated"],
        "configs": configs_yaml(splits, "{lang}/{split}/*.arrow"),
    }
    lines = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             "# Silver NER build", "",
             "Built with silver-ner {}; one configuration per target language:".format(manifest.get("silver_ner_version", "")),
             "", "```python", "from datasets import load_dataset", "",
             f"ds = load_dataset(\"path/to/this/folder\", \"{langs[0] if langs else 'LANG'}\")", "```", "",
             "The build manifest `silver_ner_build.json` records every parameter and count.", "", "## Sources", ""]
    for rec in merge_sources((c.get("sources") or []) for c in (manifest.get("configs") or {}).values()):
        lic = rec.get("license") or "licence not declared (build or publish with --source-license)"
        derived = "".join(f"; read as {d.get('file')}, derived: {d.get('filter')}" for d in rec.get("derived") or [])
        lines.append(f"- {rec['name']} ({', '.join(rec.get('files', []))}): {lic}{derived}")
    return "\n".join(lines) + "\n"
