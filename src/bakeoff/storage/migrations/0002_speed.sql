-- Speed runs (bakeoff speed): the run, its models, one row per load scenario, one per request.
CREATE TABLE speed_runs (
    speed_run_id  TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    manifest_json TEXT NOT NULL
);

CREATE TABLE speed_models (
    speed_run_id TEXT NOT NULL REFERENCES speed_runs(speed_run_id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    spec         TEXT NOT NULL,
    info_json    TEXT NOT NULL,
    memory_json  TEXT NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (speed_run_id, label)
);

CREATE TABLE speed_scenarios (
    speed_run_id  TEXT NOT NULL REFERENCES speed_runs(speed_run_id) ON DELETE CASCADE,
    model         TEXT NOT NULL,
    scenario      TEXT NOT NULL,
    prompt_length INTEGER NOT NULL,
    output_length INTEGER NOT NULL,
    concurrency   INTEGER NOT NULL,
    rate          REAL,
    energy_json   TEXT NOT NULL,
    resources_json TEXT NOT NULL,
    PRIMARY KEY (speed_run_id, model, scenario)
);

CREATE TABLE speed_requests (
    speed_run_id      TEXT NOT NULL REFERENCES speed_runs(speed_run_id) ON DELETE CASCADE,
    model             TEXT NOT NULL,
    scenario          TEXT NOT NULL,
    request_index     INTEGER NOT NULL,
    prompt_length     INTEGER NOT NULL,
    output_length     INTEGER NOT NULL,
    concurrency       INTEGER NOT NULL,
    rate              REAL,
    warmup            INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error             TEXT,
    t_scheduled       REAL NOT NULL,
    t_sent            REAL,
    t_end             REAL,
    chunk_times_json  TEXT NOT NULL,
    chunk_tokens_json TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    output_tokens     INTEGER NOT NULL,
    server_json       TEXT NOT NULL,
    PRIMARY KEY (speed_run_id, model, scenario, request_index)
);
