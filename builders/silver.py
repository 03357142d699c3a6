"""The silver NER dataset builder: one ``BuilderConfig`` per target language.

The builder is thin: :meth:`SilverNerBuilder._split_generators` hands the chunk indices of a
:class:`~silver_ner.builders.build.LanguageBuild` to ``datasets`` as ``gen_kwargs`` lists (so
``download_and_prepare(num_proc=N)`` spreads the chunks over N processes), and
:meth:`SilverNerBuilder._generate_examples` yields the rows of its chunks; the stages
themselves live in :mod:`silver_ner.builders.build`. ``datasets`` runs no loading scripts, so
the class is instantiated directly::

    from silver_ner.builders.build import BuildSpec, LanguageBuild, SourceSpec
    from silver_ner.builders.silver import SilverNerBuilder

    spec = BuildSpec("swa", SourceSpec("parallel", {...}))
    builder = SilverNerBuilder.from_build(LanguageBuild(spec))
    builder.download_and_prepare()
    dd = builder.as_dataset()

The builder's ``hash`` (and config id) is the build's fingerprint, which covers the input
files' contents, the aligner identity, every parameter and the package version: a changed
input never reuses a stale ``datasets`` cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import datasets

from silver_ner import __version__

from .build import BuildSpec, LanguageBuild


ROW_FORMAT = "rows2"  # rows2: portable origins (no machine paths)


def silver_features(label_names: list[str]) -> datasets.Features:
    """Row schema: target tokens and tags plus the provenance of each row."""
    tags = datasets.ClassLabel(names=label_names)
    return datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.List(datasets.Value("string")),
        "ner_tags": datasets.List(tags),
        "source_tokens": datasets.List(datasets.Value("string")),
        "source_ner_tags": datasets.List(tags),
        "alignment": datasets.List(datasets.List(datasets.Value("int32"))),  # [source index, target index]
        "entity_scores": datasets.List(datasets.Value("float32")),  # one per projected entity, in order
        "unprojected": datasets.Value("int32"),  # source entities that found no target
        "source_id": datasets.Value("string"),
        "source_lang": datasets.Value("string"),
        "origin": datasets.Value("string"),  # JSON: files and lines, translator, pairing confidence, ...
        "method": datasets.Value("string"),
    })


@dataclass
class SilverNerConfig(datasets.BuilderConfig):
    """A target language's silver config; ``spec`` holds source, aligner, method, labels and filters."""

    spec: BuildSpec | None = None


class SilverNerBuilder(datasets.GeneratorBasedBuilder):
    """Silver NER rows projected from labelled source sentences onto target sentences."""

    BUILDER_CONFIG_CLASS = SilverNerConfig
    VERSION = datasets.Version(__version__)

    def __init__(self, *args, build: LanguageBuild | None = None, **kwargs):
        self._build = build
        super().__init__(*args, **kwargs)
        if self._build is None:
            if self.config.spec is None:
                raise ValueError("SilverNerBuilder needs a spec (config) or a LanguageBuild (build=...)")
            self._build = LanguageBuild(self.config.spec)

    @classmethod
    def from_build(cls, build: LanguageBuild, *, cache_dir: str | None = None) -> "SilverNerBuilder":
        """A builder for ``build`` whose cache id is the build's fingerprint."""
        fp = build.fingerprint()
        fp = f"{fp}-{ROW_FORMAT}"  # a datasets cache of rows written before the current row format is not reused
        return cls(config_name=build.spec.lang, spec=build.spec, build=build, hash=fp,
                   config_id=f"{build.spec.lang}-{fp}", cache_dir=cache_dir, dataset_name="silver_ner")

    @property
    def build(self) -> LanguageBuild:
        return self._build

    def describe(self, entry: dict | None = None) -> str:
        """The dataset info description: what was built and, once known, the counts and mapping applied."""
        spec = self._build.spec
        text = (f"Silver NER data for {spec.lang}: entity labels ({', '.join(spec.labels)}) projected from "
                f"{spec.source.language} by word alignment; silver-ner {__version__}.")
        if entry is not None:
            keep = {k: entry[k] for k in ("label_mapping", "stats", "source", "target_source", "aligner", "method",
                                          "method_params", "filters", "fingerprint", "licenses") if k in entry}
            from .corpora import portable

            text += "\nsilver-ner-build: " + json.dumps(portable(keep), sort_keys=True, ensure_ascii=False)
        return text

    def _info(self) -> datasets.DatasetInfo:
        spec = self.config.spec if self._build is None else self._build.spec
        if spec is None:
            raise ValueError("SilverNerBuilder needs a spec (config) or a LanguageBuild (build=...)")
        return datasets.DatasetInfo(
            description=self.describe() if self._build is not None else "Silver NER data",
            features=silver_features(spec.label_names),
            license=", ".join(spec.licenses),
        )

    def _split_generators(self, dl_manager):
        self._build.check_labels()
        # only the splits that have rows: datasets cannot read back a split prepared empty
        chunks = list(range(self._build.num_chunks()))
        return [datasets.SplitGenerator(name=split, gen_kwargs={"chunks": chunks, "split": split})
                for split in self._build.split_names()]

    def _generate_examples(self, chunks, split):
        from .corpora import portable

        for c, j, row in self._build.rows(chunks, split):
            # no machine paths leave the build: origins name files under the data folder, the sample, or by name
            row["origin"] = json.dumps(portable(json.loads(row["origin"])), sort_keys=True, ensure_ascii=False)
            yield datasets.builder.Key(c, j), row
