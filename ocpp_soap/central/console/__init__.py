"""The operators' web console at ``/ui/`` (see ``app``)."""

from .app import ConsoleApp

__all__ = ["ConsoleApp"]
