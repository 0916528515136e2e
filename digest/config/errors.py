"""The one error a bad configuration value raises, and the helpers its messages share."""

from __future__ import annotations

import re


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


def masked(url: str) -> str:
    """A URL for an error message: its password replaced by ***."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def no_whitespace(variable: str, value: str) -> None:
    if any(c.isspace() for c in value):
        raise ConfigError(variable, f"{masked(value)!r} contains a space; percent-encode it (%20) or remove it")
