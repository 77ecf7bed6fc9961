"""symgraph's hand-written C runtime: the headers every generated unit includes and symgraph_call.c.

The repository keeps it at the top level (csrc/); it installs as this package so that
importlib.resources finds it (symgraph.runtime.toolchain.csrc_dir()). No Python here.
"""
