"""Elementwise fusion: chains, diamonds and broadcasts of elementwise ops become one
loop (one ``FusedElementwise`` node), so intermediate values never reach memory.

A group grows from its last node (its root) towards its inputs. A member whose value
other nodes also need (or that is a graph output) stays in the group and becomes one
more output of the loop, written once as it is computed; afterwards, groups of the same
shape that read a common input merge into one loop with several outputs (siblings: the
Adam update's m, v and parameter, a forward value and the mask its gradient needs), so
the shared input is read once.

Legality and profit are kept apart: ``can_fuse`` says whether adding nodes to a group
keeps the program's meaning and is something the fused loop can compute (the group
stays convex: no path leaves it and comes back, so the fused nodes can be ordered; a
value leaving the loop has the loop's full shape); ``worth_fusing`` says whether it
pays (it computes at the group's shape, or is a scalar: a producer of a smaller
broadcast shape would be recomputed for every output element; siblings must share a
non-scalar input). Heuristics only ever see legal candidates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from symgraph.graph.core import Node, Tensor, apply, located
from symgraph.graph.shape import Shape
from symgraph.graph.traversal import toposort
from symgraph.ops.conv import Conv2D
from symgraph.ops.elementwise import Elementwise
from symgraph.ops.fused import FusedConv2D, FusedElementwise, FusedMatMul, FusedReduce, ProductEpilogue, epilogue_read
from symgraph.ops.linalg import MatMul
from symgraph.ops.reduction import Reduce
from symgraph.ops.shape_ops import Reshape, Transpose
from symgraph.passes.rewrite import rebuild
from symgraph.provenance import covered_nodes, is_fused, record_fused


@dataclass
class Group:
    """Nodes to become one loop: ``members`` by id; ``shape`` is the loop's shape."""

    shape: Shape
    members: dict[int, Node] = field(default_factory=dict)


class _Graph:
    """The graph being fused: order, consumers and which group each node joined."""

    def __init__(self, outputs: list[Tensor]):
        self.order = toposort(outputs)
        self.position = {id(n): i for i, n in enumerate(self.order)}
        self.consumers: dict[int, list[Node]] = {}
        for node in self.order:
            for t in node.inputs:
                self.consumers.setdefault(id(t.node), []).append(node)
        self.graph_outputs = {id(t) for t in outputs}
        self.group_of: dict[int, Group] = {}

    def needed_outside(self, node: Node, members: dict[int, Node]) -> bool:
        return id(node.outputs[0]) in self.graph_outputs or any(
            id(c) not in members for c in self.consumers.get(id(node), [])
        )

    def leaves_and_returns(self, members: dict[int, Node]) -> bool:
        """Is there a path from a member, through nodes outside ``members``, back to a
        member? Other groups count as one node each (they will be one fused node), so
        this also rules out a cycle between groups."""
        stack = [c for n in members.values() for c in self.consumers.get(id(n), []) if id(c) not in members]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if id(node) in members:
                return True
            group = self.group_of.get(id(node))
            if group is not None and len(group.members) > 1 and not (group.members.keys() & members.keys()):
                nexts = [c for m in group.members.values() for c in self.consumers.get(id(m), [])]
            else:
                nexts = self.consumers.get(id(node), [])
            stack += [c for c in nexts if id(c) not in seen]
        return False


def fuse_elementwise(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """Each maximal group of fusable elementwise nodes becomes one fused node."""
    graph = _Graph(outputs)
    groups: list[Group] = []
    for root in reversed(graph.order):
        if id(root) in graph.group_of or not _fusable(root):
            continue
        group = _grow(root, graph)
        groups.append(group)
        for k in group.members:
            graph.group_of[k] = group
    groups = _merge_siblings(groups, graph)
    fused = [g for g in groups if len(g.members) > 1]
    if not fused:
        return outputs, 0
    return _rebuild(fused, graph, outputs), len(fused)


def _fusable(node: Node) -> bool:
    return isinstance(node.op, Elementwise) and not isinstance(node.op, FusedElementwise)


def can_fuse(nodes: dict[int, Node], group: Group, graph: _Graph) -> bool:
    """Legality of adding ``nodes`` to ``group``: a value needed outside the result has
    the loop's shape (the loop writes only that), an op that can raise (an integer
    power's negative exponent) runs on all its own elements, and the result stays
    convex."""
    members = {**group.members, **nodes}
    for node in nodes.values():
        if graph.needed_outside(node, members) and node.outputs[0].shape != group.shape:
            return False
        if not _runs_everywhere(node, group.shape):
            return False
    return not graph.leaves_and_returns(members)


def _runs_everywhere(node: Node, shape: tuple) -> bool:
    """Whether the loop of ``shape`` computes every element of ``node``, as the node's own
    kernel would, where that matters: an op that can raise a call-time error. A smaller
    node broadcast into a loop that may run no element (a symbolic or zero size) would
    never be evaluated, and its error (raised by the reference, and at O0) never
    raised."""
    if not node.op.c_loop_checks(node.inputs[0].dtype if node.inputs else None):
        return True
    if node.outputs[0].shape == shape:
        return True
    return all(isinstance(d, int) and d > 0 for d in shape)


def worth_fusing(producer: Node, group: Group) -> bool:
    """Profit: the producer runs at the group's shape (or is a scalar), so fusing it
    repeats no work."""
    shape = producer.outputs[0].shape
    return shape == group.shape or all(d == 1 for d in shape)


def worth_merging(a: Group, b: Group, graph: _Graph) -> bool:
    """Profit of one loop for two sibling groups: they read a common non-scalar input."""
    return bool(_loop_inputs(a, graph) & _loop_inputs(b, graph))


def _grow(root: Node, graph: _Graph) -> Group:
    group = Group(root.outputs[0].shape, {id(root): root})
    frontier = [root]
    while frontier:
        node = frontier.pop()
        for t in node.inputs:
            producer = t.node
            if id(producer) in group.members or id(producer) in graph.group_of or not _fusable(producer):
                continue
            candidate = {id(producer): producer}
            if worth_fusing(producer, group) and can_fuse(candidate, group, graph):
                group.members.update(candidate)
                frontier.append(producer)
    return group


def _loop_inputs(group: Group, graph: _Graph) -> set[int]:
    """The non-scalar tensors a group's loop reads from outside it."""
    return {
        id(t)
        for n in group.members.values()
        for t in n.inputs
        if id(t.node) not in group.members and not all(d == 1 for d in t.shape)
    }


def _merge_siblings(groups: list[Group], graph: _Graph) -> list[Group]:
    """Groups of one shape that read a common input, merged while legal and worth it."""
    merged: list[Group] = []
    for group in sorted(groups, key=lambda g: min(graph.position[k] for k in g.members)):
        for other in merged:
            if other.shape != group.shape or not worth_merging(other, group, graph):
                continue
            if can_fuse(group.members, other, graph):
                other.members.update(group.members)
                for k in group.members:
                    graph.group_of[k] = other
                break
        else:
            merged.append(group)
    return merged


def _rebuild(groups: list[Group], graph: _Graph, outputs: list[Tensor]) -> list[Tensor]:
    """The graph with each group replaced by one fused node. Groups are built in the
    topological order of the graph where each group is one node (it is acyclic:
    ``can_fuse`` kept it so), so every node's inputs exist when it is built."""
    unit_of: dict[int, int] = {}
    units: dict[int, list[Node]] = {}
    for node in graph.order:
        group = graph.group_of.get(id(node))
        key = id(group) if group is not None and len(group.members) > 1 else id(node)
        unit_of[id(node)] = key
        units.setdefault(key, []).append(node)
    waiting = {key: {unit_of[id(t.node)] for n in unit for t in n.inputs} - {key} for key, unit in units.items()}
    users: dict[int, list[int]] = {}
    for key, deps in waiting.items():
        for d in deps:
            users.setdefault(d, []).append(key)
    ready = [key for key in units if not waiting[key]]
    new: dict[int, Tensor] = {}
    while ready:
        key = ready.pop()
        unit = units[key]
        if len(unit) > 1:
            _fused(unit, graph, new)
        else:
            rebuild(unit[0], new)
        for user in users.get(key, []):
            waiting[user].discard(key)
            if not waiting[user]:
                ready.append(user)
    return [new.get(id(t), t) for t in outputs]


def _fused(unit: list[Node], graph: _Graph, new: dict[int, Tensor]) -> None:
    """One FusedElementwise node computing ``unit`` (in topological order) from its
    outside inputs (as already rewritten: ``new`` maps a replaced tensor to its
    replacement); its outputs are the members' values needed outside, recorded in ``new``."""
    members = {id(n): n for n in unit}
    position = {id(n): j for j, n in enumerate(unit)}
    inputs: list[Tensor] = []
    program = []
    for node in unit:
        refs = []
        for t in node.inputs:
            if id(t.node) in position:
                refs.append(("step", position[id(t.node)]))
            else:
                t = new.get(id(t), t)
                k = next((i for i, x in enumerate(inputs) if x is t), None)
                if k is None:
                    k = len(inputs)
                    inputs.append(t)
                refs.append(("in", k))
        program.append((node.op, tuple(refs), node.inputs[0].dtype, node.outputs[0].dtype))
    exported = [n for n in unit if graph.needed_outside(n, members)]
    steps = tuple(position[id(n)] for n in exported)
    with located(exported[-1].location):
        fused = apply(FusedElementwise(tuple(program), steps), *inputs)
    record_fused(fused, unit)  # errors, dumps and profiles name the nodes the user built
    for node, value in zip(exported, fused.outputs):
        new[id(node.outputs[0])] = value


def fuse_matmul_epilogue(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """A 2-D matrix product read only by one elementwise loop of its shape becomes one
    ``FusedMatMul``: the loop (bias add, activation, a gradient's mask) runs on each
    block of rows right after BLAS wrote it."""
    return _fuse_epilogues(outputs, can_fuse_epilogue, FusedMatMul)


def fuse_conv_epilogue(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """A channels-last convolution read only by one elementwise loop of its shape becomes
    one ``FusedConv2D``: the loop (bias add, activation) runs on each block of output
    pixels right after the convolution computed it, on the same thread. A loop that
    reads the convolution through a view (NCHW's transpose, conv1d's squeeze) first
    moves before the view (``_sink_views``)."""
    return _fuse_epilogues(_sink_views(outputs), can_fuse_conv_epilogue, FusedConv2D)


NCHW_OF_NHWC = (0, 3, 1, 2)  # the transpose conv2d(data_format="NCHW") puts after the convolution


def _sink_views(outputs: list[Tensor]) -> list[Tensor]:
    """epilogue(view(conv2d(...)), others) becomes view(epilogue(conv2d(...), others
    seen channels-last)) where that is legal and worth it, the view being the transpose
    back to NCHW (others per channel or one element: as channel vectors (oc,)) or a
    reshape keeping the channels last (conv1d's squeeze: others full-shaped reshaped
    likewise): elementwise work commutes with either, and the loop then reads the
    convolution channels-last, fusable into it."""
    graph = _Graph(outputs)
    chosen: dict[int, int] = {}  # id of an epilogue node -> the input index of the view
    for node in graph.order:
        if not isinstance(node.op, Elementwise):
            continue
        for k, t in enumerate(node.inputs):
            if can_sink_view(t.node, node, graph) and worth_sinking_view(t.node, node):
                chosen[id(node)] = k
                break
    if not chosen:
        return outputs
    return _rebuild_replacing(graph, outputs, chosen, _sink_view)


def _sink_view(node: Node, k: int, new: dict[int, Tensor]) -> None:
    """``node`` moved before the view that is its input ``k`` (see _sink_views)."""
    view = node.inputs[k].node
    conv_value = new.get(id(view.inputs[0]), view.inputs[0])
    transposed = isinstance(view.op, Transpose)
    inputs = []
    with located(node.location):
        for j, t in enumerate(node.inputs):
            t = new.get(id(t), t)
            if j == k:
                inputs.append(conv_value)
            elif all(d == 1 for d in t.shape) or (not transposed and t.shape != view.outputs[0].shape):
                inputs.append(t)  # one element; a channel vector under a reshape keeping channels last
            elif transposed:  # (oc, 1, 1) or (1, oc, 1, 1): the same elements as a channel vector
                inputs.append(apply(Reshape((conv_value.shape[-1],)), t).outputs[0])
            else:  # the view's shape: the same elements in the convolution's
                inputs.append(apply(Reshape(conv_value.shape), t).outputs[0])
        moved = apply(node.op, *inputs)
        back = Transpose(NCHW_OF_NHWC) if transposed else Reshape(view.outputs[0].shape)
        results = [apply(back, t).outputs[0] for t in moved.outputs]
    if is_fused(node):
        record_fused(moved, covered_nodes(node))
    for old, fresh in zip(node.outputs, results):
        new[id(old)] = fresh


def can_sink_view(view: Node, epilogue: Node, graph: _Graph) -> bool:
    """Legality of moving ``epilogue`` before ``view`` of a convolution: the view is the
    transpose NCHW_OF_NHWC or a reshape keeping the channel count last, of a ``Conv2D``
    read by it alone; and the epilogue could be fused into the convolution in the view's
    place (``can_fuse_conv_epilogue``), its other inputs being per channel or one element
    (and, under a reshape, of the view's shape)."""
    if isinstance(view.op, Transpose):
        if view.op.perm != NCHW_OF_NHWC:
            return False
    elif not isinstance(view.op, Reshape):
        return False
    conv = view.inputs[0].node
    if type(conv.op) is not Conv2D or id(conv.outputs[0]) in graph.graph_outputs:
        return False
    if graph.consumers.get(id(conv), []) != [view]:
        return False
    value = view.outputs[0]
    if isinstance(view.op, Transpose):
        return _finishes(value, epilogue, graph, lambda shape: _nchw_channel_or_one(shape, value.shape))
    if value.ndim == 0 or value.shape[-1] != conv.outputs[0].shape[-1]:
        return False  # channels last in both: element i is channel i % oc in both
    return _finishes(value, epilogue, graph, lambda shape: epilogue_read(shape, value.shape) is not None)


def worth_sinking_view(view: Node, epilogue: Node) -> bool:
    """Profit: a reshape back costs nothing; a transpose back is a pass over memory, so
    the epilogue must have one output (the transpose after it replaces the one before;
    each more output would need a transpose of its own)."""
    return isinstance(view.op, Reshape) or len(epilogue.outputs) == 1


def _nchw_channel_or_one(shape: tuple, out_shape: tuple) -> bool:
    """Does an input of ``shape`` hold one element, or one per channel of the NCHW
    ``out_shape`` (the channel size at axis 1 of the output, every other size 1)?"""
    if all(d == 1 for d in shape):
        return True
    lead = len(out_shape) - len(shape)
    return lead <= 1 and shape[1 - lead] == out_shape[1] and sum(d != 1 for d in shape) == 1


def _fuse_epilogues(
    outputs: list[Tensor], legal: Callable[[Node, Node, _Graph], bool], make: type[ProductEpilogue]
) -> tuple[list[Tensor], int]:
    """Each elementwise node that ``legal`` lets finish one of its inputs' product becomes
    one ``make`` node computing both."""
    graph = _Graph(outputs)
    chosen: dict[int, int] = {}  # id of an epilogue node -> the input index of the product
    for node in graph.order:
        k = _epilogue_product(node, graph, legal)
        if k is not None:
            chosen[id(node)] = k
    if not chosen:
        return outputs, 0
    return _rebuild_replacing(graph, outputs, chosen, functools.partial(_fuse_epilogue, make)), len(chosen)


def _fuse_epilogue(make: type[ProductEpilogue], node: Node, k: int, new: dict[int, Tensor]) -> None:
    """``node`` and the product that is its input ``k`` as one ``make`` node."""
    product = node.inputs[k].node
    a, b = (new.get(id(t), t) for t in product.inputs)
    epilogue = node.op if isinstance(node.op, FusedElementwise) else _one_step(node)
    others = [new.get(id(t), t) for j, t in enumerate(node.inputs) if j != k]
    with located(node.location):
        fused = apply(make(product.op, epilogue, k), a, b, *others)
    record_fused(fused, [product, *covered_nodes(node)])
    _replaced(node, fused, new)


def _rebuild_replacing(
    graph: _Graph,
    outputs: list[Tensor],
    chosen: dict[int, int],
    replace: Callable[[Node, int, dict[int, Tensor]], None],
) -> list[Tensor]:
    """``outputs`` with the graph rebuilt in order, each node in ``chosen`` (its id -> an
    input index k) by ``replace(node, k, new)``, which records its outputs' replacements
    in ``new``."""
    new: dict[int, Tensor] = {}
    for node in graph.order:
        k = chosen.get(id(node))
        if k is None:
            rebuild(node, new)
        else:
            replace(node, k, new)
    return [new.get(id(t), t) for t in outputs]


def can_fuse_epilogue(product: Node, epilogue: Node, graph: _Graph) -> bool:
    """Legality: the product is a float 2-D matmul whose rows are contiguous in a (no
    transposed a), read by the epilogue alone, at the epilogue's shape; every other
    epilogue input is that shape, a row, a column or a scalar, with no size that has to
    be checked at call time (the block loop indexes them by row and column); an output
    of the product's dtype holds each block of the product until the epilogue reads it."""
    op = product.op
    if not isinstance(op, MatMul) or op.transpose_a or any(t.ndim != 2 for t in product.inputs):
        return False
    value = product.outputs[0]
    if value.dtype.kind != "f" or value.shape != epilogue.outputs[0].shape or id(value) in graph.graph_outputs:
        return False
    if [c for c in graph.consumers.get(id(product), [])] != [epilogue]:
        return False
    if sum(t is value for t in epilogue.inputs) != 1 or value.dtype not in [t.dtype for t in epilogue.outputs]:
        return False  # the product is written into the output of its dtype, then read back
    shape = value.shape
    for t in epilogue.inputs:
        if t is value:
            continue
        lead = len(shape) - t.ndim
        if lead < 0 or any(d != 1 and d != shape[lead + i] for i, d in enumerate(t.shape)):
            return False
    return True


def can_fuse_conv_epilogue(product: Node, epilogue: Node, graph: _Graph) -> bool:
    """Legality: the product is a channels-last ``Conv2D`` (NCHW data reaches the epilogue
    through a transpose: ``_sink_nchw`` moved the epilogue before it where it could)
    read by the epilogue alone, at the epilogue's shape; every other epilogue input is
    that shape, per channel (its last size the channel count, the others 1) or one
    element, so the kernel indexes it by output element, channel or not at all; an
    output of the product's dtype holds each block of the product until the epilogue
    reads it; the epilogue flags no error after its loop (it runs inside the
    convolution's threads)."""
    if type(product.op) is not Conv2D:
        return False
    value = product.outputs[0]
    return _finishes(value, epilogue, graph, lambda shape: epilogue_read(shape, value.shape) is not None)


def _finishes(value: Tensor, epilogue: Node, graph: _Graph, readable: Callable[[tuple], bool]) -> bool:
    """Can the elementwise ``epilogue`` finish ``value`` inside the kernel computing it:
    the value is read by the epilogue alone (once), at the epilogue's shape, is no graph
    output, and its dtype is an output's (which holds it until the epilogue reads it);
    ``readable`` accepts every other input's shape; no check after the loop."""
    if not isinstance(epilogue.op, Elementwise) or id(value) in graph.graph_outputs:
        return False
    if graph.consumers.get(id(value.node), []) != [epilogue] or len(value.node.outputs) != 1:
        return False
    if any(t.shape != value.shape for t in epilogue.outputs):
        return False
    if sum(t is value for t in epilogue.inputs) != 1 or value.dtype not in [t.dtype for t in epilogue.outputs]:
        return False  # the product is written into the output of its dtype, then read back
    if not all(readable(t.shape) for t in epilogue.inputs if t is not value):
        return False
    program = epilogue.op if isinstance(epilogue.op, FusedElementwise) else _one_step(epilogue)
    return not program.c_loop_checks(value.dtype)


def _epilogue_product(node: Node, graph: _Graph, legal: Callable[[Node, Node, _Graph], bool]) -> int | None:
    """The input index of a product ``node`` can be the epilogue of, if any."""
    if not isinstance(node.op, Elementwise):
        return None
    for k, t in enumerate(node.inputs):
        if legal(t.node, node, graph):
            return k
    return None


def _one_step(node: Node) -> FusedElementwise:
    """An unfused elementwise node as a one-step fused program."""
    refs = tuple(("in", k) for k in range(len(node.inputs)))
    return FusedElementwise(((node.op, refs, node.inputs[0].dtype, node.outputs[0].dtype),))


def fuse_reductions(outputs: list[Tensor]) -> tuple[list[Tensor], int]:
    """A reduction of an elementwise loop's result read by nothing else becomes one
    ``FusedReduce``: sum((a - b)**2), the bias gradient's masked sum, ... in one pass."""
    graph = _Graph(outputs)
    chosen = {id(n) for n in graph.order if isinstance(n.op, Reduce) and can_fuse_reduction(n.inputs[0].node, n, graph)}
    if not chosen:
        return outputs, 0
    new: dict[int, Tensor] = {}
    for node in graph.order:
        if id(node) not in chosen:
            rebuild(node, new)
            continue
        producer = node.inputs[0].node
        program = producer.op if isinstance(producer.op, FusedElementwise) else _one_step(producer)
        with located(node.location):
            fused = apply(FusedReduce(node.op, program), *(new.get(id(t), t) for t in producer.inputs))
        record_fused(fused, [*covered_nodes(producer), node])
        _replaced(node, fused, new)
    return [new.get(id(t), t) for t in outputs], len(chosen)


def _replaced(node: Node, fused: Node, new: dict[int, Tensor]) -> None:
    """Record that ``fused``'s outputs replace ``node``'s."""
    for old, fresh in zip(node.outputs, fused.outputs):
        new[id(old)] = fresh


def can_fuse_reduction(producer: Node, reduction: Node, graph: _Graph) -> bool:
    """Legality: a single-output elementwise producer read by the reduction alone, whose
    inputs each have its shape (read at the same offset; symbolic sizes checked at call
    time) or one element (read at 0), at least one of them exactly its shape."""
    if not isinstance(producer.op, Elementwise) or len(producer.outputs) != 1:
        return False
    value = producer.outputs[0]
    if id(value) in graph.graph_outputs or graph.consumers.get(id(producer), []) != [reduction]:
        return False
    shapes = [t.shape for t in producer.inputs if not all(d == 1 for d in t.shape)]
    if not any(s == value.shape for s in shapes):
        return False
    # the others: the same shape, but for symbolic sizes the kernel checks at call time
    return all(
        len(s) == len(value.shape) and all(_same_or_checked(d, v) for d, v in zip(s, value.shape)) for s in shapes
    )


def _same_or_checked(d, v) -> bool:
    return d == v or not (isinstance(d, int) or isinstance(v, int))
