"""The one exception type users meet: bad config, bad data, unknown names, failed runs."""

from __future__ import annotations


class RsbenchError(Exception):
    """An error caused by the user's input or environment, with a message saying what to do.

    The CLI prints these as a single red line and exits with status 2; anything else is a bug
    and keeps its traceback.
    """


class ConfigError(RsbenchError):
    """A config file, flag or ``--set`` override is wrong (unknown key, bad type, out of range)."""


class UnknownComponentError(RsbenchError, KeyError):
    """A component name is not registered for its kind."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DataError(RsbenchError):
    """A dataset is malformed: bad annotation file, missing or corrupt image, unsafe path."""


class TrainingError(RsbenchError):
    """Training cannot go on (a non-finite loss, no trainable parameters where some are needed)."""


class BrokenPluginError(RsbenchError):
    """An installed plugin cannot be used (fails to import, misspells a hook, takes a name already taken)."""
