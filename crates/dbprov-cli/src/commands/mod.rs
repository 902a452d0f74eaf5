//! One module per subcommand.

pub mod converge;
pub mod delete;
pub mod get;
pub mod migrate;
