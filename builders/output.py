"""The build's output folder and interrupts.

A build writes into a hidden partial folder beside ``OUTPUT`` and renames it into place at the end;
until then the files ``load_from_disk`` looks for carry a ``.partial`` mark, so an interrupted build
never leaves a folder that loads. SIGINT and SIGTERM become :class:`BuildInterrupted` while a build
runs (:func:`interrupt_guard`), so clean-up runs and a signal swallowed by a finaliser still stops
the work at the next check; the final rename cannot be cut in half. Partial folders of builds whose
process died are removed by the next run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

from silver_ner.projection.errors import UserError

from .manifest import MANIFEST_NAME

log = logging.getLogger("silver_ner.builders.build")

class BuildInterrupted(KeyboardInterrupt):
    """A build stopped by SIGINT or SIGTERM (``signum`` says which); a KeyboardInterrupt, so callers treat both alike."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class _InterruptGuard:
    """SIGINT and SIGTERM raise :class:`BuildInterrupted` and are remembered.

    A signal that arrives while Python runs a finaliser (``__del__``, a weakref callback) raises
    there, and the interpreter swallows it ("Exception ignored in ..."); remembered, it is raised
    again at the next :func:`check_interrupted`. In ``deferred()`` a signal is only remembered,
    and raised when the section ends (so the final renames are never cut in half). A process
    forked by the build gets the previous behaviour back.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.deferring = False
        self.pid = os.getpid()
        self.saved: dict[int, Any] = {}

    def handler(self, signum, frame) -> None:
        if os.getpid() != self.pid:  # a forked worker: behave as before the build
            previous = self.saved.get(signum, signal.SIG_DFL)
            if callable(previous):
                return previous(signum, frame)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return None
        if self.signum is None:
            self.signum = signum
        if not self.deferring:
            raise BuildInterrupted(signum)
        return None

    def check(self) -> None:
        if self.signum is not None:
            raise BuildInterrupted(self.signum)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if previous in (signal.SIG_IGN, None):  # ignored (e.g. under nohup) or set outside Python: keep it
                continue
            self.saved[sig] = previous
            signal.signal(sig, self.handler)

    def uninstall(self) -> None:
        for sig, previous in self.saved.items():
            signal.signal(sig, previous)
        self.saved.clear()

    @contextlib.contextmanager
    def deferred(self):
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        self.check()


_GUARDS: list[_InterruptGuard] = []


@contextlib.contextmanager
def interrupt_guard():
    """Turn SIGINT and SIGTERM into :class:`BuildInterrupted` for the duration (main thread only), so cleanup
    runs and a signal swallowed by a finaliser still stops the work at the next check. Nests."""
    guard = _InterruptGuard()
    guard.install()
    _GUARDS.append(guard)
    try:
        yield guard
        guard.check()
    finally:
        _GUARDS.remove(guard)
        guard.uninstall()


def _reset_guards_in_child() -> None:
    """In a forked process (``datasets``' workers): the signal dispositions from before the build. A Python-level
    handler runs only between bytecodes, so a worker blocked in C would ignore the pool's SIGTERM and hang it."""
    for guard in reversed(_GUARDS):
        guard.uninstall()
    _GUARDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_guards_in_child)


def check_interrupted() -> None:
    """Raise :class:`BuildInterrupted` if a signal arrived under an :func:`interrupt_guard` (even one a finaliser swallowed)."""
    for guard in _GUARDS:
        guard.check()


PARTIAL_MARK = ".partial"  # save_to_disk's metadata files carry it until the final rename: load_from_disk refuses them
_HIDDEN = ("dataset_dict.json", "state.json")


def _hide(folder: Path) -> None:
    """Rename the files by which ``load_from_disk`` recognises a saved dataset, so a partial folder never loads."""
    for name in _HIDDEN:
        for f in folder.rglob(name):
            os.replace(f, f.with_name(f.name + PARTIAL_MARK))


def _unhide(folder: Path) -> None:
    for name in _HIDDEN:
        for f in folder.rglob(name + PARTIAL_MARK):
            os.replace(f, f.with_name(name))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _leftovers(output_dir: Path, kind: str) -> list[tuple[Path, int]]:
    """``.OUT.<kind>-PID`` folders beside ``output_dir`` whose process is gone."""
    out = []
    prefix = f".{output_dir.name}.{kind}-"
    for p in output_dir.parent.iterdir():
        if p.name.startswith(prefix) and p.name[len(prefix):].isdigit():
            pid = int(p.name[len(prefix):])
            if pid != os.getpid() and not _pid_alive(pid):
                out.append((p, pid))
    return sorted(out)


def _clean_leftovers(output_dir: Path) -> None:
    """Remove the partial folders of builds that died (a kill leaves no chance to clean up) and, if a killed swap
    left the previous output moved aside, put it back."""
    for old, pid in _leftovers(output_dir, "old"):
        if not output_dir.exists():
            os.replace(old, output_dir)
            log.warning("restored %s, moved aside by build process %d which died during its final rename", output_dir, pid)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for partial, pid in _leftovers(output_dir, "partial"):
        log.info("removing %s, left by build process %d which is gone", partial, pid)
        shutil.rmtree(partial, ignore_errors=True)


def _prepare_output(output_dir: Path) -> Path:
    output_dir = output_dir.resolve()
    for parent in output_dir.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{parent}: is a file, not a folder (in --output {output_dir})")
            break
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"{output_dir}: exists and is not a folder; choose a new or empty folder for the output")
    if output_dir.exists() and any(output_dir.iterdir()) and not (output_dir / MANIFEST_NAME).exists():
        raise UserError(f"{output_dir}: exists and is not a silver-ner build folder; choose an empty or new folder")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(output_dir)
    tmp = output_dir.parent / f".{output_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _swap_into_place(tmp: Path, output_dir: Path) -> None:
    output_dir = output_dir.resolve()
    old = None
    if output_dir.exists():
        old = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
        os.replace(output_dir, old)
    os.replace(tmp, output_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)




def finish_output(tmp: Path, output_dir: Path, manifest) -> dict:
    """Complete a partial output folder and put it in place: write ``manifest`` (a typed ``Manifest``) and the
    configs' README (so ``load_dataset(OUTPUT, lang)`` finds them), make every config loadable again and
    rename the folder to ``output_dir``. Call it inside ``interrupt_guard().deferred()``. Returns the manifest
    as written (a dict)."""
    from .corpora import configs_readme
    from .manifest import write_manifest

    write_manifest(tmp, manifest)
    written = manifest.to_dict()
    (tmp / "README.md").write_text(configs_readme(written), encoding="utf-8")
    for lang in manifest.configs:
        _unhide(tmp / lang)
    _swap_into_place(tmp, output_dir)
    return written
