"""Imports: product feed CSV imports and historical Letzshop order imports."""
