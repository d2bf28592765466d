"""Competency frameworks: models, file schemas, importer, public pages."""
