"""Handlers a firm owner uses: registration, the assessment, results, privacy."""
