//! Bindings tests: each runs inside a transaction of a real PostgreSQL 15.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    const SPEC: &str = r#"{
      "fit": {"rules": [
        {"name": "software", "when": {"field": "industry", "eq": "Software"}, "points": 30},
        {"name": "big", "when": {"field": "employees", "gte": 100}, "points": 20},
        {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}
      ]},
      "engagement": {
        "properties": ["url"],
        "decay": {"kind": "exponential", "half_life": "7 days"},
        "categories": [{"name": "pricing", "watermark": 5}],
        "rules": [
          {"name": "visit", "event": "page_view", "points": 2},
          {"name": "pricing", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 4, "category": "pricing"}
        ]
      },
      "classification": {
        "grades": [{"name": "A", "min": 50}, {"name": "B"}],
        "labels": [{"name": "hot", "min": 5}, {"name": "cold"}],
        "quadrant": {"fit": 40, "engagement": 5},
        "mql": {"min_total": 55}
      }
    }"#;

    fn setup() {
        Spi::run(&format!("SELECT lead_score.create_model('t', $${SPEC}$$)")).unwrap();
        Spi::run(
            "CREATE TEMP TABLE leads (id int, industry text, employees numeric, email text);
             INSERT INTO leads VALUES (1, 'Software', 250, 'a@b.com'), (2, 'Retail', 10, 'x@rival.com');
             CREATE TEMP TABLE acts (id int, type text, at timestamptz, url text);
             INSERT INTO acts VALUES (1, 'page_view', '2026-01-08', '/pricing'),
                                     (1, 'page_view', '2026-01-01', '/blog'),
                                     (2, 'page_view', '2026-01-08', '/blog');
             SET LOCAL lead_score.as_of = '2026-01-08';",
        )
        .unwrap();
    }

    #[pg_test]
    fn create_model_returns_versions() {
        setup();
        let v = Spi::get_one::<i32>(&format!("SELECT lead_score.create_model('t', $${SPEC}$$)"));
        assert_eq!(v, Ok(Some(1)), "same spec keeps version 1");
        let v = Spi::get_one::<i32>(
            "SELECT lead_score.create_model('t', jsonb_set(lead_score.model_spec('t'), '{fit,rules,0,points}', '31'))",
        );
        assert_eq!(v, Ok(Some(2)));
    }

    #[pg_test]
    fn fit_reads_any_row_type() {
        setup();
        let fit = Spi::get_one::<f64>("SELECT lead_score.fit('t', l) FROM leads l WHERE id = 1");
        assert_eq!(fit, Ok(Some(50.0)));
        let dq = Spi::get_one::<String>(
            "SELECT lead_score.disqualified_by('t', l) FROM leads l WHERE id = 2",
        );
        assert_eq!(dq, Ok(Some("competitor".to_string())));
    }

    #[pg_test]
    fn engagement_aggregate_decays() {
        setup();
        // Today: 2 + 4; a week ago (one half-life): 2 / 2.
        let e = Spi::get_one::<f64>(
            "SELECT lead_score.engagement('t', type, at, url) FROM acts WHERE id = 1",
        );
        assert_eq!(e, Ok(Some(7.0)));
        let c = Spi::get_one::<pgrx::JsonB>(
            "SELECT lead_score.engagement_categories('t', type, at, url) FROM acts WHERE id = 1",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.0, serde_json::json!({"pricing": 4.0}));
    }

    #[pg_test]
    fn score_composite() {
        setup();
        let (total, quadrant, mql) = Spi::get_three::<f64, String, bool>(
            "SELECT s.total, s.quadrant, s.mql FROM leads l,
                    (SELECT lead_score.engagement_state('t', type, at, url) st FROM acts WHERE id = 1) a,
                    LATERAL lead_score.score('t', l, a.st) s
             WHERE l.id = 1",
        )
        .unwrap();
        assert_eq!(
            (total, quadrant.as_deref(), mql),
            (Some(57.0), Some("act_now"), Some(true))
        );
        let q = Spi::get_one::<String>(
            "SELECT (lead_score.score('t', l)).quadrant FROM leads l WHERE id = 2",
        );
        assert_eq!(q, Ok(Some("disqualified".to_string())));
    }

    #[pg_test]
    fn new_version_is_seen_by_the_next_statement() {
        setup();
        assert_eq!(
            Spi::get_one::<f64>("SELECT lead_score.fit('t', l) FROM leads l WHERE id = 1"),
            Ok(Some(50.0))
        );
        Spi::run("SELECT lead_score.create_model('t', jsonb_set(lead_score.model_spec('t'), '{fit,rules,1,points}', '1'))")
            .unwrap();
        assert_eq!(
            Spi::get_one::<f64>("SELECT lead_score.fit('t', l) FROM leads l WHERE id = 1"),
            Ok(Some(31.0))
        );
    }

    #[pg_test(error = "fit.rules[0].when.regex: invalid regular expression: unclosed group")]
    fn bad_regex_is_rejected_with_its_path() {
        Spi::run(
            r#"SELECT lead_score.validate_spec('{"fit": {"rules": [{"name": "x", "when": {"field": "a", "regex": "(a"}, "points": 1}]},
                 "engagement": {"rules": []}, "classification": {}}')"#,
        )
        .unwrap();
    }

    #[pg_test(error = "lead_score model \"missing\" does not exist")]
    fn unknown_model() {
        Spi::run("SELECT lead_score.grade('missing', 1)").unwrap();
    }

    #[pg_test]
    fn spec_errors_use_sqlstate_22023() {
        let state = Spi::get_one::<String>(
            r#"DO $$ BEGIN PERFORM lead_score.validate_spec('{"fit": 1}');
               EXCEPTION WHEN invalid_parameter_value THEN RAISE NOTICE 'ok'; END $$;
               SELECT 'caught'"#,
        );
        assert_eq!(state, Ok(Some("caught".to_string())));
    }

    /// The SQL aggregates are declared for as many properties as the spec
    /// parser accepts: one limit, `lead_score_core::MAX_PROPERTIES`.
    #[pg_test]
    fn aggregates_take_max_properties() {
        for (schema, name, fixed) in [
            ("lead_score", "engagement", 3),
            ("lead_score", "engagement_state", 3),
            ("lead_score_internal", "_live_batch", 5),
        ] {
            let most = Spi::get_one::<i16>(&format!(
                "SELECT max(pronargs) FROM pg_proc WHERE pronamespace = '{schema}'::regnamespace AND proname = '{name}'"
            ));
            assert_eq!(
                most,
                Ok(Some((fixed + lead_score_core::MAX_PROPERTIES) as i16)),
                "{name}"
            );
        }
        let names: Vec<String> = std::iter::once("\"url\"".to_string())
            .chain((1..=lead_score_core::MAX_PROPERTIES).map(|i| format!("\"p{i}\"")))
            .collect();
        let too_many = SPEC.replace(
            r#""properties": ["url"]"#,
            &format!(r#""properties": [{}]"#, names.join(", ")),
        );
        let refused = lead_score_core::Model::from_json_text(&too_many);
        assert!(
            refused.is_err_and(|e| e.to_string().starts_with("engagement.properties: at most")),
        );
    }

    /// Which types are read with pinned settings (src/stable_text.rs): the
    /// listed scalars, and through domains, arrays, ranges, multiranges and
    /// composites the types they hold; not the others.
    #[pg_test]
    fn settings_dependent_types() {
        Spi::run(
            "CREATE SCHEMA st;
             CREATE DOMAIN st.day AS date;
             CREATE TYPE st.span AS RANGE (subtype = timestamptz);
             CREATE TYPE st.pair AS (n int, d text);
             CREATE DOMAIN st.tag AS text;",
        )
        .unwrap();
        let depends = |t: &str| {
            let oid = Spi::get_one::<pg_sys::Oid>(&format!("SELECT '{t}'::regtype::oid"))
                .unwrap()
                .unwrap();
            crate::stable_text::depends_on_settings(oid)
        };
        for t in [
            "date",
            "timestamptz",
            "interval",
            "real",
            "float8",
            "bytea",
            "money",
            "st.day",
            "st.day[]",
            "money[]",
            "tstzrange",
            "datemultirange",
            "st.span",
            "st.span_multirange",
            "st.span[]",
            "st.pair",
            "point",
            "circle[]",
            "regclass",
            "regtype[]",
        ] {
            assert!(depends(t), "{t} depends on settings");
        }
        for t in [
            "text",
            "st.tag[]",
            "int4[]",
            "numeric",
            "boolean",
            "uuid",
            "int4range",
        ] {
            assert!(!depends(t), "{t} does not depend on settings");
        }
    }

    #[pg_test]
    fn landmark_ages_due_and_overdue() {
        setup();
        // Half-life 7 days: a rebase is due past 64 of them (448 days), and an
        // attachment whose rebase writers held off is left whole past 492.
        let at = |days: i64, f: &str| {
            Spi::get_one::<bool>(&format!(
                "SELECT lead_score_internal.{f}('t', '2020-01-01', '2020-01-01'::timestamptz + interval '{days} days')"
            ))
            .unwrap()
            .unwrap()
        };
        assert!(!at(447, "_rebase_due") && at(449, "_rebase_due"));
        assert!(!at(491 * 7, "_rebase_overdue") && at(493 * 7, "_rebase_overdue"));
    }

    /// `lead_score_core::float_text` against PostgreSQL's own `float4out` and
    /// `float8out`, on values where the two shortest-decimal rules part:
    /// prices and large integers (ties and interval edges), and values of
    /// every magnitude.
    #[pg_test]
    fn floats_print_as_postgresql_prints_them() {
        use lead_score_core::float_text::{float4_text, float8_text};
        let rows = |sql: &str| -> Vec<(Vec<u8>, String)> {
            Spi::connect(|client| {
                client
                    .select(sql, None, &[])
                    .unwrap()
                    .map(|r| {
                        (
                            r.get::<Vec<u8>>(1).unwrap().unwrap(),
                            r.get::<String>(2).unwrap().unwrap(),
                        )
                    })
                    .collect()
            })
        };
        let doubles = rows(
            "SELECT float8send(x), x::text FROM (
               SELECT (random() * 1e6)::numeric(14,2)::float8 x FROM generate_series(1, 20000)
               UNION ALL SELECT (random() * 1e15)::numeric(20,2)::float8 FROM generate_series(1, 20000)
               UNION ALL SELECT (random() * 1e17)::numeric(20,0)::float8 FROM generate_series(1, 20000)
               UNION ALL SELECT random() * 10 ^ (random() * 600 - 300) FROM generate_series(1, 20000)
               UNION ALL SELECT -(2 ^ g) FROM generate_series(-1070, 1020) g
               UNION ALL SELECT unnest('{0.1, 123456789012345.625, 5e-324, 1.7976931348623157e308, -0, 0}'::float8[])) s",
        );
        let reals = rows(
            "SELECT float4send(x), x::text FROM (
               SELECT (random() * 1e6)::numeric(14,2)::real x FROM generate_series(1, 20000)
               UNION ALL SELECT (random() * 1e9)::numeric(14,0)::real FROM generate_series(1, 20000)
               UNION ALL SELECT (random() * 10 ^ (random() * 70 - 40))::real FROM generate_series(1, 20000)
               UNION ALL SELECT (2 ^ g)::real FROM generate_series(-126, 127) g
               UNION ALL SELECT unnest('{0.1, 70434816, 334031.62, 1e-45, 3.4028235e38}'::real[])) s",
        );
        let mut differ = Vec::new();
        for (bytes, want) in &doubles {
            let x = f64::from_be_bytes(bytes.as_slice().try_into().unwrap());
            if float8_text(x) != *want {
                differ.push(format!("float8 {want}: {}", float8_text(x)));
            }
        }
        for (bytes, want) in &reals {
            let r = f32::from_be_bytes(bytes.as_slice().try_into().unwrap());
            if float4_text(r) != *want {
                differ.push(format!("real {want}: {}", float4_text(r)));
            }
        }
        assert!(doubles.len() > 80_000 && reals.len() > 60_000);
        assert!(
            differ.is_empty(),
            "{} differ: {:?}",
            differ.len(),
            &differ[..differ.len().min(10)]
        );
    }
}
