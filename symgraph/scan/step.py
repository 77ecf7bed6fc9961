"""A scan's step as a graph of its own (``InnerGraph``), and how it runs (``StepPlan``)."""

from __future__ import annotations

from dataclasses import dataclass

from symgraph.graph.core import Tensor
from symgraph.graph.shape import Sym


@dataclass(eq=False)
class InnerGraph:
    """One step of a scan as a graph of its own."""

    sequences: list[Tensor]  # placeholders: one row of each sequence
    states: list[Tensor]  # placeholders: each fed-back state's value before the step
    non_sequences: list[Tensor]  # placeholders: the same value at every step
    outputs: list[Tensor]  # the step's outputs
    feedback: tuple[int | None, ...]  # per output: the state it feeds, or None

    @property
    def inputs(self) -> list[Tensor]:
        return [*self.sequences, *self.states, *self.non_sequences]

    def state_output(self, state: int) -> int:
        """The output that feeds ``state``."""
        return self.feedback.index(state)


@dataclass(frozen=True, eq=False)
class StepPlan:
    """How a Scan's step runs, decided by the pass ``optimize_scan_steps``: the step
    graph after the pass pipeline (fusion inside the step pays every step), and where
    the step treats the rows of its states independently (a recurrent layer's batch),
    the blocks of rows that go through all the steps each on its own thread."""

    step: InnerGraph  # the optimised step over all the rows
    chunks: int = 1  # > 1: that many equal blocks of a static number of rows
    block: InnerGraph | None = None  # the optimised step for one block (chunks > 1)
    rows: Sym | None = None  # a symbolic number of rows the step may run in blocks of
