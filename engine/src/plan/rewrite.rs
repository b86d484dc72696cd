//! Rewriting expression trees: replace sub-expressions bottom-up where a
//! callback says so (aggregate calls become references to their results,
//! GROUP BY expressions become key columns, table functions generated
//! columns).

use crate::sql::ast::Expr;

/// Rebuilds `expr`, asking `f` first at every node (top-down): where `f`
/// returns a replacement, that subtree is replaced and not descended into.
pub fn transform(expr: &Expr, f: &mut dyn FnMut(&Expr) -> Option<Expr>) -> Expr {
    if let Some(r) = f(expr) {
        return r;
    }
    let mut t = |e: &Expr| Box::new(transform(e, f));
    match expr {
        Expr::Column { .. } | Expr::Literal(_) => expr.clone(),
        Expr::Unary { op, expr } => Expr::Unary {
            op: *op,
            expr: t(expr),
        },
        Expr::Binary { op, left, right } => {
            let left = t(left);
            let right = t(right);
            Expr::Binary {
                op: *op,
                left,
                right,
            }
        }
        Expr::IsNull { expr, negated } => Expr::IsNull {
            expr: t(expr),
            negated: *negated,
        },
        Expr::IsDistinctFrom {
            left,
            right,
            negated,
        } => {
            let left = t(left);
            let right = t(right);
            Expr::IsDistinctFrom {
                left,
                right,
                negated: *negated,
            }
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => {
            let e = t(expr);
            let p = t(pattern);
            Expr::Like {
                expr: e,
                pattern: p,
                escape: escape.clone(),
                negated: *negated,
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let e = t(expr);
            let l = t(low);
            let h = t(high);
            Expr::Between {
                expr: e,
                low: l,
                high: h,
                negated: *negated,
            }
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let e = t(expr);
            let list = list.iter().map(|i| transform(i, f)).collect();
            Expr::InList {
                expr: e,
                list,
                negated: *negated,
            }
        }
        Expr::Case {
            operand,
            whens,
            else_result,
        } => {
            let operand = operand.as_ref().map(|o| Box::new(transform(o, f)));
            let whens = whens
                .iter()
                .map(|(w, r)| (transform(w, f), transform(r, f)))
                .collect();
            let else_result = else_result.as_ref().map(|e| Box::new(transform(e, f)));
            Expr::Case {
                operand,
                whens,
                else_result,
            }
        }
        Expr::Cast { expr, ty } => Expr::Cast {
            expr: t(expr),
            ty: ty.clone(),
        },
        Expr::Function {
            name,
            args,
            star,
            distinct,
        } => Expr::Function {
            name: name.clone(),
            args: args.iter().map(|a| transform(a, f)).collect(),
            star: *star,
            distinct: *distinct,
        },
        Expr::Deref { expr, field } => Expr::Deref {
            expr: t(expr),
            field: field.clone(),
        },
        Expr::Subscript { expr, index } => {
            let e = t(expr);
            let i = t(index);
            Expr::Subscript { expr: e, index: i }
        }
        Expr::Array(items) => Expr::Array(items.iter().map(|i| transform(i, f)).collect()),
        Expr::Map(entries) => Expr::Map(
            entries
                .iter()
                .map(|(k, v)| (transform(k, f), transform(v, f)))
                .collect(),
        ),
        Expr::Struct(fields) => Expr::Struct(
            fields
                .iter()
                .map(|(n, v)| (n.clone(), transform(v, f)))
                .collect(),
        ),
        Expr::Lambda { params, body } => Expr::Lambda {
            params: params.clone(),
            body: t(body),
        },
    }
}

/// True when `f` holds for some node of `expr`.
pub fn any(expr: &Expr, f: &mut dyn FnMut(&Expr) -> bool) -> bool {
    let mut found = false;
    transform(expr, &mut |e| {
        if !found && f(e) {
            found = true;
        }
        None
    });
    found
}
