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
