"""Dimension weights of a round, and the stored (rounded) form of a score."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from bot.domain.questionnaire import Questionnaire

#: Decimal places of the stored composite and dimension scores.
DECIMALS = 6

_T = TypeVar("_T")


def round_scores(values: _T) -> _T:
    """The stored form of a score: rounded to ``DECIMALS`` places (as numpy rounds), so
    composites that differ only by float noise (59.4000000001 and 59.4) tie."""
    return np.round(values, DECIMALS)  # type: ignore[call-overload, no-any-return]


def validate_weights(questionnaire: Questionnaire, weights: Mapping[str, Any] | None) -> dict[str, float]:
    """Checks dimension weights and returns them for every scored dimension (a dimension left
    out weighs 0; None means equal weights).  Raises ValueError with a clear message."""
    dims = [d.id for d in questionnaire.scored_dimensions]
    if weights is None:
        return {d: 1.0 for d in dims}
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"weights: give a weight for at least one of {', '.join(dims)}")
    unknown = sorted(set(weights) - set(dims))
    if unknown:
        raise ValueError(f"weights: unknown dimension {unknown[0]!r} (known: {', '.join(dims)})")
    result = {}
    for d in dims:
        w = weights.get(d, 0.0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w):
            raise ValueError(f"weights: {d}: {w!r} is not a number")
        if w < 0:
            raise ValueError(f"weights: {d}: must not be negative")
        result[d] = float(w)
    if sum(result.values()) <= 0:
        raise ValueError("weights: at least one dimension needs a positive weight")
    return result
