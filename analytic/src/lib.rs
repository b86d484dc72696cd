//! Analytic SQL for Sluice: a SELECT beyond ksqlDB's pull-query forms
//! (joins of tables and streams, GROUP BY with ROLLUP/CUBE/GROUPING SETS,
//! HAVING, DISTINCT, ORDER BY/LIMIT/OFFSET, window functions, subqueries,
//! CTEs, UNION/INTERSECT/EXCEPT) runs on DataFusion over Arrow snapshots of
//! the streams and tables it names, with ksqlDB's identifier rules and
//! scalar functions. [`install`] plugs it into an engine; the engine knows
//! it only as [`AnalyticSql`].

mod convert;
mod dialect;
mod functions;
mod source;

use datafusion::common::DataFusionError;
use datafusion::common::TableReference;
use datafusion::config::Dialect;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::{displayable, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement;
use sluice_engine::analytic::{AnalyticSql, SnapshotReader, PARSE_ERROR};
use sluice_engine::results::{PlanNode, ResultColumn, RowSet};
use sluice_engine::types::Value;
use sluice_engine::{Engine, Error, Result};
use std::sync::Arc;
use std::time::Duration;

/// Limits every analytic query runs under.
#[derive(Debug, Clone)]
pub struct AnalyticConfig {
    /// Memory a query's operators (sorts, joins, aggregations) may hold.
    pub memory_limit: usize,
    /// How long a query may run.
    pub timeout: Duration,
    /// Threads queries run on (and partitions each query is split into).
    pub threads: usize,
}

impl Default for AnalyticConfig {
    fn default() -> Self {
        AnalyticConfig {
            memory_limit: 2 << 30,
            timeout: Duration::from_secs(300),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
        }
    }
}

/// DataFusion as the engine's [`AnalyticSql`].
#[derive(Debug)]
pub struct DataFusionSql {
    config: AnalyticConfig,
    /// Where queries run: DataFusion's operators are async tasks.
    runtime: tokio::runtime::Runtime,
}

/// Installs DataFusion, with the default limits, as `engine`'s analytic SQL.
pub fn install(engine: &Engine) -> Result<()> {
    engine.set_analytic(Arc::new(DataFusionSql::try_new(AnalyticConfig::default())?));
    Ok(())
}

impl DataFusionSql {
    pub fn try_new(config: AnalyticConfig) -> Result<DataFusionSql> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .thread_name("sluice-analytic")
            .enable_time()
            .build()?;
        Ok(DataFusionSql { config, runtime })
    }

    /// A session for one query, with ksqlDB's functions and the snapshots
    /// of the sources the statement names, and the statement parsed.
    fn prepare(
        &self,
        sql: &str,
        sources: &dyn SnapshotReader,
    ) -> Result<(SessionContext, Statement)> {
        let text = dialect::ksql_identifiers(sql)?;
        let mut options = SessionConfig::new()
            .with_target_partitions(self.config.threads.max(1))
            .with_information_schema(false);
        options.options_mut().sql_parser.enable_ident_normalization = false;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.config.memory_limit, 1.0)
            .build_arc()
            .map_err(error)?;
        let ctx = SessionContext::new_with_config_rt(options, runtime);
        functions::register(&ctx);
        let state = ctx.state();
        let statement = state
            .sql_to_statement(&text, &Dialect::Generic)
            .map_err(error)?;
        let is_query = matches!(&statement, Statement::Statement(s)
            if matches!(s.as_ref(), datafusion::sql::sqlparser::ast::Statement::Query(_)));
        if !is_query {
            return Err(Error::plan(format!("{PARSE_ERROR}: not a query")));
        }
        for reference in state.resolve_table_references(&statement).map_err(error)? {
            if reference.schema().is_some() {
                return Err(Error::plan(format!("{reference} does not exist.")));
            }
            let name = reference.table();
            let snapshot = sources
                .snapshot(name)?
                .ok_or_else(|| Error::plan(format!("{name} does not exist.")))?;
            let table = source::SnapshotTable::try_new(snapshot)?;
            ctx.register_table(TableReference::bare(name), Arc::new(table))
                .map_err(error)?;
        }
        Ok((ctx, statement))
    }

    /// Runs `work` on the query runtime, waiting for it here, within the
    /// time limit.
    fn run<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let timeout = self.config.timeout;
        let handle = self
            .runtime
            .spawn(async move { tokio::time::timeout(timeout, work).await });
        match futures_executor::block_on(handle) {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(Error::plan(format!(
                "The query ran longer than its limit of {} seconds and was stopped.",
                timeout.as_secs()
            ))),
            Err(e) => Err(Error::internal(format!("analytic query failed: {e}"))),
        }
    }
}

impl AnalyticSql for DataFusionSql {
    fn query(&self, sql: &str, sources: &dyn SnapshotReader) -> Result<RowSet> {
        let (ctx, statement) = self.prepare(sql, sources)?;
        let (columns, batches) = self.run(async move {
            let plan = ctx
                .state()
                .statement_to_plan(statement)
                .await
                .map_err(error)?;
            let columns = result_columns(&plan);
            let frame = ctx.execute_logical_plan(plan).await.map_err(error)?;
            let batches = frame.collect().await.map_err(error)?;
            Ok((columns, batches))
        })?;
        let mut rows = Vec::new();
        for batch in batches {
            let values = batch
                .columns()
                .iter()
                .map(|c| convert::from_array(c.as_ref()))
                .collect::<Result<Vec<_>>>()?;
            let mut values: Vec<std::vec::IntoIter<Value>> =
                values.into_iter().map(Vec::into_iter).collect();
            for _ in 0..batch.num_rows() {
                rows.push(
                    values
                        .iter_mut()
                        .map(|c| c.next().unwrap_or(Value::Null))
                        .collect(),
                );
            }
        }
        Ok(RowSet {
            query_id: format!(
                "transient_analytic_{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            ),
            columns,
            rows,
            over_stream: false,
            limit_reached: false,
        })
    }

    fn explain(&self, sql: &str, sources: &dyn SnapshotReader) -> Result<Vec<PlanNode>> {
        let (ctx, statement) = self.prepare(sql, sources)?;
        let physical = self.run(async move {
            let state = ctx.state();
            let plan = state.statement_to_plan(statement).await.map_err(error)?;
            state.create_physical_plan(&plan).await.map_err(error)
        })?;
        let mut nodes = Vec::new();
        describe(&physical, &mut nodes);
        Ok(nodes)
    }
}

/// Adds `plan`'s operators to `nodes`, inputs first; returns its id.
fn describe(plan: &Arc<dyn ExecutionPlan>, nodes: &mut Vec<PlanNode>) -> usize {
    let inputs = plan
        .children()
        .into_iter()
        .map(|child| describe(child, nodes))
        .collect();
    let id = nodes.len();
    nodes.push(PlanNode {
        id,
        name: plan.name().to_string(),
        description: displayable(plan.as_ref())
            .one_line()
            .to_string()
            .trim()
            .to_string(),
        inputs,
    });
    id
}

/// The result's columns as ksqlDB names them: a column or alias keeps its
/// name, any other expression (an aggregate too) is `KSQL_COL_<i>`; a name two columns share
/// (`SELECT *` over a join) is prefixed with its source's name or alias.
fn result_columns(plan: &LogicalPlan) -> Vec<ResultColumn> {
    let schema = plan.schema();
    let exprs = output_exprs(plan).filter(|e| e.len() == schema.fields().len());
    let mut names: Vec<String> = schema
        .iter()
        .enumerate()
        .map(|(i, (_, field))| match exprs.map(|e| &e[i]) {
            // A source's (or a subquery's) column, or a name given with AS.
            Some(Expr::Alias(_)) | None => field.name().clone(),
            Some(Expr::Column(c)) if c.relation.is_some() => field.name().clone(),
            // An expression, or an aggregate's result.
            Some(_) => format!("KSQL_COL_{i}"),
        })
        .collect();
    for (i, (qualifier, _)) in schema.iter().enumerate() {
        let shared = names.iter().filter(|n| **n == names[i]).count() > 1;
        if let (true, Some(q)) = (shared, qualifier) {
            names[i] = format!("{}_{}", q.table(), names[i]);
        }
    }
    schema
        .iter()
        .zip(names)
        .map(|((_, field), name)| ResultColumn {
            name,
            ty: convert::sql_type(field.data_type()),
            key: false,
        })
        .collect()
}

/// The expressions that compute a plan's output columns: its outermost
/// projection, looking through sorting, limits, DISTINCT and set
/// operations (which keep their first input's names).
fn output_exprs(plan: &LogicalPlan) -> Option<&[Expr]> {
    match plan {
        LogicalPlan::Projection(p) => Some(&p.expr),
        LogicalPlan::Sort(s) => output_exprs(&s.input),
        LogicalPlan::Limit(l) => output_exprs(&l.input),
        LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(input)) => {
            output_exprs(input)
        }
        LogicalPlan::Union(u) => u.inputs.first().and_then(|i| output_exprs(i)),
        _ => None,
    }
}

/// A DataFusion error as the engine's: parse errors are marked as such
/// (the engine then reports its own parser's, clearer for ksqlDB's
/// dialect); every other is a statement error with DataFusion's message.
fn error(e: DataFusionError) -> Error {
    match e.find_root() {
        DataFusionError::SQL(..) => Error::plan(format!("{PARSE_ERROR}: {e}")),
        root => Error::plan(root.to_string()),
    }
}
