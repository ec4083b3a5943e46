"""Scoring and ranking a round: weights, vectorised scoring, ranks, peer statistics and the
weight-sensitivity check, on plain numpy arrays."""
