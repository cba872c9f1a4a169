-- The scheduler's call, racing the writers: folds pending events, sends alerts.
SELECT lead_score.tick();
