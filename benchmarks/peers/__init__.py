"""The systems measured side by side: symgraph and the peers a user would pick instead.

Each peer is one module of this package, run in a process of its own (benchmarks/child.py)
so that libraries never share a process, a thread pool or an import-time setting. A module
defines ``setup(variant) -> version text`` and ``WORKLOADS``: workload id -> function of a
``Context``; W7 runs once per process with ``ctx.phase`` "cold" or "warm".
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")  # W8: the peers that have a custom step


@dataclass(frozen=True)
class Peer:
    """One column of the table: ``module`` run with ``variant``, when ``requires`` import."""

    key: str
    label: str
    module: str
    variant: str
    requires: tuple[str, ...]
    workloads: tuple[str, ...]
    family: str
    env: dict[str, str] = field(default_factory=dict)
    ours: bool = False


PEERS = (
    Peer("numpy", "numpy", "numpy_peer", "", ("numpy",), ("W0", "W1", "W2", "W4"), "numpy"),
    Peer(
        "torch", "torch eager", "torch_peer", "eager", ("torch",), ("W1", "W2", "W3", "W4", "W5", "W6", "W8"), "torch"
    ),
    Peer(
        "torch-compile",
        "torch.compile",
        "torch_peer",
        "compile",
        ("torch",),
        ("W1", "W2", "W3", "W4", "W5", "W7", "W8"),
        "torch",
    ),
    Peer("jax", "jax.jit", "jax_peer", "", ("jax", "optax"), (*ALL_WORKLOADS, "W8"), "jax"),
    # PyTensor 3 has no conv2d op (Theano's nnet was removed): no W5
    Peer(
        "pytensor",
        "PyTensor",
        "pytensor_peer",
        "default",
        ("pytensor",),
        ("W1", "W2", "W3", "W4", "W6", "W7"),
        "pytensor",
    ),
    Peer(
        "pytensor-cvm",
        "PyTensor CVM",
        "pytensor_peer",
        "CVM",
        ("pytensor",),
        ("W1", "W2", "W3", "W4", "W7"),
        "pytensor",
    ),
    Peer("tf", "tf.function", "tf_peer", "", ("tensorflow",), ("W1", "W2", "W3", "W4"), "tf"),
    Peer(
        "tf-keras",
        "tf.keras",
        "keras_peer",
        "tensorflow",
        ("tensorflow", "keras"),
        ("W3", "W4", "W5", "W6", "W8"),
        "keras",
        {"KERAS_BACKEND": "tensorflow"},
    ),
    Peer(
        "keras-jax",
        "Keras3 JAX",
        "keras_peer",
        "jax",
        ("jax", "keras"),
        ("W3", "W4", "W5", "W6", "W7"),
        "keras",
        {"KERAS_BACKEND": "jax"},
    ),
    Peer("symgraph", "symgraph", "symgraph_peer", "", ("symgraph",), ALL_WORKLOADS, "symgraph", ours=True),
    Peer(
        "symgraph-keras",
        "symgraph.keras",
        "symgraph_keras_peer",
        "",
        ("symgraph.keras",),
        ("W3", "W4", "W5", "W6", "W8"),
        "symgraph",
        ours=True,
    ),
)

PEERS_BY_KEY = {peer.key: peer for peer in PEERS}


def select(tokens: list[str] | None) -> list[Peer]:
    """Peers named by ``tokens`` (a key such as ``torch-compile`` or a family such as
    ``torch``, ``keras``, ``tf``); symgraph's own columns are always kept."""
    if not tokens:
        return list(PEERS)
    wanted = {t.strip().lower() for t in tokens if t.strip()}
    unknown = wanted - {p.key for p in PEERS} - {p.family for p in PEERS}
    if unknown:
        known = ", ".join(sorted({p.key for p in PEERS} | {p.family for p in PEERS}))
        raise ValueError(f"unknown peer(s) {', '.join(sorted(unknown))}; known: {known}")
    return [p for p in PEERS if p.ours or p.key in wanted or p.family in wanted]
