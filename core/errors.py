"""The one base of every expected failure, and the failures that belong to no one module.

Every error a user can fix (a bad file, a missing model, a wrong setting, a run that cannot be
resumed) subclasses `UserError`; its message is one line that says what to do. The CLI and the
TUI catch `UserError` alone and print that line; anything else is a bug and shows a traceback.

    >>> try:
    ...     raise InputError("docs/: no such file or folder")
    ... except UserError as err:
    ...     print(err)
    docs/: no such file or folder
"""

from __future__ import annotations


class UserError(Exception):
    """An expected failure: its message names the file or setting and says what to do."""


class InputError(UserError):
    """A file or folder the user named is missing or unusable."""


class ConfigError(UserError, ValueError):
    """A config file or setting is wrong (a ValueError too: settings checks have always raised those)."""


__all__ = ["ConfigError", "InputError", "UserError"]
