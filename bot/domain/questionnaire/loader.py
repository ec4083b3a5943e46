"""Reads a questionnaire version file (TOML) and validates it into a ``Questionnaire``."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.domain.questionnaire.model import Dimension, Question, Questionnaire

QUESTIONNAIRE_DIR = Path(__file__).resolve().parent
_VERSION_FILE = re.compile(r"^v(\d+)\.toml$")
M = TypeVar("M", bound=BaseModel)


class QuestionnaireError(Exception):
    """A questionnaire file that cannot be used; ``str(error)`` names the question and field."""


def available_versions() -> list[int]:
    """The versions shipped beside this module (``v1.toml`` → 1), ascending."""
    versions = []
    for path in QUESTIONNAIRE_DIR.iterdir():
        match = _VERSION_FILE.match(path.name)
        if match:
            versions.append(int(match.group(1)))
    return sorted(versions)


@cache
def load_questionnaire(version: int) -> Questionnaire:
    """Loads and validates ``v{version}.toml`` (once per process)."""
    path = QUESTIONNAIRE_DIR / f"v{version}.toml"
    if not path.is_file():
        raise QuestionnaireError(
            f"questionnaire version {version}: no file {path.name} "
            f"(available: {', '.join(map(str, available_versions())) or 'none'})"
        )
    questionnaire = load_questionnaire_file(path)
    if questionnaire.version != version:
        raise QuestionnaireError(
            f"{path.name}: version: the file says version {questionnaire.version}, expected {version}"
        )
    return questionnaire


def load_questionnaire_file(path: str | Path) -> Questionnaire:
    """Loads and validates one questionnaire file (not cached)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise QuestionnaireError(f"{path.name}: cannot read the file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(f"{path.name}: not valid TOML ({exc})") from None
    return parse_questionnaire(raw)


def parse_questionnaire(raw: dict[str, Any]) -> Questionnaire:
    """Validates an already parsed file; raises ``QuestionnaireError`` with a precise message."""
    unknown = set(raw) - {"version", "dimensions", "questions"}
    if unknown:
        raise QuestionnaireError(f"questionnaire: {sorted(unknown)[0]}: unknown key")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise QuestionnaireError("questionnaire: version: must be a positive integer")
    raw_dims = raw.get("dimensions")
    raw_questions = raw.get("questions")
    if not isinstance(raw_dims, list) or not raw_dims:
        raise QuestionnaireError("questionnaire: dimensions: missing (a list of [[dimensions]])")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuestionnaireError("questionnaire: questions: missing (a list of [[questions]])")

    dimensions = []
    for i, item in enumerate(raw_dims, 1):
        name = f"dimension {item.get('id')}" if isinstance(item, dict) and item.get("id") else f"dimension #{i}"
        dimensions.append(_build(Dimension, item, name))

    by_id: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(raw_questions, 1):
        if not isinstance(item, dict):
            raise QuestionnaireError(f"question #{i}: not a table")
        qid = item.get("id")
        if not isinstance(qid, str) or not qid.strip():
            raise QuestionnaireError(f"question #{i}: id: missing")
        if qid in by_id:
            raise QuestionnaireError(f"question {qid}: id: duplicate question id")
        by_id[qid] = item

    questions = []
    for qid, item in by_id.items():
        source_id = item.get("options_from")
        if source_id is not None:
            source = by_id.get(source_id) if isinstance(source_id, str) else None
            if source is None:
                raise QuestionnaireError(f"question {qid}: options_from: unknown question {source_id!r}")
            if "options" in item:
                raise QuestionnaireError(f"question {qid}: options_from: give either options or options_from")
            if "options_from" in source:
                raise QuestionnaireError(
                    f"question {qid}: options_from: {source_id} itself copies its options"
                )
            if list(by_id).index(source_id) > list(by_id).index(qid):
                raise QuestionnaireError(f"question {qid}: options_from: {source_id} must come earlier")
            # An exclusive "none of these" option of a multi question is no answer to pick
            # from ("the biggest of the problems above": P2 from P1).
            options = [o for o in source.get("options", []) if not (isinstance(o, dict) and o.get("exclusive"))]
            item = {**item, "options": options}
        questions.append(_build(Question, item, f"question {qid}"))

    try:
        return Questionnaire(version=version, dimensions=tuple(dimensions), questions=tuple(questions))
    except ValidationError as exc:
        raise QuestionnaireError(_message(exc, {})) from None


def _build(model: type[M], item: Any, name: str) -> M:
    if not isinstance(item, dict):
        raise QuestionnaireError(f"{name}: not a table")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise QuestionnaireError(f"{name}: {_message(exc, item)}") from None


def _message(exc: ValidationError, item: dict[str, Any]) -> str:
    """The first error as ``field: problem``, with option ids instead of list indexes."""
    error = exc.errors(include_url=False)[0]
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif msg:
        msg = msg[0].lower() + msg[1:]
    parts: list[str] = []
    node: Any = item
    for key in error["loc"]:
        if isinstance(key, int):
            entry = node[key] if isinstance(node, list) and key < len(node) else None
            label = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
            index = f"[{label or key + 1}]"
            if parts:
                parts[-1] += index
            else:
                parts.append(index)
            node = entry
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return f"{'.'.join(parts)}: {msg}" if parts else msg
