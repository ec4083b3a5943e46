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
(``storage/packed_rounds.py``, apart so that numpy is imported only where a round is scored)
turns that into numpy arrays with a handful of C-level calls.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Between the answers of one submission.
RS = "\x1e"
#: Between a question id and its stored value.
US = "\x1f"
#: Between the submissions of a round in the load query.
GS = "\x1d"

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
