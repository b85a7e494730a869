-- API request cache: one successful response per request key (see runner/cache.py). The key is a
-- sha256 over backend, base URL, model and the full request body as sent (plus run seed, sample
-- and position for sampled requests), so rerunning finished work sends nothing. Never a secret.
CREATE TABLE request_cache (
    cache_key   TEXT PRIMARY KEY,
    backend     TEXT NOT NULL,
    model       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    result_json TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
