"""The packed copy of a submitted assessment (migration 0003): how it is encoded and decoded.

On submit, a submission's answers are also stored packed so that ranking a round reads one row
per submission instead of one per answer:

* ``submissions.packed``: the ``answer_values`` ids of its answers, 4-byte little-endian unsigned
  integers (an empty blob when it has no such answer).  ``answer_values`` numbers each distinct
  stored answer (question id + JSON value) once; an id is never reused while a packed copy
  names it ("delete my data" removes a firm's free text that an older version had shared here,
  and drops the packed copies that name it).
* ``submissions.packed_text``: the answers that hold free text (they never go into the shared
  ``answer_values``), as ``qid`` + ``\\x1f`` + stored JSON value, joined by ``\\x1e``; NULL when
  there is none.  Free text is what the questionnaire says it is (its ``text`` questions, passed
  in by the caller), whatever the words look like; ``shareable`` only keeps out of the shared
  table, as well, any other value that is not made of identifiers.

``packed IS NULL`` means there is no packed copy (a submission from before migration 0003, or one
changed after submitting); its answers are then read from the answers table, packed the same
way as ``packed_text``.

The ranking load query (``storage/repositories/ranking.py``) concatenates a whole round in SQL:
the numeric columns comma-separated, the sectors and packed texts separated by ``\\x1d``, and the
packed blobs back to back (with the length of each, -1 where there is none).  ``decode_round``
turns that into numpy arrays with a handful of C-level calls.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import count, repeat

import numpy as np
import numpy.typing as npt

#: Between the answers of one submission.
RS = "\x1e"
#: Between a question id and its stored value.
US = "\x1f"
#: Between the submissions of a round in the load query.
GS = "\x1d"

IntArray = npt.NDArray[np.int64]

#: A JSON string in a stored value (with its escapes).
_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
#: Strings that may go into answer_values: option ids, not free text.
_IDENTIFIER = re.compile(r"[A-Za-z0-9_]{0,64}")


def shareable(value: str) -> bool:
    """Whether a stored answer value may be numbered in ``answer_values`` (shared by every
    submission), as far as its shape tells: anything but a JSON string that is not a plain
    identifier.  Answers to free-text questions are never shared, whatever their shape."""
    if len(value) > 1024:
        return False
    return all(_IDENTIFIER.fullmatch(s) for s in _JSON_STRING.findall(value))


def pack_ids(ids: Sequence[int]) -> bytes:
    """``submissions.packed`` for these ``answer_values`` ids."""
    return struct.pack(f"<{len(ids)}I", *ids)


def unpack_ids(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(blob) // 4}I", blob)


def pack_text(answers: Iterable[tuple[str, str]]) -> str | None:
    """``submissions.packed_text`` for (question id, stored JSON value) pairs; None for none."""
    text = RS.join(qid + US + value for qid, value in answers)
    return text or None


@dataclass(frozen=True)
class PackedRound:
    """A round's submitted submissions as the load query returns them (not decoded yet)."""

    count: int
    firm_ids: str
    estate_ids: str
    #: -1 for a firm in no cluster.
    cluster_ids: str
    province_ids: str
    #: joined by GS.
    sectors: str
    #: the byte length of each ``packed`` blob, -1 where there is none.
    lengths: str
    #: every ``packed`` blob, back to back.
    blob: bytes
    #: every ``packed_text`` ('' for NULL), joined by GS.
    texts: str
    #: firm id -> its answers from the answers table (packed like packed_text), for the
    #: submissions without a packed copy.
    unpacked: dict[int, str | None]


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
    texts = packed.texts.split(GS) if n else []
    has_blob = lengths >= 0
    ids = np.frombuffer(packed.blob or b"", "<u4")
    if int(np.where(has_blob, lengths, 0).sum()) != 4 * len(ids):
        raise ValueError("packed round: blob lengths do not add up")
    distinct = _distinct(ids)
    # Free text kept with the submission, and the answers of those without a packed copy.
    extra: list[str | None] = []
    if packed.unpacked:
        extra = [
            (text or None) if blob else packed.unpacked.get(firm)
            for text, blob, firm in zip(texts, has_blob.tolist(), firm_ids.tolist(), strict=True)
        ]
    elif any(texts):  # every submission has its packed copy (the usual case)
        extra = [text or None for text in texts]
    text_rows, text_index, text_values = split_text(extra)
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
