//! ksqlDB's scalar functions inside DataFusion: one adapter wraps every
//! function of the engine's registry, so a function resolves (by its
//! argument types) and computes exactly as it does in a persistent query.
//! DataFusion looks functions up by lower-cased name; each is registered
//! under that.

use crate::convert::{arrow_type, from_array, sql_type, to_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use sluice_engine::functions::FunctionRegistry;
use sluice_engine::types::{SqlType, Value};

/// DataFusion functions the planner itself builds expressions with; a
/// ksqlDB function never replaces them.
const PLANNER_FUNCTIONS: &[&str] = &["get_field", "named_struct", "struct", "arrow_cast"];

/// Registers every ksqlDB scalar function with `ctx`.
pub fn register(ctx: &SessionContext) {
    for f in FunctionRegistry::global().all() {
        let lower = f.name.to_ascii_lowercase();
        if PLANNER_FUNCTIONS.contains(&lower.as_str()) {
            continue;
        }
        ctx.register_udf(ScalarUDF::new_from_impl(KsqlFunction {
            name: lower,
            ksql_name: f.name,
            signature: Signature::one_of(
                vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
                // ksqlDB's functions that read the clock or draw random
                // numbers are few; treating all as volatile keeps them
                // from being folded at plan time.
                Volatility::Volatile,
            ),
        }));
    }
}

/// One ksqlDB scalar function as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
struct KsqlFunction {
    name: String,
    ksql_name: &'static str,
    signature: Signature,
}

fn df_error(e: sluice_engine::Error) -> DataFusionError {
    DataFusionError::Plan(e.to_string())
}

impl KsqlFunction {
    fn resolve(
        &self,
        arg_types: &[DataType],
    ) -> DfResult<(Vec<SqlType>, sluice_engine::functions::Resolved)> {
        let types: Vec<SqlType> = arg_types.iter().map(sql_type).collect();
        let resolved = FunctionRegistry::global()
            .resolve(self.ksql_name, &types)
            .map_err(df_error)?;
        Ok((types, resolved))
    }
}

impl ScalarUDFImpl for KsqlFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        let (_, resolved) = self.resolve(arg_types)?;
        arrow_type(&resolved.return_type).map_err(df_error)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arg_types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let (_, resolved) = self.resolve(&arg_types)?;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let columns = arrays
            .iter()
            .map(|a| from_array(a.as_ref()))
            .collect::<sluice_engine::Result<Vec<_>>>()
            .map_err(df_error)?;
        let mut out = Vec::with_capacity(args.number_rows);
        let mut row: Vec<Value> = Vec::with_capacity(columns.len());
        for i in 0..args.number_rows {
            row.clear();
            row.extend(columns.iter().map(|c| c[i].clone()));
            // As in a persistent query, a value the function cannot compute
            // (a bad argument for this row) is NULL.
            out.push((resolved.eval)(&row).unwrap_or(Value::Null));
        }
        let refs: Vec<&Value> = out.iter().collect();
        let array = to_array(&resolved.return_type, &refs).map_err(df_error)?;
        Ok(ColumnarValue::Array(array))
    }
}
