//! One module per subcommand.

pub mod backup;
pub mod converge;
pub mod delete;
pub mod get;
pub mod migrate;
pub mod schedule;
