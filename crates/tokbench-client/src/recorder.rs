//! The timing path: network chunks in, [`TokenEvent`]s out.
//!
//! [`StreamRecorder`] owns an [`SseParser`] and decodes each complete event
//! with [`crate::openai::decode_chunk`]. Every event completed by a network
//! chunk is stamped with that chunk's arrival time (taken by the caller from
//! a monotonic clock as the chunk arrived). Only timestamps, byte counts and
//! the rare end-of-stream facts (usage, timings, finish reason) are stored;
//! all metric arithmetic happens after the run in `tokbench-stats`.

use tokbench_stats::{Channel, ErrorKind, RequestSample, TokenEvent};

use crate::openai::{decode_chunk, DONE};
use crate::sse::{FeedError, SseError, SseParser};

/// Longest excerpt of offending bytes kept in an error message.
pub const EXCERPT_BYTES: usize = 200;

/// A stream-level failure detected while recording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Framing failure (a line over the limit).
    #[error(transparent)]
    Sse(#[from] SseError),
    /// An event that is not valid JSON of the expected shape.
    #[error("malformed event ({reason}): {excerpt}")]
    Malformed {
        /// The decoder's complaint.
        reason: String,
        /// The offending payload, truncated to [`EXCERPT_BYTES`].
        excerpt: String,
    },
    /// The server sent an error object inside the stream.
    #[error("server error in stream: {0}")]
    InStream(String),
}

impl StreamError {
    /// The error kind recorded in the request's outcome.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StreamError::Sse(SseError::LineTooLong { .. }) => ErrorKind::LineTooLong,
            StreamError::Malformed { .. } => ErrorKind::MalformedEvent,
            StreamError::InStream(_) => ErrorKind::StreamError,
        }
    }
}

/// Truncates bytes to a printable excerpt of at most [`EXCERPT_BYTES`].
pub fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if bytes.len() > EXCERPT_BYTES {
        s.push('…');
    }
    s
}

/// Per-request stream state.
#[derive(Debug, Default)]
pub struct StreamRecorder {
    parser: SseParser,
    done: bool,
}

impl StreamRecorder {
    /// A recorder whose SSE lines may be at most `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self {
            parser: SseParser::new(max_line),
            done: false,
        }
    }

    /// Whether `[DONE]` has been seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether an unfinished event is buffered.
    pub fn has_pending(&self) -> bool {
        self.parser.has_pending()
    }

    /// Records one network chunk that arrived `t_us` µs after the request
    /// was sent. Bytes after `[DONE]` are ignored.
    ///
    /// # Errors
    /// [`StreamError`] on framing or decoding failure, or an in-stream error
    /// object; events recorded before the failure stay in `sample`.
    pub fn on_chunk(
        &mut self,
        t_us: u32,
        bytes: &[u8],
        sample: &mut RequestSample,
    ) -> Result<(), StreamError> {
        if self.done {
            return Ok(());
        }
        let done = &mut self.done;
        let result = self.parser.feed(bytes, |event| {
            if *done {
                return Ok(());
            }
            if event.data == DONE {
                *done = true;
                return Ok(());
            }
            record_event(t_us, event.data, event.name, sample)
        });
        match result {
            Ok(()) => Ok(()),
            Err(FeedError::Sse(e)) => Err(StreamError::Sse(e)),
            Err(FeedError::Handler(e)) => Err(e),
        }
    }
}

fn record_event(
    t_us: u32,
    data: &[u8],
    name: &[u8],
    sample: &mut RequestSample,
) -> Result<(), StreamError> {
    let info = decode_chunk(data).map_err(|e| StreamError::Malformed {
        reason: e.to_string(),
        excerpt: excerpt(data),
    })?;
    if let Some(message) = info.error {
        return Err(StreamError::InStream(message));
    }
    if name == b"error" {
        return Err(StreamError::InStream(excerpt(data)));
    }
    for (bytes, channel) in [
        (info.reasoning_bytes, Channel::Reasoning),
        (info.content_bytes, Channel::Content),
        (info.tool_bytes, Channel::ToolCall),
    ] {
        if bytes > 0 {
            sample.events.push(TokenEvent {
                t_us,
                bytes,
                channel,
            });
        }
    }
    if info.finish_reason.is_some() && sample.finish_reason.is_none() {
        sample.finish_reason = info.finish_reason;
    }
    if info.usage.is_some() {
        sample.usage = info.usage;
    }
    if info.timings.is_some() {
        sample.server_timings = info.timings;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::DEFAULT_MAX_LINE_BYTES;

    fn sample() -> RequestSample {
        RequestSample::new(0, false, 0, 0)
    }

    const STREAM: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
data: {\"choices\":[{\"delta\":{\"content\":\"\"}}]}\n\n\
data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}],\"timings\":{\"predicted_n\":2,\"predicted_per_second\":50.0}}\n\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n\
data: [DONE]\n\n";

    #[test]
    fn full_stream_in_one_chunk() {
        let mut r = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
        let mut s = sample();
        r.on_chunk(1234, STREAM, &mut s).unwrap();
        assert!(r.is_done());
        assert_eq!(
            s.events,
            vec![
                TokenEvent {
                    t_us: 1234,
                    bytes: 2,
                    channel: Channel::Reasoning
                },
                TokenEvent {
                    t_us: 1234,
                    bytes: 2,
                    channel: Channel::Content
                }
            ]
        );
        assert_eq!(s.finish_reason.as_deref(), Some("length"));
        assert_eq!(s.usage.unwrap().completion_tokens, 2);
        assert_eq!(s.server_timings.unwrap().predicted_n, 2);
    }

    #[test]
    fn events_take_the_time_of_the_chunk_that_completes_them() {
        let mut r = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
        let mut s = sample();
        let split = STREAM.windows(2).position(|w| w == b"Hi").unwrap();
        r.on_chunk(10, &STREAM[..split], &mut s).unwrap();
        r.on_chunk(20, &STREAM[split..], &mut s).unwrap();
        let times: Vec<u32> = s.events.iter().map(|e| e.t_us).collect();
        assert_eq!(times, vec![10, 20]);
    }

    #[test]
    fn bytes_after_done_are_ignored() {
        let mut r = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
        let mut s = sample();
        r.on_chunk(1, b"data: [DONE]\n\ndata: garbage\n\n", &mut s)
            .unwrap();
        r.on_chunk(2, b"more garbage", &mut s).unwrap();
        assert!(r.is_done());
        assert!(s.events.is_empty());
    }

    #[test]
    fn malformed_event_keeps_earlier_events_and_names_bytes() {
        let mut r = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
        let mut s = sample();
        let err = r
            .on_chunk(
                5,
                b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\n\n",
                &mut s,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedEvent);
        assert!(err
            .to_string()
            .contains("{\"choices\":[{\"delta\":{\"content\":"));
        assert_eq!(s.events.len(), 1);
    }

    #[test]
    fn in_stream_error_object() {
        let mut r = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
        let mut s = sample();
        let err = r
            .on_chunk(
                5,
                b"data: {\"error\":{\"message\":\"slot unavailable\"}}\n\n",
                &mut s,
            )
            .unwrap_err();
        assert_eq!(err, StreamError::InStream("slot unavailable".into()));
    }

    #[test]
    fn one_mib_line_without_newline_is_typed_error() {
        let mut r = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
        let mut s = sample();
        let block = vec![b'x'; 64 * 1024];
        let mut result = Ok(());
        for _ in 0..17 {
            result = r.on_chunk(1, &block, &mut s);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result.unwrap_err().kind(), ErrorKind::LineTooLong);
    }

    #[test]
    fn excerpt_truncates() {
        let e = excerpt(&[b'a'; 500]);
        assert_eq!(e.chars().count(), EXCERPT_BYTES + 1);
        assert!(e.ends_with('…'));
    }
}
