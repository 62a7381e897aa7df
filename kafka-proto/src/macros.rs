//! The declaration macro: every Kafka structure is declared once, with the
//! versions each field exists in, and its encoder, decoder, size function,
//! `Default` and (under test) a proptest strategy are derived from that one
//! declaration.
//!
//! ```text
//! kafka_struct! {
//!     /// Doc.
//!     pub struct Name {
//!         /// Field doc.
//!         field: Type [versions] nullable [versions]? tag N? default EXPR?,
//!     }
//! }
//! ```
//!
//! `versions` is any range expression over `i16` (`0..`, `3..=8`). A field
//! with `tag N` is a tagged field (KIP-482), present only in flexible
//! versions and written only when it differs from its default. A field with
//! `nullable [..]` has an `Option` type that is nullable only in those
//! versions; in the others null is written as the empty value.

/// Expands `$code` only for regular (untagged) fields.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_if_regular {
    ([] $($code:tt)*) => { $($code)* };
    ([$tag:literal] $($code:tt)*) => {};
}

/// Expands `$code` only for tagged fields.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_if_tagged {
    ([] $($code:tt)*) => {};
    ([$tag:literal] $($code:tt)*) => { $($code)* };
}

/// A field's default value expression.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_default {
    () => {
        ::core::default::Default::default()
    };
    ($def:expr) => {
        $def
    };
}

/// Writes a regular field, honouring a version-limited nullability.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_write_field {
    ($val:expr, $out:ident, $v:ident, $chunks:ident, []) => {
        $crate::primitives::Wire::write_chunked(&$val, $out, $v, $chunks)
    };
    ($val:expr, $out:ident, $v:ident, $chunks:ident, [$nv:expr]) => {
        if ($nv).contains(&$v.version) {
            $crate::primitives::Wire::write_chunked(&$val, $out, $v, $chunks)
        } else {
            $crate::primitives::write_non_null(&$val, $out, $v)
        }
    };
}

/// Size of a regular field, honouring a version-limited nullability.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_size_field {
    ($val:expr, $v:ident, []) => {
        $crate::primitives::Wire::wire_size(&$val, $v)
    };
    ($val:expr, $v:ident, [$nv:expr]) => {
        if ($nv).contains(&$v.version) {
            $crate::primitives::Wire::wire_size(&$val, $v)
        } else {
            $crate::primitives::non_null_size(&$val, $v)
        }
    };
}

/// Reads a regular field, honouring a version-limited nullability.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_read_field {
    ($r:ident, $v:ident, []) => {
        $crate::primitives::Wire::read($r, $v)
    };
    ($r:ident, $v:ident, [$nv:expr]) => {
        if ($nv).contains(&$v.version) {
            $crate::primitives::Wire::read($r, $v)
        } else {
            $crate::primitives::read_non_null($r, $v)
        }
    };
}

/// Declares a Kafka structure once and derives its codec. See the module docs.
#[macro_export]
macro_rules! kafka_struct {
    (
        $(#[$smeta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty [ $vers:expr ]
                    $( nullable [ $nv:expr ] )?
                    $( tag $tag:literal )?
                    $( default $def:expr )?
            ),* $(,)?
        }
    ) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Tagged fields (flexible versions) this codec does not know,
            /// kept so that a decoded value re-encodes unchanged.
            pub unknown_tagged_fields: ::std::vec::Vec<$crate::primitives::RawTaggedField>,
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: $crate::__kafka_default!($($def)?), )*
                    unknown_tagged_fields: ::std::vec::Vec::new(),
                }
            }
        }

        impl $crate::primitives::Wire for $name {
            fn write(
                &self,
                out: &mut ::bytes::BytesMut,
                v: $crate::primitives::WireVersion,
            ) -> ::core::result::Result<(), $crate::error::EncodeError> {
                self.write_chunked(out, v, &mut $crate::primitives::Chunks::none())
            }

            #[allow(unused_variables, unused_mut)]
            fn write_chunked(
                &self,
                out: &mut ::bytes::BytesMut,
                v: $crate::primitives::WireVersion,
                chunks: &mut $crate::primitives::Chunks,
            ) -> ::core::result::Result<(), $crate::error::EncodeError> {
                $(
                    $crate::__kafka_if_regular! { [$($tag)?]
                        if ($vers).contains(&v.version) {
                            $crate::__kafka_write_field!(self.$field, out, v, chunks, [$($nv)?])
                                .map_err(|e| e.in_field(stringify!($field)))?;
                        }
                    }
                )*
                if v.flexible {
                    let mut count = self.unknown_tagged_fields.len();
                    $(
                        $crate::__kafka_if_tagged! { [$($tag)?]
                            if ($vers).contains(&v.version)
                                && self.$field != { let d: $ty = $crate::__kafka_default!($($def)?); d }
                            {
                                count += 1;
                            }
                        }
                    )*
                    $crate::primitives::put_uvarint(out, count as u32);
                    $(
                        $crate::__kafka_if_tagged! { [$($tag)?]
                            if ($vers).contains(&v.version)
                                && self.$field != { let d: $ty = $crate::__kafka_default!($($def)?); d }
                            {
                                $crate::primitives::write_tagged(out, $($tag)?, &self.$field, v)
                                    .map_err(|e| e.in_field(stringify!($field)))?;
                            }
                        }
                    )*
                    $crate::primitives::write_raw_tagged(out, &self.unknown_tagged_fields);
                }
                Ok(())
            }

            #[allow(unused_variables, unused_mut)]
            fn wire_size(&self, v: $crate::primitives::WireVersion) -> usize {
                let mut size = 0usize;
                $(
                    $crate::__kafka_if_regular! { [$($tag)?]
                        if ($vers).contains(&v.version) {
                            size += $crate::__kafka_size_field!(self.$field, v, [$($nv)?]);
                        }
                    }
                )*
                if v.flexible {
                    let mut count = self.unknown_tagged_fields.len();
                    $(
                        $crate::__kafka_if_tagged! { [$($tag)?]
                            if ($vers).contains(&v.version)
                                && self.$field != { let d: $ty = $crate::__kafka_default!($($def)?); d }
                            {
                                count += 1;
                                size += $crate::primitives::tagged_size($($tag)?, &self.$field, v);
                            }
                        }
                    )*
                    size += $crate::primitives::uvarint_size(count as u32);
                    size += $crate::primitives::raw_tagged_size(&self.unknown_tagged_fields);
                }
                size
            }

            #[allow(unused_variables, unused_mut)]
            fn read(
                r: &mut $crate::primitives::Reader,
                v: $crate::primitives::WireVersion,
            ) -> ::core::result::Result<Self, $crate::error::DecodeError> {
                let mut this = <$name as ::core::default::Default>::default();
                $(
                    $crate::__kafka_if_regular! { [$($tag)?]
                        if ($vers).contains(&v.version) {
                            this.$field = $crate::__kafka_read_field!(r, v, [$($nv)?])
                                .map_err(|e: $crate::error::DecodeError| e.in_field(stringify!($field)))?;
                        }
                    }
                )*
                if v.flexible {
                    let count = $crate::primitives::read_tagged_count(r)?;
                    for _ in 0..count {
                        let (tag, mut sub) = $crate::primitives::read_tagged_field(r)?;
                        let mut known = false;
                        $(
                            $crate::__kafka_if_tagged! { [$($tag)?]
                                if !known && tag == $($tag)? && ($vers).contains(&v.version) {
                                    this.$field = $crate::primitives::Wire::read(&mut sub, v)
                                        .map_err(|e| e.in_field(stringify!($field)))?;
                                    known = true;
                                }
                            }
                        )*
                        if !known {
                            this.unknown_tagged_fields.push($crate::primitives::RawTaggedField {
                                tag,
                                data: sub.into_rest(),
                            });
                        }
                    }
                }
                Ok(this)
            }
        }

        #[cfg(test)]
        impl $crate::testing::Arbitrary for $name {
            #[allow(unused_variables, unused_mut)]
            fn arbitrary(
                v: $crate::primitives::WireVersion,
                _nullable: bool,
            ) -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy;
                let mut s = ::proptest::strategy::Just(<$name as ::core::default::Default>::default()).boxed();
                $(
                    let present = ($vers).contains(&v.version)
                        && $crate::__kafka_tagged_ok!(v, [$($tag)?]);
                    if present {
                        let field = <$ty as $crate::testing::Arbitrary>::arbitrary(
                            v,
                            $crate::__kafka_nullable_ok!(v, [$($nv)?]),
                        );
                        s = (s, field)
                            .prop_map(|(mut this, value)| {
                                this.$field = value;
                                this
                            })
                            .boxed();
                    }
                )*
                s
            }
        }
    };
}

/// Whether a field may take a non-default value at `v` in generated tests:
/// tagged fields exist only in flexible versions.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_tagged_ok {
    ($v:ident, []) => {
        true
    };
    ($v:ident, [$tag:literal]) => {
        $v.flexible
    };
}

/// Whether a field may be null at `v` in generated tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_nullable_ok {
    ($v:ident, []) => {
        true
    };
    ($v:ident, [$nv:expr]) => {
        ($nv).contains(&$v.version)
    };
}

/// Declares a top-level message (request or response body): its supported
/// versions and the first flexible version (`none` when it has none).
#[macro_export]
macro_rules! kafka_message {
    ($name:ident, api_key: $key:expr, versions: $lo:literal ..= $hi:literal, flexible: none) => {
        $crate::kafka_message!(@impl $name, $key, $lo, $hi, None);
    };
    ($name:ident, api_key: $key:expr, versions: $lo:literal ..= $hi:literal, flexible: $flex:literal ..) => {
        $crate::kafka_message!(@impl $name, $key, $lo, $hi, Some($flex));
    };
    (@impl $name:ident, $key:expr, $lo:literal, $hi:literal, $flex:expr) => {
        impl $crate::Message for $name {
            const API_KEY: $crate::ApiKey = $key;
            const MIN_VERSION: i16 = $lo;
            const MAX_VERSION: i16 = $hi;
            const FIRST_FLEXIBLE_VERSION: Option<i16> = $flex;
        }
    };
}

/// Pairs a request message with its response type.
#[macro_export]
macro_rules! kafka_request {
    ($req:ident => $resp:ident) => {
        impl $crate::Request for $req {
            type Response = $resp;
        }
    };
}
