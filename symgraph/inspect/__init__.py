"""Reading graphs: text dumps, networkx graphs, DOT and SVG pictures, profiles; and the
provenance that lets errors and profiles name the nodes the user built."""

from symgraph.inspect.dump import dump
from symgraph.inspect.graphviz import to_dot, to_networkx, to_svg

__all__ = ["dump", "to_dot", "to_networkx", "to_svg"]
