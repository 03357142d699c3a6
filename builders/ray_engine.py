"""The build on Ray Data: the same steps as the local engine, spread over a Ray cluster.

The driver runs the source stage of every language (its pairs land in the content-keyed cache),
lists the chunks whose rows are not cached yet, and hands them to a Ray Data pipeline:

    chunk ids ──► map_batches(ChunkWorker)  (actor pool: each actor loads the aligner once)
              ──► {lang, chunk, rows, stats}

A :class:`ChunkWorker` runs :meth:`LanguageBuild.process_chunk`, i.e. the build's steps
(:mod:`silver_ner.builders.steps`), and writes the chunk's rows to the chunk cache atomically. That
cache is the checkpoint: a retried chunk rewrites the same file with the same content, a rerun finds
every finished chunk and computes none, and a driver that died is resumed by running the command
again. The driver then assembles the output exactly as the local engine does (the same builder,
reading the cached chunks), so both engines write identical folders.

Resources: each actor asks for ``cpus_per_actor`` CPUs (fractions allowed) and ``gpus_per_actor``
GPUs, and sets its torch threads to its CPU share, so several actors on one node never
oversubscribe it; the driver never asks for more actors than the cluster's CPUs can hold. The
aligner's SQLite cache stays off in workers (SQLite does not work on network filesystems).

Ray is optional: ``pip install 'silver-ner[ray]'``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from silver_ner.projection.errors import UserError

from .resources import peak_rss_mb

log = logging.getLogger(__name__)

RAY_HINT = "the Ray engine needs Ray Data: pip install 'silver-ner[ray]'"


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
    with the CPUs of this machine. ``actors``: aligner actors (default: as many as fit).
    ``cpus_per_actor`` (fractions allowed) and ``gpus_per_actor`` are each actor's request; torch
    threads per actor follow the CPU share (at least one).
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


def plan_actors(options: RayOptions, cluster_cpus: float, chunks: int) -> int:
    """How many actors to start: what was asked for, at most what the cluster's CPUs hold (one CPU is
    kept for the driver's read and write tasks when the request would take them all), at most one per
    chunk, at least one."""
    fit = cluster_cpus / options.cpus_per_actor if options.cpus_per_actor > 0 else float("inf")
    if options.cpus_per_actor > 0 and fit >= 2:
        fit = (cluster_cpus - min(options.cpus_per_actor, 0.5)) / options.cpus_per_actor
    n = options.actors if options.actors is not None else int(fit)
    if options.actors is not None and options.actors > fit + 1e-9:
        raise UserError(f"{options.actors} actors of {options.cpus_per_actor} CPUs each do not fit the cluster's "
                        f"{cluster_cpus:g} CPUs; ask for fewer actors or fractional --ray-cpus-per-actor")
    return max(1, min(int(n), max(1, chunks)))


class ChunkWorker:
    """A Ray Data actor: rebuilds each language's :class:`LanguageBuild` once, loads its aligner
    on first use, and computes chunks into the chunk cache."""

    def __init__(self, specs: dict, cache_dir: str, chunk_size: int, threads: int,
                 aligner_factory: Callable[[Any], Any] | None = None):
        import torch

        torch.set_num_threads(threads)
        from .build import LanguageBuild

        self.builds = {}
        for lang, spec in specs.items():
            lb = LanguageBuild(spec, cache_dir=cache_dir, chunk_size=chunk_size,
                               aligner_options={"num_threads": threads, "cache_dir": None})
            if aligner_factory is not None:
                lb._aligner = aligner_factory(spec)
            self.builds[lang] = lb

    def __call__(self, batch: dict) -> dict:
        import json

        out: dict[str, list] = {"lang": [], "chunk": [], "rows": [], "stats": [], "seconds": [], "pid": [], "peak_rss_mb": [],
                                 "error": []}
        for lang, chunk in zip(batch["lang"], batch["chunk"]):
            t0 = time.perf_counter()
            try:
                res = self.builds[str(lang)].process_chunk(int(chunk))
                rows, stats, error = len(res.rows), json.dumps(res.stats, sort_keys=True), ""
            except UserError as exc:  # an input error travels as data: the driver raises it as it is
                rows, stats, error = 0, "{}", str(exc)
            out["lang"].append(str(lang))
            out["chunk"].append(int(chunk))
            out["rows"].append(rows)
            out["stats"].append(stats)
            out["seconds"].append(time.perf_counter() - t0)
            out["pid"].append(os.getpid())
            out["peak_rss_mb"].append(peak_rss_mb())
            out["error"].append(error)
        return out


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
    """What the Ray engine did: chunks per language that it computed, the ones already cached, timings."""

    computed: dict[str, int]
    cached: dict[str, int]
    actors: int
    seconds: float
    startup_seconds: float
    chunk_seconds: list[float]
    pids: list[int]
    actor_peak_rss_mb: dict[int, float] | None = None  # per actor process


def compute_chunks(builds: Sequence[Any], options: RayOptions | None = None, *,
                   aligner_factory: Callable[[Any], Any] | None = None) -> RayReport:
    """Compute every missing chunk of ``builds`` (:class:`LanguageBuild` objects) on Ray.

    ``aligner_factory(spec)`` builds the aligner in each actor (default: the build's embedding
    aligner); it must be importable by the workers.
    """
    options = options or RayOptions()
    t0 = time.perf_counter()
    todo, cached = [], {}
    for lb in builds:
        lb.check_labels()  # a label set that matches nothing stops before any cluster work
        missing = [i for i in range(lb.num_chunks()) if not lb._chunk_path(i).exists()]
        cached[lb.spec.lang] = lb.num_chunks() - len(missing)
        todo += [{"lang": lb.spec.lang, "chunk": i} for i in missing]
    computed = {lb.spec.lang: 0 for lb in builds}
    if not todo:
        return RayReport(computed, cached, 0, time.perf_counter() - t0, 0.0, [], [])
    ray = start(options)
    startup = time.perf_counter() - t0
    cpus = float(ray.cluster_resources().get("CPU", 1))
    n_actors = plan_actors(options, cpus, len(todo))
    first = builds[0]
    specs = {lb.spec.lang: lb.spec for lb in builds}
    ds = ray.data.from_items(todo, override_num_blocks=len(todo))
    ds = ds.map_batches(
        ChunkWorker,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=n_actors),
        fn_constructor_kwargs={"specs": specs, "cache_dir": os.fspath(first.cache_dir), "chunk_size": first.chunk_size,
                               "threads": options.threads(), "aligner_factory": aligner_factory},
        num_cpus=options.cpus_per_actor,
        num_gpus=options.gpus_per_actor or None,
        max_restarts=3,
        max_task_retries=3,
    )
    chunk_seconds, pids, rss = [], [], {}
    try:
        for row in ds.iter_rows():
            if row["error"]:
                raise UserError(row["error"])
            computed[row["lang"]] += 1
            chunk_seconds.append(float(row["seconds"]))
            pids.append(int(row["pid"]))
            rss[int(row["pid"])] = max(rss.get(int(row["pid"]), 0.0), float(row["peak_rss_mb"]))
            if options.timeout_s is not None and time.perf_counter() - t0 > options.timeout_s:
                raise UserError(f"the Ray engine stopped after {options.timeout_s:g} s with "
                                f"{sum(computed.values())} of {len(todo)} chunks done; rerun to resume")
    except UserError:
        raise
    except Exception as exc:  # a stage's own error comes back as that error, not a Ray traceback
        err = original_error(exc)
        if err is not exc:
            raise err from None
        raise
    return RayReport(computed, cached, n_actors, time.perf_counter() - t0, startup, chunk_seconds, pids, rss)


def build_on_ray(specs: Sequence[Any], output_dir: str | os.PathLike, options: RayOptions | None = None, *,
                 cache_dir: str | os.PathLike | None = None, chunk_size: int = 512,
                 aligner_factory: Callable[[Any], Any] | None = None, **build_kwargs) -> tuple[Any, RayReport]:
    """:func:`~silver_ner.builders.build.build` with the chunks computed on Ray; returns its result and the
    :class:`RayReport`. The output folder, manifest and rows are those of the local engine."""
    from . import cache
    from .build import LanguageBuild, build

    cache_dir = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
    builds = {s.lang: LanguageBuild(s, cache_dir=cache_dir, chunk_size=chunk_size) for s in specs}
    if aligner_factory is not None:  # the driver's assembly needs the aligner's identity only
        for s in specs:
            builds[s.lang]._aligner = aligner_factory(s)
    report = compute_chunks(list(builds.values()), options, aligner_factory=aligner_factory)
    result = build(specs, output_dir, cache_dir=cache_dir, chunk_size=chunk_size, builds=builds, **build_kwargs)
    return result, report
