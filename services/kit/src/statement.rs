//! A write statement with its bound values, run later by whichever write path
//! the backend has.
//!
//! A unit of work queues its statements and runs them all at commit: on
//! PostgreSQL through sqlx in one transaction, on SQLite in one hand-off to the
//! thread that owns the writer connection (see `writer`). Either way the SQL
//! is the same text with `$N` placeholders, and the values keep the types they
//! were bound with, so PostgreSQL sees the parameter types it saw before.

use sqlx::AnyConnection;

use crate::db::DbError;

/// One bound value. `None` is a typed NULL: PostgreSQL types every parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A 32-bit integer.
    I32(Option<i32>),
    /// A 64-bit integer.
    I64(Option<i64>),
    /// A float.
    F64(Option<f64>),
    /// A boolean.
    Bool(Option<bool>),
    /// Text.
    Text(Option<String>),
    /// Bytes.
    Bytes(Option<Vec<u8>>),
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident($conv:expr)),* $(,)?) => {
        $(
            impl From<$ty> for Value {
                fn from(v: $ty) -> Self {
                    Value::$variant(Some($conv(v)))
                }
            }
            impl From<Option<$ty>> for Value {
                fn from(v: Option<$ty>) -> Self {
                    Value::$variant(v.map($conv))
                }
            }
        )*
    };
}

value_from! {
    i32 => I32(std::convert::identity),
    i64 => I64(std::convert::identity),
    f64 => F64(std::convert::identity),
    bool => Bool(std::convert::identity),
    String => Text(std::convert::identity),
    &str => Text(str::to_owned),
    &String => Text(String::clone),
    Vec<u8> => Bytes(std::convert::identity),
    &[u8] => Bytes(<[u8]>::to_vec),
    &Vec<u8> => Bytes(Vec::clone),
}

/// A write statement: literal SQL, its values in `$N` order, and whether it
/// must change a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sql: &'static str,
    pub(crate) values: Vec<Value>,
    pub(crate) guard: Option<&'static str>,
}

impl Statement {
    /// A statement with no values bound yet.
    pub fn new(sql: &'static str) -> Self {
        Self {
            sql,
            values: Vec::new(),
            guard: None,
        }
    }

    /// Binds the next `$N`.
    #[must_use]
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Requires the statement to change at least one row; when it changes
    /// none, the unit of work rolls back and its commit fails with
    /// [`DbError::Guarded`] carrying `guard`, so the caller can tell which
    /// condition did not hold (a version moved on, a key was taken).
    #[must_use]
    pub fn guarded(mut self, guard: &'static str) -> Self {
        self.guard = Some(guard);
        self
    }

    /// The SQL text.
    pub fn sql(&self) -> &'static str {
        self.sql
    }

    /// Runs the statement through sqlx on `conn`, checking its guard.
    pub async fn execute(&self, conn: &mut AnyConnection) -> Result<(), DbError> {
        let changed = self.changed_rows(conn).await?;
        match self.guard {
            Some(guard) if changed == 0 => Err(DbError::Guarded(guard)),
            _ => Ok(()),
        }
    }

    /// Runs the statement through sqlx on `conn`; how many rows it changed.
    pub(crate) async fn changed_rows(&self, conn: &mut AnyConnection) -> Result<u64, DbError> {
        let mut query = sqlx::query(self.sql);
        for value in &self.values {
            query = match value.clone() {
                Value::I32(v) => query.bind(v),
                Value::I64(v) => query.bind(v),
                Value::F64(v) => query.bind(v),
                Value::Bool(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Bytes(v) => query.bind(v),
            };
        }
        Ok(query.execute(&mut *conn).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_types_and_nulls_stay_typed() {
        let s = Statement::new("INSERT INTO t VALUES ($1, $2, $3, $4)")
            .bind(7_i32)
            .bind(None::<i64>)
            .bind("x")
            .bind(None::<&[u8]>);
        assert_eq!(
            s.values,
            vec![
                Value::I32(Some(7)),
                Value::I64(None),
                Value::Text(Some("x".to_owned())),
                Value::Bytes(None)
            ]
        );
        assert_eq!(s.guard, None);
        assert_eq!(s.guarded("taken").guard, Some("taken"));
    }
}
