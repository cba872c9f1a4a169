-- lead_score 0.1.0 → 0.2.0. Run by ALTER EXTENSION lead_score UPDATE.
-- Released scripts are never edited; tests/upgrade/run.sh checks that an upgraded
-- database has the same catalog as a fresh install of 0.2.0.
\echo Use "ALTER EXTENSION lead_score UPDATE" to load this file. \quit
