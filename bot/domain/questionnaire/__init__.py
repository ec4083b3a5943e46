"""The versioned self-assessment questionnaire: data models, loading and answer handling."""

from bot.domain.questionnaire.loader import (
    QuestionnaireError,
    available_versions,
    load_questionnaire,
    load_questionnaire_file,
    parse_questionnaire,
)
from bot.domain.questionnaire.model import (
    CHOICE_TYPES,
    NONE_OPTION,
    QUESTION_TYPES,
    TYPED_TYPES,
    Dimension,
    LocalText,
    Option,
    Part,
    Question,
    Questionnaire,
)

__all__ = [
    "CHOICE_TYPES",
    "NONE_OPTION",
    "QUESTION_TYPES",
    "TYPED_TYPES",
    "Dimension",
    "LocalText",
    "Option",
    "Part",
    "Question",
    "Questionnaire",
    "QuestionnaireError",
    "available_versions",
    "load_questionnaire",
    "load_questionnaire_file",
    "parse_questionnaire",
]
