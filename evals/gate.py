"""Release gate and baseline comparison over eval metrics.

Thresholds live in a YAML file (evals/thresholds.yaml by default), one entry per metric, with
dotted paths into the nested metrics (`ragas.id_context_recall.mean`, `latency_ms.total.p95`):

    escalation_recall_safety: {min: 1.0}
    latency_ms.total.p95: {max: 1500}
    corpora.venza.test.pass_rate: {min: 0.8}   # checked only when the venza corpus ran

    gate = check_gate(results["metrics"], load_thresholds(path))
    gate.passed  # False when any metric is below its minimum, above its maximum, or missing
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from evals.yaml_errors import invalid_yaml
from knowledge.errors import InputError

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of min or max")
        return self


@dataclass(frozen=True)
class GateCheck:
    metric: str
    threshold: float
    direction: Literal["min", "max"]
    value: float | None
    passed: bool
    close_matches: list[str] = field(default_factory=list)
    """Measured metric names like `metric`, when `metric` itself was not measured."""


@dataclass
class GateResult:
    thresholds_file: str
    checks: list[GateCheck] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    """Thresholds on a corpus this run did not ask (`corpora.NAME...`): not checked."""

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[GateCheck]:
        return [check for check in self.checks if not check.passed]

    def describe(self, check: GateCheck) -> str:
        """One line for a failed check, e.g. `citation_recall is 0.0, needs >= 1.0`."""
        if check.value is None:
            where = self.thresholds_file or "the thresholds file"
            matches = ", ".join(check.close_matches)
            hint = f" (did you mean {matches}?)" if matches else ""
            return (
                f"{check.metric} is not in results.json's metrics; check the name in {where}{hint}"
            )
        sign = ">=" if check.direction == "min" else "<="
        return f"{check.metric} is {check.value}, needs {sign} {check.threshold}"

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "thresholds_file": self.thresholds_file,
            "checks": [asdict(check) for check in self.checks],
            "not_run": self.not_run,
        }


def load_thresholds(path: Path) -> dict[str, Threshold]:
    if not path.is_file():
        raise InputError(str(path), "no such thresholds file; pass --thresholds PATH")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise invalid_yaml(path, error) from error
    if not data:
        # An empty gate would pass every run, which is what a gate must never do by accident.
        raise InputError(
            str(path),
            "has no thresholds; add lines like `pass_rate: {min: 0.9}`, or pass --no-gate",
        )
    if not isinstance(data, dict):
        raise InputError(str(path), "thresholds are a mapping of metric: {min: x} or {max: x}")
    thresholds = {}
    for metric, bound in data.items():
        try:
            thresholds[str(metric)] = Threshold.model_validate(bound)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise InputError(str(path), f"threshold for {metric!r}: {problem}") from error
    return thresholds


def scalar_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every number in the nested metrics, keyed by its dotted path; lists are skipped."""
    flat: dict[str, float] = {}
    for name, value in metrics.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(scalar_metrics(value, f"{path}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[path] = float(value)
    return flat


def check_gate(
    metrics: dict[str, Any], thresholds: dict[str, Threshold], source: str = ""
) -> GateResult:
    values = scalar_metrics(metrics)
    result = GateResult(thresholds_file=source)
    corpora_run = metrics.get("corpora", {})
    for metric, bound in thresholds.items():
        parts = metric.split(".")
        if len(parts) > 2 and parts[0] == "corpora" and parts[1] not in corpora_run:
            result.not_run.append(metric)
            continue
        value = values.get(metric)
        close = [] if value is not None else difflib.get_close_matches(metric, values, n=3)
        if bound.min is not None:
            passed = value is not None and value >= bound.min
            result.checks.append(GateCheck(metric, bound.min, "min", value, passed, close))
        elif bound.max is not None:
            passed = value is not None and value <= bound.max
            result.checks.append(GateCheck(metric, bound.max, "max", value, passed, close))
    return result


def load_baseline(path: Path) -> dict[str, Any]:
    """A previous results.json; scripts and the report rely on its top-level `metrics`."""
    if not path.is_file():
        raise InputError(str(path), "no such baseline; pass a results.json of an earlier run")
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(str(path), f"not valid JSON ({error.msg})", line=error.lineno) from error
    if not isinstance(baseline, dict) or not isinstance(baseline.get("metrics"), dict):
        raise InputError(str(path), "a baseline needs the top-level `metrics` of results.json")
    return baseline


def metric_deltas(
    metrics: dict[str, Any], baseline_metrics: dict[str, Any]
) -> dict[str, dict[str, float | None]]:
    """value, baseline and delta for every scalar metric in either run."""
    now, before = scalar_metrics(metrics), scalar_metrics(baseline_metrics)
    deltas: dict[str, dict[str, float | None]] = {}
    for name in sorted(now.keys() | before.keys()):
        value, previous = now.get(name), before.get(name)
        delta = round(value - previous, 4) if value is not None and previous is not None else None
        deltas[name] = {"value": value, "baseline": previous, "delta": delta}
    return deltas
