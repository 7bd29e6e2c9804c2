//! Human durations exactly as kubectl's printers render them
//! (`k8s.io/apimachinery/pkg/util/duration`): AGE columns, `3 (12s ago)` restarts, and the
//! `Go` duration format used in back-off messages.
//!
//! The one copy for the embedded cluster (which writes these texts) and the engine (which reads
//! the kubelet's back-off messages and shows ages next to kubectl's). The UI's twin is
//! `ui/src/lib/kubetime.ts`; its test vectors agree with the ones below. Nothing here reads the
//! clock: callers pass `now`.

use std::time::Duration;

use jiff::SignedDuration;

/// `duration.HumanDuration`: ~2-3 significant figures (`5s`, `2m30s`, `3h`, `2d5h`, `3y20d`).
/// Negative durations up to two seconds count as "now" to tolerate clock skew.
/// `seconds` is the duration truncated toward zero, as Go's `int(d.Seconds())` gives it.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, dy);
    }
    format!("{}y", hours / 24 / 365)
}

/// Age between two timestamps, rendered like `translateTimestampSince`.
pub fn since(then: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let d = now.duration_since(then);
    human_duration(d.as_secs())
}

/// Go's `time.Duration.String()` for whole seconds and larger (`10s`, `1m20s`, `5m0s`).
pub fn go_duration(d: Duration) -> String {
    format_go_duration(d.as_secs())
}

/// Formats whole seconds the way Go's `time.Duration.String()` does (`10s`, `1m20s`, `5m0s`),
/// as the kubelet writes them into CrashLoopBackOff messages.
pub fn format_go_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// Parses Go's `time.Duration` text (`10s`, `1m20s`, `5m0s`, `1.5s`, `300ms`, `1h0m0s`), as the
/// kubelet writes it into CrashLoopBackOff messages (`back-off 1m20s restarting failed container=…`).
///
/// Returns `None` for anything else, so a kubelet message in an unexpected shape yields "no retry
/// time" rather than a wrong one.
pub fn parse_go_duration(text: &str) -> Option<SignedDuration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(SignedDuration::ZERO);
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total_nanos += value * scale;
    }
    // Durations in kubelet messages are at most minutes; i64 nanoseconds cover 292 years.
    if !total_nanos.is_finite() || total_nanos > i64::MAX as f64 {
        return None;
    }
    Some(SignedDuration::from_nanos(total_nanos.round() as i64))
}

/// Go's `time.Duration.String()` of a duration truncated to milliseconds, as the kubelet's
/// `Pulled` event prints pull times (`512ms`, `3.512s`, `1m3.5s`).
pub fn go_duration_ms(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, frac) = (rem / 1000, rem % 1000);
    let mut secs = s.to_string();
    if frac > 0 {
        let f = format!("{frac:03}");
        secs.push('.');
        secs.push_str(f.trim_end_matches('0'));
    }
    if h > 0 {
        format!("{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{m}m{secs}s")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hd(secs: i64) -> String {
        human_duration(secs)
    }

    #[test]
    fn matches_apimachinery_table() {
        assert_eq!(hd(-5), "<invalid>");
        assert_eq!(hd(-1), "0s");
        assert_eq!(hd(0), "0s");
        assert_eq!(hd(119), "119s");
        assert_eq!(hd(120), "2m");
        assert_eq!(hd(150), "2m30s");
        assert_eq!(hd(600), "10m");
        assert_eq!(hd(3 * 3600 - 1), "179m");
        assert_eq!(hd(3 * 3600), "3h");
        assert_eq!(hd(3 * 3600 + 60 * 5), "3h5m");
        assert_eq!(hd(8 * 3600), "8h");
        assert_eq!(hd(47 * 3600), "47h");
        assert_eq!(hd(48 * 3600), "2d");
        assert_eq!(hd(53 * 3600), "2d5h");
        assert_eq!(hd(10 * 86400), "10d");
        assert_eq!(hd(2 * 365 * 86400), "2y");
        assert_eq!(hd(2 * 365 * 86400 + 86400 * 20), "2y20d");
        assert_eq!(hd(9 * 365 * 86400), "9y");
    }

    /// The engine's vector (it was `kq-engine`'s `kubetime` test).
    #[test]
    fn human_duration_matches_apimachinery() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (12, "12s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 25 * 60, "3h25m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (50 * 3600, "2d2h"),
            (9 * 24 * 3600, "9d"),
            (3 * 365 * 24 * 3600, "3y"),
            (3 * 365 * 24 * 3600 + 10 * 24 * 3600, "3y10d"),
        ];
        for (secs, want) in cases {
            assert_eq!(
                human_duration(SignedDuration::from_secs(secs).as_secs()),
                want,
                "HumanDuration({secs}s) must match kubectl"
            );
        }
    }

    /// The UI's twin (`ui/src/lib/kubetime.test.ts`, in milliseconds there) must print the same
    /// text for the same duration; these are its cases, truncated to whole seconds as Go does.
    #[test]
    fn agrees_with_the_ui_kubetime_vector() {
        let (m, h, d) = (60, 3600, 86400);
        let cases = [
            (-3, "<invalid>"),
            (-1, "0s"), // -1500 ms
            (0, "0s"),  // -500 ms
            (10, "10s"),
            (119, "119s"),
            (2 * m, "2m"),
            (2 * m + 30, "2m30s"),
            (9 * m + 59, "9m59s"),
            (10 * m + 30, "10m"),
            (179 * m, "179m"),
            (3 * h, "3h"),
            (7 * h + 59 * m, "7h59m"),
            (8 * h + 30 * m, "8h"),
            (47 * h, "47h"),
            (2 * d, "2d"),
            (3 * d + 4 * h, "3d4h"),
            (8 * d, "8d"),
            (729 * d, "729d"),
            (2 * 365 * d, "2y"),
            (3 * 365 * d + 10 * d, "3y10d"),
            (9 * 365 * d, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}s");
        }
    }

    #[test]
    fn since_is_human_duration_of_the_gap() {
        let then: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let now: jiff::Timestamp = "2026-01-01T00:02:30Z".parse().unwrap();
        assert_eq!(since(then, now), "2m30s");
        assert_eq!(since(now, then), "<invalid>");
    }

    #[test]
    fn go_durations_round_trip_the_kubelet_backoff_steps() {
        for (secs, text) in [
            (10, "10s"),
            (20, "20s"),
            (40, "40s"),
            (80, "1m20s"),
            (160, "2m40s"),
            (300, "5m0s"),
        ] {
            assert_eq!(format_go_duration(secs), text);
            assert_eq!(
                parse_go_duration(text),
                Some(SignedDuration::from_secs(secs as i64))
            );
        }
        assert_eq!(
            parse_go_duration("1.5s"),
            Some(SignedDuration::from_millis(1500))
        );
        assert_eq!(
            parse_go_duration("300ms"),
            Some(SignedDuration::from_millis(300))
        );
        assert_eq!(
            parse_go_duration("1h0m0s"),
            Some(SignedDuration::from_secs(3600))
        );
        for bad in ["", "s", "10", "10x", "ten seconds", "-10s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?} is not a Go duration");
        }
    }

    #[test]
    fn go_duration_format() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }

    #[test]
    fn go_duration_ms_format() {
        assert_eq!(go_duration_ms(Duration::from_millis(512)), "512ms");
        assert_eq!(go_duration_ms(Duration::from_millis(3512)), "3.512s");
        assert_eq!(go_duration_ms(Duration::from_millis(3500)), "3.5s");
        assert_eq!(go_duration_ms(Duration::from_millis(63_500)), "1m3.5s");
        assert_eq!(go_duration_ms(Duration::from_secs(4)), "4s");
    }
}
