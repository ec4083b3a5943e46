"""Peer statistics: the median and mean of each metric in each group of at least MIN_GROUP firms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from bot.domain.ranking import MIN_GROUP
from bot.domain.ranking.ranks import group_order
from bot.domain.ranking.weights import DECIMALS, round_scores

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: (scope, scope id, metric, n, median, mean)
PeerRow = tuple[str, int, str, int, float, float]


def peer_rows(
    metrics: Sequence[str], values: FloatArray, groups: Mapping[str, IntArray]
) -> list[PeerRow]:
    """(scope, scope id, metric, n, median, mean) for each group with >= MIN_GROUP values, scope
    by scope, then metric by metric, groups by id.

    ``values`` (n × metrics) holds rounded scores (NaN: none); ``groups[scope]`` the group id of
    each firm (-1: not in a group of that scope).  Each metric is sorted once (as whole numbers
    of 10**-DECIMALS) and re-ordered stably by group per scope; no loop over firms.  The median
    of an even group is the mean of its two middle values; median and mean are rounded like the
    stored scores.
    """
    n = len(values)
    scale = 10**DECIMALS
    valid = ~np.isnan(values)
    # Whole numbers of 10**-DECIMALS (exact for rounded scores); a missing value sorts last.
    empty = np.iinfo(np.int64).max
    ints = np.where(valid, np.rint(np.where(valid, values, 0) * scale), 0).astype(np.int64)
    ints[~valid] = empty
    ints = np.ascontiguousarray(ints.T)  # metric by metric
    valid = np.ascontiguousarray(valid.T)
    by_column = np.ascontiguousarray(values.T)
    complete = [bool(valid[k].all()) for k in range(len(metrics))]
    # (Equal values may come in any order: the medians only read values.)
    by_metric = [np.argsort(ints[k]) for k in range(len(metrics))]
    out: list[PeerRow] = []
    for scope, ids in groups.items():
        member = ids >= 0
        if not n or not member.any():
            continue
        everyone = bool(member.all())
        uniq, g = _numbered(ids if everyone else ids[member])
        compact = g if everyone else np.full(n, -1, np.int64)
        if not everyone:
            compact[member] = g
        sizes = np.bincount(g, minlength=len(uniq))
        # Group k's rows start at start[k] in every re-ordering (non-members, id -1, come first).
        start = np.concatenate(([0], np.cumsum(sizes)[:-1])) + (n - int(member.sum()))
        for k, metric in enumerate(metrics):
            if everyone and complete[k]:  # (selecting every row would copy the same values)
                rows, weights = compact, by_column[k]
            else:
                has = valid[k] & member
                rows, weights = compact[has], by_column[k][has]
            cnt = np.bincount(rows, minlength=len(uniq))
            keep = np.flatnonzero(cnt >= MIN_GROUP)
            if not len(keep):
                continue
            # One group of everyone (the nation): the metric's order is the group's.
            order = by_metric[k] if everyone and len(uniq) == 1 else group_order(by_metric[k], compact)
            ordered = ints[k][order]
            c, s0 = cnt[keep], start[keep]
            lo = ordered[s0 + (c - 1) // 2] / scale
            hi = ordered[s0 + c // 2] / scale
            median = round_scores((lo + hi) / 2)
            total = np.bincount(rows, weights=weights, minlength=len(uniq))
            mean = round_scores(total[keep] / c)
            out.extend(
                (scope, sid, metric, nn, med, mn)
                for sid, nn, med, mn in zip(
                    uniq[keep].tolist(), c.tolist(), median.tolist(), mean.tolist(), strict=True
                )
            )
    return out


def _numbered(ids: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(ids, return_inverse=True)`` of non-negative ids; small ones (estate, cluster
    and province ids) through a table of flags instead of a sort."""
    top = int(ids.max())
    if top > 16 * len(ids) + 1_000_000:
        uniq, inverse = np.unique(ids, return_inverse=True)
        return uniq, inverse.astype(np.int64)
    seen = np.zeros(top + 1, bool)
    seen[ids] = True
    number = np.cumsum(seen) - 1
    return np.flatnonzero(seen), number[ids]
