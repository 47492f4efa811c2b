"""`pathways data fetch mnist` against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from pathways.data.fetch import MNIST_SHA256
from pathways.data.idx import load_idx_folder, write_idx

NAMES = list(MNIST_SHA256)


def _mirror(folder: Path) -> dict[str, str]:
    """Generated MNIST-format files (20 train, 10 test digits); returns their SHA-256."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for prefix, n in (("train", 20), ("t10k", 10)):
        write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz",
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in NAMES}


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args) -> None:  # noqa: ANN002 - quiet server
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        if self.path.startswith("/truncated/"):
            data = (Path(self.directory) / "ok" / Path(self.path).name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])  # then the connection closes
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("mirror")
    sums = _mirror(root / "ok")
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", sums
    httpd.shutdown()


def fetch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pathways", "data", "fetch", "mnist", *args],
        cwd=cwd,
        env={**os.environ, "PATHWAYS_DATA": str(cwd / "data"), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one error line (stderr also holds the progress bar's last state)."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def _sums_file(folder: Path, sums: dict[str, str]) -> Path:
    path = folder / "SHA256SUMS"
    path.write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    return path


def test_fetch_verifies_and_stores_the_files(server, tmp_path: Path):
    url, sums = server
    result = fetch(
        "--mirror", f"{url}/ok/", "--checksums", str(_sums_file(tmp_path, sums)), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    target = tmp_path / "data" / "mnist"
    assert sorted(p.name for p in target.iterdir()) == sorted(NAMES)  # nothing else left
    assert "30 images" in result.stdout
    digits = load_idx_folder(target)
    assert len(digits.labels) == 30
    _Handler.requests.clear()
    again = fetch(
        "--mirror", f"{url}/ok/", "--checksums", str(_sums_file(tmp_path, sums)), cwd=tmp_path
    )
    assert again.returncode == 0 and _Handler.requests == []  # verified files are not fetched again


def test_wrong_checksum_is_one_clear_error_and_leaves_nothing(server, tmp_path: Path):
    url, _ = server
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    (tmp_path / "data" / "mnist" / "notes.txt").write_text("mine")
    result = fetch("--mirror", f"{url}/ok/", cwd=tmp_path)  # MNIST's real checksums
    assert result.returncode == 2
    message = error_line(result)
    assert "SHA-256" in message and "--mirror" in message
    assert [p.name for p in (tmp_path / "data" / "mnist").iterdir()] == ["notes.txt"]


def test_truncated_download_is_one_clear_error_and_leaves_nothing(server, tmp_path: Path):
    url, sums = server
    result = fetch(
        "--mirror",
        f"{url}/truncated/",
        "--checksums",
        str(_sums_file(tmp_path, sums)),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "stopped after" in error_line(result)
    target = tmp_path / "data" / "mnist"
    assert not target.exists() or list(target.iterdir()) == []


def test_missing_file_and_bad_checksum_file(server, tmp_path: Path):
    url, sums = server
    missing = fetch(
        "--mirror", f"{url}/nowhere/", "--checksums", str(_sums_file(tmp_path, sums)), cwd=tmp_path
    )
    assert missing.returncode == 2 and "404" in error_line(missing)
    bad = tmp_path / "bad.sums"
    bad.write_text("not a checksum line\n")
    result = fetch("--mirror", f"{url}/ok/", "--checksums", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "bad.sums:1" in error_line(result)


def test_an_experiment_reads_the_fetched_set(server, tmp_path: Path):
    url, sums = server
    assert (
        fetch(
            "--mirror", f"{url}/ok/", "--checksums", str(_sums_file(tmp_path, sums)), cwd=tmp_path
        ).returncode
        == 0
    )
    (tmp_path / "exp.toml").write_text(
        'name = "full"\ntrained_classes = [1, 7]\nunseen_classes = [3]\n'
        '[data]\nsource = "mnist"\n[[models]]\nname = "m"\ntype = "mlp"\nhidden = [8]\n'
    )
    env = {
        **os.environ,
        "PATHWAYS_DATA": str(tmp_path / "data"),
        "PATHWAYS_STORE": str(tmp_path / "store"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pathways", "run", "exp.toml", "--only", "data"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    import pandas as pd

    samples = pd.read_parquet(tmp_path / "store" / "full" / "data" / "samples.parquet")
    assert sorted(samples["label"].unique()) == [1, 3, 7] and len(samples) == 9  # 3 of each in 30
    # without fetched files: a one-line error saying what to run
    (tmp_path / "exp2.toml").write_text(
        (tmp_path / "exp.toml").read_text().replace('"full"', '"f2"')
    )
    env["PATHWAYS_DATA"] = str(tmp_path / "empty")
    result = subprocess.run(
        [sys.executable, "-m", "pathways", "run", "exp2.toml", "--only", "data"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "pathways data fetch mnist" in error_line(result)
