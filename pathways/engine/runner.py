"""Running a plan inside one run folder: the lock, the loop, each step's commit, the run record.

The plan (:mod:`pathways.engine.steps`) says what must run; an executor (:mod:`pathways.engine.executors`)
where; this module how one step runs: it opens the step's inputs, calls the stage function,
saves the outputs into ``RUN/.tmp/`` (:mod:`pathways.engine.artifacts`) and renames them into place only
when complete, with their manifest, so an interrupted run leaves no half-written output. A lock
file serialises runs on the same run folder.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from filelock import FileLock, Timeout

from pathways import __version__
from pathways.engine import faults
from pathways.engine.artifacts import MANIFEST, Artifact, OutputWriter, output_intact, read_manifest
from pathways.engine.executors import LocalExecutor
from pathways.engine.progress import Progress, Silent, StepProgress
from pathways.engine.steps import Step, StepStatus, plan_status
from pathways.errors import StoreError
from pathways.store.format import STORE_FORMAT, check_store_format

if TYPE_CHECKING:
    from pathways.engine.executors import Executor

_LIBRARIES = ("torch", "numpy", "pandas", "pyarrow", "scikit-learn")


def library_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "pathways": __version__}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _first_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet (None: it exists)."""
    missing = None
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            break
        missing = path
    return missing


def _remove_created(folder: Path, created: Path) -> None:
    """Remove ``folder`` (holding at most its released lock) and its parents up to
    ``created``, each only while it is empty: another process may have begun to use them."""
    (folder / ".lock").unlink(missing_ok=True)
    for path in (folder, *folder.parents):
        try:
            path.rmdir()
        except OSError:
            return
        if path == created:
            return


class Runner:
    """Runs a plan of steps inside one run folder.

    A run that stops on an error in a run folder it created leaves nothing behind: the folder
    (and the store folders it created) are removed, so the store is as it was. In a run
    folder that already held a run, the steps that finished before the error stay, complete
    and with their manifests (a later run finds them cached); a step that failed leaves
    nothing. Ctrl-C keeps finished steps in either case, so the next run resumes.
    """

    def __init__(self, run_dir: str | Path, provenance: Mapping[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.provenance = dict(provenance or {})

    # -- inspection -------------------------------------------------------------------------
    def step_dir(self, step_id: str) -> Path:
        return self.run_dir / step_id

    def is_cached(self, step_id: str, key: str) -> bool:
        folder = self.step_dir(step_id)
        try:
            manifest = read_manifest(folder)
        except (OSError, ValueError):
            return False
        if manifest.get("key") != key:
            return False
        return all(
            output_intact(folder / info["file"], info)
            for info in manifest.get("outputs", {}).values()
        )

    def plan_status(
        self, plan: list[Step], only: Iterable[str] | None = None, force: bool = False
    ) -> list[StepStatus]:
        """What a run would do (see :func:`pathways.engine.steps.plan_status`), against this run
        folder's outputs."""
        return plan_status(plan, self.is_cached, only, force)

    # -- execution --------------------------------------------------------------------------
    def lock(self, timeout: float = -1, progress: Progress | None = None) -> FileLock:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(
                f"cannot create the run folder {self.run_dir}: a file is in the way — "
                "choose another --store"
            ) from None
        lock = FileLock(self.run_dir / ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            (progress or Silent()).log(
                f"waiting for another pathways process using {self.run_dir} …"
            )
            try:
                lock.acquire(timeout=timeout)
            except Timeout:
                raise StoreError(
                    f"{self.run_dir} is in use by another pathways process — wait for it to "
                    "finish, or run with another --store"
                ) from None
        return lock

    def _clean_leftovers(self) -> None:
        for leftover in (".tmp", ".trash"):
            shutil.rmtree(self.run_dir / leftover, ignore_errors=True)

    def run(
        self,
        plan: list[Step],
        only: Iterable[str] | None = None,
        force: bool = False,
        progress: Progress | None = None,
        lock_timeout: float = -1,
        executor: Executor | None = None,
    ) -> list[StepStatus]:
        """Run what :meth:`plan_status` says must run; return the statuses with timings.

        ``executor`` decides where steps run (default: here, in order, the deferred maps last;
        see :mod:`pathways.engine.executors`). The run's record (``run.json``) is rewritten as
        each step finishes, so an explorer open on the store shows the answers while the maps
        are still being made, and fills the maps in when they land.
        """
        progress = progress or Silent()
        check_store_format(self.run_dir)
        created = _first_missing(self.run_dir)
        lock = self.lock(lock_timeout, progress)
        failed = False
        try:
            self._clean_leftovers()
            statuses = self.plan_status(plan, only, force)
            keys = {s.step.id: s.key for s in statuses}
            (executor or LocalExecutor()).run(
                self.run_step, statuses, keys, progress, lambda _: self._write_run_record(statuses)
            )
            self._write_run_record(statuses)
            return statuses
        except Exception:
            failed = True
            raise
        finally:
            # a step stopped on a worker process (Ctrl-C, another step's error) leaves its
            # temporary folder: nobody else writes here while we hold the lock
            self._clean_leftovers()
            if failed and created is not None:  # this run made the folder: take it away
                self._empty_run_folder()
            lock.release()
            if failed and created is not None:
                _remove_created(self.run_dir, created)

    def _empty_run_folder(self) -> None:
        """Everything in the run folder but its lock, which is still held."""
        for entry in self.run_dir.iterdir():
            if entry.name == ".lock":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def run_step(self, step: Step, keys: Mapping[str, str], progress: Progress) -> None:
        """Run one step whose upstream outputs are in place; its outputs appear atomically."""
        inputs = {name: Artifact(self.step_dir(s)) for name, s in step.upstream.items()}
        for upstream_id, artifact in zip(step.upstream.values(), inputs.values(), strict=True):
            artifact.check_readable(upstream_id)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        tmp = self.run_dir / ".tmp" / f"{step.id.replace('/', '-')}-{uuid.uuid4().hex[:8]}"
        scratch = tmp.with_name(tmp.name + "-scratch")
        try:
            outputs = self._call(step, inputs, scratch, StepProgress(progress, step.id))
            step.stage.check_outputs(outputs)
            manifest = {
                "step": step.id,
                "stage": step.stage.name,
                "version": step.stage.version,
                "key": keys[step.id],
                "params": step.params,
                "options": step.options,
                "upstream": {n: {"step": s, "key": keys[s]} for n, s in step.upstream.items()},
                "versions": library_versions(),
                "started_at": started,
                "seconds": round(time.perf_counter() - t0, 3),
            }
            tmp.mkdir(parents=True)
            manifest["outputs"] = OutputWriter(tmp, self._provenance(manifest)).save_all(outputs)
            manifest["seconds"] = round(time.perf_counter() - t0, 3)
            faults.kill_at(step.id, "saved")
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            self._replace(tmp, self.step_dir(step.id), step.id)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)

    def _call(
        self, step: Step, inputs: dict[str, Artifact], scratch: Path, progress: Progress
    ) -> dict[str, Any]:
        """The stage function of ``step`` applied to its inputs, parameters and options."""
        stage = step.stage
        func = stage.load()
        # By input name, or all together for a stage whose inputs vary (report, stability).
        given = {"upstream": inputs} if "upstream" in inspect.signature(func).parameters else inputs
        options = {**step.options}
        if "scratch" in stage.options:
            scratch.mkdir(parents=True)
            options["scratch"] = scratch
        taken = {k: v for k, v in step.params.items() if k not in stage.keyed_on}
        try:
            return func(**given, **taken, **options, progress=progress)
        except pa.ArrowException as exc:
            upstream = ", ".join(step.upstream.values()) or "none"
            raise StoreError(
                f"{step.id}: an input file is damaged ({str(exc).splitlines()[0]}) — re-run the "
                f"upstream steps ({upstream}) with `pathways run --only STEP --force`"
            ) from None

    def _provenance(self, manifest: dict) -> str:
        keys = ("step", "stage", "version", "key", "params", "upstream", "versions")
        return json.dumps({**self.provenance, **{k: manifest[k] for k in keys}}, default=str)

    def _replace(self, tmp: Path, final: Path, step_id: str) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        trash = self.run_dir / ".trash" / uuid.uuid4().hex
        if final.exists():
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, trash)
            faults.kill_at(step_id, "replacing")
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)

    def _write_run_record(self, statuses: list[StepStatus]) -> None:
        record = {
            **self.provenance,
            "store_format": STORE_FORMAT,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "steps": {
                s.step.id: {"stage": s.step.stage.name, "key": s.key}
                for s in statuses
                if self.is_cached(s.step.id, s.key)
            },
        }
        tmp = self.run_dir / f".run.json.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(record, indent=2, default=str))
        os.replace(tmp, self.run_dir / "run.json")
