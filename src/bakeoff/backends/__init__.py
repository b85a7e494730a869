"""Backends: one module per way of running a model."""
