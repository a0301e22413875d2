-- CSV imports: the uploaded file, its validation (dry run) and its commit, with progress.
CREATE TABLE imports (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('people', 'services')),
    status         TEXT NOT NULL DEFAULT 'validating'
                   CHECK (status IN ('validating', 'preview', 'committing', 'done', 'failed')),
    filename       TEXT NOT NULL,
    csv_data       TEXT NOT NULL,
    uploaded_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at    TIMESTAMPTZ,
    total_rows     INTEGER NOT NULL DEFAULT 0,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    creates        INTEGER NOT NULL DEFAULT 0,
    updates        INTEGER NOT NULL DEFAULT 0,
    -- [{"row": 3, "field": "email", "message": "…"}], at most 1,000 kept
    errors         JSONB NOT NULL DEFAULT '[]',
    error_count    INTEGER NOT NULL DEFAULT 0,
    message        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX imports_created_idx ON imports (created_at DESC);
