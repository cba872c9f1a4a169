-- The scheduler's call, on the coordinator, racing the writers (tests/citus/run.sh).
SELECT lead_score.tick();
