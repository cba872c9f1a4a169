//! Manual adjustments (`lead_score.adjust`): what a lead's adjustments add to
//! its fit at a point in time.

/// One manual adjustment of a lead. Times are microseconds since 2000-01-01,
/// as PostgreSQL's `timestamptz`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adjustment {
    pub id: i64,
    pub points: f64,
    pub created_at: i64,
    /// When it stops counting; `None`: never.
    pub expires_at: Option<i64>,
}

impl Adjustment {
    /// Counts at `at`: made by then, and not expired then.
    pub fn active_at(&self, at: i64) -> bool {
        self.created_at <= at && self.expires_at.is_none_or(|e| e > at)
    }
}

/// The points of the adjustments active at `at`, summed in id order (so the
/// same adjustments give the same bits whatever order they are stored in); 0
/// without any.
pub fn active_points(adjustments: &mut [Adjustment], at: i64) -> f64 {
    adjustments.sort_by_key(|a| a.id);
    adjustments
        .iter()
        .filter(|a| a.active_at(at))
        .fold(0.0, |sum, a| sum + a.points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adj(id: i64, points: f64, created_at: i64, expires_at: Option<i64>) -> Adjustment {
        Adjustment {
            id,
            points,
            created_at,
            expires_at,
        }
    }

    #[test]
    fn counts_from_creation_until_expiry() {
        let mut a = [adj(1, 25.0, 100, Some(200))];
        assert_eq!(active_points(&mut a, 99), 0.0);
        assert_eq!(active_points(&mut a, 100), 25.0);
        assert_eq!(active_points(&mut a, 199), 25.0);
        assert_eq!(active_points(&mut a, 200), 0.0);
    }

    #[test]
    fn several_add_up_in_id_order_whatever_their_order() {
        let mut a = [
            adj(3, 0.1, 0, None),
            adj(1, 1e16, 0, None),
            adj(2, -1e16, 0, None),
        ];
        let mut b = [a[1], a[2], a[0]];
        // (1e16 - 1e16) + 0.1, not 1e16 + (-1e16 + 0.1) = 0 or 1e16 + 0.1 - 1e16.
        assert_eq!(active_points(&mut a, 0), 0.1);
        assert_eq!(active_points(&mut b, 0), 0.1);
    }

    #[test]
    fn none_active_is_zero() {
        assert_eq!(active_points(&mut [], 0), 0.0);
        let mut a = [adj(1, 5.0, 10, Some(20)), adj(2, -5.0, 30, None)];
        assert_eq!(active_points(&mut a, 25), 0.0);
        assert_eq!(active_points(&mut a, 30), -5.0);
    }
}
