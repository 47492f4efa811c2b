"""``pathways data fetch mnist``: download the four MNIST IDX files and verify them.

Each file is streamed into a staging folder beside the destination while its SHA-256 is
computed; only when all four are complete (the server's Content-Length reached) and match their
checksums are they moved into place. Any failure — a truncated download, a wrong checksum, a
refused connection, Ctrl-C — removes the staging folder and leaves the destination as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

from pathways.errors import DataError

DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
# SHA-256 of the original MNIST downloads (the values TFDS and Keras publish).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_CHUNK = 1 << 16


def read_checksums(path: str | Path) -> dict[str, str]:
    """``sha256sum``-format lines (``HEX  NAME``) → {name: hex}."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the checksum file ({exc.strerror})") from None
    sums = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataError(
                f"{path}:{number}: expected `SHA256  FILENAME` (as sha256sum writes) — fix the line"
            )
        sums[parts[1].lstrip("*")] = parts[0].lower()
    if not sums:
        raise DataError(f"{path}: no checksums in the file — list `SHA256  FILENAME` lines")
    return sums


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, timeout: float, on_bytes: Callable[[int], None]) -> str:
    """Stream ``url`` into ``target``; return its SHA-256. Raises DataError when incomplete."""
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:
            expected = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                on_bytes(len(chunk))
    except urllib.error.HTTPError as exc:
        raise DataError(
            f"{url}: the server answered {exc.code} {exc.reason} — check --mirror"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(
            f"{url}: download failed ({reason}) — check the network or use another --mirror"
        ) from None
    except Exception as exc:  # http.client.IncompleteRead and friends: the connection dropped
        raise DataError(
            f"{url}: the download stopped after {received:,} bytes ({type(exc).__name__}) — "
            "try again or use another --mirror"
        ) from None
    if expected is not None and received != int(expected):
        raise DataError(
            f"{url}: the download stopped after {received:,} of {int(expected):,} bytes — "
            "try again or use another --mirror"
        )
    return digest.hexdigest()


def fetch_files(
    mirror: str,
    dest: str | Path,
    checksums: dict[str, str] | None = None,
    timeout: float = 60.0,
    on_bytes: Callable[[int], None] = lambda n: None,
    log: Callable[[str], None] = lambda s: None,
) -> list[Path]:
    """Download every file of ``checksums`` (default: MNIST's four) from ``mirror`` into
    ``dest``, verified; files already there with the right checksum are kept."""
    checksums = checksums or MNIST_SHA256
    dest = Path(dest)
    base = mirror if mirror.endswith("/") else mirror + "/"
    wanted = {
        name: digest
        for name, digest in checksums.items()
        if not ((dest / name).is_file() and sha256_of(dest / name) == digest)
    }
    for name in checksums.keys() - wanted.keys():
        log(f"{name}: already in {dest}, checksum matches")
    if not wanted:
        return [dest / name for name in checksums]
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{dest}: cannot create the folder ({exc.strerror})") from None
    staging = dest / f".fetch-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for name, digest in wanted.items():
            url = base + name
            got = _download(url, staging / name, timeout, on_bytes)
            if got != digest:
                raise DataError(
                    f"{url}: SHA-256 {got[:12]}… does not match the expected {digest[:12]}… — "
                    "the mirror serves another file; use another --mirror (or --checksums for "
                    "another data set)"
                )
            log(f"{name}: downloaded, SHA-256 verified")
        for name in wanted:
            os.replace(staging / name, dest / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [dest / name for name in checksums]
