//! ksqlDB's typing rules for expressions: the result types of arithmetic
//! (DECIMAL precision and scale included), the common type of several
//! branches, and widening a compiled expression to a type.

use super::{ArithOp, Compiled, Node};
use crate::types::SqlType;

/// The DECIMAL type of an arithmetic result, by ksqlDB's (SQL Server's)
/// precision and scale rules.
fn decimal_result(op: ArithOp, (p1, s1): (u8, u8), (p2, s2): (u8, u8)) -> SqlType {
    let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
    let (p, s) = match op {
        ArithOp::Add | ArithOp::Sub => {
            let s = s1.max(s2);
            ((p1 - s1).max(p2 - s2) + s + 1, s)
        }
        ArithOp::Mul => (p1 + p2 + 1, s1 + s2),
        ArithOp::Div => {
            let s = 6.max(s1 + p2 + 1);
            (p1 - s1 + s2 + s, s)
        }
        ArithOp::Mod => {
            let s = s1.max(s2);
            ((p1 - s1).min(p2 - s2) + s, s)
        }
        ArithOp::Concat => (38, 0),
    };
    SqlType::Decimal(p.clamp(1, 38) as u8, s.clamp(0, 38) as u8)
}

/// The result type of numeric arithmetic on two operand types.
pub(super) fn numeric_result(op: ArithOp, a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType::*;
    Some(match (a, b) {
        // ksqlDB rejects arithmetic on an untyped NULL.
        (Null, _) | (_, Null) => return None,
        (Int, Int) => Int,
        (Int | BigInt, Int | BigInt) => BigInt,
        (Double, t) | (t, Double) if t.is_numeric() => Double,
        (Decimal(..), _) | (_, Decimal(..)) if a.is_numeric() && b.is_numeric() => {
            let da = a.as_decimal()?;
            let db = b.as_decimal()?;
            match (da, db) {
                (Decimal(p1, s1), Decimal(p2, s2)) => decimal_result(op, (p1, s1), (p2, s2)),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The common type of several branches (CASE, COALESCE, array elements).
pub fn common_type(types: &[SqlType]) -> Option<SqlType> {
    let mut acc = SqlType::Null;
    for t in types {
        acc = match (&acc, t) {
            (SqlType::Null, t) => t.clone(),
            (a, SqlType::Null) => a.clone(),
            (a, b) if a == b => a.clone(),
            (a, b) if a.is_numeric() && b.is_numeric() => {
                numeric_result(ArithOp::Add, a, b).map(|t| match (a, b, t) {
                    (SqlType::Decimal(p1, s1), SqlType::Decimal(p2, s2), SqlType::Decimal(..)) => {
                        let s = (*s1).max(*s2);
                        SqlType::Decimal(((*p1 - *s1).max(*p2 - *s2) + s).min(38), s)
                    }
                    (_, _, t) => t,
                })?
            }
            (SqlType::Array(a), SqlType::Array(b)) => {
                SqlType::Array(Box::new(common_type(&[(**a).clone(), (**b).clone()])?))
            }
            (SqlType::Map(ka, va), SqlType::Map(kb, vb)) => SqlType::Map(
                Box::new(common_type(&[(**ka).clone(), (**kb).clone()])?),
                Box::new(common_type(&[(**va).clone(), (**vb).clone()])?),
            ),
            _ => return None,
        };
    }
    Some(acc)
}

/// Wraps an expression so its values have type `ty` (numeric widening).
pub fn coerce_to(c: Compiled, ty: &SqlType) -> Compiled {
    if &c.ty == ty || c.ty == SqlType::Null && matches!(c.node, Node::Literal(_)) {
        return Compiled {
            ty: ty.clone(),
            ..c
        };
    }
    if c.ty.is_numeric() && ty.is_numeric() {
        return Compiled::new(ty.clone(), Node::Cast(Box::new(c)));
    }
    match (&c.ty, ty) {
        (SqlType::Array(_), SqlType::Array(_)) | (SqlType::Map(..), SqlType::Map(..)) => {
            Compiled::new(ty.clone(), Node::Cast(Box::new(c)))
        }
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_result_types() {
        assert_eq!(
            numeric_result(
                ArithOp::Add,
                &SqlType::Decimal(4, 2),
                &SqlType::Decimal(4, 2)
            ),
            Some(SqlType::Decimal(5, 2))
        );
        assert_eq!(
            numeric_result(ArithOp::Add, &SqlType::Int, &SqlType::BigInt),
            Some(SqlType::BigInt)
        );
    }
}
