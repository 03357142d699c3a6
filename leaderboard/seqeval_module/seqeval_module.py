"""Entity-level precision, recall and F1 with seqeval, strict IOB2 by default.

A local ``evaluate`` module: load it by path, no network needed::

    import evaluate
    metric = evaluate.load("/path/to/leaderboard/seqeval_module")
    metric.compute(predictions=[["B-PER", "I-PER", "O"]], references=[["B-PER", "I-PER", "O"]])

The result holds ``overall_precision``, ``overall_recall``, ``overall_f1``,
``overall_accuracy`` (token level) and, per entity type, a dict with ``precision``,
``recall``, ``f1`` and ``number`` (gold entities of that type).
"""

import datasets
import evaluate

_CITATION = """\
@inproceedings{ramshaw-marcus-1995-text,
    title = "Text Chunking using Transformation-Based Learning",
    author = "Ramshaw, Lance and Marcus, Mitch",
    booktitle = "Third Workshop on Very Large Corpora",
    year = "1995"
}
@misc{seqeval,
    title = {{seqeval}: A Python framework for sequence labeling evaluation},
    author = {Hiroki Nakayama},
    year = {2018},
    url = {https://github.com/chakki-works/seqeval}
}
"""

_DESCRIPTION = """\
Entity-level scores for IOB2-tagged sequences computed by seqeval. In strict mode (the
default) an entity counts as found only when its type, its first and its last token match,
and the tags must be well-formed IOB2 (an I-X that does not continue an X entity is not part
of any entity). mode="default" uses seqeval's lenient conlleval-style reading instead.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of predicted tag sequences (lists of str).
    references: list of gold tag sequences, same lengths as the predictions.
    mode: "strict" (default) or "default" (lenient, conlleval-style chunking).
    scheme: tagging scheme for strict mode, "IOB2" (default), "IOB1", "IOE1", "IOE2", "IOBES", "BILOU".
    zero_division: value for precision/recall when there is nothing to divide by (default 0).
Returns:
    overall_precision, overall_recall, overall_f1, overall_accuracy, and one dict per entity
    type with precision, recall, f1 and number (gold entities of the type).
"""

_SCHEMES = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SeqevalModule(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string", id="label"), id="sequence"),
                    "references": datasets.Sequence(datasets.Value("string", id="label"), id="sequence"),
                }
            ),
            codebase_urls=["https://github.com/chakki-works/seqeval"],
        )

    def _compute(self, predictions, references, mode="strict", scheme="IOB2", zero_division=0):
        from seqeval import scheme as seqeval_scheme
        from seqeval.metrics import accuracy_score, classification_report

        if mode not in ("strict", "default"):
            raise ValueError(f"mode must be 'strict' or 'default', got {mode!r}")
        if scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}, got {scheme!r}")
        for i, (pred, ref) in enumerate(zip(predictions, references)):
            if len(pred) != len(ref):
                raise ValueError(f"sequence {i}: {len(pred)} predicted tags but {len(ref)} reference tags")
        kwargs = {"output_dict": True, "zero_division": zero_division}
        if mode == "strict":
            kwargs.update(mode="strict", scheme=getattr(seqeval_scheme, scheme))
        report = classification_report(y_true=references, y_pred=predictions, **kwargs)
        scores = {}
        for name, row in report.items():
            if name in ("micro avg", "macro avg", "weighted avg"):
                continue
            scores[name] = {
                "precision": float(row["precision"]),
                "recall": float(row["recall"]),
                "f1": float(row["f1-score"]),
                "number": int(row["support"]),
            }
        micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
        scores["overall_precision"] = float(micro["precision"])
        scores["overall_recall"] = float(micro["recall"])
        scores["overall_f1"] = float(micro["f1-score"])
        scores["overall_accuracy"] = float(accuracy_score(y_true=references, y_pred=predictions))
        return scores
