-- Runs, their models and tasks, the tasks' samples, and one result per (run, model, task, sample).
CREATE TABLE runs (
    run_id        TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    config_json   TEXT NOT NULL,
    manifest_json TEXT NOT NULL
);

CREATE TABLE run_models (
    run_id    TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    label     TEXT NOT NULL,
    spec      TEXT NOT NULL,
    backend   TEXT NOT NULL,
    info_json TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (run_id, label)
);

CREATE TABLE run_tasks (
    run_id        TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task          TEXT NOT NULL,
    version       TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    n_samples     INTEGER NOT NULL,
    manifest_json TEXT NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (run_id, task)
);

CREATE TABLE samples (
    run_id        TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    task          TEXT NOT NULL,
    sample_id     TEXT NOT NULL,
    position      INTEGER NOT NULL,
    input_json    TEXT NOT NULL,
    target_json   TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    PRIMARY KEY (run_id, task, sample_id)
);

CREATE TABLE results (
    run_id               TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    model                TEXT NOT NULL,
    task                 TEXT NOT NULL,
    sample_id            TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error                TEXT,
    prediction           TEXT NOT NULL,
    target               TEXT NOT NULL,
    correct              INTEGER,
    metrics_json         TEXT NOT NULL,
    details_json         TEXT NOT NULL,
    outputs_json         TEXT NOT NULL,
    prompt_tokens        INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    prompt_seconds       REAL,
    output_seconds       REAL,
    cached_prompt_tokens INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    PRIMARY KEY (run_id, model, task, sample_id)
);

CREATE INDEX results_by_task ON results (run_id, task, sample_id);
