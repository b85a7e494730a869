"""``bakeoff serve``: a small read-only web app over the SQLite store (standard library only)."""
