"""Scoring and ranking a round: weights, vectorised scoring, ranks, peer statistics and the
weight-sensitivity check, on plain numpy arrays."""

#: Peer statistics are kept only for groups of at least this many firms (with a value); here,
#: apart from the numpy modules, for the dashboard that only needs the number.
MIN_GROUP = 5
