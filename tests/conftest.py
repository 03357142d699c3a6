import sys
from pathlib import Path

import pytest

from silver_ner.builders.gold import default_data_root

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED = default_data_root()  # $SILVER_NER_DATA, else ../shared/data beside the project


@pytest.fixture
def shared_data():
    """The real gold data folder beside the project; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"real data folder {SHARED} not present")
    return SHARED


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """Folder of a tiny random BertModel + fast tokenizer (3 layers, hidden 32)."""
    from tiny_models import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


# -- shared data and models ----------------------------------------------------------------------

#: Six labelled sentences (PER, ORG, LOC, DATE, MISC) for training and evaluation tests.
SENTS = [
    (["John", "Smith", "visited", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
    (["The", "European", "Commission", "met", "in", "Berlin"], ["O", "B-ORG", "I-ORG", "O", "O", "B-LOC"]),
    (["Amina", "is", "in", "Nairobi", ",", "Kenya"], ["B-PER", "O", "O", "B-LOC", "O", "B-LOC"]),
    (["Rais", "Kenyatta", "alisema", "leo"], ["O", "B-PER", "O", "B-DATE"]),
    (["Bunge", "la", "Ulaya", "Euro", "2004"], ["B-ORG", "I-ORG", "I-ORG", "B-MISC", "I-MISC"]),
    (["Ọba", "ilé", "Lagos"], ["B-PER", "O", "B-LOC"]),
]
#: Training settings that keep a tiny model's training to a few steps.
FAST = dict(epochs=1, batch_size=2, save_steps=2, logging_steps=1)


def write_conll(path, sents=SENTS, decompose=False):
    """``sents`` as a CoNLL file (tokens NFD-decomposed with ``decompose``); returns the path."""
    import unicodedata

    with open(path, "w", encoding="utf-8") as fh:
        for toks, tags in sents:
            for t, g in zip(toks, tags):
                fh.write(f"{unicodedata.normalize('NFD', t) if decompose else t} {g}\n")
            fh.write("\n")
    return path


@pytest.fixture(scope="session")
def tiny_tagger(tiny_bert, tmp_path_factory):
    """A tiny PER/ORG/LOC token classifier: :func:`tiny_bert` trained three steps on :data:`SENTS`.

    Trained once per session and shared: tests that write into a model folder copy it first."""
    from silver_ner.students.train import TrainSettings, load_conll_data, train_token_classifier

    root = tmp_path_factory.mktemp("tiny-tagger")
    data = load_conll_data(write_conll(root / "train.txt"))
    out = root / "model"
    train_token_classifier(data, out, encoder=str(tiny_bert), keep_types=["PER", "ORG", "LOC"],
                           settings=TrainSettings(max_steps=3, batch_size=2, learning_rate=1e-3), show_progress=False)
    return out


@pytest.fixture(scope="session")
def word_model(tmp_path_factory):
    """The context-free word classifier of :func:`tiny_models.build_word_classifier`: ``John`` B-PER,
    ``Smith`` I-PER, ``Nairobi`` B-LOC, ``ẹ̀kọ́`` B-ORG, every other word O."""
    from tiny_models import build_word_classifier

    return build_word_classifier(tmp_path_factory.mktemp("word-classifier"))


@pytest.fixture(scope="session")
def tiny_m2m100(tmp_path_factory):
    """Folder of a tiny random M2M100 translation model (:func:`tiny_models.build_tiny_m2m100`)."""
    pytest.importorskip("sentencepiece")
    from tiny_models import build_tiny_m2m100

    return str(build_tiny_m2m100(tmp_path_factory.mktemp("tiny-m2m100")))


@pytest.fixture
def fake_hub_models(monkeypatch, tmp_path_factory):
    """Hub ids resolve to small local folders, one per id, instead of the Hub (for tests whose models are fakes
    named by an id): content identities can be computed offline."""
    from silver_ner.projection import models

    real = models.resolve_model
    root = tmp_path_factory.mktemp("fake-hub")

    def resolve(name, **kw):
        from pathlib import Path

        if Path(str(name)).expanduser().is_dir():
            return real(name, **kw)
        folder = root / str(name).replace("/", "--")
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text('{"name": "%s"}' % name, encoding="utf-8")
        return folder

    monkeypatch.setattr(models, "resolve_model", resolve)
    return root


# -- fake aligners ---------------------------------------------------------------------------------


class SameWordAligner:
    """Links identical words (case-insensitive), under every link-method name asked for; loads no
    model. ``calls`` counts the sentence pairs it aligned; ``identity`` is the name builds record."""

    identity = "same-word"

    def __init__(self, identity: str | None = None):
        if identity is not None:
            self.identity = identity
        self.calls = 0

    def align(self, pairs):
        from silver_ner.projection.protocols import Alignment

        self.calls += len(pairs)
        return [Alignment.from_pairs([(i, j) for i, a in enumerate(s) for j, b in enumerate(t) if a.lower() == b.lower()])
                for s, t in pairs]

    def align_methods(self, pairs, methods):
        return {m: self.align(pairs) for m in methods}


def load_script(folder: str, name: str):
    """A script of the repository (``experiments/NAME.py``, ``benchmarks/NAME.py``) loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def script_runner(script, env: dict, log):
    """``run(**extra_env) -> (process, calls)``: run a bash script of the repository with a stub command
    that logs its calls to ``log`` (emptied before each run)."""
    import subprocess

    def run(**extra):
        log.write_text("")
        proc = subprocess.run(["bash", str(script)], env={**env, **extra}, capture_output=True, text=True)
        return proc, log.read_text().splitlines()

    return run
