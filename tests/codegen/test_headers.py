"""Every header of the C runtime (csrc/) compiles on its own, with the include directories
and flags a build uses: a header includes what it uses. The per-type templates
(*_template.h) are the exception by design: their parent includes them once per element
type, and alone they stop at an #error that names the parent."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from symgraph.runtime.toolchain import csrc_dir, get_toolchain

HEADERS = sorted(p.name for p in csrc_dir().glob("*.h"))
TEMPLATES = [name for name in HEADERS if name.endswith("_template.h")]


def _compile_alone(header: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """-fsyntax-only of a .c file that includes nothing but ``header``; warnings fail too."""
    tc = get_toolchain()
    source = tmp_path / "only_this_header.c"
    source.write_text(f'#include "{header}"\n')
    includes = [f"-I{d}" for d in tc.include_dirs]
    cmd = [*tc.compiler, *tc.cflags, "-Werror", *includes, "-fsyntax-only", str(source)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_runtime_has_headers_and_templates():
    assert "symgraph.h" in HEADERS and "symgraph_conv.h" in HEADERS and "symgraph_pool.h" in HEADERS
    assert {"symgraph_conv_template.h", "symgraph_pool_template.h", "symgraph_gemm_template.h"} <= set(TEMPLATES)


@pytest.mark.parametrize("header", [h for h in HEADERS if h not in TEMPLATES])
def test_header_compiles_on_its_own(header, tmp_path):
    proc = _compile_alone(header, tmp_path)
    assert proc.returncode == 0, f"{header} does not compile alone:\n{proc.stderr}"


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_is_included_by_its_parent_once_per_element_type(template, tmp_path):
    proc = _compile_alone(template, tmp_path)
    assert proc.returncode != 0
    parent = re.search(rf"{re.escape(template)} is included by (\S+\.h)", proc.stderr)
    assert parent, f"{template} alone should stop at its #error naming its parent:\n{proc.stderr}"
    parent_text = (csrc_dir() / parent.group(1)).read_text()
    # the element type's defines, then its templates (a template may need another first)
    instantiation = r"#define SG_T (\w+)\n(?:#(?:define \w+ .*|include \".*\")\n)*#include \"" + re.escape(template)
    assert re.findall(instantiation, parent_text) == ["float", "double"]
