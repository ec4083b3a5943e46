"""Scoring and ranking a whole round, and the weight-sensitivity check (the use cases).

``score_round(db, round_id)``:

1. reads, in ``db.snapshot()`` blocks (on the connections kept for long reads, so replies to
   users never wait for a reader meanwhile), the round and every submitted submission of it
   with its firm's sector, estate, cluster and province and its packed answers
   (``storage/packed_answers.py``) - one statement - and then the ``answer_values`` the
   packed answers name;
2. decodes, scores, ranks, summarises and encodes the rows' JSON texts in the worker process
   (``bot.services.offload.run_heavy``; numpy and Python that would otherwise hold the bot's GIL
   for a second and more, slowing every reply): the vectorised scorer
   (``bot.domain.ranking.scoring``) is bit-for-bit
   ``bot.domain.scoring.score_submission``; ranks and percentiles (``bot.domain.ranking.ranks``); peer
   statistics (``bot.domain.ranking.peers``) for every group of at least ``MIN_GROUP`` firms;
3. writes in short transactions, ``CHUNK`` rows each, under a new generation number of the round
   (``score_rows``, migration 0009; each chunk's rows made lazily inside ``executemany`` from the
   arrays and the chunk's pickled texts the worker sent back), while the peer statistics are
   computed in the worker process (before, with ``KHOOSHE_OFFLOAD=thread``); then ONE tiny
   transaction makes that generation the one the ``scores`` view shows, replaces the peer
   statistics and sets ``rounds.scored_at``; then the
   rows it replaced are deleted, a chunk per transaction.  So a reader (``scores.count``, the
   top list, a firm's summary) sees either the old results or the new ones, never half a round,
   and no transaction of the run holds the write lock for more than a few milliseconds.
   Re-running is idempotent.

Because reading and writing are separate transactions, the final transaction first compares the
fingerprint of the round's submitted submissions (``rounds.submitted_changes``, which every change
to one of them bumps: migration 0012) with the one loaded; if they changed meanwhile (a late
submission, a firm deleting its data), the run starts over (at most ``ATTEMPTS`` times, then
RuntimeError).

Rounding: the composite and the dimension scores are stored rounded to 6 decimal places, so
composites that differ only by float noise tie.  Ranks are standard competition ranks ("1224") by
composite, highest first, within the estate, the cluster (firms in a cluster only), the province
and the nation; the percentile is 100 × (other firms strictly lower) / (firms − 1), 100 for a firm
alone.

A submission with a required, applicable question unanswered is not scored (``incomplete``), nor
one whose weights leave no dimension with a positive weight; one with a stored answer that is not
a valid value of its question is skipped and counted as ``invalid``.

``weight_sensitivity(db, round_id, weights)`` recomputes the national ranks from the stored
dimension scores under the round's weights and under ``weights``, and says how much they move.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.domain.questionnaire import load_questionnaire
from bot.domain.ranking.peers import PeerRow, peer_rows
from bot.domain.ranking.ranks import group_ranks_ordered, percentiles_ordered
from bot.domain.ranking.scoring import AnswerCodes, Scored, score_codes
from bot.domain.ranking.sensitivity import Sensitivity, sensitivity
from bot.domain.ranking.weights import round_scores, validate_weights
from bot.services.assessment import reference_year
from bot.services.offload import mode as offload_mode
from bot.services.offload import pack, run_heavy, unpack
from storage.database import Database
from storage.packed_answers import PackedRound
from storage.packed_rounds import RoundAnswers, decode_round, distinct_answer_ids
from storage.repositories import Repositories
from storage.repositories.ranking import (
    PRUNE_CHUNK,
    FloatArray,
    IntArray,
    encode_dimensions,
    encode_weakest,
    rows_to_write,
)

log = logging.getLogger(__name__)

#: ``scores`` rows written per transaction.  Binding them (in aiosqlite's thread) needs the GIL,
#: like the event loop: small chunks, with the loop given a turn between them, keep replies to
#: users flowing while a round is written.  2,000 rows hold the write lock for about 4.5 ms (1,000:
#: 2.3 ms); each chunk also costs three trips to the connection's thread and back, which on a
#: busy machine wait for a core (bench/ranking.py: 2,000 made the writing 10 % faster).
CHUNK = 2_000
#: Up to this many ``answer_values`` rows (the distinct answers of every round so far; about
#: 7,700 after a round of 100,000 firms) are read whole instead of only the round's.
READ_ALL_VALUES = 50_000
#: How many times a run starts over when the round's submissions change while it runs.
ATTEMPTS = 3
SCOPES = ("estate", "cluster", "province", "nation")


@dataclass(frozen=True)
class RankingSummary:
    scored: int
    incomplete: int
    seconds: float
    #: submissions with a stored answer that is not a valid value of its question.
    invalid: int = 0
    #: seconds per phase: load (SQL reads), score (decoding, scoring, ranking and encoding the
    #: dimensions and weakest questions, in the worker process; with a worker thread, the peer
    #: statistics too), write (the rows' transactions, with the peer statistics computed
    #: meanwhile in the worker process), publish (the transaction
    #: that makes them visible), prune (deleting the rows they replaced, after that).
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Ranked:
    """A scored and ranked round, with its dimensions and weakest questions encoded: plain
    arrays and bytes, sent back by the worker process."""

    dim_ids: list[str]
    firm_ids: IntArray
    groups: dict[str, IntArray]
    dims: FloatArray
    composite: FloatArray
    #: per ``chunk`` firms: (their ``scores.dimensions`` texts, their ``scores.weakest`` texts),
    #: pickled when they come from the worker process (see ``rows``).
    texts: list[bytes] | list[tuple[list[str], list[str]]]
    chunk: int
    ranks: dict[str, tuple[IntArray, IntArray]]
    percentile: FloatArray
    incomplete: int
    invalid: int

    def __len__(self) -> int:
        return len(self.firm_ids)

    def rows(self, k: int) -> Iterator[tuple[Any, ...]]:
        """The rows of chunk ``k``, made lazily (by whoever iterates: the database
        connection's thread)."""
        part = slice(k * self.chunk, (k + 1) * self.chunk)
        texts = self.texts[k]
        dimensions, weakest = unpack(texts) if isinstance(texts, bytes) else texts
        yield from rows_to_write(
            self.firm_ids[part], {key: v[part] for key, v in self.groups.items()},
            dimensions, self.composite[part], weakest,
            {key: (r[part], z[part]) for key, (r, z) in self.ranks.items()},
            self.percentile[part],
        )


def _peers(dim_ids: list[str], composite: FloatArray, dims: FloatArray, groups: dict[str, IntArray]) -> list[PeerRow]:
    """The peer statistics (numpy; in the worker process)."""
    metrics = ["composite", *dim_ids]
    values = np.column_stack([composite, dims]) if len(composite) else np.zeros((0, len(metrics)))
    return peer_rows(metrics, values, groups)


@dataclass
class _ValueCodes:
    """``answer_values`` rows resolved: their ids and the ``table`` code of each."""

    table: AnswerCodes
    ids: IntArray
    codes: IntArray


def _value_codes(version: int, ref_year: int, values: list[tuple[int, str, str]]) -> _ValueCodes:
    """Decodes and scores each (id, question id, stored JSON value) once (CPU only)."""
    table = AnswerCodes(load_questionnaire(version), ref_year)
    ids = np.fromiter((v[0] for v in values), np.int64, len(values))
    return _ValueCodes(table, ids, table.resolve_all([(v[1], v[2]) for v in values]))


def _rank(
    round_id: int,
    version: int,
    ref_year: int,
    weights: Mapping[str, float],
    packed: PackedRound,
    values: list[tuple[int, str, str]] | _ValueCodes,
    chunk: int,
    pickled: bool,
) -> _Ranked:
    """Decoding, scoring, ranking and encoding (CPU only; in the worker process).  ``values``:
    the ``answer_values`` rows, or (in a worker thread) what ``_value_codes`` made of them."""
    questionnaire = load_questionnaire(version)
    answers: RoundAnswers = decode_round(packed)
    resolved = values if isinstance(values, _ValueCodes) else _value_codes(version, ref_year, values)
    table = resolved.table
    if len(answers.distinct_ids):
        # ``values`` holds at least the round's distinct ids (maybe the whole table).
        known = resolved.ids
        lut = np.full(max(int(answers.distinct_ids[-1]), int(known.max(initial=0))) + 1, -1, np.int64)
        lut[known] = resolved.codes
        if (lut[answers.distinct_ids] < 0).any():
            raise RuntimeError(f"round {round_id}: packed answers name unknown answer_values ids")
        id_codes = lut[answers.ids]
    else:
        id_codes = np.zeros(0, np.int64)
    text_codes = table.resolve_all(answers.text_values)[answers.text_index]
    scored: Scored = score_codes(
        questionnaire, answers.sectors,
        np.concatenate([answers.id_rows, answers.text_rows]),
        np.concatenate([id_codes, text_codes]),
        table, weights=weights,
    )
    ok = np.flatnonzero(scored.ok)
    composite = round_scores(scored.composite[ok])
    groups = {
        "estate": answers.estate_ids[ok],
        "cluster": answers.cluster_ids[ok],  # -1: not in a cluster
        "province": answers.province_ids[ok],
        "nation": np.zeros(len(ok), np.int64),
    }
    by_value = np.argsort(-composite, kind="stable")
    dim_ids = [d.id for d in questionnaire.scored_dimensions]
    dims = round_scores(scored.dims[ok])
    dimensions = encode_dimensions(dim_ids, dims)
    weakest = encode_weakest([q.id for q in questionnaire.questions], scored.weakest[ok])
    # From the worker process, a chunk's texts travel as one pickle, unpickled by the database
    # thread when the chunk is written (all at once, 200,000 strings would hold the bot's GIL for
    # tens of ms); a worker thread shares the bot's memory, so nothing is pickled.
    texts = [(dimensions[k:k + chunk], weakest[k:k + chunk]) for k in range(0, len(ok), chunk)]
    return _Ranked(
        dim_ids=dim_ids,
        firm_ids=answers.firm_ids[ok],
        groups=groups,
        dims=dims,
        composite=composite,
        texts=[pack(part) for part in texts] if pickled else texts,
        chunk=chunk,
        ranks={scope: group_ranks_ordered(composite, ids, by_value) for scope, ids in groups.items()},
        percentile=percentiles_ordered(composite, by_value),
        incomplete=int(scored.incomplete.sum()),
        invalid=int(scored.invalid.sum()),
    )


async def score_round(db: Database, round_id: int) -> RankingSummary:
    """Scores, ranks and summarises every submitted assessment of the round (see the module
    docstring); replaces what an earlier run stored.  Raises ValueError for an unknown round
    or invalid round weights."""
    for attempt in range(1, ATTEMPTS + 1):
        summary = await _score_round_once(db, round_id)
        if summary is not None:
            return summary
        log.info("round %s: submissions changed while scoring (attempt %d); again", round_id, attempt)
    raise RuntimeError(f"round {round_id}: submissions kept changing while scoring")


async def _score_round_once(db: Database, round_id: int) -> RankingSummary | None:
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - since
        return now

    t = started
    # Bulk reads: on the snapshot connections, not on the readers that serve replies.
    async with db.snapshot() as repo:
        round_ = await repo.rounds.get(round_id)
        if round_ is None:
            raise ValueError(f"no round {round_id}")
        questionnaire = load_questionnaire(round_.questionnaire_version)
        weights = validate_weights(questionnaire, round_.weights)
        ref_year = reference_year(round_)
        # The usual case: the table of distinct answers is small, and reading all of it (a few
        # ms) saves a trip of the packed answers to the worker to find which ones the round
        # names.  In a worker thread, they are decoded and scored while SQLite (which lets go
        # of the GIL meanwhile) gathers the round's submissions.
        pickled = offload_mode() == "process"
        all_values = await repo.ranking.all_answer_values(READ_ALL_VALUES)
        codes_job = None if all_values is None or pickled else asyncio.ensure_future(
            run_heavy(_value_codes, round_.questionnaire_version, ref_year, all_values))
        try:
            packed, fingerprint = await repo.ranking.load(round_id)
        except BaseException:
            if codes_job is not None:  # (a worker cannot be interrupted: let it finish)
                await asyncio.wait([codes_job])
                if not codes_job.cancelled():
                    codes_job.exception()  # retrieved, so asyncio does not log it as lost
            raise
    t = lap("load", t)
    values: list[tuple[int, str, str]] | _ValueCodes
    if codes_job is not None:
        values = await codes_job
    elif all_values is not None:
        values = all_values
    else:
        distinct_ids = await run_heavy(distinct_answer_ids, packed.blob)
        t = lap("score", t)
        async with db.snapshot() as repo:
            values = await repo.ranking.answer_values(distinct_ids)
        t = lap("load", t)
    ranked = await run_heavy(
        _rank, round_id, round_.questionnaire_version, ref_year, weights, packed, values, CHUNK, pickled)
    del packed, values
    t = lap("score", t)

    # The peer statistics are computed in the worker process while the rows are written.  The
    # rows themselves are made lazily inside ``executemany``, in the connection's thread, from
    # the arrays and each chunk's texts.  In a worker thread (``KHOOSHE_OFFLOAD=thread``) the
    # statistics are computed first instead: beside the writing they only took turns with it
    # for the GIL (which the connection's thread gives up and takes back for every row), and
    # the writing took as much longer as they lasted (bench/ranking.py).
    n = len(ranked)
    peers_job = asyncio.ensure_future(
        run_heavy(_peers, ranked.dim_ids, ranked.composite, ranked.dims, ranked.groups))
    if not pickled:
        await asyncio.wait([peers_job])
        t = lap("score", t)
    generation = 0
    published = False
    try:
        async with db.transaction() as repo:
            generation = await repo.ranking.new_generation(round_id)
        written = 0
        for k in range(len(ranked.texts)):
            async with db.transaction() as repo:
                written += await repo.ranking.write(round_id, generation, n, ranked.rows(k))
            await asyncio.sleep(0)  # the loop runs what is ready before the next chunk is bound
        if written != n:
            raise RuntimeError(f"round {round_id}: ranked {n} firms, wrote {written} rows")
        peers = await peers_job
        t = lap("write", t)
        async with db.transaction() as repo:
            if await repo.ranking.fingerprint(round_id) != fingerprint:
                return None
            # False: a later run has published already; its results stand.
            published = await repo.ranking.publish(round_id, generation, peers)
        t = lap("publish", t)
    finally:
        # Work in a worker cannot be interrupted: let it finish (its result is not needed).
        if not peers_job.done():
            await asyncio.wait([peers_job])
        if not peers_job.cancelled():
            peers_job.exception()  # retrieved, so asyncio does not log it as lost
        if generation and not published:
            await _delete_chunks(db, lambda repo: repo.ranking.discard(round_id, generation))
    if published:
        # Readers see the new results already; what they replaced goes now, a chunk at a time.
        await _delete_chunks(db, lambda repo: repo.ranking.prune(round_id, below=generation))
        t = lap("prune", t)

    invalid = ranked.invalid
    if invalid:
        log.warning("round %s: %d submissions with invalid stored answers were not scored", round_id, invalid)
    summary = RankingSummary(
        scored=n, incomplete=ranked.incomplete,
        seconds=time.perf_counter() - started, invalid=invalid, timings=timings,
    )
    log.info("round %s scored: %s", round_id, summary)
    return summary


async def _delete_chunks(db: Database, delete: Callable[[Repositories], Awaitable[int]]) -> None:
    """Runs ``delete`` (which deletes up to ``PRUNE_CHUNK`` rows) in short transactions until it
    deletes fewer."""
    while True:
        async with db.transaction() as repo:
            deleted = await delete(repo)
        if deleted < PRUNE_CHUNK:
            return
        await asyncio.sleep(0)


async def weight_sensitivity(db: Database, round_id: int, weights: Mapping[str, float]) -> Sensitivity:
    """How the national ranks of a scored round would change under other dimension weights.

    Both rankings are recomputed from the stored (rounded) dimension scores - the round's own
    weights (equal when it has none) against ``weights`` - so identical weights change nothing.
    Raises ValueError for an unknown round or bad weights (unknown dimension, negative, not a
    number, all zero).
    """
    async with db.read() as repo:
        round_ = await repo.rounds.get(round_id)
        if round_ is None:
            raise ValueError(f"no round {round_id}")
        questionnaire = load_questionnaire(round_.questionnaire_version)
        alternative = validate_weights(questionnaire, weights)
        base = validate_weights(questionnaire, round_.weights)
        dim_ids = list(base)
        dims = await repo.ranking.dimension_scores(round_id, dim_ids)
    return await run_heavy(sensitivity, dims, dim_ids, base, alternative)
