"""Pure domain logic: questionnaire, scoring, calendar, texts. No telegram, no SQL, no storage."""
