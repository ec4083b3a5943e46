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
    # (Equal values may come in any order: the medians only read values.)
    by_metric = [np.argsort(ints[k]) for k in range(len(metrics))]
    out: list[PeerRow] = []
    for scope, ids in groups.items():
        member = ids >= 0
        if not n or not member.any():
            continue
        uniq, g = np.unique(ids[member], return_inverse=True)
        compact = np.full(n, -1, np.int64)
        compact[member] = g
        sizes = np.bincount(g, minlength=len(uniq))
        # Group k's rows start at start[k] in every re-ordering (non-members, id -1, come first).
        start = np.concatenate(([0], np.cumsum(sizes)[:-1])) + (n - int(member.sum()))
        for k, metric in enumerate(metrics):
            has = valid[k] & member
            cnt = np.bincount(compact[has], minlength=len(uniq))
            keep = np.flatnonzero(cnt >= MIN_GROUP)
            if not len(keep):
                continue
            ordered = ints[k][group_order(by_metric[k], compact)]
            c, s0 = cnt[keep], start[keep]
            lo = ordered[s0 + (c - 1) // 2] / scale
            hi = ordered[s0 + c // 2] / scale
            median = round_scores((lo + hi) / 2)
            total = np.bincount(compact[has], weights=values[has, k], minlength=len(uniq))
            mean = round_scores(total[keep] / c)
            out.extend(
                (scope, sid, metric, nn, med, mn)
                for sid, nn, med, mn in zip(
                    uniq[keep].tolist(), c.tolist(), median.tolist(), mean.tolist(), strict=True
                )
            )
    return out
