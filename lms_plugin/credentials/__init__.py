"""Open Badges 3.0 credentials: building, signing, status lists, verification."""
