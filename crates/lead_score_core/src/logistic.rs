//! Logistic regression by iteratively reweighted least squares (Newton's
//! method), with an optional L2 penalty that leaves the intercept alone.
//!
//! One iteration needs, at the current coefficients β, the sums over all rows of
//! w·x·xᵀ (the Hessian, w = μ(1 − μ)), x·(y − μ) (the gradient) and the
//! log-likelihood. Those are plain sums, so a [`Step`] accumulates them row by
//! row, two steps over different rows [`Step::merge`] by adding, and the SQL
//! aggregate built on it runs one parallel scan per iteration. The layout of a
//! step's state as a float8 array is [`Step::to_vec`].

use crate::error::{Error, Result};

/// Iterations before giving up on convergence.
pub const MAX_ITERATIONS: usize = 50;
/// Converged once the log-likelihood changes by less than this, relatively.
pub const TOLERANCE: f64 = 1e-10;
/// ... and the next Newton step moves no coefficient by more than this,
/// relative to the largest coefficient (plus 1). That step is then taken
/// without another scan: near the optimum Newton's error squares each step,
/// so the coefficients are exact to rounding, and sums that rounding keeps
/// from settling further (millions of rows, in any order) still stop.
pub const STEP_TOLERANCE: f64 = 1e-6;
/// A standardized standard error above this means the coefficient is not
/// identified (separation, or a feature that is almost a copy of others).
/// A feature's standard error is standardized by the feature's range (largest
/// value less smallest), so it is the standard error of the change in
/// log-odds across the feature's observed values, and rescaling a feature
/// does not change it; the intercept's is its own (as for a feature of range
/// 1). See [`standardized_standard_errors`].
pub const MAX_STANDARD_ERROR: f64 = 1e3;
/// The largest magnitude of a feature: its square, in the Hessian, is a number.
/// (A tiny value is kept: its square vanishes beside the other rows', as a
/// decayed event of long ago does in `suggest_points`.)
pub const MAX_FEATURE: f64 = 1e150;
/// At most this many coefficients (intercept included).
pub const MAX_FEATURES: usize = 200;

/// The sums of one IRLS iteration over some rows. `p` counts the intercept,
/// which is column 0 of every row.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub p: usize,
    pub rows: f64,
    pub positives: f64,
    pub log_likelihood: f64,
    /// Row-major p × p.
    pub hessian: Vec<f64>,
    pub gradient: Vec<f64>,
    /// Each feature's smallest and largest value (index 0, the intercept, is 1).
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^x) without overflow.
fn log1p_exp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

impl Step {
    pub fn new(p: usize) -> Self {
        Step {
            p,
            rows: 0.0,
            positives: 0.0,
            log_likelihood: 0.0,
            hessian: vec![0.0; p * p],
            gradient: vec![0.0; p],
            min: vec![f64::INFINITY; p],
            max: vec![f64::NEG_INFINITY; p],
        }
    }

    /// Features (1-based) that took one value only in every row: they carry
    /// nothing the intercept does not, and make the Hessian singular.
    pub fn constant_features(&self) -> Vec<usize> {
        (1..self.p)
            .filter(|&j| self.rows > 0.0 && self.min[j] == self.max[j])
            .collect()
    }

    /// Adds one row: its features without the intercept, and its outcome.
    pub fn add(&mut self, beta: &[f64], features: &[f64], y: bool) -> Result<()> {
        accumulate(
            Sums {
                p: self.p,
                rows: &mut self.rows,
                positives: &mut self.positives,
                log_likelihood: &mut self.log_likelihood,
                hessian: &mut self.hessian,
                gradient: &mut self.gradient,
                min: &mut self.min,
                max: &mut self.max,
            },
            beta,
            features,
            y,
        )
    }

    /// Adds another step's sums (over other rows, at the same coefficients).
    pub fn merge(&mut self, other: &Step) -> Result<()> {
        if other.p != self.p {
            return Err(Error::Invalid(
                "cannot combine steps of fits with different features".into(),
            ));
        }
        self.rows += other.rows;
        self.positives += other.positives;
        self.log_likelihood += other.log_likelihood;
        for (a, b) in self.hessian.iter_mut().zip(&other.hessian) {
            *a += b;
        }
        for (a, b) in self.gradient.iter_mut().zip(&other.gradient) {
            *a += b;
        }
        for j in 0..self.p {
            self.min[j] = self.min[j].min(other.min[j]);
            self.max[j] = self.max[j].max(other.max[j]);
        }
        Ok(())
    }

    /// `[p, rows, positives, log_likelihood, gradient…, min…, max…, hessian…]`:
    /// the aggregate's state, so no `internal` state is needed.
    pub fn to_vec(&self) -> Vec<f64> {
        let mut v = vec![
            self.p as f64,
            self.rows,
            self.positives,
            self.log_likelihood,
        ];
        v.extend(&self.gradient);
        v.extend(&self.min);
        v.extend(&self.max);
        v.extend(&self.hessian);
        v
    }

    /// Length of [`Step::to_vec`] for `p` coefficients.
    pub fn vec_len(p: usize) -> usize {
        4 + 3 * p + p * p
    }

    pub fn from_slice(v: &[f64]) -> Result<Step> {
        let bad = || Error::Invalid("not a logistic regression step".into());
        let p = *v.first().ok_or_else(bad)?;
        if !(1.0..=MAX_FEATURES as f64).contains(&p) || p.fract() != 0.0 {
            return Err(bad());
        }
        let p = p as usize;
        if v.len() != Self::vec_len(p) {
            return Err(bad());
        }
        Ok(Step {
            p,
            rows: v[1],
            positives: v[2],
            log_likelihood: v[3],
            gradient: v[4..4 + p].to_vec(),
            min: v[4 + p..4 + 2 * p].to_vec(),
            max: v[4 + 2 * p..4 + 3 * p].to_vec(),
            hessian: v[4 + 3 * p..].to_vec(),
        })
    }

    /// The penalized Hessian H + λ·D (D = 1 on every diagonal entry but the
    /// intercept's), symmetric, row-major.
    fn penalized_hessian(&self, lambda: f64) -> Vec<f64> {
        let p = self.p;
        let mut h = vec![0.0; p * p];
        for i in 0..p {
            for j in i..p {
                let v = self.hessian[i * p + j];
                h[i * p + j] = v;
                h[j * p + i] = v;
            }
            if i > 0 {
                h[i * p + i] += lambda;
            }
        }
        h
    }

    /// The next coefficients: β + (H + λD)⁻¹ (g − λDβ). A coefficient whose
    /// column of the penalized Hessian is (numerically) a combination of the
    /// columns before it, such as the second of two copies of a feature, is
    /// left where it is and the step solves for the others. None if the step
    /// is not finite.
    pub fn newton(&self, beta: &[f64], lambda: f64) -> Option<Vec<f64>> {
        let h = self.penalized_hessian(lambda);
        let mut g = self.gradient.clone();
        for j in 1..self.p {
            g[j] -= lambda * beta[j];
        }
        let delta = Cholesky::new(&h, self.p).solve(&g)?;
        Some(beta.iter().zip(delta).map(|(b, d)| b + d).collect())
    }

    /// Standard errors: the square roots of the diagonal of (H + λD)⁻¹, with
    /// the coefficients that [`Step::newton`] leaves out (copies of others)
    /// infinite. None if the others are not finite.
    pub fn standard_errors(&self, lambda: f64) -> Option<Vec<f64>> {
        self.standard_errors_and_collinear(lambda).0
    }

    /// [`Step::standard_errors`], and the coefficients (1-based features)
    /// that are copies of others, or copied (see [`Cholesky::collinear`]).
    fn standard_errors_and_collinear(&self, lambda: f64) -> (Option<Vec<f64>>, Vec<usize>) {
        let h = self.penalized_hessian(lambda);
        let p = self.p;
        let factor = Cholesky::new(&h, p);
        let mut out = Vec::with_capacity(p);
        for j in 0..p {
            if factor.aliased[j] {
                out.push(f64::INFINITY);
                continue;
            }
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            let Some(col) = factor.solve(&e) else {
                return (None, factor.collinear());
            };
            out.push(col[j].max(0.0).sqrt());
        }
        (Some(out), factor.collinear())
    }

    /// Each coefficient's unit: the feature's range (largest value less
    /// smallest), 1 for the intercept and for a feature without a range.
    fn ranges(&self) -> Vec<f64> {
        (0..self.p)
            .map(|j| {
                let r = self.max[j] - self.min[j];
                if j == 0 || !(r > 0.0 && r.is_finite()) {
                    1.0
                } else {
                    r
                }
            })
            .collect()
    }

    /// Each coefficient's largest effect per unit: the largest |value| of the
    /// feature, 1 for the intercept (and for a feature that is 0 throughout).
    fn magnitudes(&self) -> Vec<f64> {
        (0..self.p)
            .map(|j| {
                let m = self.max[j].abs().max(self.min[j].abs());
                if j == 0 || !(m > 0.0 && m.is_finite()) {
                    1.0
                } else {
                    m
                }
            })
            .collect()
    }

    /// The penalized log-likelihood at `beta`.
    pub fn objective(&self, beta: &[f64], lambda: f64) -> f64 {
        self.log_likelihood - 0.5 * lambda * beta[1..].iter().map(|b| b * b).sum::<f64>()
    }
}

/// A column whose Cholesky pivot is at most this fraction of its own diagonal
/// entry is taken as a linear combination of the columns before it
/// ("aliased"). Comparing each pivot with its own column's diagonal, not with
/// the largest one, makes the test invariant under rescaling the features
/// (H → D·H·D for a diagonal D): the ratio is 1 − R² of that column on the
/// ones before it, in the weights' inner product, whatever the units.
const PIVOT_TOLERANCE: f64 = 1e-10;

/// A Cholesky factor L (row-major n × n, A = L·Lᵀ) of a symmetric positive
/// semi-definite A, in which aliased columns (see [`PIVOT_TOLERANCE`]) are
/// left out: their rows of L keep the coefficients on the earlier columns
/// (to name what they copy), their columns of L are 0, and a solve gives
/// them 0.
struct Cholesky {
    n: usize,
    l: Vec<f64>,
    diagonal: Vec<f64>,
    aliased: Vec<bool>,
}

impl Cholesky {
    fn new(a: &[f64], n: usize) -> Cholesky {
        let mut l = vec![0.0; n * n];
        let mut aliased = vec![false; n];
        let diagonal: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
        for i in 0..n {
            for j in 0..=i {
                if j < i && aliased[j] {
                    continue;
                }
                let mut s = a[i * n + j];
                for k in 0..j {
                    s -= l[i * n + k] * l[j * n + k];
                }
                if i == j {
                    // Also catches a NaN pivot, and a diagonal entry ≤ 0.
                    let kept = diagonal[i] > 0.0 && s > PIVOT_TOLERANCE * diagonal[i];
                    if !kept {
                        aliased[i] = true;
                    } else {
                        l[i * n + i] = s.sqrt();
                    }
                } else {
                    l[i * n + j] = s / l[j * n + j];
                }
            }
        }
        Cholesky {
            n,
            l,
            diagonal,
            aliased,
        }
    }

    /// Solves A x = b with every aliased component of x 0 (so the other
    /// components solve the system without the aliased columns); None if the
    /// solution is not finite.
    fn solve(&self, b: &[f64]) -> Option<Vec<f64>> {
        let (n, l) = (self.n, &self.l);
        let mut y = vec![0.0; n];
        for i in (0..n).filter(|&i| !self.aliased[i]) {
            let mut s = b[i];
            for k in 0..i {
                s -= l[i * n + k] * y[k];
            }
            y[i] = s / l[i * n + i];
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev().filter(|&i| !self.aliased[i]) {
            let mut s = y[i];
            for k in i + 1..n {
                s -= l[k * n + i] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
        x.iter().all(|v| v.is_finite()).then_some(x)
    }

    /// The aliased columns, and each non-aliased column j ≥ 1 that one of
    /// them copies in part: with column i ≈ Σ c_j · column j over the earlier
    /// non-aliased columns, those j whose term is not negligible
    /// (|c_j|·√A_jj > 1e-6·√A_ii, a unit-free comparison). Column 0 (the
    /// intercept) is never named as a copied column.
    fn collinear(&self) -> Vec<usize> {
        let (n, l) = (self.n, &self.l);
        let mut out = vec![false; n];
        for i in (0..n).filter(|&i| self.aliased[i]) {
            out[i] = true;
            // Lᵀ c = (row i of L) over the earlier non-aliased columns.
            let mut c = vec![0.0; i];
            for j in (0..i).rev().filter(|&j| !self.aliased[j]) {
                let mut s = l[i * n + j];
                for k in j + 1..i {
                    s -= l[k * n + j] * c[k];
                }
                c[j] = s / l[j * n + j];
            }
            for j in 1..i {
                if !self.aliased[j]
                    && c[j].abs() * self.diagonal[j].sqrt() > 1e-6 * self.diagonal[i].sqrt()
                {
                    out[j] = true;
                }
            }
        }
        (0..n).filter(|&j| out[j]).collect()
    }
}

/// A step's sums, borrowed from a [`Step`] or from its flat form.
struct Sums<'a> {
    p: usize,
    rows: &'a mut f64,
    positives: &'a mut f64,
    log_likelihood: &'a mut f64,
    hessian: &'a mut [f64],
    gradient: &'a mut [f64],
    min: &'a mut [f64],
    max: &'a mut [f64],
}

/// The one place a row is added: [`Step::add`] and [`add_to_flat`] both
/// come here, so the aggregate and an in-memory fit sum identically.
fn accumulate(s: Sums<'_>, beta: &[f64], features: &[f64], y: bool) -> Result<()> {
    let p = s.p;
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if features.len() + 1 != p {
        return Err(Error::Invalid(format!(
            "a row has {}, but the fit has {} and an intercept",
            plural(features.len(), "feature"),
            plural(p - 1, "feature"),
        )));
    }
    if beta.len() != p {
        return Err(Error::Invalid(format!(
            "got {}, but the fit has {} and an intercept ({})",
            plural(beta.len(), "coefficient"),
            plural(p - 1, "feature"),
            plural(p, "coefficient"),
        )));
    }
    if let Some(bad) = features.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "feature {} is {}; features must be finite (encode missing values as a feature)",
            bad + 1,
            features[bad]
        )));
    }
    // A Hessian entry sums squares of features: past this its terms
    // overflow, and the fit would look separated.
    if let Some(bad) = features.iter().position(|v| v.abs() > MAX_FEATURE) {
        return Err(Error::OutOfRange(format!(
            "feature {} is {:e}; a feature must be at most {MAX_FEATURE:e} in magnitude, where its square is a number (rescale it)",
            bad + 1,
            features[bad]
        )));
    }
    let x = |j: usize| if j == 0 { 1.0 } else { features[j - 1] };
    let eta: f64 = (0..p).map(|j| x(j) * beta[j]).sum();
    let mu = sigmoid(eta);
    // μ(1 − μ) from the smaller of μ and 1 − μ, which keeps its precision
    // where the other rounds to 1: a row far on either side of the curve
    // keeps its (tiny) weight, symmetrically.
    let tail = sigmoid(-eta.abs());
    let w = tail * (1.0 - tail);
    let yv = if y { 1.0 } else { 0.0 };
    // log μ = −log(1 + e^−η), log(1 − μ) = −log(1 + e^η).
    *s.log_likelihood -= if y { log1p_exp(-eta) } else { log1p_exp(eta) };
    *s.rows += 1.0;
    *s.positives += yv;
    for i in 0..p {
        let xi = x(i);
        s.min[i] = s.min[i].min(xi);
        s.max[i] = s.max[i].max(xi);
        s.gradient[i] += xi * (yv - mu);
        if w > 0.0 {
            let wxi = w * xi;
            let row = &mut s.hessian[i * p..(i + 1) * p];
            for (j, h) in row.iter_mut().enumerate().skip(i) {
                *h += wxi * x(j);
            }
        }
    }
    Ok(())
}

/// A new step's flat form ([`Step::to_vec`]) for `p` coefficients.
pub fn new_flat(p: usize) -> Vec<f64> {
    Step::new(p).to_vec()
}

/// Adds one row to a step in its flat form ([`Step::to_vec`]), in place: the
/// aggregate's transition, which so never copies its p × p sums.
pub fn add_to_flat(v: &mut [f64], beta: &[f64], features: &[f64], y: bool) -> Result<()> {
    let bad = || Error::Invalid("not a logistic regression step".into());
    let p = *v.first().ok_or_else(bad)?;
    if !(1.0..=MAX_FEATURES as f64).contains(&p) || p.fract() != 0.0 {
        return Err(bad());
    }
    let p = p as usize;
    if v.len() != Step::vec_len(p) {
        return Err(bad());
    }
    let (head, rest) = v.split_at_mut(4);
    let (gradient, rest) = rest.split_at_mut(p);
    let (min, rest) = rest.split_at_mut(p);
    let (max, hessian) = rest.split_at_mut(p);
    let [_, rows, positives, log_likelihood] = head else {
        return Err(bad());
    };
    accumulate(
        Sums {
            p,
            rows,
            positives,
            log_likelihood,
            hessian,
            gradient,
            min,
            max,
        },
        beta,
        features,
        y,
    )
}

/// A fitted model: coefficients (intercept first), standard errors, z values,
/// the (unpenalized) log-likelihood, iterations, whether it converged, and the
/// features whose standard error shows they are not identified.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub coefficients: Vec<f64>,
    pub standard_errors: Vec<f64>,
    pub z: Vec<f64>,
    pub log_likelihood: f64,
    pub iterations: usize,
    pub converged: bool,
    /// Indexes (1-based, as features; 0 is the intercept) of coefficients
    /// whose standardized standard error exceeds [`MAX_STANDARD_ERROR`] (see
    /// [`standardized_standard_errors`]), and of features that copy others
    /// or are copied, exactly or nearly (a linear combination, in the fit's
    /// weights): the later of those is left out of the Newton steps (so it
    /// stays at 0, the start) with an infinite standard error and a z of 0,
    /// and the others are fitted without it.
    pub unidentified: Vec<usize>,
    /// The input's features (1-based) these coefficients are for, after
    /// the intercept: constant features are dropped.
    pub features: Vec<usize>,
}

/// The driver of a fit: what to do after each step's sums are in.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Scan again at these coefficients.
    Step(Vec<f64>),
    Done(Fit),
}

/// Decides the next move after `step`, computed at `beta`, on iteration
/// `iteration` (1-based); `previous` is the previous iteration's penalized
/// log-likelihood. Shared by the in-memory [`fit`] and the SQL driver.
pub fn advance(
    step: &Step,
    beta: &[f64],
    lambda: f64,
    iteration: usize,
    previous: Option<f64>,
) -> Result<Next> {
    if step.positives == 0.0 || step.positives == step.rows {
        return Err(Error::Invalid(format!(
            "logistic regression needs converted and unconverted leads, got {} of {}",
            step.positives, step.rows
        )));
    }
    let objective = step.objective(beta, lambda);
    let next = step
        .newton(beta, lambda)
        .filter(|n| n.iter().all(|b| b.is_finite()));
    // Converged when the objective has settled and the next Newton step would
    // move no coefficient by more than STEP_TOLERANCE (relative); that last
    // step is taken (see STEP_TOLERANCE). A coefficient's move is measured by
    // how far it moves the linear predictor at most (times the feature's
    // largest |value|), so the test does not depend on the features' units.
    let unit = step.magnitudes();
    let largest = beta
        .iter()
        .zip(&unit)
        .fold(0.0f64, |m, (b, u)| m.max((b * u).abs()));
    let step_small = next.as_ref().is_none_or(|n| {
        n.iter()
            .zip(beta)
            .zip(&unit)
            .all(|((a, b), u)| ((a - b) * u).abs() <= STEP_TOLERANCE * (1.0 + largest))
    });
    let converged = step_small
        && previous
            .is_some_and(|prev| (objective - prev).abs() <= TOLERANCE * (1.0 + objective.abs()));
    let stop = converged || iteration >= MAX_ITERATIONS;
    if !stop {
        if let Some(next) = next {
            return Ok(Next::Step(next));
        }
    }
    let final_beta: Vec<f64> = match (&next, converged) {
        (Some(n), true) => n.clone(),
        _ => beta.to_vec(),
    };
    let beta = final_beta.as_slice();
    // Done (or the step is not finite: no further step is possible).
    let (se, collinear) = step.standard_errors_and_collinear(lambda);
    let se = se.unwrap_or_else(|| vec![f64::INFINITY; step.p]);
    let unidentified = standardized_standard_errors(step, &se)
        .iter()
        .enumerate()
        .filter(|&(j, s)| s.is_nan() || *s > MAX_STANDARD_ERROR || collinear.contains(&j))
        .map(|(j, _)| j)
        .collect();
    let z = beta
        .iter()
        .zip(&se)
        .map(|(b, s)| {
            if s.is_finite() && *s > 0.0 {
                b / s
            } else {
                0.0
            }
        })
        .collect();
    Ok(Next::Done(Fit {
        coefficients: beta.to_vec(),
        standard_errors: se,
        z,
        log_likelihood: step.log_likelihood,
        iterations: iteration,
        converged,
        unidentified,
        features: (1..step.p).collect(),
    }))
}

/// Standard errors in the unit of each feature's range (see
/// [`MAX_STANDARD_ERROR`]): `standard_errors[j]` times feature j's largest
/// less smallest value, the intercept's unchanged. Rescaling a feature by c
/// divides its coefficient and standard error by c and multiplies its range
/// by c, so these do not change.
pub fn standardized_standard_errors(step: &Step, standard_errors: &[f64]) -> Vec<f64> {
    standard_errors
        .iter()
        .zip(step.ranges())
        .map(|(s, r)| if s.is_infinite() { *s } else { s * r })
        .collect()
}

/// Fits in memory (tests, and small inputs): rows of features without the
/// intercept, and outcomes. Constant features are dropped (see
/// [`Fit::features`]), as the SQL driver does.
pub fn fit(rows: &[(Vec<f64>, bool)], lambda: f64) -> Result<Fit> {
    let p = rows.first().map_or(1, |r| r.0.len() + 1);
    if p > MAX_FEATURES {
        return Err(Error::Invalid(format!(
            "a fit has at most {} features, got {}",
            MAX_FEATURES - 1,
            p - 1
        )));
    }
    if !(lambda >= 0.0 && lambda.is_finite()) {
        return Err(Error::Invalid(format!(
            "the L2 penalty must be a finite number ≥ 0, got {lambda}"
        )));
    }
    let mut first = Step::new(p);
    for (x, y) in rows {
        first.add(&vec![0.0; p], x, *y)?;
    }
    let constant = first.constant_features();
    let keep: Vec<usize> = (1..p).filter(|j| !constant.contains(j)).collect();
    let rows: Vec<(Vec<f64>, bool)> = rows
        .iter()
        .map(|(x, y)| (keep.iter().map(|&j| x[j - 1]).collect(), *y))
        .collect();
    let p = keep.len() + 1;
    let mut beta = vec![0.0; p];
    let mut previous = None;
    for iteration in 1.. {
        let mut step = Step::new(p);
        for (i, (x, y)) in rows.iter().enumerate() {
            // An iteration costs rows × p²: a cancel is seen within one.
            if i % 4096 == 0 {
                crate::interrupt::check();
            }
            step.add(&beta, x, *y)?;
        }
        match advance(&step, &beta, lambda, iteration, previous)? {
            Next::Step(next) => {
                previous = Some(step.objective(&beta, lambda));
                beta = next;
            }
            Next::Done(mut f) => {
                f.features = keep;
                return Ok(f);
            }
        }
    }
    unreachable!("advance stops by MAX_ITERATIONS")
}

/// The probability a fitted model gives a row (features without the intercept).
pub fn predict(coefficients: &[f64], features: &[f64]) -> f64 {
    let eta = coefficients[0]
        + coefficients[1..]
            .iter()
            .zip(features)
            .map(|(b, x)| b * x)
            .sum::<f64>();
    sigmoid(eta)
}
