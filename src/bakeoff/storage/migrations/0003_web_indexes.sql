-- bakeoff serve pages through a task's samples in order (keyset pagination on position).
CREATE INDEX samples_by_position ON samples (run_id, task, position);

-- Covering index for the comparison page: per-task counts and the A/B disagreement join read
-- only this index, never the wide result rows (outputs, details).
CREATE INDEX results_outcomes ON results (run_id, model, task, sample_id, status, correct);
