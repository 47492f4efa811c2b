"""The base of every declared setting: unknown keys and non-finite numbers are errors."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A frozen settings block that refuses unknown keys and non-finite numbers (TOML's inf
    and nan: no setting here means anything with them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
ModelName = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")]
