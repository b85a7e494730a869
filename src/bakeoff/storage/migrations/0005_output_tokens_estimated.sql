-- A result whose output tokens are a count of stream chunks, not tokens: the server reported
-- none and no tokenizer could count them (Usage.output_tokens_estimated). The report marks the
-- speed and cost figures computed from them. Results stored before this migration read 0.
ALTER TABLE results ADD COLUMN output_tokens_estimated INTEGER NOT NULL DEFAULT 0;
