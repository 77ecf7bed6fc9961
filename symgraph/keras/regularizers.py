"""``keras.regularizers``: weight penalties added to the training loss.

L1(l1=0.01): l1 * sum(|w|); L2(l2=0.01): l2 * sum(w^2); L1L2(l1=0, l2=0): both. The
strings "l1", "l2", "l1_l2" build them with their defaults (0.01 each; l1_l2 with both).
"""

from __future__ import annotations

import symgraph as sg
from symgraph.graph.core import Tensor


class Regularizer:
    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Tensor) -> Tensor:
        penalty = None
        if self.l1:
            penalty = self.l1 * sg.sum(sg.abs(x))
        if self.l2:
            term = self.l2 * sg.sum(sg.square(x))
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else sg.constant(0.0)

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict:
        return {"l2": self.l2}


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    return L1L2(l1, l2)


l1, l2 = L1, L2

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01), "l1l2": lambda: L1L2(0.01, 0.01)}
_BY_CLASS = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier: object) -> Regularizer | None:
    if identifier is None:
        return None
    if isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier) or _BY_CLASS.get(identifier)
        if factory is None:
            raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
        return factory()
    if isinstance(identifier, dict):
        cls = _BY_CLASS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier  # type: ignore[return-value]
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
