//! ksqlDB's types and values as Arrow's, both ways: a column of
//! [`Value`]s becomes an Arrow array of the matching type (DECIMAL ->
//! Decimal128, TIMESTAMP -> Timestamp(ms), DATE -> Date32, TIME ->
//! Time32(ms), BYTES -> Binary, ARRAY -> List, MAP -> Map, STRUCT ->
//! Struct), and any Arrow array a query returns becomes values again.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, StringArray, StructArray,
    Time32MillisecondArray, TimestampMillisecondArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Fields, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use sluice_engine::types::Decimal;
use sluice_engine::types::{SqlType, Value};
use sluice_engine::{Error, Result};
use std::sync::Arc;

/// The Arrow type a ksqlDB type is stored as.
pub fn arrow_type(ty: &SqlType) -> Result<DataType> {
    Ok(match ty {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal(p, s) => DataType::Decimal128(*p, *s as i8),
        SqlType::String => DataType::Utf8,
        SqlType::Bytes => DataType::Binary,
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        SqlType::Array(e) => DataType::List(Arc::new(Field::new_list_field(arrow_type(e)?, true))),
        SqlType::Map(k, v) => DataType::Map(map_entries(k, v)?, false),
        SqlType::Struct(fields) => DataType::Struct(struct_fields(fields)?),
        SqlType::Null | SqlType::Any => DataType::Null,
        SqlType::Custom(name) => return Err(Error::plan(format!("unresolved custom type {name}"))),
    })
}

fn struct_fields(fields: &[(String, SqlType)]) -> Result<Fields> {
    fields
        .iter()
        .map(|(n, t)| Ok(Field::new(n, arrow_type(t)?, true)))
        .collect::<Result<Vec<_>>>()
        .map(Fields::from)
}

fn map_entries(k: &SqlType, v: &SqlType) -> Result<Arc<Field>> {
    let entries = Fields::from(vec![
        Field::new("key", arrow_type(k)?, false),
        Field::new("value", arrow_type(v)?, true),
    ]);
    Ok(Arc::new(Field::new(
        "entries",
        DataType::Struct(entries),
        false,
    )))
}

/// The ksqlDB type a query's Arrow column is shown as.
pub fn sql_type(ty: &DataType) -> SqlType {
    match ty {
        DataType::Boolean => SqlType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            SqlType::Int
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => SqlType::BigInt,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => SqlType::Double,
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => SqlType::Decimal((*p).min(38), (*s).max(0) as u8),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => SqlType::Bytes,
        DataType::Date32 | DataType::Date64 => SqlType::Date,
        DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
        DataType::Timestamp(..) => SqlType::Timestamp,
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f) => SqlType::Array(Box::new(sql_type(f.data_type()))),
        DataType::Struct(fields) => SqlType::Struct(
            fields
                .iter()
                .map(|f| (f.name().clone(), sql_type(f.data_type())))
                .collect(),
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                Box::new(sql_type(kv[0].data_type())),
                Box::new(sql_type(kv[1].data_type())),
            ),
            _ => SqlType::String,
        },
        DataType::Dictionary(_, v) => sql_type(v),
        // Strings, NULL and whatever else Arrow has are shown as text.
        _ => SqlType::String,
    }
}

/// Builds the Arrow array of a column of values of type `ty` (values of
/// another type, which a well-typed source never holds, become NULL).
pub fn to_array(ty: &SqlType, values: &[&Value]) -> Result<ArrayRef> {
    Ok(match ty {
        SqlType::Boolean => Arc::new(BooleanArray::from_iter(values.iter().map(|v| v.as_bool()))),
        SqlType::Int => Arc::new(Int32Array::from_iter(values.iter().map(|v| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }))),
        SqlType::BigInt => Arc::new(Int64Array::from_iter(values.iter().map(|v| match v {
            Value::BigInt(i) => Some(*i),
            Value::Int(i) => Some(*i as i64),
            _ => None,
        }))),
        SqlType::Double => Arc::new(Float64Array::from_iter(values.iter().map(|v| match v {
            Value::Double(d) => Some(*d),
            Value::Int(_) | Value::BigInt(_) | Value::Decimal(_) => v.as_f64(),
            _ => None,
        }))),
        SqlType::Decimal(p, s) => Arc::new(
            Decimal128Array::from_iter(values.iter().map(|v| {
                match v {
                    Value::Decimal(d) => d.rescale(*s).map(|d| d.unscaled),
                    Value::Int(_) | Value::BigInt(_) => v
                        .as_decimal()
                        .and_then(|d| d.rescale(*s))
                        .map(|d| d.unscaled),
                    _ => None,
                }
            }))
            .with_precision_and_scale(*p, *s as i8)
            .map_err(arrow_error)?,
        ),
        SqlType::String => Arc::new(StringArray::from_iter(values.iter().map(|v| v.as_str()))),
        SqlType::Bytes => Arc::new(BinaryArray::from_iter(values.iter().map(|v| match v {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        }))),
        SqlType::Date => Arc::new(Date32Array::from_iter(values.iter().map(|v| match v {
            Value::Date(d) => Some(*d),
            _ => None,
        }))),
        SqlType::Time => Arc::new(Time32MillisecondArray::from_iter(values.iter().map(
            |v| match v {
                Value::Time(t) => i32::try_from(*t).ok(),
                _ => None,
            },
        ))),
        SqlType::Timestamp => Arc::new(TimestampMillisecondArray::from_iter(values.iter().map(
            |v| match v {
                Value::Timestamp(t) => Some(*t),
                _ => None,
            },
        ))),
        SqlType::Array(elem) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let mut items: Vec<&Value> = Vec::new();
            for v in values {
                if let Value::Array(xs) = v {
                    items.extend(xs.iter());
                }
                offsets.push(offset(items.len())?);
            }
            let field = Arc::new(Field::new_list_field(arrow_type(elem)?, true));
            Arc::new(
                ListArray::try_new(
                    field,
                    OffsetBuffer::new(offsets.into()),
                    to_array(elem, &items)?,
                    nulls(values, |v| matches!(v, Value::Array(_))),
                )
                .map_err(arrow_error)?,
            )
        }
        SqlType::Map(k, val) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let (mut keys, mut vals): (Vec<&Value>, Vec<&Value>) = (Vec::new(), Vec::new());
            for v in values {
                if let Value::Map(entries) = v {
                    for (ek, ev) in entries {
                        keys.push(ek);
                        vals.push(ev);
                    }
                }
                offsets.push(offset(keys.len())?);
            }
            let entries_field = map_entries(k, val)?;
            let DataType::Struct(kv) = entries_field.data_type() else {
                return Err(Error::internal("map entries are a struct"));
            };
            let entries = StructArray::try_new(
                kv.clone(),
                vec![to_array(k, &keys)?, to_array(val, &vals)?],
                None,
            )
            .map_err(arrow_error)?;
            Arc::new(
                MapArray::try_new(
                    entries_field,
                    OffsetBuffer::new(offsets.into()),
                    entries,
                    nulls(values, |v| matches!(v, Value::Map(_))),
                    false,
                )
                .map_err(arrow_error)?,
            )
        }
        SqlType::Struct(fields) => {
            let null = Value::Null;
            let mut children = Vec::with_capacity(fields.len());
            for (i, (name, fty)) in fields.iter().enumerate() {
                let column: Vec<&Value> = values
                    .iter()
                    .map(|v| match v {
                        Value::Struct(fs) => fs
                            .get(i)
                            .filter(|(n, _)| n == name)
                            .or_else(|| fs.iter().find(|(n, _)| n == name))
                            .map_or(&null, |(_, x)| x),
                        _ => &null,
                    })
                    .collect();
                children.push(to_array(fty, &column)?);
            }
            if fields.is_empty() {
                Arc::new(StructArray::new_empty_fields(
                    values.len(),
                    nulls(values, |v| matches!(v, Value::Struct(_))),
                ))
            } else {
                Arc::new(
                    StructArray::try_new(
                        struct_fields(fields)?,
                        children,
                        nulls(values, |v| matches!(v, Value::Struct(_))),
                    )
                    .map_err(arrow_error)?,
                )
            }
        }
        SqlType::Null | SqlType::Any => {
            Arc::new(datafusion::arrow::array::NullArray::new(values.len()))
        }
        SqlType::Custom(name) => return Err(Error::plan(format!("unresolved custom type {name}"))),
    })
}

fn offset(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::plan("a column's nested values exceed 2^31 entries"))
}

fn nulls(values: &[&Value], valid: impl Fn(&Value) -> bool) -> Option<NullBuffer> {
    let buffer = NullBuffer::from_iter(values.iter().map(|v| valid(v)));
    (buffer.null_count() > 0).then_some(buffer)
}

/// An Arrow error as the engine's.
pub fn arrow_error(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::plan(e.to_string())
}

/// Every value of an Arrow array, in order.
pub fn from_array(array: &dyn Array) -> Result<Vec<Value>> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! prim {
        ($t:ty, $f:expr) => {{
            let a = array.as_primitive::<$t>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    $f(a.value(i))
                });
            }
        }};
    }
    match array.data_type() {
        DataType::Null => out.resize(n, Value::Null),
        DataType::Boolean => {
            let a = array.as_boolean();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Bool(a.value(i))
                });
            }
        }
        DataType::Int8 => prim!(Int8Type, |v: i8| Value::Int(v as i32)),
        DataType::Int16 => prim!(Int16Type, |v: i16| Value::Int(v as i32)),
        DataType::Int32 => prim!(Int32Type, Value::Int),
        DataType::Int64 => prim!(Int64Type, Value::BigInt),
        DataType::UInt8 => prim!(UInt8Type, |v: u8| Value::Int(v as i32)),
        DataType::UInt16 => prim!(UInt16Type, |v: u16| Value::Int(v as i32)),
        DataType::UInt32 => prim!(UInt32Type, |v: u32| Value::BigInt(v as i64)),
        DataType::UInt64 => prim!(UInt64Type, |v: u64| Value::BigInt(v as i64)),
        DataType::Float32 => prim!(Float32Type, |v: f32| Value::Double(v as f64)),
        DataType::Float64 => prim!(Float64Type, Value::Double),
        DataType::Decimal128(_, s) => {
            let scale = (*s).max(0) as u8;
            prim!(Decimal128Type, |v: i128| Value::Decimal(Decimal::new(
                v, scale
            )))
        }
        DataType::Date32 => prim!(Date32Type, Value::Date),
        DataType::Time32(TimeUnit::Millisecond) => {
            prim!(Time32MillisecondType, |v: i32| Value::Time(v as i64))
        }
        DataType::Time32(_) => prim!(Time32SecondType, |v: i32| Value::Time(v as i64 * 1000)),
        DataType::Time64(TimeUnit::Microsecond) => {
            prim!(Time64MicrosecondType, |v: i64| Value::Time(v / 1000))
        }
        DataType::Time64(_) => prim!(Time64NanosecondType, |v: i64| Value::Time(v / 1_000_000)),
        DataType::Timestamp(TimeUnit::Second, _) => {
            prim!(TimestampSecondType, |v: i64| Value::Timestamp(v * 1000))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            prim!(TimestampMillisecondType, Value::Timestamp)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            prim!(TimestampMicrosecondType, |v: i64| Value::Timestamp(
                v.div_euclid(1000)
            ))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            prim!(TimestampNanosecondType, |v: i64| Value::Timestamp(
                v.div_euclid(1_000_000)
            ))
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::String(a.value(i).into())
                });
            }
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::String(a.value(i).into())
                });
            }
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::String(a.value(i).into())
                });
            }
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Bytes(a.value(i).to_vec())
                });
            }
        }
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Array(from_array(a.value(i).as_ref())?)
                });
            }
        }
        DataType::Struct(fields) => {
            let a = array.as_struct();
            let columns = a
                .columns()
                .iter()
                .map(|c| from_array(c.as_ref()))
                .collect::<Result<Vec<_>>>()?;
            for i in 0..n {
                out.push(if a.is_null(i) {
                    Value::Null
                } else {
                    Value::Struct(
                        fields
                            .iter()
                            .zip(&columns)
                            .map(|(f, c)| (f.name().clone(), c[i].clone()))
                            .collect(),
                    )
                });
            }
        }
        DataType::Map(..) => {
            let a = array.as_map();
            for i in 0..n {
                if a.is_null(i) {
                    out.push(Value::Null);
                    continue;
                }
                let entries = a.value(i);
                let keys = from_array(entries.column(0).as_ref())?;
                let values = from_array(entries.column(1).as_ref())?;
                out.push(Value::Map(keys.into_iter().zip(values).collect()));
            }
        }
        other => {
            // Anything else (dictionaries, large lists, binary views...)
            // is read through its cast to the type it is shown as.
            let target = arrow_type(&sql_type(other))?;
            if &target == other {
                return Err(Error::plan(format!("unsupported Arrow type {other}")));
            }
            let cast = datafusion::arrow::compute::cast(array, &target).map_err(arrow_error)?;
            return from_array(cast.as_ref());
        }
    }
    Ok(out)
}
