"""``symgraph.cache``: the public handle on the compiled-unit cache (see symgraph/runtime/cache.py).

``clear()`` removes every compiled entry, ``info()`` reports the directory, the number
of entries and their size, ``cache_dir()`` is where they live.
"""

from symgraph.runtime.cache import CacheInfo, cache_dir, clear, info

__all__ = ["CacheInfo", "cache_dir", "clear", "info"]
