//! Test support: proptest strategies for every wire type, derived for
//! declared structures by [`kafka_struct!`], and a round-trip checker that
//! covers every version of a message.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, TestRunner};

use crate::Message;
use crate::primitives::{Uuid, WireVersion};

/// A strategy for values that are valid at a given version.
pub(crate) trait Arbitrary: Sized + std::fmt::Debug + Clone + 'static {
    /// Values encodable at `v`; `nullable` says whether null is allowed.
    fn arbitrary(v: WireVersion, nullable: bool) -> BoxedStrategy<Self>;
}

macro_rules! any_arbitrary {
    ($($t:ty),*) => {$(
        impl Arbitrary for $t {
            fn arbitrary(_v: WireVersion, _nullable: bool) -> BoxedStrategy<Self> {
                any::<$t>().boxed()
            }
        }
    )*};
}
any_arbitrary!(bool, i8, i16, i32, i64, u16, u32);

impl Arbitrary for f64 {
    fn arbitrary(_v: WireVersion, _nullable: bool) -> BoxedStrategy<Self> {
        // NaN is not equal to itself; any finite value round-trips exactly.
        proptest::num::f64::NORMAL.boxed()
    }
}

impl Arbitrary for Uuid {
    fn arbitrary(_v: WireVersion, _nullable: bool) -> BoxedStrategy<Self> {
        any::<[u8; 16]>().prop_map(Uuid).boxed()
    }
}

impl Arbitrary for String {
    fn arbitrary(_v: WireVersion, _nullable: bool) -> BoxedStrategy<Self> {
        "\\PC{0,10}".boxed()
    }
}

impl Arbitrary for Bytes {
    fn arbitrary(_v: WireVersion, _nullable: bool) -> BoxedStrategy<Self> {
        proptest::collection::vec(any::<u8>(), 0..24)
            .prop_map(Bytes::from)
            .boxed()
    }
}

impl<T: Arbitrary> Arbitrary for Vec<T> {
    fn arbitrary(v: WireVersion, _nullable: bool) -> BoxedStrategy<Self> {
        proptest::collection::vec(T::arbitrary(v, false), 0..3).boxed()
    }
}

impl<T: Arbitrary> Arbitrary for Option<T> {
    fn arbitrary(v: WireVersion, nullable: bool) -> BoxedStrategy<Self> {
        if nullable {
            prop_oneof![1 => Just(None), 3 => T::arbitrary(v, false).prop_map(Some)].boxed()
        } else {
            T::arbitrary(v, false).prop_map(Some).boxed()
        }
    }
}

/// Checks, at every supported version of `M`, that arbitrary values encode
/// to exactly `encoded_size` bytes and decode back to themselves.
pub(crate) fn check_round_trip<M: Message + Arbitrary>() {
    for version in M::MIN_VERSION..=M::MAX_VERSION {
        let v = M::wire_version(version).expect("supported");
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&M::arbitrary(v, false), |value| {
                let mut out = BytesMut::new();
                value.encode(&mut out, version).expect("encodes");
                prop_assert_eq!(out.len(), value.encoded_size(version).unwrap());
                let back = M::decode(out.freeze(), version).expect("decodes");
                prop_assert_eq!(&back, &value, "version {}", version);
                Ok(())
            })
            .unwrap_or_else(|e| {
                panic!(
                    "{} v{version} round trip failed: {e}",
                    std::any::type_name::<M>()
                )
            });
        // Every strict prefix of a value's encoding must fail cleanly.
        let value = M::default();
        let mut out = BytesMut::new();
        value.encode(&mut out, version).expect("encodes");
        let full = out.freeze();
        for cut in 0..full.len() {
            assert!(
                M::decode(full.slice(..cut), version).is_err(),
                "{} v{version}: a {cut}-byte prefix decoded",
                std::any::type_name::<M>()
            );
        }
    }
}
