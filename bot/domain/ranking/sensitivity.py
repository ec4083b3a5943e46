"""How national ranks move when the composite uses other dimension weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.domain.ranking.ranks import competition_ranks
from bot.domain.ranking.weights import round_scores

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Sensitivity:
    """How national ranks move when the composite uses other dimension weights."""

    firms: int
    #: firms whose national rank changes.
    changed: int
    #: the largest absolute change of a national rank.
    max_shift: int
    #: the mean absolute change of the national rank over all firms.
    mean_shift: float
    base_weights: dict[str, float]
    weights: dict[str, float]


def weighted_composites(dims: FloatArray, weights: Sequence[float]) -> FloatArray:
    """The composite of each row of ``dims`` (NaN: the firm has no such dimension) under
    ``weights``: the weighted mean of the present dimensions, rounded like stored composites;
    -inf where no present dimension has a positive weight (ranked last)."""
    w = np.asarray(weights, np.float64)
    present = ~np.isnan(dims)
    wp = np.where(present, w, 0.0)
    total = wp.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(present, dims, 0.0) @ w / total
    result: FloatArray = np.where(total > 0, round_scores(comp), -np.inf)
    return result


def sensitivity(
    dims: FloatArray,
    dimension_ids: Sequence[str],
    base_weights: Mapping[str, float],
    weights: Mapping[str, float],
) -> Sensitivity:
    """Compares national competition ranks under ``base_weights`` and ``weights`` (both full
    maps over ``dimension_ids``), from the same dimension scores ``dims`` (n × dimensions)."""
    before = competition_ranks(weighted_composites(dims, [base_weights[d] for d in dimension_ids]))
    after = competition_ranks(weighted_composites(dims, [weights[d] for d in dimension_ids]))
    shift = np.abs(after - before)
    n = len(shift)
    return Sensitivity(
        firms=n,
        changed=int(np.count_nonzero(shift)),
        max_shift=int(shift.max()) if n else 0,
        mean_shift=float(shift.mean()) if n else 0.0,
        base_weights=dict(base_weights),
        weights=dict(weights),
    )
