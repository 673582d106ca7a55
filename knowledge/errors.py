"""The error tree every package raises; `ui/` turns these into exit codes and HTTP statuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class GloveboxError(Exception):
    """Base class: every error Glovebox raises on purpose is one of these."""


class ConfigurationError(GloveboxError):
    """The operator's setup is wrong (a setting, a missing model, a mismatched store)."""


class InputError(GloveboxError):
    """A bad document or request. Names the file (and line or field) and what to do."""

    def __init__(self, source: str, problem: str, *, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.problem = problem
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")


class StageError(GloveboxError):
    """A pipeline stage failed for a reason that is not the input's fault."""

    def __init__(self, stage: str, problem: str) -> None:
        self.stage = stage
        super().__init__(f"{stage}: {problem}")


def validation_problems(error: ValidationError, whole: str) -> str:
    """'vin.0.wmi: a WMI is ...; text: ...': each field pydantic refused, by its path
    (`whole` names an error of the object itself)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in issue['loc']) or whole}: {issue['msg']}"
        for issue in error.errors()
    )
