"""Answer extraction and per-sample scoring helpers."""
