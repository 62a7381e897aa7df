//! Shared by the `tokio_*` tests that are not part of the runtime suite yet:
//! the read-back helper, which lives with the suite (`runtimes/read_back.rs`)
//! so that one copy serves every test file.

#![allow(unused_imports)]

#[path = "../runtimes/read_back.rs"]
mod read_back;

pub(crate) use read_back::{ReadRecord, read_back};
