//! Record batch compression codecs (filled in by the record batch work).
