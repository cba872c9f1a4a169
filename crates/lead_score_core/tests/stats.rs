//! Evaluation statistics against their definitions, and logistic regression
//! against its optimality conditions.
use lead_score_core::logistic::{self, Step};
use lead_score_core::stats::{self, Scored};
use proptest::prelude::*;

fn leads(pos: &[f64], neg: &[f64]) -> Vec<Scored> {
    pos.iter()
        .map(|&score| Scored {
            score,
            positive: true,
        })
        .chain(neg.iter().map(|&score| Scored {
            score,
            positive: false,
        }))
        .collect()
}

fn psi(x: f64, y: f64) -> f64 {
    if x > y {
        1.0
    } else if x == y {
        0.5
    } else {
        0.0
    }
}

/// AUC and DeLong's variance straight from their definitions, O(m·n).
fn brute(pos: &[f64], neg: &[f64]) -> (f64, f64) {
    let (m, n) = (pos.len() as f64, neg.len() as f64);
    let v10: Vec<f64> = pos
        .iter()
        .map(|&x| neg.iter().map(|&y| psi(x, y)).sum::<f64>() / n)
        .collect();
    let v01: Vec<f64> = neg
        .iter()
        .map(|&y| pos.iter().map(|&x| psi(x, y)).sum::<f64>() / m)
        .collect();
    let auc = v10.iter().sum::<f64>() / m;
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
    };
    (auc, var(&v10) / m + var(&v01) / n)
}

#[test]
fn auc_of_a_small_example_with_ties() {
    let pos = [0.9, 0.8, 0.4, 0.4];
    let neg = [0.7, 0.4, 0.3, 0.2, 0.1];
    let a = stats::auc(&leads(&pos, &neg)).unwrap();
    // 4 × 5 = 20 pairs: 0.9 and 0.8 beat all 5; each 0.4 beats 3 and ties 1.
    assert!((a.auc - (5.0 + 5.0 + 3.5 + 3.5) / 20.0).abs() < 1e-12);
    let (auc, var) = brute(&pos, &neg);
    assert!((a.auc - auc).abs() < 1e-12);
    assert!((a.se - var.sqrt()).abs() < 1e-12);
    assert!(a.lower <= a.auc && a.auc <= a.upper && a.upper <= 1.0);
}

#[test]
fn auc_needs_both_outcomes() {
    assert!(stats::auc(&leads(&[0.5, 0.7], &[])).is_err());
    assert!(stats::auc(&leads(&[], &[0.5])).is_err());
    assert!(stats::auc(&leads(&[f64::NAN], &[0.5])).is_err());
}

#[test]
fn one_lead_of_an_outcome_leaves_the_error_undefined() {
    // DeLong's variance needs two leads of each outcome: with one, the sample
    // covariance of its side would be 0 and the interval a point, [1, 1].
    for a in [
        stats::auc(&leads(&[0.9], &[0.1])).unwrap(),
        stats::auc(&leads(&[0.9], &[0.1, 0.2, 0.3])).unwrap(),
        stats::auc(&leads(&[0.9, 0.8, 0.4], &[0.1])).unwrap(),
    ] {
        assert_eq!(a.auc, 1.0);
        assert!(a.se.is_nan());
        assert_eq!((a.lower, a.upper), (0.0, 1.0));
    }
    let a = stats::auc(&leads(&[0.9, 0.2], &[0.1, 0.3])).unwrap();
    assert!(a.se.is_finite());
}

proptest! {
    #[test]
    fn delong_by_midranks_equals_the_definition(
        pos in prop::collection::vec(0u8..20, 2..40),
        neg in prop::collection::vec(0u8..20, 2..40),
    ) {
        // Small integer scores, so ties are common.
        let pos: Vec<f64> = pos.into_iter().map(f64::from).collect();
        let neg: Vec<f64> = neg.into_iter().map(f64::from).collect();
        let a = stats::auc(&leads(&pos, &neg)).unwrap();
        let (auc, var) = brute(&pos, &neg);
        prop_assert!((a.auc - auc).abs() < 1e-12);
        prop_assert!((a.se * a.se - var).abs() < 1e-12);
    }

    #[test]
    fn a_model_paired_with_itself_differs_by_nothing(
        scores in prop::collection::vec(0u8..20, 4..40), seed in 0u64..1000,
    ) {
        let scores: Vec<f64> = scores.into_iter().map(f64::from).collect();
        let positive: Vec<bool> = (0..scores.len()).map(|i| (i as u64 * 7 + seed).is_multiple_of(3)).collect();
        prop_assume!(positive.iter().any(|&p| p) && positive.iter().any(|&p| !p));
        let p = stats::paired_auc(&scores, &scores, &positive).unwrap();
        prop_assert!(p.difference.abs() < 1e-12);
        // NaN when there are fewer than 2 leads of an outcome (undefined).
        prop_assert!(p.se.is_nan() || p.se < 1e-9);
        prop_assert!(!p.a_better() && p.p_value == 1.0);
    }
}

#[test]
fn paired_delong_prefers_the_model_that_ranks_better() {
    // Model a ranks every converted lead first; model b is noise.
    let n = 400;
    let positive: Vec<bool> = (0..n).map(|i| i % 4 == 0).collect();
    let a: Vec<f64> = (0..n)
        .map(|i| if positive[i] { 1.0 } else { 0.0 } + (i % 7) as f64 * 0.01)
        .collect();
    let b: Vec<f64> = (0..n).map(|i| ((i * 7919) % 101) as f64).collect();
    let p = stats::paired_auc(&a, &b, &positive).unwrap();
    assert!(p.a > 0.99 && (p.b - 0.5).abs() < 0.15, "{p:?}");
    assert!(p.a_better() && p.p_value < 1e-6, "{p:?}");
    let q = stats::paired_auc(&b, &a, &positive).unwrap();
    assert!(!q.a_better() && q.upper < 0.0);
}

#[test]
fn normal_cdf_matches_known_values() {
    for (z, p) in [
        (0.0, 0.5),
        (1.959_963_984_540_054, 0.975),
        (-1.0, 0.158_655_253_9),
    ] {
        assert!((stats::normal_cdf(z) - p).abs() < 2e-7, "{z}");
    }
}

#[test]
fn deciles_keep_ties_together_and_lift_is_relative() {
    let mut ls = Vec::new();
    for i in 0..100 {
        ls.push(Scored {
            score: (i / 10) as f64,
            positive: i >= 90 || i % 10 == 0,
        });
    }
    let d = stats::deciles(&ls).unwrap();
    assert_eq!(d.len(), 10);
    assert_eq!(d[0].max_score, 9.0);
    assert_eq!(d[0].leads, 10);
    assert_eq!(d[0].positives, 10);
    let overall = 19.0 / 100.0;
    assert!((d[0].lift.unwrap() - 1.0 / overall).abs() < 1e-12);
    // All tied: one group.
    let tied: Vec<Scored> = (0..50)
        .map(|i| Scored {
            score: 1.0,
            positive: i % 2 == 0,
        })
        .collect();
    assert_eq!(stats::deciles(&tied).unwrap().len(), 1);
}

#[test]
fn deciles_have_no_lift_when_nothing_converted() {
    let none: Vec<Scored> = (0..20)
        .map(|i| Scored {
            score: i as f64,
            positive: false,
        })
        .collect();
    let d = stats::deciles(&none).unwrap();
    assert_eq!(d.len(), 10);
    assert!(d.iter().all(|g| g.lift.is_none() && g.rate == 0.0));
    // All converted: every decile's rate is the overall rate.
    let all: Vec<Scored> = none
        .iter()
        .map(|l| Scored {
            positive: true,
            ..*l
        })
        .collect();
    assert!(stats::deciles(&all)
        .unwrap()
        .iter()
        .all(|g| g.lift == Some(1.0)));
}

#[test]
fn calibration_and_brier() {
    let ls = [
        Scored {
            score: 0.1,
            positive: false,
        },
        Scored {
            score: 0.1,
            positive: true,
        },
        Scored {
            score: 0.9,
            positive: true,
        },
        Scored {
            score: 0.9,
            positive: true,
        },
    ];
    let c = stats::calibration(&ls, 10).unwrap();
    assert_eq!(c.bins.len(), 2);
    // Bin of 0.1: expected 0.1, observed 0.5; bin of 0.9: expected 0.9, observed 1.
    assert!((c.ece - (0.5 * 0.4 + 0.5 * 0.1)).abs() < 1e-12);
    let brier = (0.01 + 0.81 + 0.01 + 0.01) / 4.0;
    assert!((c.brier - brier).abs() < 1e-12);
    assert!(stats::calibration(&ls, 0).is_err());
    assert!(stats::calibration(
        &[Scored {
            score: 1.5,
            positive: true
        }],
        10
    )
    .is_err());
}

#[test]
fn sample_warning_follows_einstein() {
    assert!(stats::sample_warning(999, 500).is_some());
    assert!(stats::sample_warning(5000, 119).is_some());
    assert!(stats::sample_warning(1000, 120).is_none());
}

/// A deterministic data set with two informative features and one noise.
fn data(n: usize) -> Vec<(Vec<f64>, bool)> {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let x1 = next() * 4.0 - 2.0;
            let x2 = if next() < 0.3 { 1.0 } else { 0.0 };
            let x3 = next();
            let eta = -0.5 + 1.2 * x1 + 0.8 * x2;
            let y = next() < 1.0 / (1.0 + (-eta).exp());
            (vec![x1, x2, x3], y)
        })
        .collect()
}

/// The gradient of the penalized log-likelihood at `beta`.
fn gradient(rows: &[(Vec<f64>, bool)], beta: &[f64], lambda: f64) -> Vec<f64> {
    let mut s = Step::new(beta.len());
    for (x, y) in rows {
        s.add(beta, x, *y).unwrap();
    }
    let mut g = s.gradient.clone();
    for j in 1..beta.len() {
        g[j] -= lambda * beta[j];
    }
    g
}

#[test]
fn logistic_regression_reaches_the_optimum_and_recovers_the_truth() {
    let rows = data(5000);
    for lambda in [0.0, 10.0] {
        let f = logistic::fit(&rows, lambda).unwrap();
        assert!(f.converged, "{f:?}");
        for g in gradient(&rows, &f.coefficients, lambda) {
            assert!(g.abs() < 1e-6, "gradient {g} at the optimum, λ = {lambda}");
        }
        assert!(f.unidentified.is_empty());
    }
    let f = logistic::fit(&rows, 0.0).unwrap();
    // The generating coefficients, within a few standard errors.
    for (j, truth) in [(0, -0.5), (1, 1.2), (2, 0.8), (3, 0.0)] {
        let (b, se) = (f.coefficients[j], f.standard_errors[j]);
        assert!(
            (b - truth).abs() < 4.0 * se,
            "β{j} = {b} ± {se}, truth {truth}"
        );
        assert!((f.z[j] - b / se).abs() < 1e-12);
    }
    // The L2 penalty shrinks every coefficient but the intercept.
    let g = logistic::fit(&rows, 1000.0).unwrap();
    assert!(g.coefficients[1].abs() < f.coefficients[1].abs());
}

#[test]
fn steps_merge_in_any_split() {
    let rows = data(300);
    let beta = [0.1, -0.2, 0.3, 0.05];
    let mut whole = Step::new(4);
    let mut left = Step::new(4);
    let mut right = Step::new(4);
    for (i, (x, y)) in rows.iter().enumerate() {
        whole.add(&beta, x, *y).unwrap();
        if i % 3 == 0 { &mut left } else { &mut right }
            .add(&beta, x, *y)
            .unwrap();
    }
    left.merge(&right).unwrap();
    for (a, b) in whole.to_vec().iter().zip(left.to_vec()) {
        assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()));
    }
    let back = Step::from_slice(&whole.to_vec()).unwrap();
    assert_eq!(back, whole);
    assert!(Step::from_slice(&[3.0, 1.0]).is_err());

    // The aggregate's in-place transition sums exactly as Step::add does.
    let mut flat = lead_score_core::logistic::new_flat(4);
    for (x, y) in &rows {
        lead_score_core::logistic::add_to_flat(&mut flat, &beta, x, *y).unwrap();
    }
    assert_eq!(flat, whole.to_vec());
    assert!(
        lead_score_core::logistic::add_to_flat(&mut [3.0, 1.0], &beta, &rows[0].0, true).is_err()
    );
    assert!(
        lead_score_core::logistic::add_to_flat(&mut flat, &beta[..3], &rows[0].0, true).is_err()
    );
}

#[test]
fn separation_is_reported_and_l2_keeps_it_finite() {
    // x1 > 0 exactly when converted: perfect separation.
    let rows: Vec<(Vec<f64>, bool)> = (0..200)
        .map(|i| {
            let x = (i as f64 - 99.5) / 10.0;
            (vec![x, (i % 5) as f64], x > 0.0)
        })
        .collect();
    let f = logistic::fit(&rows, 0.0).unwrap();
    assert!(f.coefficients.iter().all(|b| b.is_finite()));
    assert!(f.unidentified.contains(&1), "{f:?}");
    let g = logistic::fit(&rows, 1.0).unwrap();
    assert!(g.converged && g.unidentified.is_empty(), "{g:?}");
    assert!(g.coefficients.iter().all(|b| b.is_finite()));
}

#[test]
fn one_outcome_only_is_an_error() {
    let rows: Vec<(Vec<f64>, bool)> = (0..10).map(|i| (vec![i as f64], true)).collect();
    let e = logistic::fit(&rows, 0.0).unwrap_err().to_string();
    assert!(e.contains("converted and unconverted"), "{e}");
    assert!(logistic::fit(&[(vec![f64::NAN], true), (vec![1.0], false)], 0.0).is_err());
}

#[test]
fn predict_is_the_logistic_of_the_linear_predictor() {
    assert!((logistic::predict(&[0.0, 1.0], &[0.0]) - 0.5).abs() < 1e-15);
    assert!(logistic::predict(&[0.0, 1.0], &[800.0]) <= 1.0);
    assert!(logistic::predict(&[0.0, 1.0], &[-800.0]) >= 0.0);
}

#[test]
fn constant_features_are_dropped() {
    let rows: Vec<(Vec<f64>, bool)> = data(500)
        .into_iter()
        .map(|(x, y)| (vec![x[0], 7.0, x[1]], y))
        .collect();
    let f = logistic::fit(&rows, 0.0).unwrap();
    assert_eq!(f.features, vec![1, 3]);
    assert_eq!(f.coefficients.len(), 3);
    assert!(f.converged);
}

#[test]
fn auc_is_the_same_to_the_last_bit_in_any_row_order() {
    let rows = data(500);
    let leads: Vec<Scored> = rows
        .iter()
        .map(|(x, y)| Scored {
            score: x[0] * 0.37 + x[1] * 1.3,
            positive: *y,
        })
        .collect();
    let mut reversed = leads.clone();
    reversed.reverse();
    let mut rotated = leads.clone();
    rotated.rotate_left(137);
    let a = lead_score_core::stats::auc(&leads).unwrap();
    assert_eq!(a, lead_score_core::stats::auc(&reversed).unwrap());
    assert_eq!(a, lead_score_core::stats::auc(&rotated).unwrap());
    let sa: Vec<f64> = leads.iter().map(|l| l.score).collect();
    let sb: Vec<f64> = rows.iter().map(|(x, _)| x[2]).collect();
    let y: Vec<bool> = leads.iter().map(|l| l.positive).collect();
    let p = lead_score_core::stats::paired_auc(&sa, &sb, &y).unwrap();
    let (mut ra, mut rb, mut ry) = (sa.clone(), sb.clone(), y.clone());
    ra.reverse();
    rb.reverse();
    ry.reverse();
    assert_eq!(
        p,
        lead_score_core::stats::paired_auc(&ra, &rb, &ry).unwrap()
    );
}

/// One feature x in 0..9 times `c`, 2000 rows, the outcome logistic in x.
fn scaled(c: f64) -> Vec<(Vec<f64>, bool)> {
    let mut state = 987654321u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..2000)
        .map(|i| {
            let x = (i % 10) as f64;
            let y = next() < 1.0 / (1.0 + (-(-2.0 + 0.5 * x)).exp());
            (vec![x * c], y)
        })
        .collect()
}

#[test]
fn logistic_regression_is_scale_invariant() {
    let base = logistic::fit(&scaled(1.0), 0.0).unwrap();
    assert!(base.converged && base.unidentified.is_empty(), "{base:?}");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs();
    for c in [1e-7, 1e-6, 1e5, 3e5, 1e8] {
        let f = logistic::fit(&scaled(c), 0.0).unwrap();
        assert!(f.converged, "c = {c}: {f:?}");
        assert!(f.unidentified.is_empty(), "c = {c}: {f:?}");
        assert!(
            close(f.coefficients[0], base.coefficients[0]),
            "c = {c}: {f:?}"
        );
        assert!(
            close(f.coefficients[1] * c, base.coefficients[1]),
            "c = {c}: {f:?}"
        );
        assert!(
            close(f.standard_errors[0], base.standard_errors[0]),
            "c = {c}: {f:?}"
        );
        assert!(
            close(f.standard_errors[1] * c, base.standard_errors[1]),
            "c = {c}: {f:?}"
        );
        assert!(close(f.z[1], base.z[1]), "c = {c}: {f:?}");
    }
}

#[test]
fn separation_is_reported_at_any_scale() {
    for c in [1e-7, 1.0, 3e5, 1e8] {
        let rows: Vec<(Vec<f64>, bool)> = (0..200)
            .map(|i| {
                let x = (i as f64 - 99.5) / 10.0;
                (vec![x * c], x > 0.0)
            })
            .collect();
        let f = logistic::fit(&rows, 0.0).unwrap();
        assert!(f.unidentified.contains(&1), "c = {c}: {f:?}");
    }
}

#[test]
fn a_duplicated_feature_is_flagged_and_the_rest_still_fits() {
    let rows: Vec<(Vec<f64>, bool)> = scaled(1.0)
        .into_iter()
        .map(|(x, y)| (vec![x[0], x[0]], y))
        .collect();
    let f = logistic::fit(&rows, 0.0).unwrap();
    assert_eq!(f.unidentified, vec![1, 2], "{f:?}");
    let base = logistic::fit(&scaled(1.0), 0.0).unwrap();
    // The intercept and the sum of the copies' coefficients are the one-copy fit's.
    assert!(
        (f.coefficients[0] - base.coefficients[0]).abs() < 1e-6,
        "{f:?}"
    );
    assert!((f.coefficients[1] + f.coefficients[2] - base.coefficients[1]).abs() < 1e-6);
    assert!((f.standard_errors[0] - base.standard_errors[0]).abs() < 1e-6);
    assert!(f.converged, "{f:?}");
    // Its predictions are the one-copy fit's.
    for x in [0.0, 4.0, 9.0] {
        let a = logistic::predict(&f.coefficients, &[x, x]);
        let b = logistic::predict(&base.coefficients, &[x]);
        assert!((a - b).abs() < 1e-9);
    }
}

#[test]
fn platt_scaling_fits_large_scores() {
    // _platt fits one feature, the score, with no penalty.
    let scores = [1e6, 2e6, 3e6, 4e6, 5e6];
    let won = [false, true, false, true, true];
    let rows: Vec<(Vec<f64>, bool)> = scores.iter().zip(won).map(|(s, y)| (vec![*s], y)).collect();
    let f = logistic::fit(&rows, 0.0).unwrap();
    assert!(f.converged && f.unidentified.is_empty(), "{f:?}");
    assert!(f.coefficients[1] > 0.0, "{f:?}");
    let p: Vec<f64> = scores
        .iter()
        .map(|s| logistic::predict(&f.coefficients, &[*s]))
        .collect();
    // At the maximum likelihood (with an intercept) the mean prediction is the base rate.
    assert!((p.iter().sum::<f64>() / 5.0 - 0.6).abs() < 1e-9, "{p:?}");
    assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
    // The same fit as on scores in millions.
    let small: Vec<(Vec<f64>, bool)> = rows.iter().map(|(x, y)| (vec![x[0] / 1e6], *y)).collect();
    let g = logistic::fit(&small, 0.0).unwrap();
    assert!((f.coefficients[1] * 1e6 - g.coefficients[1]).abs() < 1e-6 * g.coefficients[1].abs());
}

#[test]
fn a_row_of_the_wrong_width_says_how_many_features_each_has() {
    let mut s = Step::new(3);
    let e = s.add(&[0.0; 3], &[1.0], true).unwrap_err().to_string();
    assert!(
        e.contains("a row has 1 feature") && e.contains("2 features"),
        "{e}"
    );
    let e = s.add(&[0.0; 2], &[1.0, 2.0], true).unwrap_err().to_string();
    assert!(e.contains("2 coefficients"), "{e}");
}

#[test]
fn paired_delong_with_too_few_of_an_outcome_declares_nothing() {
    // Two leads: the covariances of DeLong's components need 2 of each outcome.
    let p = stats::paired_auc(&[2.0, 1.0], &[1.0, 2.0], &[true, false]).unwrap();
    assert_eq!((p.a, p.b, p.difference), (1.0, 0.0, 1.0));
    assert!(p.se.is_nan(), "{p:?}");
    assert_eq!((p.lower, p.upper, p.p_value), (-1.0, 1.0, 1.0), "{p:?}");
    assert!(!p.a_better());
    // One converted lead among many.
    let positive: Vec<bool> = (0..50).map(|i| i == 0).collect();
    let a: Vec<f64> = (0..50)
        .map(|i| if i == 0 { 100.0 } else { i as f64 })
        .collect();
    let b: Vec<f64> = (0..50).map(|i| i as f64).collect();
    let p = stats::paired_auc(&a, &b, &positive).unwrap();
    assert!(
        p.difference > 0.9 && p.p_value == 1.0 && !p.a_better(),
        "{p:?}"
    );
}

#[test]
fn p_values_keep_their_tail() {
    // erfc(9/√2) = 2.257e-19; 2·(1 − Φ(9)) rounds to 0.
    let p = stats::two_sided_p_value(9.0);
    assert!((p / 2.257_176_811_907_681e-19 - 1.0).abs() < 1e-6, "{p}");
    assert_eq!(stats::two_sided_p_value(-9.0), p);
    assert!((stats::two_sided_p_value(1.959_963_984_540_054) - 0.05).abs() < 1e-7);
    assert_eq!(stats::two_sided_p_value(0.0), 1.0);
    // A difference many standard errors wide has a tiny, not zero, p-value.
    let n = 400;
    let positive: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    let a: Vec<f64> = (0..n)
        .map(|i| if positive[i] { 1.0 } else { 0.0 } + (i % 13) as f64 * 0.01)
        .collect();
    let b: Vec<f64> = (0..n).map(|i| ((i * 7919) % 101) as f64).collect();
    let p = stats::paired_auc(&a, &b, &positive).unwrap();
    let z = p.difference / p.se;
    assert!(z > 9.0 && z < 30.0, "{p:?}");
    assert!(p.p_value > 0.0 && p.p_value < 1e-18, "{p:?}");
    assert_eq!(p.p_value, stats::two_sided_p_value(z));
}

#[test]
fn deciles_refuse_scores_that_are_not_finite() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let ls: Vec<Scored> = (0..20)
            .map(|i| Scored {
                score: if i == 6 { bad } else { i as f64 },
                positive: i % 3 == 0,
            })
            .collect();
        let e = stats::deciles(&ls).unwrap_err();
        assert!(matches!(e, lead_score_core::Error::Invalid(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains("scores[7]") && e.contains("finite"), "{e}");
        // roc_auc says the same.
        assert_eq!(stats::auc(&ls).unwrap_err().to_string(), e);
    }
}

#[test]
fn features_whose_square_is_no_number_are_refused() {
    // A tiny value beside ordinary ones is a value (a decayed event of long
    // ago, in suggest_points): its square vanishes in the sum, harmlessly.
    let mut rows = scaled(1.0);
    rows[0].0[0] = 1.35e-159;
    let f = logistic::fit(&rows, 0.0).unwrap();
    assert!(f.converged && f.unidentified.is_empty(), "{f:?}");
    // Far beyond the documented range the fit still holds (1e-140, 1e140)...
    let base = logistic::fit(&scaled(1.0), 0.0).unwrap();
    for c in [1e-140, 1e140] {
        let f = logistic::fit(&scaled(c), 0.0).unwrap();
        assert!(f.converged && f.unidentified.is_empty(), "c = {c}: {f:?}");
        assert!(
            (f.coefficients[1] * c - base.coefficients[1]).abs()
                <= 1e-6 * base.coefficients[1].abs(),
            "c = {c}: {f:?}"
        );
    }
    // ...past ±1e150 the Hessian overflows: it was a converged fit of
    // coefficient 0, reported as separation.
    for c in [1e160, -1e200] {
        let e = logistic::fit(&scaled(c), 0.0).unwrap_err();
        assert!(
            matches!(e, lead_score_core::Error::OutOfRange(_)) && e.to_string().contains("rescale"),
            "c = {c}: {e}"
        );
    }
}
