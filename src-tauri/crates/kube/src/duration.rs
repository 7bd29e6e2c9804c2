//! Human durations exactly as kubectl's printers render them
//! (`k8s.io/apimachinery/pkg/util/duration`): AGE columns, `3 (12s ago)` restarts, and the
//! `Go` duration format used in back-off messages.

use std::time::Duration;

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
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
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
