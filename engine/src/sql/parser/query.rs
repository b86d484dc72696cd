//! Queries: `SELECT` items, `FROM` with its joins (`WITHIN`, `GRACE PERIOD`),
//! `WINDOW`, `WHERE`, `GROUP BY`/`PARTITION BY`/`HAVING`, `EMIT`, `ORDER BY`
//! and `LIMIT`.

use super::Parser;
use crate::error::Result;
use crate::sql::ast::*;
use crate::sql::lexer::{parse_error, Token, TokenKind};

/// Words that may not start an implicit alias (`FROM t x`): they start the
/// clauses that can follow a relation.
const CLAUSE_WORDS: &[&str] = &[
    "WINDOW",
    "WHERE",
    "GROUP",
    "PARTITION",
    "HAVING",
    "EMIT",
    "ORDER",
    "LIMIT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "WITHIN",
    "ON",
    "FROM",
    "AS",
];

impl Parser {
    pub(super) fn query(&mut self) -> Result<Query> {
        self.expect_keyword("SELECT")?;
        let mut select = Vec::new();
        loop {
            select.push(self.select_item()?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        if !self.eat_keyword("FROM") {
            return self.error_here("',' or FROM");
        }
        let from = self.relation()?;
        let mut joins = Vec::new();
        while let Some(kind) = self.join_kind()? {
            joins.push(self.join(kind)?);
        }
        let mut q = Query {
            select,
            from,
            joins,
            window: None,
            where_clause: None,
            group_by: Vec::new(),
            partition_by: Vec::new(),
            having: None,
            emit: None,
            order_by: Vec::new(),
            limit: None,
        };
        if self.eat_keyword("WINDOW") {
            q.window = Some(self.window()?);
        }
        if self.eat_keyword("WHERE") {
            q.where_clause = Some(self.expr()?);
        }
        // GROUP BY, PARTITION BY and HAVING, each at most once, in any order.
        let (mut seen_group, mut seen_partition) = (false, false);
        loop {
            if !seen_group && self.at_keyword("GROUP") {
                self.i += 1;
                self.expect_keyword("BY")?;
                q.group_by = self.grouping_list()?;
                seen_group = true;
            } else if !seen_partition && self.at_keyword("PARTITION") {
                self.i += 1;
                self.expect_keyword("BY")?;
                q.partition_by = self.grouping_list()?;
                seen_partition = true;
            } else if q.having.is_none() && self.eat_keyword("HAVING") {
                q.having = Some(self.expr()?);
            } else {
                break;
            }
        }
        if self.eat_keyword("EMIT") {
            q.emit = Some(if self.eat_keyword("CHANGES") {
                Emit::Changes
            } else if self.eat_keyword("FINAL") {
                Emit::Final
            } else {
                return self.error_here("CHANGES or FINAL after EMIT");
            });
        }
        if self.at_keyword("ORDER") {
            self.i += 1;
            self.expect_keyword("BY")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                q.order_by.push((e, desc));
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        if self.eat_keyword("LIMIT") {
            q.limit = Some(self.unsigned("a row count after LIMIT")?);
        }
        if !self.at_end() && !self.at_symbol(";") {
            return self.error_here(&self.query_follow_set(&q));
        }
        Ok(q)
    }

    /// The clauses that could still follow, for an error message.
    fn query_follow_set(&self, q: &Query) -> String {
        let open = q.limit.is_none();
        let before_emit = open && q.emit.is_none();
        let before_grouping =
            before_emit && q.group_by.is_empty() && q.partition_by.is_empty() && q.having.is_none();
        let before_where = before_grouping && q.where_clause.is_none();
        let before_window = before_where && q.window.is_none();
        let opts = [
            (
                before_window && q.joins.is_empty() && q.from.alias.is_none(),
                "an alias",
            ),
            (before_window, "JOIN"),
            (before_window, "WINDOW"),
            (before_where, "WHERE"),
            (before_emit && q.group_by.is_empty(), "GROUP BY"),
            (before_emit && q.partition_by.is_empty(), "PARTITION BY"),
            (before_emit && q.having.is_none(), "HAVING"),
            (before_emit, "EMIT"),
            (open && q.order_by.is_empty(), "ORDER BY"),
            (open, "LIMIT"),
            (true, "';'"),
        ];
        let names: Vec<&str> = opts.iter().filter(|(ok, _)| *ok).map(|(_, n)| *n).collect();
        format!("one of {}", names.join(", "))
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        if self.eat_symbol("*") {
            return Ok(SelectItem::Star(None));
        }
        if self.peek_ident().is_some()
            && self.peek_at(1).is_symbol(".")
            && self.peek_at(2).is_symbol("*")
        {
            let q = self.ident("a source name")?;
            self.i += 2;
            return Ok(SelectItem::Star(Some(q)));
        }
        let start = self.peek().pos;
        let expr = self.expr()?;
        if self.at_symbol("->") && self.peek_at(1).is_symbol("*") {
            // `struct->*`: all fields of a struct. The AST has no node for
            // it: it is a Deref of the field named `*`.
            if !matches!(
                expr,
                Expr::Column { .. }
                    | Expr::Deref { .. }
                    | Expr::Subscript { .. }
                    | Expr::Function { .. }
            ) {
                return Err(parse_error(
                    start,
                    "'->*' applies to a column, field, element or function result",
                ));
            }
            self.i += 2;
            return Ok(SelectItem::Expr {
                expr: Expr::Deref {
                    expr: Box::new(expr),
                    field: "*".to_string(),
                },
                alias: None,
            });
        }
        let alias = if self.eat_keyword("AS") {
            Some(self.ident("an alias after AS")?)
        } else {
            let alias = self.peek_ident();
            if alias.is_some() {
                self.i += 1;
            }
            alias
        };
        Ok(SelectItem::Expr { expr, alias })
    }

    fn relation(&mut self) -> Result<Relation> {
        let name = self.ident("a stream or table name")?;
        let alias = if self.eat_keyword("AS") {
            Some(self.ident("an alias after AS")?)
        } else {
            match self.peek_ident() {
                Some(a) if !is_clause_word(self.peek()) => {
                    self.i += 1;
                    Some(a)
                }
                _ => None,
            }
        };
        Ok(Relation { name, alias })
    }

    fn join_kind(&mut self) -> Result<Option<JoinKind>> {
        let kind = if self.eat_keyword("JOIN") {
            return Ok(Some(JoinKind::Inner));
        } else if self.eat_keyword("INNER") {
            JoinKind::Inner
        } else if self.eat_keyword("LEFT") {
            self.eat_keyword("OUTER");
            JoinKind::Left
        } else if self.eat_keyword("RIGHT") {
            self.eat_keyword("OUTER");
            JoinKind::Right
        } else if self.eat_keyword("FULL") {
            self.eat_keyword("OUTER");
            JoinKind::Full
        } else {
            return Ok(None);
        };
        self.expect_keyword("JOIN")?;
        Ok(Some(kind))
    }

    fn join(&mut self, kind: JoinKind) -> Result<Join> {
        let right = self.relation()?;
        let within = if self.eat_keyword("WITHIN") {
            let (before, after, asymmetric) = if self.eat_symbol("(") {
                let b = self.duration("a time span")?;
                self.expect_symbol(",")?;
                let a = self.duration("a time span")?;
                self.expect_symbol(")")?;
                (b, a, true)
            } else {
                let d = self.duration("a time span")?;
                (d, d, false)
            };
            let grace = if self.eat_keyword("GRACE") {
                self.expect_keyword("PERIOD")?;
                Some(self.duration("a grace period")?)
            } else {
                None
            };
            Some(Within {
                before,
                after,
                asymmetric,
                grace,
            })
        } else {
            None
        };
        if !self.eat_keyword("ON") {
            return if within.is_none() {
                self.error_here("WITHIN or ON")
            } else {
                self.error_here("ON")
            };
        }
        let on = self.expr()?;
        Ok(Join {
            kind,
            right,
            within,
            on,
        })
    }

    fn window(&mut self) -> Result<WindowSpec> {
        // ksqlDB accepts (and ignores) a name before the window kind.
        let kinds = ["TUMBLING", "HOPPING", "SESSION"];
        if !kinds.iter().any(|k| self.at_keyword(k))
            && self.peek_ident().is_some()
            && kinds.iter().any(|k| self.peek_at(1).is_keyword(k))
        {
            self.i += 1;
        }
        let kind = if self.eat_keyword("TUMBLING") {
            0
        } else if self.eat_keyword("HOPPING") {
            1
        } else if self.eat_keyword("SESSION") {
            2
        } else {
            return self.error_here("one of TUMBLING, HOPPING, SESSION after WINDOW");
        };
        self.expect_symbol("(")?;
        let size = if kind == 2 {
            self.duration("a session gap")?
        } else {
            self.expect_keyword("SIZE")?;
            self.duration("a window size")?
        };
        let mut advance = None;
        if kind == 1 {
            self.expect_symbol(",")?;
            self.expect_keyword("ADVANCE")?;
            self.expect_keyword("BY")?;
            advance = Some(self.duration("a window advance")?);
        }
        let mut retention = None;
        let mut grace = None;
        while self.eat_symbol(",") {
            if retention.is_none() && self.eat_keyword("RETENTION") {
                retention = Some(self.duration("a retention")?);
            } else if grace.is_none() && self.eat_keyword("GRACE") {
                self.expect_keyword("PERIOD")?;
                grace = Some(self.duration("a grace period")?);
            } else {
                return self.error_here("RETENTION or GRACE PERIOD");
            }
        }
        self.expect_symbol(")")?;
        Ok(match (kind, advance) {
            (0, _) => WindowSpec::Tumbling {
                size,
                retention,
                grace,
            },
            (1, Some(advance)) => WindowSpec::Hopping {
                size,
                advance,
                retention,
                grace,
            },
            _ => WindowSpec::Session {
                gap: size,
                retention,
                grace,
            },
        })
    }

    /// GROUP BY / PARTITION BY items: value expressions (no boolean
    /// operators), either listed plainly or all in one pair of parentheses.
    fn grouping_list(&mut self) -> Result<Vec<Expr>> {
        if self.at_symbol("(") {
            let save = self.i;
            if let Ok(list) = self.paren_grouping() {
                if self.at_grouping_end() {
                    return Ok(list);
                }
            }
            self.i = save;
        }
        let mut out = Vec::new();
        loop {
            out.push(self.value_expr()?);
            if !self.eat_symbol(",") {
                return Ok(out);
            }
        }
    }

    fn paren_grouping(&mut self) -> Result<Vec<Expr>> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        if self.eat_symbol(")") {
            return Ok(out);
        }
        loop {
            out.push(self.value_expr()?);
            if !self.list_continues(")")? {
                return Ok(out);
            }
        }
    }

    fn at_grouping_end(&self) -> bool {
        let t = self.peek();
        matches!(t.kind, TokenKind::Eof)
            || t.is_symbol(";")
            || ["GROUP", "PARTITION", "HAVING", "EMIT", "LIMIT"]
                .iter()
                .any(|k| t.is_keyword(k))
    }
}

fn is_clause_word(t: &Token) -> bool {
    CLAUSE_WORDS.iter().any(|w| t.is_keyword(w))
}
