"""``keras.models``: Model, Sequential and the functional Model."""

from symgraph.keras.models.functional import Functional
from symgraph.keras.models.model import Model
from symgraph.keras.models.sequential import Sequential
from symgraph.keras.saving import load_model, save_model

__all__ = ["Functional", "Model", "Sequential", "load_model", "save_model"]
