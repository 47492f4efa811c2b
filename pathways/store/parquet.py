"""Reading Parquet files that may be damaged: every failure is one line naming the file.

pyarrow reports a damaged file in many ways (``ArrowInvalid``, ``OSError``, ``ArrowTypeError``…,
and a damaged key-value metadata block as bad JSON); :func:`reading` turns all of them into a
:class:`~pathways.errors.StoreError` that says which file and what to do.

Example
-------
>>> import pyarrow.parquet as pq
>>> with reading("missing.parquet"):
...     pq.read_metadata("missing.parquet")
Traceback (most recent call last):
...
pathways.errors.StoreError: missing.parquet: no such file — run the step that wrote it again ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa

from pathways.errors import StoreError

_DAMAGED = (pa.ArrowException, OSError, ValueError)
"""What reading a damaged file raises: pyarrow's errors (``ArrowInvalid`` is a ValueError,
``ArrowIOError`` an OSError), and bad JSON or text in its metadata (ValueErrors). Readers raise
ValueError themselves for a file that reads but is not what pathways wrote. Only reads of one
file belong inside :func:`reading`, so these name that file; any other exception is a bug and
stays one."""


@contextmanager
def reading(
    path: str | Path, fix: str = "run the step that wrote it again with `--force`"
) -> Iterator[None]:
    """Reads of the Parquet file ``path`` inside the block fail with one line naming it."""
    try:
        yield
    except StoreError:
        raise
    except FileNotFoundError:
        raise StoreError(f"{path}: no such file — {fix}") from None
    except PermissionError:
        raise StoreError(
            f"{path}: cannot read it (permission denied) — check its permissions"
        ) from None
    except IsADirectoryError:
        raise StoreError(f"{path}: is a folder, not a Parquet file — {fix}") from None
    except _DAMAGED as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if len(detail) > 120:
            detail = detail[:119] + "…"
        raise StoreError(
            f"{path}: damaged or not a pathways Parquet file ({detail}) — {fix}"
        ) from None
