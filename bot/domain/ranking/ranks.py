"""Competition ranks within groups, and percentiles, with numpy (no loop over firms).

Ranks are standard competition ranks ("1224") by value, highest first.  Percentile:
100 × (the number of other firms with a strictly lower value) / (firms − 1): the share of the
other firms the firm did strictly better than.  Firms tied at the top of 4 (90, 80, 80, 70) get
100, 33.3, 33.3, 0.  A firm alone gets 100.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def group_order(first: IntArray, ids: IntArray) -> IntArray:
    """Re-orders ``first`` (a permutation of the rows) stably by group id: the rows grouped by
    ``ids`` ascending, each group in the order of ``first``.  Small non-negative ids (the usual
    case: estate, cluster and province ids) sort as 16-bit keys, which numpy radix-sorts."""
    keys = ids[first]
    if len(keys) and keys.min() >= -1 and keys.max() < 0xFFFF:
        keys = (keys + 1).astype(np.uint16)
    return first[np.argsort(keys, kind="stable")]


def group_ranks(values: FloatArray, ids: IntArray) -> tuple[IntArray, IntArray]:
    """Standard competition ranks ("1224", highest value first) of ``values`` within the groups
    ``ids``, and the size of each firm's group.  Rows with a negative id (no group) get 0 for
    both."""
    return group_ranks_ordered(values, ids, np.argsort(-values, kind="stable"))


def group_ranks_ordered(
    values: FloatArray, ids: IntArray, by_value: IntArray
) -> tuple[IntArray, IntArray]:
    """``group_ranks`` given ``by_value``, the rows ordered by value, highest first (so that
    several scopes share one sort)."""
    n = len(values)
    rank = np.zeros(n, np.int64)
    size = np.zeros(n, np.int64)
    if not n:
        return rank, size
    order = group_order(by_value, ids)
    k, g = values[order], ids[order]
    new_group = np.r_[True, g[1:] != g[:-1]]
    new_value = new_group | np.r_[True, k[1:] != k[:-1]]
    pos = np.arange(n)
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    value_start = np.maximum.accumulate(np.where(new_value, pos, 0))
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.r_[starts, n])
    rank[order] = value_start - group_start + 1
    size[order] = np.repeat(sizes, sizes)
    outside = ids < 0
    rank[outside] = 0
    size[outside] = 0
    return rank, size


def percentiles(values: FloatArray) -> FloatArray:
    """100 × (the number of other values strictly lower) / (n − 1); 100 when n = 1."""
    n = len(values)
    if n <= 1:
        return np.full(n, 100.0)
    lower = np.searchsorted(np.sort(values), values, side="left")
    return 100.0 * lower / (n - 1)


def percentiles_ordered(values: FloatArray, by_value: IntArray) -> FloatArray:
    """``percentiles`` given ``by_value``, the rows ordered by value, highest first (no sort):
    the firms strictly lower than a firm are those after the last one equal to it."""
    n = len(values)
    if n <= 1:
        return np.full(n, 100.0)
    ordered = values[by_value]
    # Where each run of equal values ends (exclusive), for every position of the order.
    change = ordered[1:] != ordered[:-1]
    ends = np.r_[np.flatnonzero(change) + 1, n]
    run = np.r_[0, np.cumsum(change)]
    lower = np.empty(n, np.int64)
    lower[by_value] = n - ends[run]
    return 100.0 * lower / (n - 1)


def competition_ranks(values: FloatArray) -> IntArray:
    """Standard competition ranks ("1224"), highest value first."""
    keys = -np.asarray(values, np.float64)
    return np.searchsorted(np.sort(keys), keys, side="left") + 1
