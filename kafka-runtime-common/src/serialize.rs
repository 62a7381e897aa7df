//! Typed keys and values: the [`Serializer`] trait (Java's
//! `org.apache.kafka.common.serialization.Serializer`, kafka-python's
//! `key_serializer` / `value_serializer`), the built-in serializers, and
//! [`TypedProducer`], which sends [`TypedRecord`]s through any producer.
//!
//! The untyped [`ProducerRecord`] stays the fast path: a typed record is
//! turned into one (one encoding of key and value, nothing else copied) and
//! sent as usual. A value that cannot be serialized is refused with
//! [`SendError::Serialization`] before anything is queued; nothing else is
//! affected.
//!
//! ```
//! use kafka_runtime_common::serialize::{
//!     I64Serializer, Serializer, StringSerializer, TypedRecord, to_record,
//! };
//!
//! let record = TypedRecord::new("page-views").key("user-42".to_owned()).value(7_i64);
//! let raw = to_record(&StringSerializer, &I64Serializer, record).unwrap();
//! assert_eq!(raw.key.as_deref(), Some(&b"user-42"[..]));
//! assert_eq!(raw.value.as_deref(), Some(&7_i64.to_be_bytes()[..]));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::{AnyProducer, DeliveryFuture, DeliveryResult, ProducerRecord, RecordHeader, SendError};

/// Turns a `T` into the bytes of a record's key or value.
///
/// The Java client's `Serializer<T>` contract: `serialize` gets the topic
/// and the record's headers (which it may extend, e.g. with a schema id) and
/// returns the bytes; Java's null data maps to `None` here, as a Rust record
/// leaves a key or value out by `Option`. Implementations should be cheap to
/// share ([`Send`] + [`Sync`]): one instance serves every send.
///
/// ```
/// use bytes::Bytes;
/// use kafka_runtime_common::RecordHeader;
/// use kafka_runtime_common::serialize::{SerializationError, Serializer};
///
/// /// Celsius as a 2-byte big-endian tenth of a degree.
/// struct Tenths;
/// impl Serializer<f32> for Tenths {
///     fn serialize(
///         &self,
///         _topic: &str,
///         _headers: &mut Vec<RecordHeader>,
///         celsius: &f32,
///     ) -> Result<Bytes, SerializationError> {
///         let tenths = (celsius * 10.0).round();
///         if !(i16::MIN as f32..=i16::MAX as f32).contains(&tenths) {
///             return Err(SerializationError::new(format!("{celsius} °C is out of range")));
///         }
///         Ok(Bytes::copy_from_slice(&(tenths as i16).to_be_bytes()))
///     }
/// }
/// assert_eq!(&Tenths.serialize("t", &mut Vec::new(), &21.5).unwrap()[..], &[0, 215]);
/// assert!(Tenths.serialize("t", &mut Vec::new(), &1e9).is_err());
/// ```
pub trait Serializer<T: ?Sized>: Send + Sync {
    /// The bytes of `data` for a record of `topic`; may append to `headers`.
    fn serialize(
        &self,
        topic: &str,
        headers: &mut Vec<RecordHeader>,
        data: &T,
    ) -> Result<Bytes, SerializationError>;
}

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for Arc<S> {
    fn serialize(
        &self,
        topic: &str,
        headers: &mut Vec<RecordHeader>,
        data: &T,
    ) -> Result<Bytes, SerializationError> {
        (**self).serialize(topic, headers, data)
    }
}

impl<T: ?Sized, S: Serializer<T> + ?Sized> Serializer<T> for &S {
    fn serialize(
        &self,
        topic: &str,
        headers: &mut Vec<RecordHeader>,
        data: &T,
    ) -> Result<Bytes, SerializationError> {
        (**self).serialize(topic, headers, data)
    }
}

pub use kafka_producer_core::{RecordPart, SerializationError};

/// Bytes as they are (Java's `ByteArraySerializer` / `BytesSerializer`):
/// for `[u8]`, `Vec<u8>` and [`Bytes`] (the last without a copy).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesSerializer;

impl Serializer<[u8]> for BytesSerializer {
    fn serialize(
        &self,
        _: &str,
        _: &mut Vec<RecordHeader>,
        data: &[u8],
    ) -> Result<Bytes, SerializationError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

impl Serializer<Vec<u8>> for BytesSerializer {
    fn serialize(
        &self,
        _: &str,
        _: &mut Vec<RecordHeader>,
        data: &Vec<u8>,
    ) -> Result<Bytes, SerializationError> {
        Ok(Bytes::copy_from_slice(data))
    }
}

impl Serializer<Bytes> for BytesSerializer {
    fn serialize(
        &self,
        _: &str,
        _: &mut Vec<RecordHeader>,
        data: &Bytes,
    ) -> Result<Bytes, SerializationError> {
        Ok(data.clone())
    }
}

/// UTF-8 text (Java's `StringSerializer` with its default encoding), for
/// `str` and `String`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringSerializer;

impl Serializer<str> for StringSerializer {
    fn serialize(
        &self,
        _: &str,
        _: &mut Vec<RecordHeader>,
        data: &str,
    ) -> Result<Bytes, SerializationError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

impl Serializer<String> for StringSerializer {
    fn serialize(
        &self,
        _: &str,
        _: &mut Vec<RecordHeader>,
        data: &String,
    ) -> Result<Bytes, SerializationError> {
        Ok(Bytes::copy_from_slice(data.as_bytes()))
    }
}

macro_rules! big_endian {
    ($(#[$doc:meta] $name:ident $ty:ty;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Serializer<$ty> for $name {
            fn serialize(
                &self,
                _: &str,
                _: &mut Vec<RecordHeader>,
                data: &$ty,
            ) -> Result<Bytes, SerializationError> {
                Ok(Bytes::copy_from_slice(&data.to_be_bytes()))
            }
        }
    )*};
}

big_endian! {
    /// An `i16` as 2 big-endian bytes (Java's `ShortSerializer`).
    I16Serializer i16;
    /// An `i32` as 4 big-endian bytes (Java's `IntegerSerializer`).
    I32Serializer i32;
    /// An `i64` as 8 big-endian bytes (Java's `LongSerializer`).
    I64Serializer i64;
    /// An `f32` as its 4 big-endian IEEE 754 bytes (Java's `FloatSerializer`).
    F32Serializer f32;
    /// An `f64` as its 8 big-endian IEEE 754 bytes (Java's `DoubleSerializer`).
    F64Serializer f64;
}

/// Any `serde::Serialize` value as JSON (serde_json), behind the `json`
/// feature.
#[cfg(feature = "json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSerializer;

#[cfg(feature = "json")]
impl<T: serde::Serialize + ?Sized> Serializer<T> for JsonSerializer {
    fn serialize(
        &self,
        _: &str,
        _: &mut Vec<RecordHeader>,
        data: &T,
    ) -> Result<Bytes, SerializationError> {
        serde_json::to_vec(data)
            .map(Bytes::from)
            .map_err(|e| SerializationError::new(e.to_string()))
    }
}

/// A record with a typed key and value, turned into a [`ProducerRecord`] by
/// a pair of [`Serializer`]s ([`to_record`], [`TypedProducer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedRecord<K, V> {
    /// The topic.
    pub topic: Arc<str>,
    /// An explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is a null key (the serializer is not called).
    pub key: Option<K>,
    /// The value; `None` is a null value (the serializer is not called).
    pub value: Option<V>,
    /// Headers, in order; serializers may append to them.
    pub headers: Vec<RecordHeader>,
    /// Milliseconds since the Unix epoch; `None` takes the current time.
    pub timestamp: Option<i64>,
}

impl<K, V> TypedRecord<K, V> {
    /// A record for `topic` with null key and value, no headers.
    pub fn new(topic: impl Into<Arc<str>>) -> TypedRecord<K, V> {
        TypedRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: K) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: V) -> Self {
        self.value = Some(value);
        self
    }

    /// Sends to this partition instead of the partitioner's choice.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the timestamp (milliseconds since the Unix epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Appends a header.
    pub fn header(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: Option<impl Into<Bytes>>,
    ) -> Self {
        self.headers.push(RecordHeader {
            key: key.into(),
            value: value.map(Into::into),
        });
        self
    }
}

/// Serializes `record`'s key, then its value (Java's order), into a
/// [`ProducerRecord`]. A failure names the part that failed.
pub fn to_record<K, V, KS, VS>(
    keys: &KS,
    values: &VS,
    record: TypedRecord<K, V>,
) -> Result<ProducerRecord, SerializationError>
where
    KS: Serializer<K> + ?Sized,
    VS: Serializer<V> + ?Sized,
{
    let TypedRecord {
        topic,
        partition,
        key,
        value,
        mut headers,
        timestamp,
    } = record;
    let key = match &key {
        Some(k) => Some(
            keys.serialize(&topic, &mut headers, k)
                .map_err(|e| e.of(RecordPart::Key))?,
        ),
        None => None,
    };
    let value = match &value {
        Some(v) => Some(
            values
                .serialize(&topic, &mut headers, v)
                .map_err(|e| e.of(RecordPart::Value))?,
        ),
        None => None,
    };
    Ok(ProducerRecord {
        topic,
        partition,
        key,
        value,
        headers,
        timestamp,
    })
}

/// A producer of typed records: any [`AnyProducer`] (every runtime's
/// producer) with a key and a value [`Serializer`], as Java's
/// `KafkaProducer<K, V>`. Cloning shares the producer and the serializers.
///
/// ```no_run
/// # async fn demo<P: kafka_runtime_common::AnyProducer>(producer: P) -> Result<(), kafka_runtime_common::SendError> {
/// use kafka_runtime_common::serialize::{I64Serializer, StringSerializer, TypedProducer, TypedRecord};
///
/// let views = TypedProducer::new(producer, StringSerializer, I64Serializer);
/// let delivery = views
///     .send(TypedRecord::new("page-views").key("user-42".to_owned()).value(7))
///     .await?;
/// println!("{:?}", delivery.await);
/// # Ok(()) }
/// ```
pub struct TypedProducer<P, KS, VS> {
    producer: P,
    serializers: Arc<(KS, VS)>,
}

impl<P: Clone, KS, VS> Clone for TypedProducer<P, KS, VS> {
    fn clone(&self) -> Self {
        TypedProducer {
            producer: self.producer.clone(),
            serializers: Arc::clone(&self.serializers),
        }
    }
}

impl<P: fmt::Debug, KS, VS> fmt::Debug for TypedProducer<P, KS, VS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl<P: AnyProducer, KS, VS> TypedProducer<P, KS, VS> {
    /// `producer` sending keys serialized by `keys` and values by `values`.
    pub fn new(producer: P, keys: KS, values: VS) -> TypedProducer<P, KS, VS> {
        TypedProducer {
            producer,
            serializers: Arc::new((keys, values)),
        }
    }

    /// The untyped producer underneath (for raw [`ProducerRecord`]s, flush
    /// and close).
    pub fn producer(&self) -> &P {
        &self.producer
    }

    /// Serializes `record` and sends it as [`AnyProducer::send`] does; a
    /// key or value that cannot be serialized is refused with
    /// [`SendError::Serialization`] and nothing is queued.
    pub async fn send<K, V>(&self, record: TypedRecord<K, V>) -> Result<DeliveryFuture, SendError>
    where
        KS: Serializer<K>,
        VS: Serializer<V>,
    {
        let (keys, values) = &*self.serializers;
        let record = to_record(keys, values, record).map_err(SendError::Serialization)?;
        self.producer.send(record).await
    }

    /// Serializes `record` and sends it as [`AnyProducer::send_with_callback`]
    /// does (`callback` is not called when serialization fails).
    pub async fn send_with_callback<K, V, F>(
        &self,
        record: TypedRecord<K, V>,
        callback: F,
    ) -> Result<(), SendError>
    where
        KS: Serializer<K>,
        VS: Serializer<V>,
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        let (keys, values) = &*self.serializers;
        let record = to_record(keys, values, record).map_err(SendError::Serialization)?;
        self.producer.send_with_callback(record, callback).await
    }

    /// [`AnyProducer::flush`].
    pub async fn flush(&self) {
        self.producer.flush().await
    }

    /// [`AnyProducer::close`].
    pub async fn close(&self, timeout: Duration) {
        self.producer.close(timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_as_java_writes_them() {
        let mut h = Vec::new();
        // Java: new IntegerSerializer().serialize("t", 0x01020304) == {1, 2, 3, 4}.
        assert_eq!(
            &I32Serializer.serialize("t", &mut h, &0x0102_0304).unwrap()[..],
            &[1, 2, 3, 4]
        );
        assert_eq!(
            &I16Serializer.serialize("t", &mut h, &-2).unwrap()[..],
            &[0xff, 0xfe]
        );
        assert_eq!(
            &I64Serializer.serialize("t", &mut h, &1).unwrap()[..],
            &[0, 0, 0, 0, 0, 0, 0, 1]
        );
        // 1.0f32 is 0x3f800000; 1.0f64 is 0x3ff0000000000000.
        assert_eq!(
            &F32Serializer.serialize("t", &mut h, &1.0).unwrap()[..],
            &[0x3f, 0x80, 0, 0]
        );
        assert_eq!(
            &F64Serializer.serialize("t", &mut h, &1.0).unwrap()[..],
            &[0x3f, 0xf0, 0, 0, 0, 0, 0, 0]
        );
        assert!(h.is_empty());
    }

    #[test]
    fn strings_are_utf8_and_bytes_pass_through() {
        let mut h = Vec::new();
        assert_eq!(
            &StringSerializer.serialize("t", &mut h, "żółw").unwrap()[..],
            "żółw".as_bytes()
        );
        let b = Bytes::from_static(b"\x00\xff");
        let out = BytesSerializer.serialize("t", &mut h, &b).unwrap();
        assert_eq!(out, b);
        assert_eq!(
            out.as_ptr(),
            b.as_ptr(),
            "Bytes are passed on without a copy"
        );
        assert_eq!(
            &BytesSerializer
                .serialize("t", &mut h, &vec![1u8, 2])
                .unwrap()[..],
            &[1, 2]
        );
    }

    /// Adds a header naming the schema, as schema-registry serializers do.
    struct Tagging;
    impl Serializer<u8> for Tagging {
        fn serialize(
            &self,
            topic: &str,
            headers: &mut Vec<RecordHeader>,
            data: &u8,
        ) -> Result<Bytes, SerializationError> {
            if *data == 0 {
                return Err(SerializationError::new("zero is not allowed"));
            }
            headers.push(RecordHeader {
                key: "schema".into(),
                value: Some(Bytes::from(format!("{topic}-v1"))),
            });
            Ok(Bytes::copy_from_slice(&[*data]))
        }
    }

    #[test]
    fn typed_record_becomes_a_producer_record() {
        let typed = TypedRecord::new("t")
            .key(3u8)
            .value("v".to_owned())
            .partition(2)
            .timestamp(5)
            .header("h", Some("x"));
        let raw = to_record(&Tagging, &StringSerializer, typed).unwrap();
        assert_eq!(&*raw.topic, "t");
        assert_eq!(raw.partition, Some(2));
        assert_eq!(raw.timestamp, Some(5));
        assert_eq!(raw.key.as_deref(), Some(&[3u8][..]));
        assert_eq!(raw.value.as_deref(), Some(&b"v"[..]));
        let keys: Vec<&str> = raw.headers.iter().map(|h| &*h.key).collect();
        assert_eq!(
            keys,
            ["h", "schema"],
            "the serializer's header follows the record's own"
        );
        assert_eq!(raw.headers[1].value.as_deref(), Some(&b"t-v1"[..]));
    }

    #[test]
    fn null_parts_skip_the_serializer() {
        let typed: TypedRecord<u8, u8> = TypedRecord::new("t");
        let raw = to_record(&Tagging, &Tagging, typed).unwrap();
        assert_eq!((raw.key, raw.value), (None, None));
        assert!(raw.headers.is_empty());
    }

    #[test]
    fn failures_name_the_part() {
        let e = to_record(
            &Tagging,
            &Tagging,
            TypedRecord::new("t").key(0u8).value(1u8),
        )
        .unwrap_err();
        assert_eq!(e.part(), Some(RecordPart::Key));
        assert_eq!(
            e.to_string(),
            "the key could not be serialized: zero is not allowed"
        );
        let e = to_record(
            &Tagging,
            &Tagging,
            TypedRecord::new("t").key(1u8).value(0u8),
        )
        .unwrap_err();
        assert_eq!(e.part(), Some(RecordPart::Value));
        assert_eq!(e.message(), "zero is not allowed");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_values() {
        #[derive(serde::Serialize)]
        struct View {
            user: &'static str,
            seconds: u32,
        }
        let out = JsonSerializer
            .serialize(
                "t",
                &mut Vec::new(),
                &View {
                    user: "u",
                    seconds: 3,
                },
            )
            .unwrap();
        assert_eq!(&out[..], br#"{"user":"u","seconds":3}"#);
        // A map with non-string keys is not JSON: a typed error, no panic.
        let bad: std::collections::HashMap<Vec<u8>, u8> = [(vec![1u8], 1u8)].into_iter().collect();
        assert!(
            JsonSerializer
                .serialize("t", &mut Vec::new(), &bad)
                .is_err()
        );
    }
}
