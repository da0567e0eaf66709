//! A thin, typed bridge that runs one SQL text on either backend.
//!
//! Store implementations write their SQL once with PostgreSQL placeholders (`$1`, `$2`, …);
//! for SQLite each `$n` becomes `?n` (SQLite's numbered parameter), so the same statement
//! binds the same values on both. Values are restricted to what both backends share:
//! 64-bit integers (`BIGINT` / `INTEGER`), text and bytes (`BYTEA` / `BLOB`), and NULL.
//!
//! This module is shared with the verification crate (which depends on this one); it holds no
//! domain knowledge.

use mimamori_storage::{Database, StorageError};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// A bound parameter or a column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a `Vec<Value>` from expressions convertible into [`Value`].
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => { vec![$($crate::sql::Value::from($value)),*] };
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Bytes(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// Why a column could not be read as the requested type.
#[derive(Debug, thiserror::Error)]
#[error("column {index}: expected {expected}")]
pub struct ColumnError {
    /// Column index.
    pub index: usize,
    /// The expected type.
    pub expected: &'static str,
}

/// One result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn value(&self, index: usize) -> &Value {
        self.0.get(index).unwrap_or(&Value::Null)
    }

    /// A non-null integer.
    pub fn int(&self, index: usize) -> Result<i64, ColumnError> {
        match self.value(index) {
            Value::Int(v) => Ok(*v),
            _ => Err(ColumnError {
                index,
                expected: "integer",
            }),
        }
    }

    /// A nullable integer.
    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, ColumnError> {
        match self.value(index) {
            Value::Null => Ok(None),
            _ => self.int(index).map(Some),
        }
    }

    /// Non-null text.
    pub fn text(&self, index: usize) -> Result<String, ColumnError> {
        match self.value(index) {
            Value::Text(v) => Ok(v.clone()),
            _ => Err(ColumnError {
                index,
                expected: "text",
            }),
        }
    }

    /// Nullable text.
    pub fn opt_text(&self, index: usize) -> Result<Option<String>, ColumnError> {
        match self.value(index) {
            Value::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    /// Nullable bytes.
    pub fn opt_bytes(&self, index: usize) -> Result<Option<Vec<u8>>, ColumnError> {
        match self.value(index) {
            Value::Null => Ok(None),
            _ => self.bytes(index).map(Some),
        }
    }

    /// Non-null bytes.
    pub fn bytes(&self, index: usize) -> Result<Vec<u8>, ColumnError> {
        match self.value(index) {
            Value::Bytes(v) => Ok(v.clone()),
            _ => Err(ColumnError {
                index,
                expected: "bytes",
            }),
        }
    }
}

/// A statement and its parameters (for [`transaction`]).
#[derive(Debug, Clone)]
pub struct Statement {
    /// SQL with `$n` placeholders.
    pub sql: String,
    /// The parameters, `$1` first.
    pub params: Vec<Value>,
}

impl Statement {
    /// A statement.
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Self {
        Statement {
            sql: sql.into(),
            params,
        }
    }
}

fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn sqlite_rows(
    connection: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StorageError> {
    let mut statement = connection.prepare_cached(&sqlite_sql(sql))?;
    let columns = statement.column_count();
    let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for index in 0..columns {
            use rusqlite::types::ValueRef;
            values.push(match row.get_ref(index)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Int(v as i64),
                ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                ValueRef::Blob(v) => Value::Bytes(v.to_vec()),
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

fn postgres_row(row: &tokio_postgres::Row) -> Result<Row, StorageError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?
                .map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(index)?
                .map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(index)?
                .map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(index)?.map(Value::Bytes)
        } else {
            row.try_get::<_, Option<String>>(index)?.map(Value::Text)
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

fn postgres_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Refuses text parameters with U+0000 on both backends alike (PostgreSQL cannot store it).
fn reject_nul(params: &[Value]) -> Result<(), StorageError> {
    if params
        .iter()
        .any(|p| matches!(p, Value::Text(text) if text.contains('\0')))
    {
        return Err(StorageError::NulInText);
    }
    Ok(())
}

/// Runs one statement and returns its rows (use `RETURNING` for writes that report back).
pub async fn query(
    database: &Database,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<Row>, StorageError> {
    reject_nul(&params)?;
    match database {
        Database::Sqlite(pool) => {
            let sql = sql.to_string();
            pool.call(move |c| sqlite_rows(c, &sql, &params)).await
        }
        Database::Postgres(pool) => {
            let client = pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            let rows = client.query(&statement, &postgres_params(&params)).await?;
            rows.iter().map(postgres_row).collect()
        }
    }
}

/// Runs one statement and returns the first row, if any.
pub async fn query_opt(
    database: &Database,
    sql: &str,
    params: Vec<Value>,
) -> Result<Option<Row>, StorageError> {
    Ok(query(database, sql, params).await?.into_iter().next())
}

/// Runs one statement and returns the number of affected rows.
pub async fn execute(
    database: &Database,
    sql: &str,
    params: Vec<Value>,
) -> Result<u64, StorageError> {
    reject_nul(&params)?;
    match database {
        Database::Sqlite(pool) => {
            let sql = sqlite_sql(sql);
            pool.call(move |c| -> Result<u64, StorageError> {
                let mut statement = c.prepare_cached(&sql)?;
                Ok(statement.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            })
            .await
        }
        Database::Postgres(pool) => {
            let client = pool.get().await?;
            let statement = client.prepare_cached(sql).await?;
            Ok(client
                .execute(&statement, &postgres_params(&params))
                .await?)
        }
    }
}

/// Runs the statements in one transaction (all or nothing) and returns each one's rows.
pub async fn transaction(
    database: &Database,
    statements: Vec<Statement>,
) -> Result<Vec<Vec<Row>>, StorageError> {
    for statement in &statements {
        reject_nul(&statement.params)?;
    }
    match database {
        Database::Sqlite(pool) => {
            pool.call(move |c| -> Result<Vec<Vec<Row>>, StorageError> {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut out = Vec::with_capacity(statements.len());
                for statement in &statements {
                    out.push(sqlite_rows(&tx, &statement.sql, &statement.params)?);
                }
                tx.commit()?;
                Ok(out)
            })
            .await
        }
        Database::Postgres(pool) => {
            let mut client = pool.get().await?;
            let tx = client.transaction().await?;
            let mut out = Vec::with_capacity(statements.len());
            for statement in &statements {
                let prepared = tx.prepare_cached(&statement.sql).await?;
                let rows = tx
                    .query(&prepared, &postgres_params(&statement.params))
                    .await?;
                out.push(rows.iter().map(postgres_row).collect::<Result<_, _>>()?);
            }
            tx.commit().await?;
            Ok(out)
        }
    }
}

/// True when the error is a unique or primary-key violation (a lost race, a duplicate).
pub fn is_unique_violation(error: &StorageError) -> bool {
    match error {
        StorageError::Postgres(e) => {
            e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
        }
        StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
            e.code == rusqlite::ErrorCode::ConstraintViolation
                && (e.extended_code == 2067 || e.extended_code == 1555)
        }
        _ => false,
    }
}

/// A store error: the database failed, or a row did not have the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored row could not be read.
    #[error("unexpected row shape: {0}")]
    Column(#[from] ColumnError),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The kind of failure for the log: the storage error's, or `fault` for rows of an
    /// unexpected shape.
    pub fn kind(&self) -> mimamori_storage::StorageErrorKind {
        match self {
            StoreError::Storage(e) => e.kind(),
            StoreError::Column(_) | StoreError::Corrupt(_) => {
                mimamori_storage::StorageErrorKind::Fault
            }
        }
    }

    /// True for database outages (answer 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Storage(e) if e.is_unavailable())
    }

    /// True when the client's input cannot be stored (a NUL character): 400, not 500.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, StoreError::Storage(e) if e.is_invalid_input())
    }

    /// True for a unique-constraint violation.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Storage(e) if is_unique_violation(e))
    }
}
