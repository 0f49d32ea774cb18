//! Time, injectable so tests can move it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Milliseconds since the Unix epoch (the store's unit of time).
pub use crate::store::Millis;

/// A span of time in the store's unit (milliseconds), saturating.
pub fn ms(d: std::time::Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> Millis;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        d.as_millis() as Millis
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: Millis) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.advance_ms(ms(by));
    }

    pub fn advance_ms(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// The calendar month (UTC) that contains `now`: its first and the next
/// month's first millisecond. Quotas and usage count within it.
pub fn month_bounds(now: Millis) -> (Millis, Millis) {
    use time::{Date, Month, OffsetDateTime};
    let dt = OffsetDateTime::from_unix_timestamp_nanos(now as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let first = |year: i32, month: Month| {
        Date::from_calendar_date(year, month, 1)
            .expect("day 1 exists")
            .midnight()
            .assume_utc()
            .unix_timestamp()
            * 1000
    };
    let (year, month) = (dt.year(), dt.month());
    let next = if month == Month::December {
        (year + 1, Month::January)
    } else {
        (year, month.next())
    };
    (first(year, month), first(next.0, next.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_bounds_cover_the_month() {
        // 2026-11-28T22:27:13Z
        let now = 1_795_904_833_000;
        let (start, end) = month_bounds(now);
        assert_eq!(start, 1_793_491_200_000); // 2026-11-01T00:00:00Z
        assert_eq!(end, 1_796_083_200_000); // 2026-12-01T00:00:00Z
        let (s2, e2) = month_bounds(1_796_083_200_000 + 5);
        assert_eq!(s2, 1_796_083_200_000);
        assert_eq!(e2, 1_798_761_600_000); // 2027-01-01
    }
}
