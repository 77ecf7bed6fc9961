"""Scan, Theano's loop, as one package: every facet of the op in one place.

| module | stage | what |
|---|---|---|
| ``step`` | graph | a step as a graph of its own (``InnerGraph``) and how it runs (``StepPlan``) |
| ``op`` | op table | ``Scan``: type rule, numpy reference, and its other facets' entry points |
| ``trace`` | graph building | ``trace_scan``: a Scan from a Python step function |
| ``rows`` | analysis | which rows of a step are independent; the step for a block of them |
| ``grad`` | autodiff | backpropagation through time, through ``autodiff.vjp`` |
| ``rewrites`` | passes | ``prune_scan_outputs``, ``optimize_scan_steps`` (in the pipeline's list) |
| ``kernel`` | C | the step as a static function called in a C loop |
| ``api`` | user API | ``sg.scan`` with Theano's conventions |
"""

from symgraph.scan.api import scan
from symgraph.scan.op import Scan
from symgraph.scan.step import InnerGraph, StepPlan
from symgraph.scan.trace import build_scan, trace_scan

__all__ = ["scan", "Scan", "InnerGraph", "StepPlan", "trace_scan", "build_scan"]
