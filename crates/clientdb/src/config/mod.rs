//! Configuration: the database (`DATABASE_URL` or the seeds' `DB_*` variables) and the durations they use.

mod database;
mod duration;

pub use database::{
    ConfigError, DATABASE_VARIABLES, DatabaseConfig, DatabaseTarget, Driver, PoolSettings, RetryPolicy,
    ServerTarget,
};
pub use duration::{DurationError, parse_duration};
