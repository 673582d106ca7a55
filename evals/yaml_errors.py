"""One-line InputErrors for YAML that does not parse, shared by the dataset and gate loaders."""

from __future__ import annotations

from pathlib import Path

import yaml

from knowledge.errors import InputError


def invalid_yaml(path: Path, error: yaml.YAMLError) -> InputError:
    """`path:line: not valid YAML (problem)`; str(error) spans several lines with a caret."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return InputError(
        str(path), f"not valid YAML ({problem})", line=mark.line + 1 if mark is not None else None
    )
