//! Cron schedules as a CronJob's `spec.schedule` takes them: the standard five fields
//! (minute, hour, day of month, month, day of week) with `*`, `?`, lists, ranges, steps and
//! month/day names, the descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight`, `@hourly` and `@every <duration>`, and an optional `TZ=` / `CRON_TZ=` prefix.
//!
//! Kubernetes parses schedules with `github.com/robfig/cron/v3` (`cron.ParseStandard`, called
//! from `pkg/controller/cronjob/utils.go` and `pkg/apis/batch/validation`); the parse errors
//! and the next-time search (`SpecSchedule.Next`, including its rule that day of month and day
//! of week match with OR unless one of them is `*`) follow that library.

use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Why a schedule does not parse; the text is robfig/cron's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: Kind,
    /// The time zone named by a `TZ=` / `CRON_TZ=` prefix, if any.
    time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Spec(Spec),
    Every(Duration),
}

/// Bit sets of the allowed values; bit 63 marks a field written `*` or `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spec {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

const STAR: u64 = 1 << 63;

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

fn err(msg: String) -> ParseError {
    ParseError(msg)
}

fn bits(min: u32, max: u32, step: u32) -> u64 {
    if step == 1 {
        return (!(u64::MAX << (max + 1))) & (u64::MAX << min);
    }
    let mut b = 0;
    let mut i = min;
    while i <= max {
        b |= 1 << i;
        i += step;
    }
    b
}

fn parse_int(expr: &str) -> Result<u32, ParseError> {
    let n: i64 = expr
        .parse()
        .map_err(|e| err(format!("failed to parse int from {expr}: {e}")))?;
    if n < 0 {
        return Err(err(format!("negative number ({n}) not allowed: {expr}")));
    }
    u32::try_from(n).map_err(|e| err(format!("failed to parse int from {expr}: {e}")))
}

fn value(expr: &str, b: &Bounds) -> Result<u32, ParseError> {
    let lower = expr.to_ascii_lowercase();
    if let Some((_, v)) = b.names.iter().find(|(n, _)| *n == lower) {
        return Ok(*v);
    }
    parse_int(expr)
}

/// One comma-separated part of a field (`getRange`).
fn range(expr: &str, b: &Bounds) -> Result<u64, ParseError> {
    let (range_part, step_part) = {
        let mut it = expr.split('/');
        let r = it.next().unwrap_or("");
        let s = it.next();
        if it.next().is_some() {
            return Err(err(format!("too many slashes: {expr}")));
        }
        (r, s)
    };
    let ends: Vec<&str> = range_part.split('-').collect();
    let (start, mut end, mut extra);
    if range_part == "*" || range_part == "?" {
        start = b.min;
        end = b.max;
        extra = STAR;
    } else {
        start = value(ends[0], b)?;
        end = match ends.len() {
            1 => start,
            2 => value(ends[1], b)?,
            _ => return Err(err(format!("too many hyphens: {expr}"))),
        };
        extra = 0;
    }
    let step = match step_part {
        None => 1,
        Some(s) => {
            let step = parse_int(s)?;
            // `N/step` means `N-max/step`.
            if ends.len() == 1 && range_part != "*" && range_part != "?" {
                end = b.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
    };
    if start < b.min {
        return Err(err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        )));
    }
    if end > b.max {
        return Err(err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        )));
    }
    if start > end {
        return Err(err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        )));
    }
    if step == 0 {
        return Err(err(format!(
            "step of range should be a positive number: {expr}"
        )));
    }
    Ok(bits(start, end, step) | extra)
}

fn field(expr: &str, b: &Bounds) -> Result<u64, ParseError> {
    expr.split(',')
        .try_fold(0u64, |acc, part| Ok(acc | range(part, b)?))
}

/// A Go duration as `@every` takes it (`time.ParseDuration`): `1h30m`, `90s`, `1.5h`.
fn go_duration(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * unit;
    }
    Some(Duration::from_secs_f64(total))
}

impl Schedule {
    /// Parse a schedule as `cron.ParseStandard` does.
    pub fn parse(spec: &str) -> Result<Schedule, ParseError> {
        if spec.is_empty() {
            return Err(err("empty spec string".into()));
        }
        let mut spec = spec.trim();
        let mut time_zone = None;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let (head, rest) = spec.split_once(' ').unwrap_or((spec, ""));
            let name = head.split_once('=').map(|(_, n)| n).unwrap_or("");
            if TimeZone::get(name).is_err() {
                return Err(err(format!(
                    "provided bad location {name}: unknown time zone {name}"
                )));
            }
            time_zone = Some(name.to_string());
            spec = rest.trim();
        }
        if spec.starts_with('@') {
            let all = |b: &Bounds| bits(b.min, b.max, 1) | STAR;
            let one = |v: u32| 1u64 << v;
            let kind = match spec {
                "@yearly" | "@annually" => Kind::Spec(Spec {
                    minute: one(0),
                    hour: one(0),
                    dom: one(1),
                    month: one(1),
                    dow: all(&DOW),
                }),
                "@monthly" => Kind::Spec(Spec {
                    minute: one(0),
                    hour: one(0),
                    dom: one(1),
                    month: all(&MONTHS),
                    dow: all(&DOW),
                }),
                "@weekly" => Kind::Spec(Spec {
                    minute: one(0),
                    hour: one(0),
                    dom: all(&DOM),
                    month: all(&MONTHS),
                    dow: one(0),
                }),
                "@daily" | "@midnight" => Kind::Spec(Spec {
                    minute: one(0),
                    hour: one(0),
                    dom: all(&DOM),
                    month: all(&MONTHS),
                    dow: all(&DOW),
                }),
                "@hourly" => Kind::Spec(Spec {
                    minute: one(0),
                    hour: all(&HOURS),
                    dom: all(&DOM),
                    month: all(&MONTHS),
                    dow: all(&DOW),
                }),
                _ => {
                    if let Some(d) = spec.strip_prefix("@every ") {
                        let dur = go_duration(d.trim()).ok_or_else(|| {
                            err(format!(
                                "failed to parse duration {spec}: time: invalid duration \"{}\"",
                                d.trim()
                            ))
                        })?;
                        // Rounded down to whole seconds, at least one.
                        let secs = dur.as_secs().max(1);
                        Kind::Every(Duration::from_secs(secs))
                    } else {
                        return Err(err(format!("unrecognized descriptor: {spec}")));
                    }
                }
            };
            return Ok(Schedule { kind, time_zone });
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            )));
        }
        Ok(Schedule {
            kind: Kind::Spec(Spec {
                minute: field(fields[0], &MINUTES)?,
                hour: field(fields[1], &HOURS)?,
                dom: field(fields[2], &DOM)?,
                month: field(fields[3], &MONTHS)?,
                dow: field(fields[4], &DOW)?,
            }),
            time_zone,
        })
    }

    /// The time zone a `TZ=` / `CRON_TZ=` prefix names.
    pub fn time_zone(&self) -> Option<&str> {
        self.time_zone.as_deref()
    }

    /// The first activation strictly after `after`, evaluated in `tz` (a prefix's zone wins),
    /// or None when there is none within five years (`SpecSchedule.Next`).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let spec = match &self.kind {
            Kind::Every(d) => {
                let whole = Timestamp::from_second(after.as_second()).ok()?;
                return whole.checked_add(*d).ok();
            }
            Kind::Spec(s) => s,
        };
        let prefixed;
        let tz = match self.time_zone.as_deref().map(TimeZone::get) {
            Some(Ok(z)) => {
                prefixed = z;
                &prefixed
            }
            _ => tz,
        };
        // The next whole minute after `after`, in local time.
        let local = tz.to_datetime(after);
        let mut t = local
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let limit = t.year() + 5;
        'wrap: loop {
            if t.year() > limit {
                return None;
            }
            while spec.month & (1 << t.month()) == 0 {
                t = first_of_month(t)?.checked_add(1.month()).ok()?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !day_matches(spec, t.date()) {
                t = t
                    .date()
                    .checked_add(1.day())
                    .ok()?
                    .to_datetime(jiff::civil::time(0, 0, 0, 0));
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while spec.hour & (1 << t.hour()) == 0 {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while spec.minute & (1 << t.minute()) == 0 {
                t = t.checked_add(1.minute()).ok()?;
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            break;
        }
        tz.to_ambiguous_timestamp(t).compatible().ok()
    }
}

fn first_of_month(t: DateTime) -> Option<DateTime> {
    Date::new(t.year(), t.month(), 1)
        .ok()
        .map(|d| d.to_datetime(jiff::civil::time(0, 0, 0, 0)))
}

/// Day of month and day of week: both must match when either is `*`, else either may
/// (`dayMatches`).
fn day_matches(s: &Spec, d: Date) -> bool {
    let dom = s.dom & (1 << d.day()) != 0;
    let dow = s.dow & (1 << d.weekday().to_sunday_zero_offset()) != 0;
    if s.dom & STAR != 0 || s.dow & STAR != 0 {
        dom && dow
    } else {
        dom || dow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(spec: &str, after: &str) -> String {
        Schedule::parse(spec)
            .unwrap()
            .next(ts(after), &TimeZone::UTC)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn next_activations_follow_robfig_cron() {
        assert_eq!(
            next("*/1 * * * *", "2026-01-01T10:00:00Z"),
            "2026-01-01T10:01:00Z"
        );
        assert_eq!(
            next("*/1 * * * *", "2026-01-01T10:00:30Z"),
            "2026-01-01T10:01:00Z"
        );
        assert_eq!(
            next("*/5 * * * *", "2026-01-01T10:07:00Z"),
            "2026-01-01T10:10:00Z"
        );
        assert_eq!(
            next("0 * * * *", "2026-01-01T23:30:00Z"),
            "2026-01-02T00:00:00Z"
        );
        assert_eq!(
            next("@hourly", "2026-01-01T10:00:00Z"),
            "2026-01-01T11:00:00Z"
        );
        assert_eq!(
            next("@daily", "2026-12-31T10:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("@weekly", "2026-01-01T10:00:00Z"),
            "2026-01-04T00:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2026-01-31T10:00:00Z"),
            "2026-02-01T00:00:00Z"
        );
        assert_eq!(
            next("@yearly", "2026-03-01T00:00:00Z"),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(
            next("30 9 * * mon-fri", "2026-01-02T10:00:00Z"),
            "2026-01-05T09:30:00Z"
        );
        assert_eq!(
            next("0 0 1 feb *", "2026-03-01T00:00:00Z"),
            "2027-02-01T00:00:00Z"
        );
        // Day of month OR day of week when neither is `*`.
        assert_eq!(
            next("0 0 13 * 5", "2026-01-01T00:00:00Z"),
            "2026-01-02T00:00:00Z"
        );
        assert_eq!(next("0 0 31 2 *", "2026-01-01T00:00:00Z"), "");
        assert_eq!(
            next("@every 90s", "2026-01-01T00:00:00.5Z"),
            "2026-01-01T00:01:30Z"
        );
        assert_eq!(
            next("CRON_TZ=Europe/Paris 0 9 * * *", "2026-01-01T00:00:00Z"),
            "2026-01-01T08:00:00Z"
        );
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let s = Schedule::parse("0 9 * * *").unwrap();
        assert_eq!(
            s.next(ts("2026-07-01T00:00:00Z"), &paris)
                .map(|t| t.to_string()),
            Some("2026-07-01T07:00:00Z".into())
        );
    }

    #[test]
    fn parse_errors_are_robfig_crons_texts() {
        let e = |s: &str| Schedule::parse(s).unwrap_err().to_string();
        assert_eq!(
            e("* * * *"),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(e("60 * * * *"), "end of range (60) above maximum (59): 60");
        assert_eq!(
            e("* * 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            e("5-1 * * * *"),
            "beginning of range (5) beyond end of range (1): 5-1"
        );
        assert_eq!(
            e("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(e("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert_eq!(e("@fortnightly"), "unrecognized descriptor: @fortnightly");
        assert!(e("x * * * *").starts_with("failed to parse int from x: "));
    }
}
