"""``pathways init``: a commented copy of a packaged experiment, to edit and run.

Example
-------
>>> text = starter_text("digits-49")
>>> parse_text(text).name
'digits-49'
"""

from __future__ import annotations

import re
from pathlib import Path

from pathways import __version__
from pathways.errors import ConfigError
from pathways.experiment.config import (
    DEFAULT_EXPERIMENT,
    EXPERIMENT_NAME,
    Experiment,
    packaged_text,
    parse_text,
)

_NAME_LINE = re.compile(r'^name = "[^"]*"', re.MULTILINE)
_DESCRIPTION_LINE = re.compile(r'^description = "[^"]*"', re.MULTILINE)


def starter_text(name: str, template: str = DEFAULT_EXPERIMENT, file: str | None = None) -> str:
    """The packaged experiment ``template`` renamed ``name``, under a header saying what to do.

    The template's own leading comment block gives way to the header (which names ``file``,
    default ``NAME.toml``); every other comment (one per key) stays.
    """
    if not re.fullmatch(EXPERIMENT_NAME, name):
        raise ConfigError(
            f"experiment name {name!r}: use letters, digits, '_', '-' and '.' (it names the run "
            "folder), e.g. my-experiment"
        )
    body = packaged_text(template)
    lines = body.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    body, count = _NAME_LINE.subn(f'name = "{name}"', "".join(lines), count=1)
    body = _DESCRIPTION_LINE.sub(
        f'description = "A copy of the packaged {template} experiment: say here what this one '
        'asks."',
        body,
        count=1,
    )
    if count != 1:
        raise ConfigError(f"packaged experiment {template!r} has no name line — report this bug")
    header = (
        f'# Experiment "{name}", written by `pathways init` (pathways {__version__}) from the\n'
        f'# packaged experiment "{template}". Edit it, then: pathways run {file or name + ".toml"}\n'
        f"# Outputs go to data/store/{name}/ (or --store). Every key is checked on load: an\n"
        "# unknown key or a value out of range is a one-line error naming the key and the fix.\n"
    )
    text = header + body
    parse_text(text, f"the copy of {template!r}")  # what we write must load
    return text


def write_starter(
    target: str | Path, template: str = DEFAULT_EXPERIMENT
) -> tuple[Path, Experiment]:
    """Write ``starter_text`` to ``target`` (``NAME`` → ``NAME.toml``; a path ending in ``.toml``
    is used as given and names the experiment by its stem). An existing file is never
    overwritten, and a failed write leaves no partial file."""
    target = Path(target)
    if not target.name:
        raise ConfigError(
            f"{str(target) or 'an empty name'}: not a file name — give the new experiment a "
            "name, e.g. pathways init my-experiment"
        )
    path = target if target.suffix == ".toml" else target.with_name(target.name + ".toml")
    text = starter_text(path.stem, template, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(path, "x", encoding="utf-8")  # noqa: SIM115 - removed below on failure
    except FileExistsError:
        raise ConfigError(
            f"{path}: already exists — nothing was written; give another NAME or move the file"
        ) from None
    try:
        with handle:
            handle.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, parse_text(text, str(path))
