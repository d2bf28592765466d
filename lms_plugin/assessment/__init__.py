"""Judging learners against framework statements and rolling judgements up to levels."""
