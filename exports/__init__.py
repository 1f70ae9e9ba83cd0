"""Exports: product feed exports (CSV and Google Shopping XML)."""
