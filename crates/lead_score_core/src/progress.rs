//! When a long scan should say how far it has got.
//!
//! A report is due at each tenth of the expected total, but only once `min_gap`
//! has passed since the start or the last report, so short runs stay quiet and
//! long ones report about every tenth. The clock is read only at those tenths,
//! so counting an item costs a compare.

/// One progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub done: u64,
    pub total: u64,
    /// Of the expected total, at most 100 (a total may be an underestimate).
    pub percent: u64,
    pub elapsed_us: i64,
}

#[derive(Debug, Clone)]
pub struct Progress {
    total: u64,
    done: u64,
    step: u64,
    next: u64,
    started_us: i64,
    last_us: i64,
    min_gap_us: i64,
}

impl Progress {
    /// A scan of about `total` items that started at `now_us`. With a total of 0
    /// (unknown), it never reports.
    pub fn new(total: u64, now_us: i64, min_gap_us: i64) -> Self {
        let step = (total / 10).max(1);
        Progress {
            total,
            done: 0,
            step,
            next: step,
            started_us: now_us,
            last_us: now_us,
            min_gap_us,
        }
    }

    /// Counts one item; `now_us` is called only when a tenth is reached.
    pub fn count(&mut self, now_us: impl FnOnce() -> i64) -> Option<Report> {
        self.done += 1;
        if self.total == 0 || self.done < self.next {
            return None;
        }
        self.next = self.done + self.step;
        let now = now_us();
        if now - self.last_us < self.min_gap_us {
            return None;
        }
        self.last_us = now;
        Some(Report {
            done: self.done,
            total: self.total,
            percent: (self.done.saturating_mul(100) / self.total).min(100),
            elapsed_us: now - self.started_us,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(total: u64, items: u64, us_per_item: i64, gap: i64) -> Vec<Report> {
        let mut p = Progress::new(total, 0, gap);
        (1..=items as i64)
            .filter_map(|i| p.count(|| i * us_per_item))
            .collect()
    }

    #[test]
    fn a_short_run_stays_quiet() {
        assert!(run(1000, 1000, 1, 1_000_000).is_empty());
    }

    #[test]
    fn a_long_run_reports_each_tenth() {
        // 10 s in all, a tenth per second, reported with a 1 s gap.
        let reports = run(1000, 1000, 10_000, 1_000_000);
        let percents: Vec<u64> = reports.iter().map(|r| r.percent).collect();
        assert_eq!(percents, vec![10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(reports[0].done, 100);
        assert_eq!(reports[0].elapsed_us, 1_000_000);
    }

    #[test]
    fn reports_are_at_least_the_gap_apart() {
        // 10 s in all, so a tenth takes 1 s; with a 2.5 s gap, every third tenth reports.
        let reports = run(100, 100, 100_000, 2_500_000);
        let at: Vec<i64> = reports.iter().map(|r| r.elapsed_us).collect();
        assert_eq!(at, vec![3_000_000, 6_000_000, 9_000_000]);
    }

    #[test]
    fn an_underestimated_total_keeps_reporting_at_100() {
        let reports = run(10, 50, 1_000_000, 1_000_000);
        assert!(reports.len() >= 5);
        assert!(reports.iter().all(|r| r.percent <= 100));
        assert_eq!(reports.last().map(|r| r.done), Some(50));
    }

    #[test]
    fn an_unknown_total_never_reports() {
        assert!(run(0, 1000, 1_000_000, 0).is_empty());
    }
}
