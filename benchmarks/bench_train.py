"""Training and tagging throughput of the NER trainer on CPU.

Within one run: fine-tunes the encoder for a few steps on real CoNLL-2003 English sentences
with the word-embedding matrix trainable, then frozen (the ratio is the number to look at on a
shared machine), and tags MasakhaNER 2.0 Swahili test sentences with the result.

    python benchmarks/bench_train.py [--encoder PATH] [--sentences 160] [--steps 10] [--tag 300]

Prints and writes benchmarks/results/bench_train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("SILVER_NER_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", default=None, help="default: offline multilingual-e5-small")
    ap.add_argument("--sentences", type=int, default=160)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--tag", type=int, default=300, help="Swahili test sentences to tag")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_train.json"))
    args = ap.parse_args()

    import torch

    from silver_ner.students.evaluation import evaluate_model
    from silver_ner.students.train import TrainSettings, load_conll_data, train_token_classifier

    data = load_conll_data(DATA / "conll2003_en" / "train.txt", max_sentences=args.sentences)
    load0 = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for frozen in (False, True):
            name = "frozen_embeddings" if frozen else "full"
            s = TrainSettings(max_steps=args.steps, batch_size=args.batch_size, freeze_embeddings=frozen, save_steps=10_000)
            t0 = time.perf_counter()
            rec = train_token_classifier(data, Path(tmp) / name, encoder=args.encoder, settings=s, show_progress=False)
            runs[name] = {
                "train_seconds": rec["training_time_s"],
                "sentences_per_s": rec["sentences_per_s"],
                "wall_seconds_with_loading": round(time.perf_counter() - t0, 1),
                "trainable_parameters": rec["trainable_parameters"],
            }
            print(name, runs[name], flush=True)
        t0 = time.perf_counter()
        recs = evaluate_model(str(Path(tmp) / "frozen_embeddings"), ["masakhaner2:swa:test"], data_root=DATA,
                              max_sentences=args.tag, results_file=None)
        tag = {"sentences": recs[0]["n_sentences"], "tagging_seconds": recs[0]["tagging_time_s"],
               "sentences_per_s": round(recs[0]["n_sentences"] / recs[0]["tagging_time_s"], 1),
               "wall_seconds_with_loading": round(time.perf_counter() - t0, 1)}
        print("tagging", tag, flush=True)
        base_encoder = rec["base_encoder"]["name"]
    result = {
        "command": "python benchmarks/bench_train.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("out",) and v is not None),
        "encoder": base_encoder,
        "training_sentences": len(data),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "training": runs,
        "speedup_frozen_vs_full": round(runs["frozen_embeddings"]["sentences_per_s"] / runs["full"]["sentences_per_s"], 2),
        "tagging": tag,
        "machine": {"cpus": psutil.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "torch": torch.__version__, "load_average_before": [round(x, 2) for x in load0],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
