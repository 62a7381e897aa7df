//! W3C trace-context propagation (feature `opentelemetry`): an interceptor
//! that writes the current OpenTelemetry span context into each record's
//! `traceparent` (and `tracestate`) headers, as OpenTelemetry's Kafka
//! instrumentation for Java does, so that a consumer continues the trace.
//!
//! It reads [`opentelemetry::Context::current`] in `send`, on the caller's
//! thread or task, so a record carries the span active where it was sent. A
//! record sent outside any valid span context gets no header; headers of
//! the same names already on the record are replaced.
//!
//! ```
//! use kafka_runtime_common::otel::TraceContextInterceptor;
//! # fn builder<R: kafka_runtime_common::Runtime>(b: kafka_runtime_common::ProducerBuilder<R>)
//! # -> kafka_runtime_common::ProducerBuilder<R> {
//! b.interceptor(TraceContextInterceptor)
//! # }
//! ```

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};

use crate::ProducerRecord;
use crate::interceptor::ProducerInterceptor;

/// The W3C `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";

/// Writes the current span context into each record's headers; see the
/// [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContextInterceptor;

impl ProducerInterceptor for TraceContextInterceptor {
    fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
        let cx = Context::current();
        let span = cx.span();
        inject(span.span_context(), record)
    }
}

/// `traceparent` for `sc` (version 00): trace id, parent span id, flags.
pub fn traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// `record` with `sc`'s headers, when `sc` is valid.
pub fn inject(sc: &SpanContext, mut record: ProducerRecord) -> ProducerRecord {
    if !sc.is_valid() {
        return record;
    }
    record
        .headers
        .retain(|h| h.key != TRACEPARENT && h.key != TRACESTATE);
    record = record.header(TRACEPARENT, Some(traceparent(sc)));
    let state = sc.trace_state().header();
    if !state.is_empty() {
        record = record.header(TRACESTATE, Some(state));
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    fn context() -> SpanContext {
        SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::from_key_value([("rojo", "00f067aa0ba902b7")]).unwrap(),
        )
    }

    /// The example of the W3C Trace Context recommendation.
    #[test]
    fn headers_as_the_w3c_recommendation_writes_them() {
        let record = ProducerRecord::new("t").header(TRACEPARENT, Some("stale"));
        let record = inject(&context(), record);
        let headers: Vec<(&str, &[u8])> = record
            .headers
            .iter()
            .map(|h| (&*h.key, h.value.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            headers,
            [
                (
                    TRACEPARENT,
                    &b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"[..]
                ),
                (TRACESTATE, &b"rojo=00f067aa0ba902b7"[..]),
            ]
        );
    }

    #[test]
    fn no_context_no_header() {
        let record = TraceContextInterceptor.on_send(ProducerRecord::new("t"));
        assert!(record.headers.is_empty());
    }

    #[test]
    fn the_current_context_is_read_in_send() {
        let _guard = Context::current()
            .with_remote_span_context(context())
            .attach();
        let record = TraceContextInterceptor.on_send(ProducerRecord::new("t"));
        assert_eq!(record.headers.len(), 2);
    }
}
