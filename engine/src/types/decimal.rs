//! Fixed-point decimals: an unscaled 128-bit integer and a scale, enough for
//! ksqlDB's DECIMAL(38, s). Rounding is HALF_UP, as Java's BigDecimal does in
//! ksqlDB.

use std::cmp::Ordering;
use std::fmt;

/// A decimal number `unscaled * 10^-scale`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    pub unscaled: i128,
    pub scale: u8,
}

const fn pow10(n: u32) -> i128 {
    10i128.pow(n)
}

impl Decimal {
    pub fn new(unscaled: i128, scale: u8) -> Self {
        Decimal { unscaled, scale }
    }

    pub fn from_i64(v: i64) -> Self {
        Decimal::new(v as i128, 0)
    }

    /// Parses a plain or exponent decimal literal ("12.50", "-3", "1e3").
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim();
        let (mantissa, exp) = match t.find(['e', 'E']) {
            Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
            None => (t, 0),
        };
        let (neg, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int_part, frac_part) = match digits.find('.') {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part
            .chars()
            .chain(frac_part.chars())
            .all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let mut unscaled: i128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            unscaled = unscaled
                .checked_mul(10)?
                .checked_add((c as u8 - b'0') as i128)?;
        }
        let mut scale = frac_part.len() as i32 - exp;
        if scale < 0 {
            unscaled = unscaled.checked_mul(pow10((-scale) as u32))?;
            scale = 0;
        }
        if scale > 38 {
            return None;
        }
        Some(Decimal::new(
            if neg { -unscaled } else { unscaled },
            scale as u8,
        ))
    }

    /// The number of significant digits (at least 1).
    pub fn precision(&self) -> u8 {
        let mut n = self.unscaled.unsigned_abs();
        let mut digits = 1u8;
        while n >= 10 {
            n /= 10;
            digits += 1;
        }
        digits.max(self.scale)
    }

    /// The same number at another scale, rounding HALF_UP when digits are
    /// dropped. None on overflow.
    pub fn rescale(&self, scale: u8) -> Option<Decimal> {
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(*self),
            Ordering::Greater => {
                let f = pow10((scale - self.scale) as u32);
                Some(Decimal::new(self.unscaled.checked_mul(f)?, scale))
            }
            Ordering::Less => {
                let f = pow10((self.scale - scale) as u32);
                Some(Decimal::new(div_half_up(self.unscaled, f), scale))
            }
        }
    }

    /// Fits this value into DECIMAL(precision, scale), or None when the
    /// integer part has too many digits.
    pub fn fit(&self, precision: u8, scale: u8) -> Option<Decimal> {
        let d = self.rescale(scale)?;
        if d.unscaled.unsigned_abs() >= pow10(precision as u32) as u128 {
            return None;
        }
        Some(d)
    }

    pub fn to_f64(&self) -> f64 {
        // Format-and-parse keeps the nearest double, unlike dividing by 10^s.
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    pub fn from_f64(v: f64) -> Option<Decimal> {
        if !v.is_finite() {
            return None;
        }
        Decimal::parse(&format!("{v}"))
    }

    /// The integral part, truncated toward zero.
    pub fn trunc_i128(&self) -> i128 {
        self.unscaled / pow10(self.scale as u32)
    }

    pub fn add(&self, other: &Decimal) -> Option<Decimal> {
        let s = self.scale.max(other.scale);
        let a = self.rescale(s)?;
        let b = other.rescale(s)?;
        Some(Decimal::new(a.unscaled.checked_add(b.unscaled)?, s))
    }

    pub fn sub(&self, other: &Decimal) -> Option<Decimal> {
        self.add(&other.neg())
    }

    pub fn neg(&self) -> Decimal {
        Decimal::new(-self.unscaled, self.scale)
    }

    pub fn mul(&self, other: &Decimal) -> Option<Decimal> {
        Some(Decimal::new(
            self.unscaled.checked_mul(other.unscaled)?,
            self.scale.checked_add(other.scale)?,
        ))
    }

    /// Division to `scale` digits after the point, HALF_UP. None when
    /// dividing by zero or on overflow.
    pub fn div(&self, other: &Decimal, scale: u8) -> Option<Decimal> {
        if other.unscaled == 0 {
            return None;
        }
        // self/other = (a * 10^-sa) / (b * 10^-sb); want result * 10^scale.
        let shift = scale as i32 + other.scale as i32 - self.scale as i32;
        let (num, den) = if shift >= 0 {
            (
                self.unscaled.checked_mul(pow10(shift as u32))?,
                other.unscaled,
            )
        } else {
            (
                self.unscaled,
                other.unscaled.checked_mul(pow10((-shift) as u32))?,
            )
        };
        Some(Decimal::new(div_half_up(num, den), scale))
    }

    /// Remainder with the sign of the dividend, like Java's BigDecimal.
    pub fn rem(&self, other: &Decimal) -> Option<Decimal> {
        if other.unscaled == 0 {
            return None;
        }
        let s = self.scale.max(other.scale);
        let a = self.rescale(s)?;
        let b = other.rescale(s)?;
        Some(Decimal::new(a.unscaled % b.unscaled, s))
    }
}

/// Integer division rounding half away from zero.
fn div_half_up(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    if r == 0 {
        return q;
    }
    let twice = r.unsigned_abs() * 2;
    if twice >= den.unsigned_abs() {
        if (num < 0) != (den < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Decimal {}
impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let s = self.scale.max(other.scale);
        match (self.rescale(s), other.rescale(s)) {
            (Some(a), Some(b)) => a.unscaled.cmp(&b.unscaled),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written in pieces, without allocating: sign, integer part, point,
        // leading zeros of the fraction, digits.
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(self.unscaled.unsigned_abs());
        let scale = self.scale as usize;
        if self.unscaled < 0 {
            f.write_str("-")?;
        }
        if scale == 0 {
            f.write_str(digits)
        } else if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            f.write_str(int)?;
            f.write_str(".")?;
            f.write_str(frac)
        } else {
            f.write_str("0.")?;
            for _ in 0..scale - digits.len() {
                f.write_str("0")?;
            }
            f.write_str(digits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_print_and_round() {
        let d = Decimal::parse("12.345").unwrap();
        assert_eq!(d.to_string(), "12.345");
        assert_eq!(d.rescale(2).unwrap().to_string(), "12.35");
        assert_eq!(
            Decimal::parse("-0.05")
                .unwrap()
                .rescale(1)
                .unwrap()
                .to_string(),
            "-0.1"
        );
        assert_eq!(Decimal::parse("1e2").unwrap().to_string(), "100");
        let a = Decimal::parse("10").unwrap();
        let b = Decimal::parse("3").unwrap();
        assert_eq!(a.div(&b, 4).unwrap().to_string(), "3.3333");
        assert!(a.fit(1, 0).is_none());
    }
}
