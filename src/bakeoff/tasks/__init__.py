"""Tasks: where samples come from, which requests they need, how they are scored."""
