//! Table functions (EXPLODE, CUBE_EXPLODE) in the SELECT list: each call is
//! replaced by a generated column (`$TF0`, `$TF1`, ...) that one flat-map
//! step appends to the row, one output row per generated element.

use super::state::Planning;
use crate::error::{Error, Result};
use crate::expr::{Compiled, ScopeColumn};
use crate::operators::{FlatMapOperator, TableFunction};
use crate::sql::ast::{Expr, SelectItem};
use crate::types::SqlType;

/// Replaces table-function calls in `expr` with references to the column
/// `f(name, args)` returns (None leaves the call as it is).
fn rewrite_table_functions(
    expr: &Expr,
    f: &mut dyn FnMut(&str, &[Expr]) -> Option<String>,
) -> Expr {
    super::rewrite::transform(expr, &mut |e| match e {
        Expr::Function { name, args, .. }
            if crate::functions::table_function_names()
                .contains(&name.to_ascii_uppercase().as_str()) =>
        {
            f(&name.to_ascii_uppercase(), args).map(|col| Expr::Column {
                qualifier: None,
                name: col,
            })
        }
        _ => None,
    })
}

/// Rewrites the SELECT items' table-function calls and adds the flat-map
/// step that generates their columns.
pub fn plan_table_functions(p: &mut Planning<'_>) -> Result<()> {
    let scope = &p.scope;
    let mut table_functions = Vec::new();
    for item in p.select.iter_mut() {
        if let SelectItem::Expr { expr, .. } = item {
            let mut tf_err = None;
            *expr = rewrite_table_functions(expr, &mut |name: &str, args: &[Expr]| {
                let r = (|| {
                    if args.len() != 1 {
                        return Err(Error::plan(format!(
                            "Function '{name}' does not accept parameters ({})",
                            args.iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    let arg = Compiled::compile(&args[0], scope)?;
                    let elem = match &arg.ty {
                        SqlType::Array(t) => (**t).clone(),
                        other => {
                            return Err(Error::plan(format!(
                                "Function '{name}' does not accept parameters ({other})."
                            )))
                        }
                    };
                    let (f, ty) = if name == "EXPLODE" {
                        (TableFunction::Explode(arg), elem)
                    } else {
                        let ty = SqlType::Array(Box::new(elem));
                        (TableFunction::CubeExplode(arg), ty)
                    };
                    let col = format!("$TF{}", table_functions.len());
                    table_functions.push((f, col.clone(), ty));
                    Ok(col)
                })();
                match r {
                    Ok(col) => Some(col),
                    Err(e) => {
                        tf_err.get_or_insert(e);
                        None
                    }
                }
            });
            if let Some(e) = tf_err {
                return Err(e);
            }
        }
    }
    if !table_functions.is_empty() {
        let mut fns = Vec::new();
        for (f, col, ty) in table_functions {
            p.scope.columns.push(ScopeColumn {
                qualifier: None,
                name: col,
                ty,
            });
            fns.push(f);
        }
        p.operators.push(Box::new(FlatMapOperator::new(fns)));
    }
    Ok(())
}
