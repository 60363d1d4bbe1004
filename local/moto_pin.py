"""The one moto version the emulator's patches to moto are written against.

`local/fast_transactions.py`, `local/fast_expressions.py`, `local/fast_queues.py`,
`local/fast_streams.py` and `local/swagger_import.py` replace moto internals;
another moto may shape them differently, so each refuses to install on it
rather than guess.
"""

from __future__ import annotations

MOTO_VERSION = "5.2.5"


class WrongMoto(RuntimeError):
    """The installed moto is not the one a patch was written against."""


def require(patch: str, what: str, version: str | None = None) -> None:
    """Raise WrongMoto unless moto (or `version`, for tests) is MOTO_VERSION."""
    import moto

    found = moto.__version__ if version is None else version
    if found != MOTO_VERSION:
        raise WrongMoto(
            f"{patch} {what}; moto {found} is installed. Pin moto=={MOTO_VERSION} "
            "(requirements-dev.txt) or port the module to the new version."
        )
