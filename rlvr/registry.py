"""Name -> implementation tables, one per family of interchangeable parts.

A variant is one function (or class) plus one ``@REGISTRY.register("name")`` line. The config's
choices (a ``Literal``), its validation, its ``--help`` text and docs/configuration.md are all
derived from the registry, so nothing is written a second time. Entries of one registry share a
signature; the first line of each docstring is its one-line description.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


class Registry(dict):
    """An ordered ``name -> entry`` dict for one family (e.g. "policy loss")."""

    def __init__(self, family: str):
        super().__init__()
        self.family = family

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            if not (inspect.getdoc(entry) or "").strip():
                raise ValueError(f"{self.family} {name!r} needs a docstring: its first line describes it")
            self[name] = entry
            return entry

        return add

    def __missing__(self, name: str):
        raise ValueError(f"unknown {self.family} {name!r}; choose from {list(self)}")

    def literal(self):
        """``Literal["a", "b", ...]`` of the registered names, for a config field's type."""
        return Literal[tuple(self)]

    def describe(self, name: str) -> str:
        """The first line of the entry's docstring, with reST ``code`` written as Markdown."""
        return inspect.getdoc(self[name]).splitlines()[0].replace("``", "`")

    def help(self, text: str) -> str:
        """A config field's help: ``text`` then every choice with its description."""
        return " ".join([text, *(f"`{name}`: {self.describe(name)}" for name in self)])
