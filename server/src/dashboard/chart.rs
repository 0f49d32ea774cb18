//! The usage chart: jobs per day over the last 30 days by outcome, as a
//! server-rendered SVG of stacked bars (no script).

use extension_core::JobStatus;
use leptos::prelude::*;

use super::views::day_label;
use crate::clock::Millis;
use crate::store::DayCount;

/// Days the chart covers.
pub const DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

/// One day's jobs by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    /// Midnight (UTC) that starts the day.
    pub start: Millis,
    pub succeeded: i64,
    pub failed: i64,
    /// Queued or processing.
    pub pending: i64,
}

impl Day {
    pub fn total(&self) -> i64 {
        self.succeeded + self.failed + self.pending
    }
}

/// Midnight (UTC) of the first day of the 30 that end today.
pub fn range_start(now: Millis) -> Millis {
    now.div_euclid(DAY_MS) * DAY_MS - (DAYS - 1) * DAY_MS
}

/// The 30 days from `range_start`, filled from per-day counts.
pub fn days(start: Millis, counts: &[DayCount]) -> Vec<Day> {
    let mut days: Vec<Day> = (0..DAYS)
        .map(|i| Day {
            start: start + i * DAY_MS,
            ..Day::default()
        })
        .collect();
    for c in counts {
        let Some(day) = usize::try_from(c.day).ok().and_then(|i| days.get_mut(i)) else {
            continue;
        };
        match c.status {
            JobStatus::Succeeded => day.succeeded += c.count,
            JobStatus::Failed => day.failed += c.count,
            JobStatus::Queued | JobStatus::Processing => day.pending += c.count,
        }
    }
    days
}

/// The smallest "nice" axis maximum (1, 2, 5 × 10ⁿ) at or above `max`.
pub fn axis_max(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart as an SVG element.
pub fn chart(days: &[Day]) -> impl IntoView {
    let max = axis_max(days.iter().map(Day::total).max().unwrap_or(0));
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / days.len().max(1) as f64;
    let bar_w = slot * 0.7;
    let y_of = |v: i64| TOP + plot_h - plot_h * v as f64 / max as f64;
    let total: i64 = days.iter().map(Day::total).sum();
    let summary = format!(
        "Jobs per day over the last {} days: {} in all, {} succeeded, {} failed, {} pending.",
        days.len(),
        total,
        days.iter().map(|d| d.succeeded).sum::<i64>(),
        days.iter().map(|d| d.failed).sum::<i64>(),
        days.iter().map(|d| d.pending).sum::<i64>(),
    );
    let mut ticks = vec![0, max / 2, max];
    ticks.dedup();
    let grid = ticks
        .into_iter()
        .map(|v| {
            let y = fmt(y_of(v));
            view! {
                <line class="grid" x1=fmt(LEFT) x2=fmt(WIDTH) y1=y.clone() y2=y.clone()></line>
                <text class="axis" x=fmt(LEFT - 6.0) y=fmt(y_of(v) + 4.0) text-anchor="end">{v}</text>
            }
        })
        .collect_view();
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
            let mut base = 0;
            let mut segment = |n: i64, class: &'static str| {
                let (y0, y1) = (y_of(base), y_of(base + n));
                base += n;
                (n > 0).then(|| {
                    view! {
                        <rect class=class x=fmt(x) y=fmt(y1) width=fmt(bar_w) height=fmt(y0 - y1)></rect>
                    }
                })
            };
            let segments = (
                segment(d.succeeded, "ok"),
                segment(d.failed, "failed"),
                segment(d.pending, "pending"),
            );
            let tip = format!(
                "{}: {} succeeded, {} failed, {} pending",
                day_label(d.start),
                d.succeeded,
                d.failed,
                d.pending
            );
            let label = (i % 5 == 0 || i + 1 == days.len()).then(|| {
                view! {
                    <text class="axis" x=fmt(x + bar_w / 2.0) y=fmt(HEIGHT - 6.0) text-anchor="middle">
                        {day_label(d.start)[5..].to_string()}
                    </text>
                }
            });
            view! {
                <g class="day" data-date=day_label(d.start) data-total=d.total().to_string()>
                    <title>{tip}</title>
                    {segments}
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary
            preserveAspectRatio="xMidYMid meet">
            {grid}
            {bars}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(1), 1);
        assert_eq!(axis_max(3), 5);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(11), 20);
        assert_eq!(axis_max(450), 500);
    }

    #[test]
    fn days_cover_thirty_days_ending_today() {
        let now = 1_794_744_000_000; // 2026-11-15T12:00Z
        let start = range_start(now);
        assert_eq!(start, 1_794_700_800_000 - 29 * DAY_MS);
        let counts = [
            DayCount {
                day: 29,
                status: JobStatus::Succeeded,
                count: 2,
            },
            DayCount {
                day: 29,
                status: JobStatus::Failed,
                count: 1,
            },
            DayCount {
                day: 0,
                status: JobStatus::Queued,
                count: 4,
            },
            DayCount {
                day: 30,
                status: JobStatus::Queued,
                count: 9,
            },
        ];
        let d = days(start, &counts);
        assert_eq!(d.len(), 30);
        assert_eq!((d[29].succeeded, d[29].failed, d[29].total()), (2, 1, 3));
        assert_eq!(d[0].pending, 4);
        assert_eq!(
            d.iter().map(Day::total).sum::<i64>(),
            7,
            "out-of-range days are dropped"
        );
    }

    #[test]
    fn bars_are_as_tall_as_their_counts() {
        use leptos::tachys::view::RenderHtml;
        let start = range_start(1_794_744_000_000);
        let d = days(
            start,
            &[DayCount {
                day: 3,
                status: JobStatus::Succeeded,
                count: 5,
            }],
        );
        let svg = chart(&d).to_html();
        // Axis maximum 5: the single bar fills the plot (188 units).
        assert!(svg.contains(r#"class="ok""#), "{svg}");
        assert!(svg.contains(r#"height="188.0""#), "{svg}");
        assert!(!svg.contains(r#"class="failed""#));
        assert!(svg.contains("5 succeeded, 0 failed, 0 pending"));
    }
}
