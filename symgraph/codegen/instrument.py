"""Optional instrumentation of a generated unit: kernel timers and NaN checks.

``sg.function(..., profile=True)`` and ``nan_guard=True`` build a unit whose kernel
calls are wrapped here; without either flag nothing here touches the unit, so its text,
its cache key and its speed are those of an ordinary function.

- profile: every kernel call site ``k`` adds the nanoseconds it took (CLOCK_MONOTONIC,
  read around the call in C: no Python in the loop) and one call to counters in a
  static array of the unit; the exported ``sg_profile_read(out, reset)`` copies them
  out (``out[2k]``: nanoseconds, ``out[2k + 1]``: calls) and returns the number of sites.
  The counters live in the loaded library: functions sharing one unit share them.
- nan_guard: after a kernel succeeds, each floating-point output is scanned; the first
  NaN fails the call with SG_ERR_NAN and the node's index, so the error names the node
  that produced it before anything downstream runs.
"""

from __future__ import annotations

import numpy as np

from symgraph.graph import shape as shp
from symgraph.graph.core import Node

PROFILE_READ = "sg_profile_read"
PROFILE_CDEF = f"int64_t {PROFILE_READ}(int64_t *out, int reset);"

_NAN_SUPPORT = """\
/* nan_guard: the flat index of the first NaN in x[0..n), or -1 */
static int64_t sg_first_nan_f32(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) if (isnan(x[i])) return i;
    return -1;
}
static int64_t sg_first_nan_f64(const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) if (isnan(x[i])) return i;
    return -1;
}
"""


def _profile_support(sites: int) -> str:
    count = max(1, sites)
    return f"""\
/* profile=True: per kernel call site, nanoseconds and calls */
#include <time.h>
static int64_t sg_prof[2 * {count}];
static inline int64_t sg_prof_now(void)
{{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + (int64_t)t.tv_nsec;
}}
int64_t {PROFILE_READ}(int64_t *out, int reset)
{{
    for (int k = 0; k < 2 * {sites}; k++) {{
        out[k] = sg_prof[k];
        if (reset) sg_prof[k] = 0;
    }}
    return {sites};
}}
"""


class Instrument:
    """What a unit writer adds around its kernel calls (nothing when both flags are off)."""

    def __init__(self, profile: bool = False, nan_guard: bool = False):
        self.profile = profile
        self.nan_guard = nan_guard
        self.active = profile or nan_guard
        self.sites: list[int] = []  # per timed call site: the index of its node in the unit
        self.site_kernels: list[str] = []  # per timed call site: the C function it calls

    def wrap(self, index: int, node: Node, function: str, call: str, check: str, targets: list[str]) -> str:
        """The statements for one kernel call: ``call`` (assigning sg_status) timed,
        then ``check`` (the status test), then the NaN scans of the outputs."""
        lines = [call]
        if self.profile:
            k = len(self.sites)
            self.sites.append(index)
            self.site_kernels.append(function)
            lines = [
                "    { const int64_t sg_t0 = sg_prof_now();",
                call,
                f"    sg_prof[{2 * k}] += sg_prof_now() - sg_t0; sg_prof[{2 * k + 1}] += 1; }}",
            ]
        lines.append(check)
        if self.nan_guard:
            for m, (t, pointer) in enumerate(zip(node.outputs, targets)):
                suffix = {np.dtype("float32"): "f32", np.dtype("float64"): "f64"}.get(t.dtype)
                if suffix is None:
                    continue
                where = f"output {m}: " if len(node.outputs) > 1 else ""
                size = shp.to_c(shp.prod(list(t.shape)))
                lines += [
                    f"    {{ const int64_t sg_nan = sg_first_nan_{suffix}({pointer}, (int64_t){size});",
                    f"    if (sg_nan >= 0) {{ *sg_failed = {index}; sg_status = sg_fail(SG_ERR_ARGS, SG_ERR_NAN, "
                    f'"{where}produced a NaN, first at flat index %lld", (long long)sg_nan); goto done; }} }}',
                ]
        return "\n".join(lines)

    def support(self) -> list[str]:
        """C definitions the wrapped calls use (placed before the kernels)."""
        parts = []
        if self.profile:
            parts.append(_profile_support(len(self.sites)))
        if self.nan_guard:
            parts.append(_NAN_SUPPORT)
        return parts

    def cdef(self, cdef: str) -> str:
        """The unit's declarations for cffi, with the profile reader when timed."""
        return cdef + ("\n" + PROFILE_CDEF if self.profile else "")
