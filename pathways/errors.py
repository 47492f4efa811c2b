"""Errors that reach the user as one clear line."""


class PathwaysError(Exception):
    """A problem the user can fix; the CLI prints ``str(error)`` on one line and exits 2.

    The message names what is wrong and what to do about it.
    """


class ConfigError(PathwaysError):
    """An experiment config that cannot be used as written."""


class DataError(PathwaysError):
    """Input data that is missing, corrupt or does not fit the experiment."""


class StoreError(PathwaysError):
    """A run or artifact in the store that is missing, locked or incomplete."""


class TrainingDiverged(PathwaysError):
    """The training loss became NaN or infinite: the weights are unusable, nothing may use them.

    ``batch`` is None when the loss was finite in every batch but not when the model was
    evaluated on ``split`` after the epoch (the last step broke the weights); ``loss`` is None
    when the optimizer's update itself overflowed (a rate beyond float32's range).
    """

    def __init__(
        self,
        epoch: int,
        batch: int | None,
        n_batches: int,
        loss: float | None,
        split: str = "train",
    ) -> None:
        self.epoch, self.batch, self.n_batches, self.loss = epoch, batch, n_batches, loss
        where = (
            f"at batch {batch} of {n_batches}"
            if batch is not None
            else f"on the {split} split after its last step"
        )
        what = f"the loss became {loss}" if loss is not None else "the weight update overflowed"
        super().__init__(f"{what} in epoch {epoch}, {where}")
        self.split = split

    def __reduce__(self) -> tuple:
        """Rebuilt from its fields: a step on a worker process raises it in the main one."""
        return type(self), (self.epoch, self.batch, self.n_batches, self.loss, self.split)


class ModelError(PathwaysError):
    """A user's network that cannot be built, loaded or captured as the experiment says."""
