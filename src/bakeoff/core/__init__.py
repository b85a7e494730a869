"""Core types, errors and registries. Imports nothing heavy."""
