"""Faults and bad inputs through the real CLI: killed runs, two runs at once, a full disk,
damaged files, mismatched checkpoints, a store from a newer version, the explorer's defaults."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from pathways.app.reader import StoreReader
from pathways.errors import StoreError

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)

COMPARED = [
    "capture/mlp/activations.parquet",
    "capture/lenet5/activations.parquet",
    "clusters/mlp/assignments.parquet",
    "clusters/lenet5/assignments.parquet",
    "paths/lenet5/sample_paths.parquet",
    "novelty/mlp/scores.parquet",
    "explain/lenet5/explained.parquet",
]


def cli(
    *args: str, cwd: Path, store: Path, extra: dict[str, str] | None = None, **kwargs
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PATHWAYS_STORE": str(store),
        "PATHWAYS_DATA": str(cwd / "data"),
        "COLUMNS": "250",
        **(extra or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "pathways", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, data_dir: Path, tiny_run_config: str) -> Path:
    folder = tmp_path_factory.mktemp("reliability")
    (folder / "data").symlink_to(data_dir, target_is_directory=True)
    (folder / "tiny.toml").write_text(tiny_run_config)
    return folder


@pytest.fixture(scope="module")
def reference(workdir: Path, tiny_reference: Path) -> Path:
    """The tiny experiment's reference run, its store linked as ``workdir/ref``."""
    (workdir / "ref").symlink_to(tiny_reference.parent, target_is_directory=True)
    return workdir / "ref" / "tiny"


def same_outputs(run: Path, reference: Path) -> None:
    """Outputs bit-identical to the reference run's."""
    for name in COMPARED:
        pd.testing.assert_frame_equal(
            pd.read_parquet(run / name), pd.read_parquet(reference / name), check_exact=True
        )
    assert json.loads((run / "report" / "report.json").read_text()) == json.loads(
        (reference / "report" / "report.json").read_text()
    )


def _manifests(run: Path) -> dict[str, int]:
    return {
        str(p.parent.relative_to(run)): p.stat().st_mtime_ns for p in run.rglob("manifest.json")
    }


# Every long stage, in the order the steps run, and where in it the process is killed
# (pathways.engine.faults): after a progress tick (inside the stage's work) or after its outputs were
# written to RUN/.tmp but before its manifest ("saved").
KILL_POINTS = [
    "train/mlp:1",  # after epoch 1 of 2
    "capture/mlp:2",  # 2 of 4 batches captured, the Parquet writer open in RUN/.tmp
    "signatures/mlp:1",  # after layer 1 of 3
    "clusters/mlp:1",
    "paths/mlp:saved",
    "divergence/mlp:2",
    "novelty/mlp:1",
    "rotation/mlp:1",  # after class 1 of 3
    "stability/mlp:1",  # after seed 1 of 2
    "train/lenet5:1",
    "capture/lenet5:saved",
    "clusters/lenet5:2",
    "explain/lenet5:1",  # after occlusion, before Grad-CAM
    "stability/lenet5:1",
    "embedding/mlp:1",  # the maps are deferred: one process runs them after everything else
]


def _killed_at(point: str, workdir: Path, store: Path, *args: str) -> None:
    proc = cli(
        "run", "tiny.toml", *args, cwd=workdir, store=store, extra={"PATHWAYS_KILL_AT": point}
    )
    code, _, err = finish(proc)
    assert code == -signal.SIGKILL, f"{point} was not reached: {err}"


def test_run_killed_inside_each_long_stage_resumes_to_identical_outputs(
    workdir: Path, reference: Path
):
    store = workdir / "killed"
    run = store / "tiny"
    for point in KILL_POINTS:
        step, _, phase = point.partition(":")
        before = _manifests(run) if run.exists() else {}
        _killed_at(point, workdir, store)
        after = _manifests(run)
        assert step not in after, f"{step} finished although killed inside it"
        assert {s: after[s] for s in before} == before, f"killed in {step}: finished steps changed"
        if phase == "saved" or step.startswith("capture/"):
            assert list((run / ".tmp").glob(f"{step.replace('/', '-')}-*/*.parquet"))
    finished = _manifests(run)
    code, out, err = finish(cli("run", "tiny.toml", cwd=workdir, store=store))
    assert code == 0, err
    now = _manifests(run)
    assert {s: now[s] for s in finished} == finished and "cached" in out  # finished steps kept
    same_outputs(run, reference)
    assert not any((run / ".tmp").glob("*")) and not any((run / ".trash").glob("*"))

    # A finished step run again, killed between moving its old outputs aside and putting the
    # new ones in place: the next run computes it again, and only it.
    _killed_at("report:replacing", workdir, store, "--only", "report", "--force")
    assert not (run / "report").exists() and any((run / ".trash").glob("*"))
    code, out, err = finish(cli("run", "tiny.toml", cwd=workdir, store=store))
    assert code == 0, err
    assert [line.split()[1] for line in out.splitlines() if "│ ran " in line] == ["report"]
    same_outputs(run, reference)
    assert not any((run / ".tmp").glob("*")) and not any((run / ".trash").glob("*"))


def test_two_runs_at_once_both_finish_consistently(workdir: Path, reference: Path):
    """Also: the same config and seed give bit-identical outputs in another fresh process."""
    store = workdir / "twice"
    procs = [cli("run", "tiny.toml", cwd=workdir, store=store) for _ in range(2)]
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    same_outputs(store / "tiny", reference)
    steps = len(list((store / "tiny").rglob("manifest.json")))
    ran = sum(out.count("│ ran ") for _, out, _ in results)
    assert ran == steps  # every step ran exactly once: the second run waited, then found it cached


def _copy(reference: Path, workdir: Path, name: str) -> Path:
    store = workdir / name
    shutil.copytree(reference, store / "tiny", symlinks=True)
    return store


def test_full_disk_is_one_clear_error_and_keeps_earlier_outputs(workdir: Path, reference: Path):
    store = _copy(reference, workdir, "full-disk")
    before = (store / "tiny" / "capture" / "mlp" / "activations.parquet").read_bytes()

    def small_files() -> None:  # writes past 4 KB fail as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = cli(
        "run",
        "tiny.toml",
        "--only",
        "capture/mlp",
        "--force",
        cwd=workdir,
        store=store,
        preexec_fn=small_files,
    )
    code, _, err = finish(proc)
    assert code == 2 and "no room to write" in error_line(err)
    assert (store / "tiny" / "capture" / "mlp" / "activations.parquet").read_bytes() == before


READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _read_only(store: Path, *args: str) -> list[str]:
    """``args`` run in a mount namespace where ``store`` is a read-only file system."""
    return [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        READ_ONLY,
        str(store),
        *args,
    ]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


EXPLORER_READS = """
import sys
from pathways.app.reader import StoreReader
reader = StoreReader(sys.argv[1])
for model in reader.models("tiny"):
    reader.check_model("tiny", model)
    for layer in reader.layers("tiny", model):
        reader.embedding("tiny", model, layer)
    reader.novelty("tiny", model)
reader.image_uri("tiny", 0)
"""


def test_read_only_store_is_one_clear_error_and_can_still_be_read(workdir: Path, reference: Path):
    probe = subprocess.run(_read_only(workdir, "true"), capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no unprivileged mount namespaces here: {probe.stderr.strip()}")
    store = _copy(reference, workdir, "read-only")
    before = _tree(store)
    pathways = [sys.executable, "-m", "pathways"]
    for args, expected in [
        (("run", "tiny.toml", "--only", "capture/mlp", "--force"), 2),
        (("run", "tiny.toml"), 2),  # even with nothing to compute: the run record is written
        (("show", "tiny"), 0),
        (("report", "tiny"), 0),
        (("explorer",), 0),  # what the explorer reads for a model's pages
    ]:
        command = pathways + list(args)
        if args == ("explorer",):
            command = [sys.executable, "-c", EXPLORER_READS, str(store)]
        proc = subprocess.Popen(
            _read_only(store, *command),
            cwd=workdir,
            env={
                **os.environ,
                "PATHWAYS_STORE": str(store),
                "PATHWAYS_DATA": str(workdir / "data"),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        code, out, err = finish(proc)
        assert code == expected, (args, err)
        if expected:
            assert "read-only file system — use a writable --store" in error_line(err), err
    assert _tree(store) == before


def test_damaged_parquet_is_named_in_one_line(workdir: Path, reference: Path):
    store = _copy(reference, workdir, "damaged")
    path = store / "tiny" / "capture" / "mlp" / "activations.parquet"
    data = bytearray(path.read_bytes())
    data[-200:] = bytes(200)  # same size, footer destroyed
    path.write_bytes(bytes(data))
    code, _, err = finish(
        cli("run", "tiny.toml", "--only", "signatures/mlp", "--force", cwd=workdir, store=store)
    )
    line = error_line(err)
    assert code == 2 and str(path) in line and "--only capture/mlp --force" in line


def _fix_recorded_size(path: Path) -> None:
    """Make the manifest agree with the file's size, as a hand edit of both would."""
    manifest_path = path.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["outputs"][path.stem]["bytes"] = path.stat().st_size
    manifest_path.write_text(json.dumps(manifest))


def _other_columns(run: Path) -> Path:
    path = run / "capture" / "mlp" / "activations.parquet"
    shutil.copyfile(run / "paths" / "mlp" / "sample_paths.parquet", path)  # a valid Parquet file
    return path


def _rows_cut(run: Path) -> Path:
    path = run / "novelty" / "mlp" / "scores.parquet"
    pq.write_table(pq.read_table(path).slice(0, 10), path)  # same columns, rows cut by hand
    return path


@pytest.mark.parametrize(
    ("damage", "reads", "explorer_reads", "message"),
    [
        (
            _other_columns,
            "signatures/mlp",
            lambda reader: reader.layer_values("tiny", "mlp", "fc1"),
            "its columns are not those step capture/mlp wrote",
        ),
        (
            _rows_cut,
            "report",
            lambda reader: reader.novelty("tiny", "mlp"),
            "10 rows where step novelty/mlp wrote",
        ),
    ],
    ids=["other-columns", "rows-cut"],
)
def test_parquet_with_other_columns_or_rows_is_named_in_one_line(
    workdir: Path, reference: Path, damage, reads: str, explorer_reads, message: str
):
    store = _copy(reference, workdir, f"wrong-{damage.__name__}")
    reader = StoreReader(store)
    explorer_reads(reader)  # read (and cached) while intact
    path = damage(store / "tiny")
    record = store / "tiny" / "run.json"
    os.utime(record, ns=(time.time_ns(), record.stat().st_mtime_ns + 1))  # as a run's end does
    with pytest.raises(StoreError, match=f"{path}: {message}"):
        explorer_reads(reader)  # an explorer left open sees the new version and names the file
    # A run computes an output again when its size differs from the manifest's (next test);
    # with the size edited too, the step reading it stops with one line, not inside its stage.
    _fix_recorded_size(path)
    code, _, err = finish(
        cli("run", "tiny.toml", "--only", reads, "--force", cwd=workdir, store=store)
    )
    line = error_line(err)
    assert code == 2 and str(path) in line and message in line, line


def test_replaced_output_is_computed_again(workdir: Path, reference: Path):
    store = _copy(reference, workdir, "replaced")
    activations = store / "tiny" / "capture" / "mlp" / "activations.parquet"
    shutil.copyfile(store / "tiny" / "paths" / "mlp" / "sample_paths.parquet", activations)
    code, out, err = finish(cli("run", "tiny.toml", cwd=workdir, store=store))
    assert code == 0, err
    ran = [line.split()[1] for line in out.splitlines() if "│ ran " in line]
    assert ran == ["capture/mlp"]  # the same key: what it feeds stays cached
    pd.testing.assert_frame_equal(
        pd.read_parquet(activations),
        pd.read_parquet(reference / "capture" / "mlp" / "activations.parquet"),
        check_exact=True,
    )


def test_checkpoint_that_does_not_fit_its_config(workdir: Path, reference: Path):
    store = _copy(reference, workdir, "checkpoint")
    step = store / "tiny" / "train" / "mlp"
    other = torch.nn.Linear(3, 2).state_dict()
    torch.save(other, step / "weights.pt")
    manifest = json.loads((step / "manifest.json").read_text())
    manifest["outputs"]["weights.pt"]["bytes"] = (step / "weights.pt").stat().st_size  # a hand edit
    (step / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = finish(
        cli("run", "tiny.toml", "--only", "capture/mlp", "--force", cwd=workdir, store=store)
    )
    assert code == 2 and "do not fit the model" in error_line(err)


def test_store_from_a_newer_version_is_refused(workdir: Path, reference: Path):
    store = _copy(reference, workdir, "newer")
    record = store / "tiny" / "run.json"
    data = json.loads(record.read_text())
    assert data["store_format"] == 1
    record.write_text(json.dumps({**data, "store_format": 99}))
    for args in (("run", "tiny.toml"), ("show", "tiny"), ("report", "tiny")):
        code, _, err = finish(cli(*args, cwd=workdir, store=store))
        assert code == 2 and "newer pathways" in error_line(err), args
    assert json.loads(record.read_text())["store_format"] == 99  # left as it was


def test_a_link_out_of_the_store_is_not_a_run(workdir: Path, reference: Path):
    store = workdir / "linked"
    store.mkdir()
    (store / "elsewhere").symlink_to(reference, target_is_directory=True)  # a run outside
    code, _, err = finish(cli("show", "elsewhere", cwd=workdir, store=store))
    assert code == 2 and "leaves the store" in error_line(err)
    reader = StoreReader(store)  # what the explorer offers and reads
    assert reader.runs() == []
    with pytest.raises(StoreError, match="leaves the store"):
        reader.models("elsewhere")


def test_explorer_listens_on_localhost_without_debug(workdir: Path, reference: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = cli(
        "explore", str(workdir / "ref"), "--port", str(port), cwd=workdir, store=workdir / "ref"
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True
    ).start()
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any("Running on" in line for line in lines):
            time.sleep(0.1)
        banner = "".join(lines)
        assert f"Running on http://127.0.0.1:{port}" in banner, banner
        connections = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        listening = [line for line in connections.splitlines() if f":{port} " in line]
        assert listening and all("127.0.0.1:" in line for line in listening), connections
        time.sleep(0.5)
        banner = "".join(lines)
        assert "Debug mode: on" not in banner and "Restarting with" not in banner  # no debugger
    finally:
        proc.kill()
        proc.communicate(timeout=30)
