//! Evaluation statistics for a scoring model against outcomes: ROC AUC with
//! DeLong's confidence interval (exact with ties), the paired DeLong test of
//! two models on the same leads, lift by decile, calibration and the Brier
//! score.
//!
//! DeLong, DeLong and Clarke-Pearson (1988), "Comparing the areas under two or
//! more correlated receiver operating characteristic curves", computed in
//! O(n log n) with midranks as in Sun and Xu (2014), "Fast implementation of
//! DeLong's algorithm".

use crate::error::{Error, Result};

/// The two-sided 97.5% quantile of the standard normal, for 95% intervals.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Salesforce Einstein asks for this much history before it scores leads;
/// fewer gives a warning, not an error.
pub const MIN_LEADS: usize = 1000;
pub const MIN_POSITIVES: usize = 120;

/// One lead: its score (any scale, higher is better) and whether it converted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub positive: bool,
}

/// Midranks (1-based; ties share the mean of their ranks) of `xs`.
fn midranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && xs[order[j + 1]] == xs[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share ranks i+1..=j+1.
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mid;
        }
        i = j + 1;
    }
    ranks
}

/// DeLong's structural components of one model's scores: for each positive,
/// the share of negatives it outranks (ties count half), and for each negative,
/// the share of positives that outrank it.
struct Components {
    v10: Vec<f64>,
    v01: Vec<f64>,
}

impl Components {
    fn auc(&self) -> f64 {
        mean(&self.v10)
    }
}

fn components(positives: &[f64], negatives: &[f64]) -> Components {
    let (m, n) = (positives.len(), negatives.len());
    let all: Vec<f64> = positives.iter().chain(negatives).copied().collect();
    let r_all = midranks(&all);
    let r_pos = midranks(positives);
    let r_neg = midranks(negatives);
    let v10 = (0..m).map(|i| (r_all[i] - r_pos[i]) / n as f64).collect();
    let v01 = (0..n)
        .map(|j| 1.0 - (r_all[m + j] - r_neg[j]) / m as f64)
        .collect();
    Components { v10, v01 }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample covariance (denominator n − 1) of two equally long series.
fn cov(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 2 {
        return 0.0;
    }
    let (ma, mb) = (mean(a), mean(b));
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / (a.len() - 1) as f64
}

/// An error naming the first score that is NaN or infinite, as
/// `argument[i]` with i 1-based in the order given (the SQL layer passes the
/// leads in array order, those without a score or an outcome left out).
fn check_finite(argument: &str, scores: impl IntoIterator<Item = f64>) -> Result<()> {
    match scores.into_iter().enumerate().find(|(_, s)| !s.is_finite()) {
        Some((i, s)) => Err(Error::Invalid(format!(
            "{argument}[{}] is {s}; evaluation needs finite scores",
            i + 1
        ))),
        None => Ok(()),
    }
}

/// The scores of the converted and of the other leads (every score finite,
/// see [`check_finite`]).
fn split(leads: &[Scored]) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for l in leads {
        if l.positive {
            pos.push(l.score);
        } else {
            neg.push(l.score);
        }
    }
    if pos.is_empty() || neg.is_empty() {
        return Err(Error::Invalid(format!(
            "evaluation needs converted and unconverted leads, got {} converted and {} not",
            pos.len(),
            neg.len()
        )));
    }
    Ok((pos, neg))
}

/// ROC AUC with its DeLong standard error and 95% interval (clamped to [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Auc {
    pub auc: f64,
    pub se: f64,
    pub lower: f64,
    pub upper: f64,
    pub leads: usize,
    pub positives: usize,
}

/// The leads in one canonical order (by score, then outcome), so every sum
/// below adds in the same order whatever order the rows came in (a parallel
/// plan, another join): the same leads give the same result to the last bit.
fn canonical(leads: &[Scored]) -> Vec<Scored> {
    let mut v = leads.to_vec();
    v.sort_by(|x, y| {
        x.score
            .total_cmp(&y.score)
            .then(x.positive.cmp(&y.positive))
    });
    v
}

pub fn auc(leads: &[Scored]) -> Result<Auc> {
    check_finite("scores", leads.iter().map(|l| l.score))?;
    let leads = &canonical(leads)[..];
    let (pos, neg) = split(leads)?;
    let c = components(&pos, &neg);
    let auc = c.auc();
    // DeLong's variance needs sample covariances over at least 2 converted
    // leads and 2 others; with fewer it would come out 0 and the interval a
    // point. It is undefined: NaN, and the interval every AUC, [0, 1] (as
    // `paired_auc` gives for a difference).
    let (se, lower, upper) = if pos.len() < 2 || neg.len() < 2 {
        (f64::NAN, 0.0, 1.0)
    } else {
        let var = cov(&c.v10, &c.v10) / pos.len() as f64 + cov(&c.v01, &c.v01) / neg.len() as f64;
        let se = var.max(0.0).sqrt();
        (se, (auc - Z_95 * se).max(0.0), (auc + Z_95 * se).min(1.0))
    };
    Ok(Auc {
        auc,
        se,
        lower,
        upper,
        leads: leads.len(),
        positives: pos.len(),
    })
}

/// Two models' AUCs on the same leads, and the paired DeLong test of their
/// difference (a − b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedAuc {
    pub a: f64,
    pub b: f64,
    pub difference: f64,
    pub se: f64,
    pub lower: f64,
    pub upper: f64,
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
}

/// The two-sided p-value of a standard normal statistic z, erfc(|z|/√2),
/// computed directly from the tail (not as 2·(1 − Φ(|z|)), which rounds to
/// 0 from z ≈ 8.3 on); 1 for a NaN z.
pub fn two_sided_p_value(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

impl PairedAuc {
    /// Whether model a is better: the interval of the difference excludes 0 above it.
    pub fn a_better(&self) -> bool {
        self.lower > 0.0
    }
}

/// `scores_a[i]` and `scores_b[i]` are two models' scores of lead i, whose
/// outcome is `positive[i]`.
///
/// DeLong's variance needs the sample covariances of the components over the
/// converted leads and over the others, so at least 2 of each. With fewer,
/// the standard error is undefined (it would come out 0, and any difference
/// "significant"): it is then NaN, the interval is every possible difference
/// [−1, 1], the p-value is 1 and [`PairedAuc::a_better`] is false. The AUCs
/// and their difference are still given.
pub fn paired_auc(scores_a: &[f64], scores_b: &[f64], positive: &[bool]) -> Result<PairedAuc> {
    if scores_a.len() != scores_b.len() || scores_a.len() != positive.len() {
        return Err(Error::Invalid(
            "paired evaluation needs both scores of every lead".into(),
        ));
    }
    check_finite("scores_a", scores_a.iter().copied())?;
    check_finite("scores_b", scores_b.iter().copied())?;
    // One canonical order of the leads (see `canonical`), kept as pairs.
    let mut order: Vec<usize> = (0..positive.len()).collect();
    order.sort_by(|&i, &j| {
        scores_a[i]
            .total_cmp(&scores_a[j])
            .then(scores_b[i].total_cmp(&scores_b[j]))
            .then(positive[i].cmp(&positive[j]))
    });
    let scores_a: Vec<f64> = order.iter().map(|&i| scores_a[i]).collect();
    let scores_b: Vec<f64> = order.iter().map(|&i| scores_b[i]).collect();
    let positive: Vec<bool> = order.iter().map(|&i| positive[i]).collect();
    let (scores_a, scores_b, positive) = (&scores_a[..], &scores_b[..], &positive[..]);
    let pick = |scores: &[f64], want: bool| -> Vec<f64> {
        scores
            .iter()
            .zip(positive)
            .filter(|(_, &p)| p == want)
            .map(|(s, _)| *s)
            .collect()
    };
    let la: Vec<Scored> = scores_a
        .iter()
        .zip(positive)
        .map(|(&score, &positive)| Scored { score, positive })
        .collect();
    split(&la)?;
    let lb: Vec<Scored> = scores_b
        .iter()
        .zip(positive)
        .map(|(&score, &positive)| Scored { score, positive })
        .collect();
    split(&lb)?;
    let ca = components(&pick(scores_a, true), &pick(scores_a, false));
    let cb = components(&pick(scores_b, true), &pick(scores_b, false));
    let (m, n) = (ca.v10.len() as f64, ca.v01.len() as f64);
    let var = (cov(&ca.v10, &ca.v10) + cov(&cb.v10, &cb.v10) - 2.0 * cov(&ca.v10, &cb.v10)) / m
        + (cov(&ca.v01, &ca.v01) + cov(&cb.v01, &cb.v01) - 2.0 * cov(&ca.v01, &cb.v01)) / n;
    let (a, b) = (ca.auc(), cb.auc());
    let d = a - b;
    if m < 2.0 || n < 2.0 {
        return Ok(PairedAuc {
            a,
            b,
            difference: d,
            se: f64::NAN,
            lower: -1.0,
            upper: 1.0,
            p_value: 1.0,
        });
    }
    let se = var.max(0.0).sqrt();
    let p_value = if se > 0.0 {
        two_sided_p_value(d / se)
    } else if d == 0.0 {
        1.0
    } else {
        0.0
    };
    Ok(PairedAuc {
        a,
        b,
        difference: d,
        se,
        lower: d - Z_95 * se,
        upper: d + Z_95 * se,
        p_value,
    })
}

/// The standard normal CDF (Abramowitz and Stegun 7.1.26 through erfc, good
/// to about 1e-7, plenty for a p-value).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    // Numerical Recipes' erfcc: fractional error below 1.2e-7 everywhere.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// One decile of leads by score, best first: how many, how many converted,
/// the conversion rate, and its lift over the overall rate (None when no lead
/// converted: there is no rate to lift).
#[derive(Debug, Clone, PartialEq)]
pub struct Decile {
    pub decile: usize,
    pub leads: usize,
    pub positives: usize,
    pub rate: f64,
    pub lift: Option<f64>,
    pub min_score: f64,
    pub max_score: f64,
}

/// Leads split into ten groups by score, best first. Leads with the same
/// score stay in one group, so groups can differ in size when scores tie.
/// A score that is NaN or infinite is an error, as for [`auc`].
pub fn deciles(leads: &[Scored]) -> Result<Vec<Decile>> {
    check_finite("scores", leads.iter().map(|l| l.score))?;
    let mut sorted: Vec<Scored> = leads.to_vec();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let total = sorted.len();
    if total == 0 {
        return Ok(Vec::new());
    }
    let overall = sorted.iter().filter(|l| l.positive).count() as f64 / total as f64;
    let mut out = Vec::new();
    let mut start = 0;
    for d in 1..=10 {
        if start >= total {
            break;
        }
        let mut end = (total * d).div_ceil(10).max(start + 1).min(total);
        // Keep ties together.
        while end < total && sorted[end].score == sorted[end - 1].score {
            end += 1;
        }
        let group = &sorted[start..end];
        let positives = group.iter().filter(|l| l.positive).count();
        let rate = positives as f64 / group.len() as f64;
        out.push(Decile {
            decile: out.len() + 1,
            leads: group.len(),
            positives,
            rate,
            lift: (overall > 0.0).then(|| rate / overall),
            min_score: group[group.len() - 1].score,
            max_score: group[0].score,
        });
        start = end;
    }
    Ok(out)
}

/// One bin of predicted probability: how many leads, their mean prediction
/// and the share that converted.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationBin {
    pub bin: usize,
    pub leads: usize,
    pub expected: f64,
    pub observed: f64,
}

/// Calibration of predicted probabilities in `bins` equal-width bins over
/// [0, 1], with the expected calibration error (the lead-weighted mean gap
/// between expected and observed) and the Brier score (mean squared error).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub bins: Vec<CalibrationBin>,
    pub ece: f64,
    pub brier: f64,
}

pub fn calibration(leads: &[Scored], bins: usize) -> Result<Calibration> {
    if bins == 0 {
        return Err(Error::Invalid("calibration needs at least one bin".into()));
    }
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    let mut brier = 0.0;
    for l in leads {
        if !(0.0..=1.0).contains(&l.score) {
            return Err(Error::Invalid(format!(
                "calibration needs probabilities in [0, 1], got {}",
                l.score
            )));
        }
        let b = ((l.score * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += l.score;
        sums[b].2 += usize::from(l.positive);
        let y = if l.positive { 1.0 } else { 0.0 };
        brier += (l.score - y).powi(2);
    }
    let total = leads.len().max(1) as f64;
    let mut ece = 0.0;
    let mut out = Vec::new();
    for (i, &(n, p, pos)) in sums.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let expected = p / n as f64;
        let observed = pos as f64 / n as f64;
        ece += n as f64 / total * (expected - observed).abs();
        out.push(CalibrationBin {
            bin: i + 1,
            leads: n,
            expected,
            observed,
        });
    }
    Ok(Calibration {
        bins: out,
        ece,
        brier: brier / total,
    })
}

/// A warning when there is too little history to trust an evaluation, or None.
pub fn sample_warning(leads: usize, positives: usize) -> Option<String> {
    (leads < MIN_LEADS || positives < MIN_POSITIVES).then(|| {
        format!(
            "only {leads} leads and {positives} conversions: too little history to trust this evaluation (Salesforce Einstein asks for {MIN_LEADS} leads and {MIN_POSITIVES} conversions)"
        )
    })
}
