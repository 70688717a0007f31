"""Choosing and ordering stages.

:func:`build_pipeline` picks the default stages (or the named ones plus everything they
require), orders them so each runs after what it requires (ties by ``order``, then name), and
:meth:`Pipeline.phases` cuts the order into runs of parallel stages separated by sequential
ones. :meth:`Pipeline.rounds` is what the multi-process engines schedule: as few trips to
the workers as the declared requirements allow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from allsource.errors import InputError
from allsource.plugins import stages as registered_stages
from allsource.process.base import Stage

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore


@dataclass(frozen=True, slots=True)
class Phase:
    sequential: bool
    stages: tuple[Stage, ...]


@dataclass(frozen=True, slots=True)
class Round:
    """One trip to the workers. ``parallel`` run there, in pipeline order; each ``(cut,
    stage)`` of ``sequential`` runs here, after the trip, once the results of the first
    ``cut`` parallel stages are in (its place in the pipeline), on the whole batch and in
    pipeline order. ``early`` are the sequential stages with a ``precompute`` step that the
    workers run on the same trip: they require nothing the round computes."""

    parallel: tuple[Stage, ...]
    sequential: tuple[tuple[int, Stage], ...] = ()
    early: tuple[Stage, ...] = ()


@dataclass(slots=True)
class Pipeline:
    stages: list[Stage]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def versions(self) -> dict[str, str]:
        """Each stage's stored version: its own :attr:`~Stage.run_version`, plus — when a
        stage it requires (directly or not) depends on data besides its code (a trained
        model, analysts' alias corrections) — a digest of those fingerprints, so an undone
        alias redoes ``relations`` and ``claims`` too, not only ``entities``."""
        by_name = {s.name: s for s in self.stages}

        def upstream(name: str, seen: set[str]) -> set[str]:
            found: set[str] = set()
            for req in type(by_name[name]).requires:
                if req in by_name and req not in seen:
                    seen.add(req)
                    found |= {req} | upstream(req, seen)
            return found

        out: dict[str, str] = {}
        for stage in self.stages:
            prints = sorted(f"{n}:{by_name[n].fingerprint()}"
                            for n in upstream(stage.name, set()) if by_name[n].fingerprint())
            version = stage.run_version
            if prints:
                digest = hashlib.sha256("|".join(prints).encode()).hexdigest()[:8]
                version = f"{version}^{digest}"
            out[stage.name] = version
        return out

    def phases(self) -> list[Phase]:
        out: list[Phase] = []
        for stage in self.stages:
            if out and out[-1].sequential == stage.sequential and not stage.sequential:
                out[-1] = Phase(False, (*out[-1].stages, stage))
            else:
                out.append(Phase(stage.sequential, (stage,)))
        return out

    def rounds(self) -> list[Round]:
        """The schedule of a multi-process engine, equivalent to running the stages in order.

        A stage reads only the document and the results of the stages it requires
        (:attr:`Stage.requires`, followed transitively), so a parallel stage that requires no
        sequential stage can run in the same worker trip as the parallel stages ordered
        before it, even across a sequential stage: that one runs afterwards, here, at its
        place (the engine splices its output in between). A parallel stage that does require
        a sequential stage of the current round starts the next round. The default pipeline
        is one round: every parallel stage in the workers, ``stories`` here."""
        needs = self.requirements()
        out: list[Round] = []
        parallel: list[Stage] = []
        sequential: list[tuple[int, Stage]] = []

        def close() -> None:
            names = {s.name for s in parallel} | {s.name for _, s in sequential}
            early = tuple(s for _, s in sequential if not needs[s.name] & names
                          and callable(getattr(s, "precompute", None)))
            out.append(Round(tuple(parallel), tuple(sequential), early))

        for stage in self.stages:
            if stage.sequential:
                sequential.append((len(parallel), stage))
            elif any(s.name in needs[stage.name] for _, s in sequential):
                close()
                parallel, sequential = [stage], []
            else:
                parallel.append(stage)
        if parallel or sequential:
            close()
        return out

    def requirements(self) -> dict[str, set[str]]:
        """Each stage's requirements, followed transitively (within this pipeline)."""
        direct = {s.name: tuple(s.requires) for s in self.stages}
        closed: dict[str, set[str]] = {}

        def close(name: str, chain: frozenset[str]) -> set[str]:
            if name not in closed:
                found = set(direct.get(name, ()))
                for req in direct.get(name, ()):
                    if req not in chain:  # a cycle cannot be built; don't loop on one
                        found |= close(req, chain | {name})
                closed[name] = found
            return closed[name]

        return {s.name: close(s.name, frozenset()) for s in self.stages}

    def setup(self) -> None:
        for stage in self.stages:
            stage.setup()


def order_stages(classes: dict[str, type[Stage]], wanted: Sequence[str]) -> list[str]:
    """``wanted`` plus their requirements, each after what it requires."""
    needed: set[str] = set()

    def need(name: str, chain: tuple[str, ...]) -> None:
        if name in chain:
            raise InputError(f"stages require each other in a cycle: {' → '.join(chain)}")
        if name not in classes:
            raise InputError(f"no stage named {name!r}; available: {', '.join(classes)}")
        needed.add(name)
        for req in classes[name].requires:
            need(req, (*chain, name))

    for name in wanted:
        need(name, ())
    ordered: list[str] = []
    pending = sorted(needed, key=lambda n: (classes[n].order, n))
    while pending:
        ready = next(n for n in pending if all(r in ordered for r in classes[n].requires))
        ordered.append(ready)
        pending.remove(ready)
    return ordered


def build_pipeline(names: Sequence[str] | None = None,
                   options: dict[str, dict[str, Any]] | None = None,
                   store: SqlStore | None = None,
                   classes: dict[str, type[Stage]] | None = None) -> Pipeline:
    """The default pipeline, or the named stages with their requirements."""
    classes = classes if classes is not None else registered_stages()
    wanted = list(names) if names else [n for n, c in classes.items() if c.default]
    options = options or {}
    built = []
    for name in order_stages(classes, wanted):
        cls = classes[name]
        stage = cls(options.get(name), store=store if cls.sequential else None)
        if store is not None:
            stage.prepare(store)
        built.append(stage)
    return Pipeline(built)
