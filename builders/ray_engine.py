"""The build on Ray Data: the same steps as the local engine, one Ray Data operator per stage.

The source stage of every language whose pairs are not cached comes first (:func:`run_source_stage`): the
driver reads the files; the stage's model work (a translate source's translator, a parallel source's tagger)
runs on an actor pool per work, over batches of source sentences numbered by line (the batches the local
engine hands its model); the driver assembles the pairs in line order into the content-keyed pairs cache. It
then lists the chunks whose rows are not cached yet and hands them to a Ray Data pipeline whose operators are
the stages of :data:`~silver_ner.builders.build.STEP_STAGES`:

    chunks ──► prepare        (tasks: map labels, pre-filter)
           ──► candidates     (actor pool, when a spec names a candidate tagger)
           ──► backtranslate  (actor pool, when a spec back-translates: translator [+ tagger])
           ──► align          (actor pool: each actor loads the aligner once)
           ──► finish         (tasks: project, conventions, post-filter, rows; writes the chunk cache)

Each stage runs the steps :meth:`LanguageBuild.stage_steps` gives (:mod:`silver_ner.builders.steps`,
the very objects the local engine composes). One Ray Data row is one chunk: its records travel
between operators as a pickled :class:`~silver_ner.builders.steps.Batch` (records and counters), so
every model sees the same batches as in the local engine and the counters add up to the same
manifest. The last stage writes the chunk's rows to the chunk cache atomically. That cache is the
checkpoint: a retried chunk rewrites the same file with the same content, a rerun finds every
finished chunk and computes none, and a driver that died is resumed by running the command again.
The driver then assembles the output exactly as the local engine does (the same builder, reading
the cached chunks), so both engines write identical folders (``parquet=True`` included).

Resources: each model-stage actor asks for ``cpus_per_actor`` CPUs (fractions allowed) and
``gpus_per_actor`` GPUs, and sets its torch threads to its CPU share; the plain-task stages ask for
:data:`TASK_CPUS` each. The actor pools run at the same time, so :func:`plan_pools` fits their sum,
plus room for the tasks, into the cluster (never more than it has: actors that take every CPU leave
the tasks none, and the pipeline hangs). The aligner's SQLite cache stays off in workers (SQLite
does not work on network filesystems).

The chunk cache and the output may be fsspec URLs (:mod:`silver_ner.builders.storage`): the ``finish``
tasks write each chunk with one put, the driver lists the cached chunks with one listing and uploads the
assembled output; the SQLite caches then stay in each node's local cache folder. A ``memory://`` cache is
refused (Ray's workers are other processes).

Ray is optional: ``pip install 'silver-ner[ray]'``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

from silver_ner.projection.errors import UserError

from .resources import peak_rss_mb

log = logging.getLogger(__name__)

RAY_HINT = "the Ray engine needs Ray Data: pip install 'silver-ner[ray]'"
TASK_CPUS = 0.25  # CPU request of one plain task (prepare, finish): light work, several fit beside the actors
TASK_ROOM = 2 * TASK_CPUS  # CPUs kept free of actors: one task of each plain-task stage can always run
MODEL_STAGES = ("candidates", "backtranslate", "align")  # actor pools; "align" always runs


def require_ray():
    """Import Ray (and Ray Data), or stop with an install hint."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise UserError(RAY_HINT) from None
    return ray


@dataclass
class RayOptions:
    """How the Ray engine uses the cluster.

    ``address``: a running cluster (``auto``, ``ray://host:10001``); ``None`` starts a local Ray
    with the CPUs of this machine. ``actors``: actors of each model stage (default: as many as fit).
    ``cpus_per_actor`` (fractions allowed) and ``gpus_per_actor`` are each model-stage actor's request;
    torch threads per actor follow the CPU share (at least one).
    """

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    timeout_s: float | None = None  # give up (and say so) when the pipeline takes longer

    def threads(self) -> int:
        return max(1, int(math.floor(self.cpus_per_actor)))


def start(options: RayOptions) -> Any:
    """Connect to (or start) Ray; returns the ``ray`` module."""
    ray = require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if options.address:
            kwargs["address"] = options.address
        else:
            kwargs["num_cpus"] = os.cpu_count() or 1
        ray.init(**kwargs)
    return ray


def plan_pools(options: RayOptions, cluster_cpus: float, chunks: int, pools: int = 1,
               cluster_gpus: float = 0.0) -> tuple[int, float]:
    """``(actors per pool, CPUs per actor)`` for ``pools`` actor pools that run at the same time.

    Every pool's actors together, plus :data:`TASK_ROOM` for the plain-task stages, fit the cluster's
    CPUs (and their GPUs its GPUs). Asked-for actors that do not fit are a :class:`UserError`; without
    an asked-for count, as many as fit (at most one per chunk, at least one per pool), and when not even
    one per pool fits at ``cpus_per_actor``, each actor's request shrinks to a fraction that fits.
    """
    c, g = float(options.cpus_per_actor), float(options.gpus_per_actor or 0.0)
    budget = cluster_cpus - TASK_ROOM
    if budget <= 0:
        raise UserError(f"the cluster's {cluster_cpus:g} CPUs leave no room for actors beside the "
                        f"{TASK_ROOM:g} CPU the pipeline's tasks need")
    where = f" in each of {pools} model stages" if pools > 1 else ""
    if options.actors is not None:
        if options.actors < 1:
            raise UserError(f"--ray-actors must be >= 1, got {options.actors}")
        if pools * options.actors * c > budget + 1e-9:
            largest = math.floor(budget / (pools * options.actors) * 100) / 100
            raise UserError(f"{options.actors} actors of {c:g} CPUs each{where} do not fit the cluster's "
                            f"{cluster_cpus:g} CPUs ({TASK_ROOM:g} kept for the pipeline's tasks); ask for fewer "
                            f"actors or fractional --ray-cpus-per-actor (at most {largest:g})")
        n = options.actors
    elif c > 0:
        n = int(math.floor(budget / (pools * c) + 1e-9))
        if n < 1:
            n, shrunk = 1, math.floor(budget / pools * 100) / 100
            log.info("ray: %g CPUs per actor for %d actor pool(s) do not fit %g CPUs; asking for %g each",
                     c, pools, cluster_cpus, shrunk)
            c = shrunk
    else:
        n = max(1, chunks)
    if g > 0:
        fit_gpus = int(math.floor(cluster_gpus / (pools * g) + 1e-9))
        if options.actors is not None and options.actors > fit_gpus:
            raise UserError(f"{options.actors} actors of {g:g} GPUs each{where} do not fit the cluster's "
                            f"{cluster_gpus:g} GPUs; ask for fewer actors or fractional --ray-gpus-per-actor")
        if fit_gpus < 1:
            raise UserError(f"--ray-gpus-per-actor {g:g}{where}: the cluster has {cluster_gpus:g} GPU(s)")
        n = min(n, fit_gpus)
    return max(1, min(int(n), max(1, chunks))), c


def plan_actors(options: RayOptions, cluster_cpus: float, chunks: int, pools: int = 1) -> int:
    """How many actors each of ``pools`` actor pools gets (see :func:`plan_pools`)."""
    return plan_pools(options, cluster_cpus, chunks, pools)[0]


@dataclass
class StagePlan:
    """One operator of the pipeline: a stage of the build, run by tasks or by an actor pool."""

    stage: str
    kind: str  # "tasks" or "actors"
    cpus: float
    gpus: float = 0.0
    actors: int = 0


def model_stages(builds: Sequence[Any]) -> list[str]:
    """The actor-pool stages these languages need, in order (the aligner's always)."""
    need = {"align"}
    for lb in builds:
        if lb.spec.candidates_model:
            need.add("candidates")
        if lb.spec.backtranslate_model:
            need.add("backtranslate")
    return [s for s in MODEL_STAGES if s in need]


# -- the stages, as Ray Data sees them -------------------------------------------------------------


def corpus_presets(lb: Any) -> dict[str, Any]:
    """What a worker's steps need from a language's whole corpus, computed once in the driver and handed to
    every worker, so that no worker reads every pair: with ``trim_frequent``, the target's frequent words."""
    out: dict[str, Any] = {}
    if getattr(lb.spec, "trim_frequent", None) is not None:
        out["_frequent_words"] = list(lb.frequent_target_words())
    return out


def _language_builds(specs: dict, cache_dir: str, chunk_size: int, threads: int = 1,
                     aligner_factory: Callable[[Any], Any] | None = None, presets: dict | None = None) -> dict:
    from .build import LanguageBuild

    out = {}
    for lang, spec in specs.items():
        lb = LanguageBuild(spec, cache_dir=cache_dir, chunk_size=chunk_size,
                           aligner_options={"num_threads": threads, "cache_dir": None})
        for name, value in (presets or {}).get(lang, {}).items():
            setattr(lb, name, value)
        if aligner_factory is not None:
            lb._aligner = aligner_factory(spec)
        out[lang] = lb
    return out


def _run_stage(stage: str, builds: dict, batch: dict, *, actor: bool) -> dict:
    """Run ``stage``'s steps on every chunk of a Ray Data batch (columns of equal length).

    A chunk carries its records as a pickled :class:`Batch`; an input error (:class:`UserError`) travels
    on as data in ``error`` (later stages pass that chunk through untouched; the driver raises it), and
    ``trace`` collects each stage's process, seconds and peak memory. The ``finish`` stage writes the
    chunk cache and hands on the row count instead of the records."""
    from . import storage
    from .steps import run_steps

    out: dict[str, list] = {k: [] for k in ("lang", "chunk", "path", "batch", "error", "trace", "rows")}
    for i in range(len(batch["lang"])):
        lang, chunk, path = str(batch["lang"][i]), int(batch["chunk"][i]), str(batch["path"][i])
        data, error, rows = batch["batch"][i], str(batch["error"][i]), int(batch["rows"][i])
        t0 = time.perf_counter()
        if not error:
            try:
                lb = builds[lang]
                records = run_steps(lb.stage_steps(stage), pickle.loads(data))
                if stage == "finish":
                    res = {"rows": [r.row for r in records.records], "stats": records.counters.to_dict()}
                    # the checkpoint: a retry rewrites the same content (a rename locally, one put on an object store)
                    storage.write_json_atomic(storage.location(path), res)
                    data, rows = b"", len(res["rows"])
                else:
                    data = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
            except UserError as exc:  # an input error travels as data: the driver raises it as it is
                data, error = b"", str(exc)
        trace = json.loads(str(batch["trace"][i]))
        trace.append({"stage": stage, "pid": os.getpid(), "seconds": time.perf_counter() - t0, "actor": actor,
                      "peak_rss_mb": peak_rss_mb()})
        for k, v in (("lang", lang), ("chunk", chunk), ("path", path), ("batch", data), ("error", error),
                     ("trace", json.dumps(trace)), ("rows", rows)):
            out[k].append(v)
    return out


def run_task_stage(batch: dict, *, stage: str, specs: dict, cache_dir: str, chunk_size: int,
                   presets: dict | None = None) -> dict:
    """A plain-task stage (``prepare``, ``finish``): pure steps, no model (only the batch's languages are set up)."""
    langs = {str(x) for x in batch["lang"]}
    builds = _language_builds({k: v for k, v in specs.items() if k in langs}, cache_dir, chunk_size, presets=presets)
    return _run_stage(stage, builds, batch, actor=False)


class StageWorker:
    """A Ray Data actor of one model stage: rebuilds each language's :class:`LanguageBuild` once; the stage's
    model (candidate tagger, translator and back-translation tagger, aligner) loads on first use and stays."""

    def __init__(self, stage: str, specs: dict, cache_dir: str, chunk_size: int, threads: int,
                 aligner_factory: Callable[[Any], Any] | None = None, presets: dict | None = None):
        import torch

        torch.set_num_threads(threads)
        self.stage = stage
        self.builds = _language_builds(specs, cache_dir, chunk_size, threads,
                                       aligner_factory if stage == "align" else None, presets)

    def __call__(self, batch: dict) -> dict:
        return _run_stage(self.stage, self.builds, batch, actor=True)


# -- the source stage's model work, as Ray Data sees it ---------------------------------------------

# what the command reports in one line (a UserError, a path the user named): an actor hands it back as data
INPUT_ERRORS = (UserError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def source_model_key(spec: Any) -> str:
    """Languages whose source stages load the same model with the same options share it in an actor."""
    src = spec.source
    params = src.params if src.kind == "translate" else {}
    return json.dumps([src.kind, src.model, params], sort_keys=True, default=str)


class SourceWorker:
    """A Ray Data actor of one source-stage model work (``translate`` or ``tag``): loads each language's model once
    (:func:`~silver_ner.builders.build.load_source_model`, shared by languages with the same model and options) and
    runs :func:`~silver_ner.builders.build.run_source_batch` on each batch; rows of the other work pass through.
    A row whose batch is ``None`` only loads the model (a source without sentences still reports a bad model)."""

    def __init__(self, work: str, specs: dict, threads: int):
        import torch

        torch.set_num_threads(threads)
        self.work, self.specs, self.models = work, specs, {}

    def __call__(self, batch: dict) -> dict:
        from .build import load_source_model, run_source_batch

        out: dict[str, list] = {k: [] for k in batch}
        for i in range(len(batch["lang"])):
            row = {k: batch[k][i] for k in batch}
            if str(row["work"]) == self.work and not row["error"]:
                t0 = time.perf_counter()
                spec = self.specs[str(row["lang"])]
                try:
                    key = source_model_key(spec)
                    if key not in self.models:
                        self.models[key] = load_source_model(spec)
                    inputs = pickle.loads(row["data"])
                    if inputs is None:
                        identity, outputs = self.models[key].identity, None
                    else:
                        identity, outputs = run_source_batch(spec, self.models[key], inputs)
                    row["data"], row["identity"] = pickle.dumps(outputs, protocol=pickle.HIGHEST_PROTOCOL), identity
                except INPUT_ERRORS as exc:  # travels as data: the driver raises it as the local engine would
                    row["data"], row["error"] = b"", pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
                trace = json.loads(str(row["trace"]))
                trace.append({"stage": self.work, "pid": os.getpid(), "seconds": time.perf_counter() - t0,
                              "actor": True, "peak_rss_mb": peak_rss_mb()})
                row["trace"] = json.dumps(trace)
            for k in out:
                out[k].append(row[k])
        return out


def _input_error(data: bytes) -> BaseException:
    try:
        exc = pickle.loads(data)
    except Exception:  # pragma: no cover - an exception class that does not unpickle
        return UserError("the source stage failed on a Ray actor (its error could not be read back)")
    return exc if isinstance(exc, BaseException) else UserError(str(exc))


@dataclass
class SourceStageReport:
    """What the source stage did on Ray: model batches computed per language, the actor pools, time per work."""

    computed: dict[str, int] = field(default_factory=dict)
    stages: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)


def _rows(ds, options: RayOptions, t0: float, done: Callable[[], str]) -> Iterator[dict]:
    """The rows of the dataset ``ds`` as they arrive. An error raised inside a stage comes back as that error
    (not a Ray traceback); past ``options.timeout_s`` a one-line UserError says how far it got (``done()``)."""
    try:
        for row in ds.iter_rows():
            yield row
            if options.timeout_s is not None and time.perf_counter() - t0 > options.timeout_s:
                raise UserError(f"the Ray engine stopped after {options.timeout_s:g} s {done()}; rerun to resume")
    except UserError:
        raise
    except Exception as exc:
        err = original_error(exc)
        if err is not exc:
            raise err from None
        raise


def run_source_stage(builds: Sequence[Any], options: RayOptions, t0: float | None = None) -> SourceStageReport:
    """The source stage of every language whose pairs are not cached: the driver reads the files
    (:meth:`LanguageBuild.read_source`), actor pools (one per model work: ``translate``, ``tag``) run the model on
    the batches, whose line numbers travel with them, and the driver assembles each language's pairs in line order
    and writes its pairs cache (:meth:`LanguageBuild.set_pairs`), language by language. An input error is raised as
    the local engine meets it: the first language's (an error reading a language's files after the model work of the
    languages before it), within a language the first batch's. A source without model work is read (and re-paired)
    here."""
    t0 = time.perf_counter() if t0 is None else t0
    report = SourceStageReport()
    reads, rows = {}, []
    unread: BaseException | None = None  # a language's input error while reading: raised after the languages before it
    for lb in builds:
        try:
            if lb.pairs_cached():
                continue
            read = lb.read_source()
            if read.work is None:
                lb.set_pairs(*read.assemble([]))
                continue
        except INPUT_ERRORS as exc:
            unread = exc
            break
        lang = lb.spec.lang
        reads[lang] = (lb, read)
        report.computed[lang] = len(read.batches)
        batches = read.batches if read.batches else [None]  # no sentence: the actor still loads the model
        lines = read.lines if read.batches else [[]]
        for k, (batch, ids) in enumerate(zip(batches, lines)):
            rows.append({"lang": lang, "index": k, "work": read.work, "lines": json.dumps(ids),
                         "data": pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL), "identity": "",
                         "error": b"", "trace": "[]"})
    if not rows:
        if unread is not None:
            raise unread
        return report
    ray = start(options)
    resources = ray.cluster_resources()
    from .build import SOURCE_WORK

    works = [w for w in SOURCE_WORK if any(read.work == w for _, read in reads.values())]
    n, c = plan_pools(options, float(resources.get("CPU", 1)), len(rows), len(works), float(resources.get("GPU", 0)))
    g = float(options.gpus_per_actor or 0.0)
    report.stages = [asdict(StagePlan(w, "actors", c, g, n)) for w in works]
    specs = {lang: lb.spec for lang, (lb, _) in reads.items()}
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    for w in works:
        ds = ds.map_batches(SourceWorker, batch_size=1, compute=ray.data.ActorPoolStrategy(size=n),
                            fn_constructor_kwargs={"work": w, "specs": specs, "threads": max(1, int(math.floor(c)))},
                            num_cpus=c, num_gpus=g or None, max_restarts=3, max_task_retries=3)
    done: dict[tuple[str, int], dict] = {}
    for row in _rows(ds, options, t0, lambda: f"in the source stage with {len(done)} of {len(rows)} batches done"):
        done[(str(row["lang"]), int(row["index"]))] = row
        for t in json.loads(row["trace"]):
            report.seconds[t["stage"]] = round(report.seconds.get(t["stage"], 0.0) + t["seconds"], 3)
            report.pids.append(int(t["pid"]))
    for lang, (lb, read) in reads.items():  # in the languages' order, as the local engine meets them
        results = [done[(lang, k)] for k in range(max(1, len(read.batches)))]
        for row in results:
            if row["error"]:
                raise _input_error(row["error"])
        for row, ids in zip(results, read.lines):
            if json.loads(row["lines"]) != ids:  # pragma: no cover - the rows are keyed by batch
                raise RuntimeError(f"{lang}: source batch {row['index']} came back with other lines")
        outputs = [(str(row["identity"]), pickle.loads(row["data"])) for row in results[:len(read.batches)]]
        lb.set_pairs(*read.assemble(outputs))
    if unread is not None:
        raise unread
    return report


def original_error(exc: BaseException) -> BaseException:
    """The project's own error inside a Ray error chain (a stage's clear message), else ``exc``."""
    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen or e is None:
            continue
        seen.add(id(e))
        if isinstance(e, UserError):
            return e
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            todo.append(cause)
        todo += [e.__cause__, e.__context__]
    return exc


@dataclass
class RayReport:
    """What the Ray engine did: chunks per language that it computed, the ones already cached, timings.

    ``actors``: model-stage actors over every pool of the chunk pipeline; ``chunk_seconds``: each computed chunk's
    time summed over its stages; ``pids``: the aligner actor that aligned each chunk; ``stage_seconds``: time per
    stage summed over chunks; ``stages``: the operators as planned; ``source``: the source stage's model work
    (:class:`SourceStageReport`)."""

    computed: dict[str, int]
    cached: dict[str, int]
    actors: int
    seconds: float
    startup_seconds: float
    chunk_seconds: list[float]
    pids: list[int]
    actor_peak_rss_mb: dict[int, float] | None = None  # per actor process
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stages: list[dict] = field(default_factory=list)
    source: SourceStageReport = field(default_factory=SourceStageReport)  # the source stage's model work on actors


def plan_stages(builds: Sequence[Any], options: RayOptions, cluster_cpus: float, chunks: int,
                cluster_gpus: float = 0.0) -> list[StagePlan]:
    """The pipeline's operators for ``builds``: the plain-task stages and one actor pool per model stage."""
    pooled = model_stages(builds)
    n, c = plan_pools(options, cluster_cpus, chunks, len(pooled), cluster_gpus)
    g = float(options.gpus_per_actor or 0.0)
    return ([StagePlan("prepare", "tasks", TASK_CPUS)] + [StagePlan(s, "actors", c, g, n) for s in pooled]
            + [StagePlan("finish", "tasks", TASK_CPUS)])


def compute_chunks(builds: Sequence[Any], options: RayOptions | None = None, *,
                   aligner_factory: Callable[[Any], Any] | None = None) -> RayReport:
    """Compute every missing chunk of ``builds`` (:class:`LanguageBuild` objects) on Ray, stage by stage.

    ``aligner_factory(spec)`` builds the aligner in each aligner actor (default: the build's embedding
    aligner); it must be importable by the workers.
    """
    from .build import source_work
    from .steps import Batch

    options = options or RayOptions()
    t0 = time.perf_counter()
    for lb in builds:
        if source_work(lb.spec) != "tag":  # a tagged source's types are those of its tagged pairs
            lb.check_labels()  # a label set that matches nothing stops before any cluster work
    source = run_source_stage(builds, options, t0)
    todo, cached = [], {}
    for lb in builds:
        lb.check_labels()
        have = lb.cached_chunks()  # one listing of the cache folder
        missing = [i for i in range(lb.num_chunks()) if i not in have]
        cached[lb.spec.lang] = lb.num_chunks() - len(missing)
        pairs = lb.pairs()
        if lb._aligner is not None and hasattr(lb._aligner, "forget"):
            lb._aligner.forget()  # the re-pairing's encodings: the actors align, not this process
        for i in missing:
            part = pairs[i * lb.chunk_size:(i + 1) * lb.chunk_size]
            todo.append({"lang": lb.spec.lang, "chunk": i, "path": os.fspath(lb._chunk_path(i)),
                         "batch": pickle.dumps(Batch.of(part), protocol=pickle.HIGHEST_PROTOCOL),
                         "error": "", "trace": "[]", "rows": 0})
    computed = {lb.spec.lang: 0 for lb in builds}
    if not todo:
        return RayReport(computed, cached, 0, time.perf_counter() - t0, 0.0, [], [], source=source)
    ray = start(options)
    startup = time.perf_counter() - t0
    resources = ray.cluster_resources()
    plan = plan_stages(builds, options, float(resources.get("CPU", 1)), len(todo), float(resources.get("GPU", 0)))
    first = builds[0]
    specs = {lb.spec.lang: lb.spec for lb in builds}
    common = {"specs": specs, "cache_dir": os.fspath(first.cache_dir), "chunk_size": first.chunk_size,
              "presets": {lb.spec.lang: corpus_presets(lb) for lb in builds}}
    threads = max(1, int(math.floor(plan[1].cpus)))
    ds = ray.data.from_items(todo, override_num_blocks=len(todo))
    for st in plan:
        if st.kind == "tasks":
            ds = ds.map_batches(run_task_stage, batch_size=1, num_cpus=st.cpus, max_retries=3,
                                fn_kwargs={"stage": st.stage, **common})
        else:
            ds = ds.map_batches(
                StageWorker,
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=st.actors),
                fn_constructor_kwargs={"stage": st.stage, "threads": threads, "aligner_factory": aligner_factory, **common},
                num_cpus=st.cpus,
                num_gpus=st.gpus or None,
                max_restarts=3,
                max_task_retries=3,
            )
    chunk_seconds, pids, rss, stage_seconds = [], [], {}, {st.stage: 0.0 for st in plan}
    for row in _rows(ds, options, t0, lambda: f"with {sum(computed.values())} of {len(todo)} chunks done"):
        if row["error"]:
            raise UserError(row["error"])
        computed[row["lang"]] += 1
        trace = json.loads(row["trace"])
        chunk_seconds.append(sum(t["seconds"] for t in trace))
        for t in trace:
            stage_seconds[t["stage"]] += t["seconds"]
            if t["actor"]:
                rss[int(t["pid"])] = max(rss.get(int(t["pid"]), 0.0), float(t["peak_rss_mb"]))
            if t["stage"] == "align":
                pids.append(int(t["pid"]))
    n_actors = sum(st.actors for st in plan)
    return RayReport(computed, cached, n_actors, time.perf_counter() - t0, startup, chunk_seconds, pids, rss,
                     {k: round(v, 3) for k, v in stage_seconds.items()}, [asdict(st) for st in plan], source)


def build_on_ray(specs: Sequence[Any], output_dir: str | os.PathLike, options: RayOptions | None = None, *,
                 cache_dir: str | os.PathLike | None = None, chunk_size: int = 512,
                 aligner_factory: Callable[[Any], Any] | None = None, **build_kwargs) -> tuple[Any, RayReport]:
    """:func:`~silver_ner.builders.build.build` with the chunks computed on Ray; returns its result and the
    :class:`RayReport`. The output folder (``parquet=True`` included), manifest and rows are those of the
    local engine."""
    from . import cache, storage
    from .build import LanguageBuild, build

    cache_dir = storage.location(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    storage.location(output_dir)  # a URL without an installed filesystem stops before any work
    if storage.protocol(cache_dir) == "memory":
        raise UserError(f"{cache_dir}: a memory:// cache lives in one process and Ray's workers are other "
                        "processes; give the Ray engine a folder or URL that every worker reaches")
    builds = {s.lang: LanguageBuild(s, cache_dir=cache_dir, chunk_size=chunk_size) for s in specs}
    if aligner_factory is not None:  # the driver's assembly needs the aligner's identity only
        for s in specs:
            builds[s.lang]._aligner = aligner_factory(s)
    report = compute_chunks(list(builds.values()), options, aligner_factory=aligner_factory)
    result = build(specs, output_dir, cache_dir=cache_dir, chunk_size=chunk_size, builds=builds, **build_kwargs)
    return result, report
