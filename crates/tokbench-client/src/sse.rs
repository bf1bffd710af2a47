//! Server-sent events framing over a raw byte stream.
//!
//! Implements the event-stream parsing rules of the WHATWG HTML standard
//! (§9.2.6 "Interpreting an event stream") for the subset OpenAI-compatible
//! servers use: `data:` fields (joined with `\n` when an event has several),
//! `event:` names, comments (`:` lines), and any of `\n`, `\r\n`, `\r` as
//! line terminators. `id:` and `retry:` are accepted and ignored: tokbench
//! never reconnects, because a retried POST would double-count a request.
//!
//! The parser is push-based and allocation-light: bytes of a line that is
//! split across network chunks are buffered, complete lines are processed in
//! place. Memory is bounded: a line or an event longer than the configured
//! limit is a typed error ([`SseError::LineTooLong`]), never unbounded
//! growth. UTF-8 characters split across chunks need no special handling
//! here because events are only handed out once complete.

use memchr::memchr2;

/// Default bound on one line (and on one event's accumulated data): 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Framing errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line (or an event's data) grew past the limit without ending.
    #[error("SSE line longer than {limit} bytes without a line terminator")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
}

/// One complete event, borrowed from the parser's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` name, empty when the event had none (the default
    /// "message" type).
    pub name: &'a [u8],
    /// The concatenated `data:` payload (without the trailing newline).
    pub data: &'a [u8],
}

/// Incremental SSE parser. Feed it network chunks in order with
/// [`SseParser::feed`]; it calls back once per complete event.
#[derive(Debug)]
pub struct SseParser {
    /// Bytes of an unterminated line carried over from the previous chunk.
    partial: Vec<u8>,
    /// Accumulated `data:` payload of the event being built.
    data: Vec<u8>,
    /// Accumulated `event:` name of the event being built.
    name: Vec<u8>,
    /// Whether the current event has seen a `data:` field.
    has_data: bool,
    /// The previous chunk ended in `\r`, so a leading `\n` is part of it.
    skip_lf: bool,
    max_line: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE_BYTES)
    }
}

impl SseParser {
    /// A parser that rejects lines (and event payloads) over `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            data: Vec::new(),
            name: Vec::new(),
            has_data: false,
            skip_lf: false,
            max_line,
        }
    }

    /// Feeds one network chunk; `on_event` is called for each event the
    /// chunk completes, in order. An error from `on_event` stops parsing and
    /// is returned as `Err(Right(e))`-style via [`FeedError::Handler`].
    ///
    /// # Errors
    /// [`FeedError::Sse`] when a line exceeds the limit; [`FeedError::Handler`]
    /// when the callback fails.
    pub fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), FeedError<E>> {
        if self.skip_lf {
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
            self.skip_lf = false;
        }
        while !chunk.is_empty() {
            let Some(pos) = memchr2(b'\n', b'\r', chunk) else {
                if self.partial.len() + chunk.len() > self.max_line {
                    return Err(FeedError::Sse(SseError::LineTooLong {
                        limit: self.max_line,
                    }));
                }
                self.partial.extend_from_slice(chunk);
                return Ok(());
            };
            let line_end = pos;
            let mut next = pos + 1;
            if chunk[pos] == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            if self.partial.is_empty() {
                self.line(&chunk[..line_end], &mut on_event)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&chunk[..line_end]);
                let result = self.line(&line, &mut on_event);
                line.clear();
                self.partial = line;
                result?;
            }
            chunk = &chunk[next..];
        }
        Ok(())
    }

    /// Whether bytes of an unfinished line or event are buffered (used to
    /// tell a clean end of stream from a truncated one).
    pub fn has_pending(&self) -> bool {
        !self.partial.is_empty() || self.has_data
    }

    fn line<E>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), FeedError<E>> {
        if line.len() > self.max_line {
            return Err(FeedError::Sse(SseError::LineTooLong {
                limit: self.max_line,
            }));
        }
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_line {
                    return Err(FeedError::Sse(SseError::LineTooLong {
                        limit: self.max_line,
                    }));
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.name.clear();
                self.name.extend_from_slice(value);
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), FeedError<E>> {
        let result = if self.has_data {
            on_event(SseEvent {
                name: &self.name,
                data: &self.data,
            })
            .map_err(FeedError::Handler)
        } else {
            Ok(())
        };
        self.data.clear();
        self.name.clear();
        self.has_data = false;
        result
    }
}

/// Error from [`SseParser::feed`]: either framing or the caller's handler.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedError<E> {
    /// The byte stream is not acceptable SSE.
    Sse(SseError),
    /// The event handler failed.
    Handler(E),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<(String, String)> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.feed::<()>(c, |e| {
                out.push((
                    String::from_utf8_lossy(e.name).into_owned(),
                    String::from_utf8_lossy(e.data).into_owned(),
                ));
                Ok(())
            })
            .unwrap();
        }
        out
    }

    fn data(chunks: &[&[u8]]) -> Vec<String> {
        collect(chunks).into_iter().map(|(_, d)| d).collect()
    }

    #[test]
    fn several_events_in_one_chunk() {
        let got = data(&[b"data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n"]);
        assert_eq!(got, vec!["{\"a\":1}", "{\"b\":2}", "[DONE]"]);
    }

    #[test]
    fn event_split_across_chunks_at_every_offset() {
        let stream: &[u8] = b"data: {\"x\":\"hello\"}\n\ndata: [DONE]\n\n";
        for split in 0..=stream.len() {
            let got = data(&[&stream[..split], &stream[split..]]);
            assert_eq!(got, vec!["{\"x\":\"hello\"}", "[DONE]"], "split at {split}");
        }
    }

    #[test]
    fn byte_by_byte_feed() {
        let stream: &[u8] = b"data: one\r\n\r\ndata: two\r\rdata:three\n\n";
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(data(&chunks), vec!["one", "two", "three"]);
    }

    #[test]
    fn utf8_character_split_across_chunks() {
        let stream = "data: {\"c\":\"日本é\"}\n\n".as_bytes();
        // Split inside the 3-byte '日'.
        let split = stream.iter().position(|&b| b == 0xe6).unwrap() + 1;
        let got = data(&[&stream[..split], &stream[split..]]);
        assert_eq!(got, vec!["{\"c\":\"日本é\"}"]);
    }

    #[test]
    fn crlf_split_between_chunks_is_one_terminator() {
        let got = data(&[b"data: a\r", b"\n\r", b"\ndata: b\n\n"]);
        assert_eq!(got, vec!["a", "b"]);
    }

    #[test]
    fn multi_line_data_comments_and_names() {
        let got = collect(&[b": keep-alive\nevent: error\ndata: x\ndata: y\nid: 7\nretry: 10\n\n"]);
        assert_eq!(got, vec![("error".to_string(), "x\ny".to_string())]);
    }

    #[test]
    fn data_without_space_and_empty_data() {
        let got = data(&[b"data:{}\n\ndata\n\n"]);
        assert_eq!(got, vec!["{}", ""]);
    }

    #[test]
    fn blank_lines_without_data_dispatch_nothing() {
        assert!(data(&[b"\n\n\n: c\n\n"]).is_empty());
    }

    #[test]
    fn overlong_line_is_an_error_not_growth() {
        let mut p = SseParser::new(1024);
        let big = vec![b'a'; 600];
        assert!(p.feed::<()>(b"data: ", |_| Ok(())).is_ok());
        assert!(p.feed::<()>(&big, |_| Ok(())).is_ok());
        let err = p.feed::<()>(&big, |_| Ok(())).unwrap_err();
        assert_eq!(err, FeedError::Sse(SseError::LineTooLong { limit: 1024 }));
    }

    #[test]
    fn overlong_event_from_many_data_lines_is_an_error() {
        let mut p = SseParser::new(64);
        let line = b"data: 0123456789012345678901234567890123456789\n";
        assert!(p.feed::<()>(line, |_| Ok(())).is_ok());
        assert!(p.feed::<()>(line, |_| Ok(())).is_err());
    }

    #[test]
    fn handler_error_stops_and_is_returned() {
        let mut p = SseParser::default();
        let mut seen = 0;
        let r = p.feed(b"data: 1\n\ndata: 2\n\n", |_| {
            seen += 1;
            Err("stop")
        });
        assert_eq!(r, Err(FeedError::Handler("stop")));
        assert_eq!(seen, 1);
    }

    #[test]
    fn pending_reports_unfinished_event() {
        let mut p = SseParser::default();
        p.feed::<()>(b"data: {\"a\"", |_| Ok(())).unwrap();
        assert!(p.has_pending());
        p.feed::<()>(b":1}\n", |_| Ok(())).unwrap();
        assert!(p.has_pending());
        p.feed::<()>(b"\n", |_| Ok(())).unwrap();
        assert!(!p.has_pending());
    }
}
