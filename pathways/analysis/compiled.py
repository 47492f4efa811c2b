"""numba's compiled code kept on disk across runs, for UMAP and pynndescent.

UMAP and pynndescent are numba code. numba can keep what it compiles on disk, but only for the
functions a library marks ``cache=True``, and pynndescent marks few of them: every new process
compiled its neighbour search again, ~24 s before the first map at full size. Here every
module-level function of the two libraries gets numba's own disk cache
(``Dispatcher.enable_caching``) in a folder under the user's cache directory
(``~/.cache/pathways/numba`` on Linux; ``NUMBA_CACHE_DIR`` wins when set). numba keys each
entry on the function's source file (path, size and modification time) and the CPU, so an
upgrade of either library compiles afresh. Two functions cannot be cached — numba refuses
``nn_descent`` and ``nn_descent_internal`` because they take the metric as an argument
("dynamic globals") — and are still compiled once per process (~8 s). ``PATHWAYS_NUMBA_CACHE=0``
turns this off. Figures in the README ("Where the time goes at full size").
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

LIBRARIES = ("umap", "pynndescent")


def cache_folder() -> Path:
    """Where numba keeps compiled code: ``NUMBA_CACHE_DIR``, or ``numba`` in the user's cache
    directory for pathways."""
    from platformdirs import user_cache_dir

    given = os.environ.get("NUMBA_CACHE_DIR")
    return Path(given) if given else Path(user_cache_dir("pathways")) / "numba"


@functools.cache
def cache_compiled_code() -> int:
    """Give every uncached module-level numba function of UMAP and pynndescent a disk cache in
    :func:`cache_folder` (once per process; call it before the first map). Returns how many
    functions it gave one; 0 when the folder cannot be written (everything still works, it
    is compiled in each process as before) or when ``PATHWAYS_NUMBA_CACHE=0``."""
    if os.environ.get("PATHWAYS_NUMBA_CACHE", "1") == "0":
        return 0
    folder = cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return 0
    os.environ["NUMBA_CACHE_DIR"] = str(folder)  # read when numba is first imported
    import numba
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    numba.config.CACHE_DIR = str(folder)  # and here, should numba be imported already
    import umap  # noqa: F401 - loads both libraries' modules

    warnings.filterwarnings(
        "ignore", message="Cannot cache compiled function", category=numba.NumbaWarning
    )
    given = 0
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] not in LIBRARIES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher) and isinstance(value._cache, NullCache):
                try:
                    value.enable_caching()
                except RuntimeError:  # numba found no usable place for this function
                    continue
                given += 1
    return given
