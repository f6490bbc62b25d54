//! Arithmetic. The integer functions convert every argument with `cast.ToInt64` and return
//! `int64` (wrapping on overflow, as Go does); the `...f` functions compute in exact decimal
//! (shopspring/decimal) and return `float64`; `until`, `untilStep` give `[]int`.

use rand::Rng;

use crate::func::{FuncError, FuncMap, Param};
use crate::value::{ListType, MAX_VALUE_BYTES, Value};

use super::conversion::{to_float64, to_int64};
use super::sig::{ANY, INT, fixed, variadic};
use super::{arg, fail, int_arg};

pub(super) fn register(map: &mut FuncMap) {
    map.add("add1", fixed(&[ANY]), |a| Ok(Value::Int64(to_int64(arg(a, 0)).wrapping_add(1))));
    map.add("add", variadic(&[], ANY), |a| {
        Ok(Value::Int64(a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v)))))
    });
    map.add("sub", fixed(&[ANY, ANY]), |a| Ok(Value::Int64(to_int64(arg(a, 0)).wrapping_sub(to_int64(arg(a, 1))))));
    map.add("div", fixed(&[ANY, ANY]), |a| {
        let divisor = nonzero(to_int64(arg(a, 1)))?;
        Ok(Value::Int64(to_int64(arg(a, 0)).wrapping_div(divisor)))
    });
    map.add("mod", fixed(&[ANY, ANY]), |a| {
        let divisor = nonzero(to_int64(arg(a, 1)))?;
        Ok(Value::Int64(to_int64(arg(a, 0)).wrapping_rem(divisor)))
    });
    map.add("mul", variadic(&[ANY], ANY), |a| {
        Ok(Value::Int64(a.iter().skip(1).fold(to_int64(arg(a, 0)), |acc, v| acc.wrapping_mul(to_int64(v)))))
    });
    map.add("randInt", fixed(&[INT, INT]), |a| {
        let (min, max) = (int_arg(a, 0), int_arg(a, 1));
        let span = max.wrapping_sub(min);
        if span <= 0 {
            return Err(fail("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::rng().random_range(0..span).wrapping_add(min)))
    });
    for name in ["max", "biggest"] {
        map.add(name, variadic(&[ANY], ANY), |a| Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0))));
    }
    map.add("min", variadic(&[ANY], ANY), |a| Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0))));
    map.add("maxf", variadic(&[ANY], ANY), |a| {
        Ok(Value::Float(a.iter().skip(1).fold(to_float64(arg(a, 0)), |acc, v| go_max(acc, to_float64(v)))))
    });
    map.add("minf", variadic(&[ANY], ANY), |a| {
        Ok(Value::Float(a.iter().skip(1).fold(to_float64(arg(a, 0)), |acc, v| go_min(acc, to_float64(v)))))
    });
    map.add("floor", fixed(&[ANY]), |a| Ok(Value::Float(to_float64(arg(a, 0)).floor())));
    map.add("ceil", fixed(&[ANY]), |a| Ok(Value::Float(to_float64(arg(a, 0)).ceil())));
    map.add("round", variadic(&[ANY, INT], Param::Float64), |a| {
        let round_on = match a.get(2) {
            Some(Value::Float(f)) => *f,
            Some(other) => to_float64(other),
            None => 0.5,
        };
        Ok(Value::Float(round(to_float64(arg(a, 0)), int_arg(a, 1), round_on)))
    });
    map.add("add1f", fixed(&[ANY]), |a| Ok(Value::Float(decimal_op(arg(a, 0), &[Value::Int(1)], Op::Add)?)));
    map.add("addf", variadic(&[], ANY), |a| Ok(Value::Float(decimal_op(&Value::Float(0.0), a, Op::Add)?)));
    for (name, op) in [("subf", Op::Sub), ("mulf", Op::Mul), ("divf", Op::Div)] {
        map.add(name, variadic(&[ANY], ANY), move |a| {
            Ok(Value::Float(decimal_op(arg(a, 0), &a[1.min(a.len())..], op)?))
        });
    }
    map.add("until", fixed(&[INT]), |a| {
        let count = int_arg(a, 0);
        Ok(int_list(until_step(0, count, if count < 0 { -1 } else { 1 })?))
    });
    map.add("untilStep", fixed(&[INT, INT, INT]), |a| {
        Ok(int_list(until_step(int_arg(a, 0), int_arg(a, 1), int_arg(a, 2))?))
    });
    map.add("seq", variadic(&[], INT), |a| {
        let p: Vec<i64> = a.iter().map(|v| super::int_arg(std::slice::from_ref(v), 0)).collect();
        let numbers = match p.as_slice() {
            [end] => {
                let inc = if *end < 1 { -1 } else { 1 };
                // Go's integers wrap.
                until_step(1, end.wrapping_add(inc), inc)?
            }
            [start, end] => {
                let step = if end < start { -1 } else { 1 };
                until_step(*start, end.wrapping_add(step), step)?
            }
            [start, step, end] => {
                let mut inc = 1;
                if end < start {
                    inc = -1;
                    if *step > 0 {
                        return Ok(Value::from(""));
                    }
                }
                until_step(*start, end.wrapping_add(inc), *step)?
            }
            _ => Vec::new(),
        };
        let text: Vec<String> = numbers.iter().map(i64::to_string).collect();
        Ok(Value::from(text.join(" ")))
    });
}

fn nonzero(n: i64) -> Result<i64, FuncError> {
    if n == 0 { Err(fail("runtime error: integer divide by zero")) } else { Ok(n) }
}

/// Go's `math.Max`: NaN wins, +0 beats -0.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { b } else { a }
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() { a } else { b }
    } else {
        a.min(b)
    }
}

/// The longest list `until`, `untilStep` and `seq` may build (see [`MAX_VALUE_BYTES`]).
const MAX_LIST: usize = MAX_VALUE_BYTES / std::mem::size_of::<Value>();

/// Sprig's `untilStep`. A list longer than [`MAX_LIST`] is an error; a step past the end of
/// `i64` ends the list (Go's would wrap around and never end).
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let down = stop < start;
    if (down && step >= 0) || (!down && step <= 0) {
        return Ok(Vec::new());
    }
    let (span, stride) = (i128::from(stop) - i128::from(start), i128::from(step));
    let len = (span + stride - stride.signum()) / stride;
    if len > MAX_LIST as i128 {
        return Err(fail(format!("a list of {len} numbers exceeds the limit of {MAX_LIST}")));
    }
    let mut out = Vec::with_capacity(len.max(0) as usize);
    let mut i = start;
    while if down { i > stop } else { i < stop } {
        out.push(i);
        let Some(next) = i.checked_add(step) else { break };
        i = next;
    }
    Ok(out)
}

fn int_list(items: Vec<i64>) -> Value {
    Value::List(items.into_iter().map(Value::Int).collect(), ListType::Int)
}

/// Sprig's `round`: `round_on` decides where a fraction rounds up.
fn round(value: f64, places: i64, round_on: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let pow = 10f64.powf(places as f64);
    let digit = pow * value;
    let frac = digit - digit.trunc();
    let rounded = if frac >= round_on { digit.ceil() } else { digit.floor() };
    rounded / pow
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal number `mantissa × 10^exp`.
#[derive(Debug, Clone, Copy)]
struct Decimal {
    mantissa: i128,
    exp: i32,
}

impl Decimal {
    /// shopspring's `NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let (int_part, frac) = m.split_once('.').unwrap_or((m, ""));
        let mantissa: i128 = format!("{int_part}{frac}").parse().ok()?;
        Some(Decimal { mantissa, exp: e - frac.len() as i32 })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mantissa, self.exp).parse().unwrap_or(f64::NAN)
    }

    /// Both numbers with the smaller exponent, if that fits.
    fn align(a: Decimal, b: Decimal) -> Option<(i128, i128, i32)> {
        let exp = a.exp.min(b.exp);
        let scale = |d: Decimal| -> Option<i128> {
            let shift = u32::try_from(d.exp - exp).ok()?;
            d.mantissa.checked_mul(10i128.checked_pow(shift)?)
        };
        Some((scale(a)?, scale(b)?, exp))
    }

    fn apply(self, other: Decimal, op: Op) -> Result<Option<Decimal>, FuncError> {
        Ok(match op {
            Op::Add | Op::Sub => Decimal::align(self, other).and_then(|(a, b, exp)| {
                let m = if matches!(op, Op::Add) { a.checked_add(b) } else { a.checked_sub(b) };
                m.map(|mantissa| Decimal { mantissa, exp })
            }),
            Op::Mul => self
                .mantissa
                .checked_mul(other.mantissa)
                .map(|mantissa| Decimal { mantissa, exp: self.exp + other.exp }),
            Op::Div => {
                if other.mantissa == 0 {
                    return Err(fail("decimal division by 0"));
                }
                // shopspring's Div: the quotient rounded (half away from zero) to 16 places.
                let shift = self.exp - other.exp + 16;
                let (num, den) = if shift >= 0 {
                    let p = 10i128.checked_pow(shift as u32);
                    (p.and_then(|p| self.mantissa.checked_mul(p)), Some(other.mantissa))
                } else {
                    let p = 10i128.checked_pow((-shift) as u32);
                    (Some(self.mantissa), p.and_then(|p| other.mantissa.checked_mul(p)))
                };
                match (num, den) {
                    (Some(num), Some(den)) => {
                        let (q, r) = (num / den, num % den);
                        let away = r.unsigned_abs() * 2 >= den.unsigned_abs();
                        let q = if away { q + num.signum() * den.signum() } else { q };
                        Some(Decimal { mantissa: q, exp: -16 })
                    }
                    _ => None,
                }
            }
        })
    }
}

/// Sprig's `execDecimalOp`: `a op b[0] op b[1] ...` in decimal, as a float64.
fn decimal_op(a: &Value, rest: &[Value], op: Op) -> Result<f64, FuncError> {
    let mut float = to_float64(a);
    let mut exact = Decimal::from_f64(float);
    for v in rest {
        let x = to_float64(v);
        if matches!(op, Op::Div) && x == 0.0 {
            return Err(fail("decimal division by 0"));
        }
        exact = match (exact, Decimal::from_f64(x)) {
            (Some(d), Some(e)) => d.apply(e, op)?,
            _ => None,
        };
        float = match op {
            Op::Add => float + x,
            Op::Sub => float - x,
            Op::Mul => float * x,
            Op::Div => float / x,
        };
        if let Some(d) = exact {
            float = d.to_f64();
        }
    }
    Ok(exact.map_or(float, Decimal::to_f64))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    /// Checked against `helm template` (Helm 4.2.3).
    #[test]
    fn arithmetic_matches_sprig() {
        assert_eq!(show("divf", &[i(1), i(3)]), "0.3333333333333333");
        assert_eq!(show("divf", &[i(2), i(3)]), "0.6666666666666667");
        assert_eq!(show("addf", &[f(0.1), f(0.2)]), "0.3");
        assert_eq!(show("mulf", &[f(1.1), i(3)]), "3.3");
        assert_eq!(show("subf", &[i(1), f(0.9)]), "0.1");
        assert_eq!(show("round", &[f(2.675), i(2)]), "2.68");
        assert_eq!(show("round", &[f(-1.5), i(0)]), "-2");
        assert_eq!(show("divf", &[i(10), i(4)]), "2.5");
        assert_eq!(show("addf", &[]), "0");
        assert_eq!(show("add1f", &[s("x")]), "1");
        assert_eq!(show("div", &[i(7), i(-2)]), "-3");
        assert_eq!(show("mod", &[i(-7), i(2)]), "-1");
        assert_eq!(show("max", &[i(1), f(5.5), s("3")]), "5");
        assert_eq!(show("divf", &[f(1e300), f(1e-300)]), "+Inf");
        assert_eq!(show("mulf", &[f(1e200), f(1e200)]), "+Inf");
        assert_eq!(show("addf", &[f(1e20), f(1e-20)]), "1e+20");
        assert_eq!(show("divf", &[i(1), i(0)]), "ERR: decimal division by 0");
        assert_eq!(show("div", &[i(1), i(0)]), "ERR: runtime error: integer divide by zero");
        assert_eq!(call("add", &[]).map(|v| v.type_name()), Ok("int64".into()));
    }

    #[test]
    fn sequences_match_sprig() {
        assert_eq!(show("until", &[i(3)]), "[0 1 2]");
        assert_eq!(show("until", &[i(-2)]), "[0 -1]");
        assert_eq!(show("untilStep", &[i(0), i(10), i(3)]), "[0 3 6 9]");
        assert_eq!(show("seq", &[i(3)]), "1 2 3");
        assert_eq!(show("seq", &[i(5), i(3)]), "5 4 3");
        assert_eq!(show("seq", &[i(0), i(2), i(6)]), "0 2 4 6");
        assert_eq!(show("seq", &[]), "");
    }
}
