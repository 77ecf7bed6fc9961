"""Reading graphs: text dumps (and, later, pictures, C source and profiles)."""

from symgraph.inspect.dump import dump

__all__ = ["dump"]
