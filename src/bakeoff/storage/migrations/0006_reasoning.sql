-- Reasoning models (Usage.reasoning_tokens, Usage.first_answer_seconds): the output tokens a
-- result spent thinking, and the time from its request to the first token of the answer itself.
-- NULL = unknown: results stored before this migration, and servers that report neither.
ALTER TABLE results ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE results ADD COLUMN first_answer_seconds REAL;
