//! Record batches (filled in by the record batch work).
