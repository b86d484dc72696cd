//! A stream's or table's snapshot as a DataFusion table: the rows the
//! engine read when the query started, turned into Arrow record batches
//! column by column, only the columns the query reads (projection pushed
//! down), in batches of the session's batch size.

use crate::convert::{arrow_type, to_array};
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{project_schema, DataFusionError, Result as DfResult};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use sluice_engine::analytic::SourceSnapshot;
use sluice_engine::types::{SqlType, Value};
use std::sync::Arc;

/// A snapshot of one stream or table.
#[derive(Debug)]
pub struct SnapshotTable {
    schema: SchemaRef,
    types: Vec<SqlType>,
    rows: Vec<Vec<Value>>,
}

impl SnapshotTable {
    pub fn try_new(snapshot: SourceSnapshot) -> sluice_engine::Result<SnapshotTable> {
        let fields = snapshot
            .columns
            .iter()
            .map(|c| Ok(Field::new(&c.name, arrow_type(&c.ty)?, true)))
            .collect::<sluice_engine::Result<Vec<_>>>()?;
        Ok(SnapshotTable {
            schema: Arc::new(Schema::new(fields)),
            types: snapshot.columns.into_iter().map(|c| c.ty).collect(),
            rows: snapshot.rows,
        })
    }

    /// The columns `projection` picks (all without one), as Arrow arrays
    /// of rows `from..to`.
    fn batch(
        &self,
        columns: &[usize],
        schema: &SchemaRef,
        from: usize,
        to: usize,
    ) -> DfResult<RecordBatch> {
        let null = Value::Null;
        let arrays = columns
            .iter()
            .map(|&c| {
                let values: Vec<&Value> = self.rows[from..to]
                    .iter()
                    .map(|r| r.get(c).unwrap_or(&null))
                    .collect();
                to_array(&self.types[c], &values)
                    .map_err(|e| DataFusionError::Execution(e.to_string()))
            })
            .collect::<DfResult<Vec<ArrayRef>>>()?;
        RecordBatch::try_new_with_options(
            schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(to - from)),
        )
        .map_err(DataFusionError::from)
    }
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let schema = project_schema(&self.schema, projection)?;
        let columns: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.types.len()).collect(),
        };
        let total = limit.map_or(self.rows.len(), |l| l.min(self.rows.len()));
        let size = state.config().batch_size().max(1);
        // One partition per core the session plans for, each a run of
        // batches.
        let partitions = state.config().target_partitions().max(1);
        let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
        let mut from = 0;
        let mut i = 0;
        while from < total {
            let to = (from + size).min(total);
            parts[i % partitions].push(self.batch(&columns, &schema, from, to)?);
            from = to;
            i += 1;
        }
        parts.retain(|p| !p.is_empty());
        if parts.is_empty() {
            parts.push(Vec::new());
        }
        Ok(MemorySourceConfig::try_new_exec(&parts, schema, None)?)
    }
}
