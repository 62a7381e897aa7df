//! Shared helpers for the interop tests against the `kafka-protocol` crate.
#![allow(dead_code, unreachable_pub)]

use bytes::BytesMut;
use kafka_proto::Message;
use kafka_protocol::protocol::{Encodable, StrBytes};

/// Encodes `ours` and `theirs(v)` at every version in `versions` and checks
/// the bytes agree both ways.
pub fn same_bytes<M: Message, T: Encodable>(
    ours: &M,
    versions: std::ops::RangeInclusive<i16>,
    theirs: impl Fn(i16) -> T,
) {
    for v in versions {
        let mut a = BytesMut::new();
        ours.encode(&mut a, v).unwrap();
        let mut b = BytesMut::new();
        theirs(v).encode(&mut b, v).unwrap();
        assert_eq!(
            a,
            b,
            "{} v{v}: our bytes differ from kafka-protocol's",
            std::any::type_name::<M>()
        );
        let back = M::decode(b.freeze(), v).unwrap();
        let mut c = BytesMut::new();
        back.encode(&mut c, v).unwrap();
        assert_eq!(
            a,
            c,
            "{} v{v}: re-encode differs",
            std::any::type_name::<M>()
        );
    }
}

pub fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_owned())
}
