"""Plans: which steps an experiment has, their keys, and which of them a run must execute.

Pure: nothing here reads or writes the store (whether a step is cached is a function the caller
passes), so a plan can be built and tested without a disk.

A *stage* is a kind of work (``clusters``); a *step* is one stage applied to given inputs with
given parameters (``clusters/mlp``). A step's *key* hashes (stage name, stage version, canonical
parameters, upstream keys), so a second run of the same config finds every key in place, and
changing one parameter re-runs exactly the steps downstream of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from pathways.errors import StoreError
from pathways.registry import load_named


def at_seed(name: str, seed: int | None) -> str:
    """``name`` at an extra training seed: ``capture@seed1`` (``name`` itself for None)."""
    return name if seed is None else f"{name}@seed{seed}"


def step_id(stage: str, model: str | None = None, seed: int | None = None) -> str:
    """The id of a step: ``data``, ``clusters/mlp``, ``train/mlp@seed1`` (the one helper that
    makes them; the store's folders and the run record use these ids)."""
    return stage if model is None else at_seed(f"{stage}/{model}", seed)


def step_parts(step: str) -> tuple[str, str | None]:
    """The (stage, model) of a step id (the model with its seed: ``mlp@seed1``); None for a
    per-experiment step.

    >>> step_parts("novelty/mlp"), step_parts("data")
    (('novelty', 'mlp'), ('data', None))
    """
    stage, _, model = step.partition("/")
    return stage, model or None


@dataclass(frozen=True)
class Stage:
    """A stage: its name, version (bump it when its code changes results) and function.

    ``func`` is the function or ``"module:function"`` (imported only when the stage runs, so a
    cached run imports no torch). The function takes its inputs (upstream steps' outputs) by
    the names in ``inputs`` — or all of them as one mapping ``upstream`` when they vary — and
    its parameters as keyword-only arguments, plus ``progress``.
    """

    name: str
    version: int
    func: str | Callable[..., dict[str, Any]]
    inputs: tuple[str, ...] = ()
    """The upstream outputs it takes, by input name."""
    options: tuple[str, ...] = ()
    """Keyword arguments that are run-time settings (device, cache folder): passed, not keyed."""
    keyed_on: tuple[str, ...] = ()
    """Values of the experiment in the step's key that the function itself does not take."""
    outputs: tuple[str, ...] = ()
    """The outputs every step of it returns, by name (what downstream stages may read)."""
    may_output: tuple[str, ...] = ()
    """Outputs it returns in some runs only: names, or patterns such as ``maps_*``."""
    deferred: bool = False
    """Nothing that answers the experiment's questions reads it, and it is slow (the 2-D
    maps): a run starts it only once every step it runs that does not read a deferred step
    has started (in one process: has finished), so the report comes first and these follow
    (:func:`pathways.engine.executors.schedule`)."""

    def load(self) -> Callable[..., dict[str, Any]]:
        return self.func if callable(self.func) else load_named(self.func)

    def declares(self, output: str) -> bool:
        """``output`` is one of its declared outputs (always or sometimes returned)."""
        return output in self.outputs or any(fnmatchcase(output, p) for p in self.may_output)

    def check_outputs(self, returned: Iterable[str]) -> None:
        """Refuse what a stage function returned when it differs from the declaration: a
        bug in the stage, reported before anything is saved.

        >>> Stage("census", 1, print, outputs=("counts",)).check_outputs(["counts", "extra"])
        Traceback (most recent call last):
        ...
        RuntimeError: stage census returned extra, which it does not declare (declared: counts)
        """
        returned = list(returned)
        missing = [o for o in self.outputs if o not in returned]
        extra = [o for o in returned if not self.declares(o)]
        if missing or extra:
            what = [f"no {', '.join(missing)}"] if missing else []
            what += [f"{', '.join(extra)}, which it does not declare"] if extra else []
            declared = ", ".join((*self.outputs, *self.may_output)) or "nothing"
            raise RuntimeError(
                f"stage {self.name} returned {' and '.join(what)} (declared: {declared})"
            )


@dataclass(frozen=True)
class Step:
    """One stage applied with given parameters to given upstream steps."""

    id: str
    stage: Stage
    params: Mapping[str, Any]
    upstream: Mapping[str, str] = field(default_factory=dict)
    """Input name → id of the step that produces it."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Run-time settings (device, cache folder) passed with the parameters but not part of the
    key: they change where or how fast a step runs, not what it means."""


@dataclass
class StepStatus:
    step: Step
    key: str
    cached: bool
    selected: bool
    action: str = ""
    """"run", "cached" or "skip" (not selected), decided by :func:`plan_status`."""
    seconds: float | None = None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def step_keys(plan: list[Step]) -> dict[str, str]:
    """The cache key of every step, in plan order (upstream steps must come first)."""
    keys: dict[str, str] = {}
    for step in plan:
        missing = [s for s in step.upstream.values() if s not in keys]
        if missing:
            raise ValueError(f"step {step.id} depends on {missing[0]}, which is not before it")
        payload = {
            "stage": step.stage.name,
            "version": step.stage.version,
            "params": step.params,
            "upstream": {name: keys[s] for name, s in sorted(step.upstream.items())},
        }
        keys[step.id] = hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]
    return keys


def plan_status(
    plan: list[Step],
    is_cached: Callable[[str, str], bool],
    only: Iterable[str] | None = None,
    force: bool = False,
) -> list[StepStatus]:
    """What a run would do: for each step, whether it is cached and whether it would run.

    ``only`` selects steps by stage name (``train``) or step id (``train/mlp``); their
    uncached upstream steps run too. ``force`` re-runs the selected steps even if cached.
    ``is_cached(step_id, key)`` tells whether a step's outputs are in place.
    """
    keys = step_keys(plan)
    only = list(only or [])
    known = {s.stage.name for s in plan} | {s.id for s in plan}
    unknown = [o for o in only if o not in known]
    if unknown:
        raise StoreError(
            f"--only {unknown[0]}: no such stage or step — choose from: {', '.join(sorted(known))}"
        )
    selected = {s.id for s in plan if not only or s.stage.name in only or s.id in only}
    statuses = {
        s.id: StepStatus(s, keys[s.id], is_cached(s.id, keys[s.id]), s.id in selected) for s in plan
    }
    # Upstream steps a selected step needs, when they are not cached, run too.
    for step in reversed(plan):
        status = statuses[step.id]
        wanted = status.selected or status.action == "needed"
        if wanted and (not status.cached or (force and status.selected)):
            for upstream in step.upstream.values():
                if not statuses[upstream].cached:
                    statuses[upstream].action = "needed"
    for status in statuses.values():
        if status.selected and (force or not status.cached):
            status.action = "run"
        elif status.action == "needed":
            status.action = "run"
        elif status.cached:
            status.action = "cached"
        else:
            status.action = "skip"
    return [statuses[s.id] for s in plan]
