"""Compiled functions written out to run without Python: ``export_c`` (C, a static library
and a command, built with ``make``). ``Function.export_c`` and the Keras facade's
``model.export(path, format="c")`` call it."""

from symgraph.export.c import ExportExistsError, check_name, export_c, is_valid_name

__all__ = ["ExportExistsError", "check_name", "export_c", "is_valid_name"]
