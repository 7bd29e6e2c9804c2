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
}
