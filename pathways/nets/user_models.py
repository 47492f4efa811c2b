"""A user's own network (``type = "torch"``): built from their factory, loaded from their
checkpoint (torch).

``factory = "mynets:SmallResNet"`` names an ``nn.Module`` class or a function returning one;
its module is imported from the working folder or the experiment file's folder (see
:mod:`pathways.data.user_files`), fresh whenever its file changed or another folder's module of that
name was imported before. Every problem — a module that does not import, a factory that raises
or returns something else, a checkpoint whose keys or shapes do not fit — is one
:class:`~pathways.errors.ModelError` line.
"""

from __future__ import annotations

import importlib
import io
import re
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pathways.data.user_files import module_file, on_import_path
from pathways.errors import ModelError


def _import(module: str, folders: list[str]) -> Any:
    found = module_file(module, folders)
    loaded = sys.modules.get(module)
    if loaded is not None and found is not None:
        stale = getattr(loaded, "__file__", None) != str(found) or getattr(
            loaded, "__pathways_mtime__", None
        ) not in (None, found.stat().st_mtime_ns)
        if stale:
            for name in [n for n in sys.modules if n == module or n.startswith(module + ".")]:
                del sys.modules[name]
    try:
        with on_import_path(folders):
            imported = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        where = ", ".join(folders) or "the working folder"
        raise ModelError(
            f"cannot import module {module!r} ({exc}) — put {module.replace('.', '/')}.py in "
            f"{where}, or install it"
        ) from None
    except Exception as exc:  # the user's module failed while importing
        raise ModelError(
            f"importing module {module!r} failed ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}) — fix the module"
        ) from None
    if found is not None:
        imported.__pathways_mtime__ = found.stat().st_mtime_ns
    return imported


def build_user_model(
    spec: Any, n_classes: int, image: Any, folders: list[str] | None = None
) -> nn.Module:
    """``spec.factory(**spec.arguments)``: an untrained (or to-be-loaded) network. The number
    of classes and the image shape are checked on the first forward pass, not passed."""
    del n_classes, image  # the user's factory decides; layer_choice checks its output
    module, _, attribute = spec.factory.partition(":")
    target: Any = _import(module, list(folders or []))
    for part in attribute.split("."):
        if not hasattr(target, part):
            public = [n for n in dir(target) if not n.startswith("_")]
            raise ModelError(
                f"models: {spec.name!r}: module {module!r} has no {attribute!r} — it defines "
                f"{', '.join(public[:10]) or 'nothing public'}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ModelError(f"models: {spec.name!r}: {spec.factory} is not a class or function")
    try:
        network = target(**spec.arguments)
    except Exception as exc:  # the user's constructor
        raise ModelError(
            f"models: {spec.name!r}: {spec.factory}(**arguments) raised {type(exc).__name__} "
            f"({' '.join(str(exc).split())[:200]}) — check models.arguments"
        ) from None
    if not isinstance(network, nn.Module):
        raise ModelError(
            f"models: {spec.name!r}: {spec.factory} returned {type(network).__name__}, not a "
            "torch.nn.Module"
        )
    return network


def load_checkpoint(network: nn.Module, path: Path, model: str) -> None:
    """Load a state_dict from ``path`` into ``network`` (``weights_only=True``; strict)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(f"models: {model!r}: no checkpoint file {path}") from None
    except Exception as exc:  # a user's file: torch.load fails in many ways on junk
        first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines() or [""]
        detail = first[0][:160] or type(exc).__name__
        raise ModelError(
            f"models: {model!r}: {path} is not a loadable state_dict ({type(exc).__name__}: "
            f"{detail}) — save it with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(
            f"models: {model!r}: {path} holds a {type(state).__name__}, not a state_dict — save "
            "torch.save(model.state_dict(), path)"
        )
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing ({', '.join(missing[:3])})")
    if extra:
        problems.append(f"{len(extra)} unexpected ({', '.join(extra[:3])})")
    if shapes:
        problems.append(f"{len(shapes)} mis-shaped ({'; '.join(shapes[:3])})")
    if problems:
        raise ModelError(
            f"models: {model!r}: checkpoint {path.name} does not fit {type(network).__name__}: "
            f"keys {', '.join(problems)} — save the state_dict of this factory with these arguments"
        )
    network.load_state_dict(state)


def cpu_state(network: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the network's weights on the CPU (training goes on without changing it)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in network.state_dict().items()}


def state_bytes(network: nn.Module) -> bytes:
    """The network's weights as ``torch.save`` bytes (on the CPU)."""
    buffer = io.BytesIO()
    torch.save({k: v.cpu() for k, v in network.state_dict().items()}, buffer)
    return buffer.getvalue()
