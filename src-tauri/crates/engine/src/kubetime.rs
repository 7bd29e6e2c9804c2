//! Time as Kubernetes prints it.
//!
//! Three formats matter to KubeQuest, and each is ported from the Go source so what the app shows
//! matches what `kubectl` prints next to it:
//!
//! - [`human_duration`]: apimachinery's `duration.HumanDuration`, used by `kubectl get` for the
//!   `RESTARTS` column (`3 (12s ago)`) and by `kubectl describe` for event ages (`2m30s`).
//! - [`parse_go_duration`] / [`format_go_duration`]: Go's `time.Duration` text, which the kubelet
//!   writes into CrashLoopBackOff messages (`back-off 1m20s restarting failed container=…`).
//!
//! Nothing here reads the clock: callers pass `now`.

use jiff::{SignedDuration, Timestamp};

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`: about two significant figures.
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    // Go tolerates up to two seconds of clock skew ("almost now") before calling it invalid.
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
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// How long ago `then` was, as `kubectl` prints it (`translateTimestampSince`).
pub fn age(then: Timestamp, now: Timestamp) -> String {
    human_duration(now.duration_since(then))
}

/// Parses Go's `time.Duration` text (`10s`, `1m20s`, `5m0s`, `1.5s`, `300ms`, `1h0m0s`).
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

/// Formats whole seconds the way Go's `time.Duration.String()` does (`10s`, `1m20s`, `5m0s`).
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

#[cfg(test)]
mod tests {
    use super::*;

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
                human_duration(SignedDuration::from_secs(secs)),
                want,
                "HumanDuration({secs}s) must match kubectl"
            );
        }
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
}
