"""Decoding a round's packed submissions (``storage/packed_answers.py`` describes the encoding)
into numpy arrays for ranking.

Apart from the encoding, which every submit uses, so that numpy (about 15 MB of a process's
memory) is imported only where a round is scored, not by every bot process at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress, count, repeat

import numpy as np
import numpy.typing as npt

from storage.packed_answers import GS, RS, US, PackedRound

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RoundAnswers:
    """A decoded round: per submission (in load order) its firm and groups, and its answers as
    parallel arrays.  An answer is either an ``answer_values`` id (``id_rows``/``ids``) or a
    stored (question id, JSON value) pair (``text_rows``/``text_index`` into ``text_values``)."""

    firm_ids: IntArray
    estate_ids: IntArray
    cluster_ids: IntArray
    province_ids: IntArray
    sectors: list[str | None]
    id_rows: IntArray
    ids: npt.NDArray[np.uint32]
    #: the distinct ``ids``, ascending (what to look up in answer_values).
    distinct_ids: npt.NDArray[np.uint32]
    text_rows: IntArray
    text_index: IntArray
    text_values: list[tuple[str, str]]


def _ints(text: str, n: int) -> IntArray:
    if not n:
        return np.zeros(0, np.int64)
    values = np.fromstring(text, dtype=np.int64, sep=",")  # parses in C
    if len(values) != n:
        raise ValueError(f"packed round: expected {n} numbers, got {len(values)}")
    return values


def split_text(texts: Sequence[str | None]) -> tuple[IntArray, IntArray, list[tuple[str, str]]]:
    """(row, index) of every answer in ``texts`` (packed like ``packed_text``; None: none), the
    index into the returned distinct (question id, JSON value) pairs."""
    n = len(texts)
    present = [t for t in texts if t is not None]
    lengths = np.zeros(n, np.int64)
    if present:
        counts = np.fromiter(map(str.count, present, repeat(RS)), np.int64, len(present)) + 1
        lengths[[i for i, t in enumerate(texts) if t is not None]] = counts
    keys = RS.join(present).split(RS) if present else []
    # Number each distinct key by its first occurrence (one dict operation per answer).
    first: dict[str, int] = {}
    index = np.fromiter(map(first.setdefault, keys, count()), np.int64, len(keys))
    # setdefault returned the position of the first occurrence; renumber those 0, 1, 2...
    renumber = np.zeros(len(keys), np.int64)
    renumber[np.fromiter(first.values(), np.int64, len(first))] = np.arange(len(first))
    values = []
    for key in first:
        qid, _, value = key.partition(US)
        values.append((qid, value))
    return np.repeat(np.arange(n), lengths), renumber[index], values


def split_joined(joined: str, n: int) -> tuple[IntArray, IntArray, list[tuple[str, str]]]:
    """``split_text(joined.split(GS))`` with '' read as None (every submission's packed text,
    joined by GS, as the load query returns them), without a Python step per submission: the
    separators are found with numpy in the text's code points, and each answer's row is the
    number of GS before it."""
    if not joined.strip(GS):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), []
    points = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
    seps = np.flatnonzero((points == ord(GS)) | (points == ord(RS)))
    if (points[seps] == ord(GS)).sum() != n - 1:
        raise ValueError(f"packed round: expected {n} packed texts")
    # Piece k lies between separator k-1 and separator k; it is a submission's whole text when
    # both are GS (or an end of the text): empty, that submission has none.
    tokens = (joined.replace(RS, GS) if RS in joined else joined).split(GS)
    starts = np.r_[0, seps + 1]
    ends = np.r_[seps, len(points)]
    is_gs = np.r_[True, points[seps] == ord(GS), True]
    whole = is_gs[:-1] & is_gs[1:]
    keep = ~(whole & (starts == ends))
    rows = np.r_[0, np.cumsum(is_gs[1:-1])][keep]
    keys = list(compress(tokens, keep.tolist()))
    first: dict[str, int] = {}
    index = np.fromiter(map(first.setdefault, keys, count()), np.int64, len(keys))
    renumber = np.zeros(len(keys), np.int64)
    renumber[np.fromiter(first.values(), np.int64, len(first))] = np.arange(len(first))
    values = []
    for key in first:
        qid, _, value = key.partition(US)
        values.append((qid, value))
    return rows.astype(np.int64), renumber[index], values


def _distinct(ids: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """The distinct ids, ascending: marked in a table of flags when the ids are small (answer
    ids are: one per distinct answer ever stored), else sorted (np.unique would hash)."""
    if not len(ids):
        return ids
    top = int(ids.max())
    if top <= 16 * len(ids) + 1_000_000:
        seen = np.zeros(top + 1, bool)
        seen[ids] = True
        return np.flatnonzero(seen).astype(np.uint32)
    ordered = np.sort(ids)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def distinct_answer_ids(blob: bytes) -> npt.NDArray[np.uint32]:
    """``decode_round(packed).distinct_ids`` from ``packed.blob`` alone (what to look up in
    answer_values before decoding: decoding the rest costs ten times as much)."""
    return _distinct(np.frombuffer(blob or b"", "<u4"))


def decode_round(packed: PackedRound) -> RoundAnswers:
    """Decodes what the load query returned (numpy; meant for a worker thread)."""
    n = packed.count
    firm_ids = _ints(packed.firm_ids, n)
    lengths = _ints(packed.lengths, n)
    sectors: list[str | None] = list(packed.sectors.split(GS)) if n else []
    has_blob = lengths >= 0
    ids = np.frombuffer(packed.blob or b"", "<u4")
    if int(np.where(has_blob, lengths, 0).sum()) != 4 * len(ids):
        raise ValueError("packed round: blob lengths do not add up")
    distinct = _distinct(ids)
    # Free text kept with the submission, and the answers of those without a packed copy.
    if packed.unpacked:
        texts = packed.texts.split(GS) if n else []
        extra = [
            (text or None) if blob else packed.unpacked.get(firm)
            for text, blob, firm in zip(texts, has_blob.tolist(), firm_ids.tolist(), strict=True)
        ]
        text_rows, text_index, text_values = split_text(extra)
    else:  # every submission has its packed copy (the usual case)
        text_rows, text_index, text_values = split_joined(packed.texts if n else "", n)
    return RoundAnswers(
        firm_ids=firm_ids,
        estate_ids=_ints(packed.estate_ids, n),
        cluster_ids=_ints(packed.cluster_ids, n),
        province_ids=_ints(packed.province_ids, n),
        sectors=sectors,
        id_rows=np.repeat(np.arange(n), np.where(has_blob, lengths, 0) // 4),
        ids=ids,
        distinct_ids=distinct,
        text_rows=text_rows,
        text_index=text_index,
        text_values=text_values,
    )
