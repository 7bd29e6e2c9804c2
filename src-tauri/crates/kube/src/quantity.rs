//! Resource quantities (`100m`, `128Mi`, `1e3`) parsed to exact integers, for QoS classes,
//! request/limit validation and, later, the scheduler's fit checks.

/// A parsed quantity in nano-units (value × 10⁹), exact for every quantity Kubernetes accepts
/// in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(pub i128);

impl Quantity {
    /// Parse a quantity string; `None` for malformed input (the apiserver rejects those).
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let (neg, body) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, suffix) = body.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        // Work in nano units: mantissa digits scaled by 10^(9 - frac_len).
        let digits = format!("{int_part}{frac_part}");
        let mut mantissa: i128 = 0;
        for c in digits.bytes() {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(c - b'0'))?;
        }
        let mut exp10: i32 = 9 - i32::try_from(frac_part.len()).ok()?;
        let mut mult: i128 = 1;
        match suffix {
            "" => {}
            "n" => exp10 -= 9,
            "u" => exp10 -= 6,
            "m" => exp10 -= 3,
            "k" => exp10 += 3,
            "M" => exp10 += 6,
            "G" => exp10 += 9,
            "T" => exp10 += 12,
            "P" => exp10 += 15,
            "E" => exp10 += 18,
            "Ki" => mult = 1 << 10,
            "Mi" => mult = 1 << 20,
            "Gi" => mult = 1 << 30,
            "Ti" => mult = 1 << 40,
            "Pi" => mult = 1 << 50,
            "Ei" => mult = 1 << 60,
            other if other.starts_with(['e', 'E']) => {
                let e: i32 = other[1..].parse().ok()?;
                exp10 = exp10.checked_add(e)?;
            }
            _ => return None,
        }
        let mut v = mantissa.checked_mul(mult)?;
        if exp10 >= 0 {
            v = v.checked_mul(10i128.checked_pow(u32::try_from(exp10).ok()?)?)?;
        } else {
            // Below a nano-unit Kubernetes rounds up; so do we.
            let div = 10i128.checked_pow(u32::try_from(-exp10).ok()?)?;
            v = (v + div - 1) / div;
        }
        Some(Quantity(if neg { -v } else { v }))
    }

    /// Whole units, rounded up (`100m` → 1), like `Quantity.Value()`.
    pub fn value(self) -> i128 {
        (self.0 + 999_999_999).div_euclid(1_000_000_000)
    }

    /// Milli-units, rounded up, like `Quantity.MilliValue()`.
    pub fn milli_value(self) -> i128 {
        (self.0 + 999_999).div_euclid(1_000_000)
    }
}

/// Serialisation formats a quantity keeps, as in Go's `resource.Format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    BinarySi,
    DecimalSi,
    DecimalExponent,
}

/// The canonical text the apiserver stores for a quantity (`0.5` → `500m`, `1024Mi` →
/// `1Gi`, `1000` → `1k`), keeping the format family the user wrote. `None` if malformed.
pub fn canonical(s: &str) -> Option<String> {
    let q = Quantity::parse(s)?;
    let t = s.trim();
    let format = if t.ends_with('i') {
        Format::BinarySi
    } else if t.contains(['e', 'E']) {
        Format::DecimalExponent
    } else {
        Format::DecimalSi
    };
    let v = q.0;
    if v == 0 {
        return Some("0".into());
    }
    const NANO: i128 = 1_000_000_000;
    if format == Format::BinarySi && v % NANO == 0 && (v / NANO).abs() >= 1024 {
        let mut n = v / NANO;
        let mut k = 0;
        while k < 6 && n % 1024 == 0 {
            n /= 1024;
            k += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k];
        return Some(format!("{n}{suffix}"));
    }
    // Largest power of 1000 that divides exactly, from nano (1e-9) up to exa (1e18).
    let mut best = (v, -3i32);
    for k in -2..=6 {
        let div = 10i128.pow(u32::try_from(3 * k + 9).ok()?);
        if v % div == 0 {
            best = (v / div, k);
        }
    }
    let (n, k) = best;
    Some(match format {
        Format::DecimalExponent if k != 0 => format!("{n}e{}", 3 * k),
        Format::DecimalExponent => n.to_string(),
        _ => {
            let suffix = match k {
                -3 => "n",
                -2 => "u",
                -1 => "m",
                0 => "",
                1 => "k",
                2 => "M",
                3 => "G",
                4 => "T",
                5 => "P",
                _ => "E",
            };
            format!("{n}{suffix}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(Quantity::parse("100m").unwrap().milli_value(), 100);
        assert_eq!(
            Quantity::parse("0.1").unwrap(),
            Quantity::parse("100m").unwrap()
        );
        assert_eq!(Quantity::parse("1Gi").unwrap().value(), 1 << 30);
        assert_eq!(Quantity::parse("1e3").unwrap().value(), 1000);
        assert_eq!(Quantity::parse("2").unwrap().milli_value(), 2000);
        assert!(Quantity::parse("abc").is_none());
        assert!(Quantity::parse("1Qi").is_none());
        assert!(Quantity::parse("").is_none());
    }

    #[test]
    fn canonical_forms_match_the_apiserver() {
        for (input, want) in [
            ("0.5", "500m"),
            ("100m", "100m"),
            ("1000m", "1"),
            ("2", "2"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("512", "512"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("1e3", "1e3"),
            ("0", "0"),
        ] {
            assert_eq!(
                canonical(input).as_deref(),
                Some(want),
                "canonical({input})"
            );
        }
    }
}
