"""The experiments that ship with pathways.

This folder is installed as the package ``pathways.experiments``: its TOML files are package data,
so ``pathways run`` (the ``default`` experiment), ``pathways run fashion-full`` and
``pathways init`` work after a plain ``pip install``, from any folder.
"""

from importlib import resources


def names() -> list[str]:
    """The packaged experiments' names (their files' stems), sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".toml")
    )
