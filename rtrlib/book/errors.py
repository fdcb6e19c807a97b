"""The runner's user-facing error."""

from __future__ import annotations

__all__ = ["BookError", "unknown_value"]


class BookError(Exception):
    """A user-facing error of the runner (printed as one line, exit status 2)."""


def unknown_value(what: str, value: object, valid: tuple[str, ...] | list[str],
                  plural: str | None = None) -> BookError:
    """The one-line error for a value outside a closed set, listing the valid values."""
    return BookError(f"unknown {what} {value!r}; valid {plural or what + 's'}: "
                     f"{', '.join(valid)}")
