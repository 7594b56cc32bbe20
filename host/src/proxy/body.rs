//! The dashboard's answer body, restored as it streams: each chunk from upstream is decoded
//! (gzip, deflate, brotli), its tokens restored to plaintext, and passed on at once. Memory stays
//! bounded by a chunk, one token and the decoder's window, never the body.
//!
//! A body that cannot be decoded to its end fails loudly (an error frame, which makes hyper abort
//! the response): the browser sees a broken download, never a page silently cut short.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use connector_pii::restore::{RestoreStats, Restorer, Witnessed};
use http_body::{Body, Frame, SizeHint};

pub use super::decode::{ContentEncoding, UnsupportedEncoding};
use super::decode::{DecodeError, Decoder};

/// What happened to a body, reported once when it ends, fails, or is dropped unfinished.
#[derive(Clone, Debug)]
pub struct BodyOutcome {
    pub stats: RestoreStats,
    /// The tokens restored, if the restorer was asked to witness them.
    pub witnessed: Witnessed,
    /// Bytes from upstream, as encoded.
    pub bytes_in: u64,
    /// Bytes handed on, restored.
    pub bytes_out: u64,
    /// Why the body did not end normally; "client closed" if it was dropped unfinished.
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the dashboard's body failed: {0}")]
    Upstream(String),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

type OnEnd = Box<dyn FnOnce(BodyOutcome) + Send>;

/// An upstream body, decoded and restored as it streams. Not a known length: restoring changes
/// it, so the caller removes `Content-Length` (and `Content-Encoding`) and hyper sends it chunked.
pub struct RestoringBody<B> {
    /// Boxed so that this body is `Unpin` whatever `B` is.
    upstream: Pin<Box<B>>,
    upstream_ended: bool,
    decoder: Decoder,
    restorer: Restorer,
    /// Upstream data the decoder has not used yet.
    input: Bytes,
    /// Taken when the outcome is reported; `None` means the body is over.
    on_end: Option<OnEnd>,
    bytes_in: u64,
    bytes_out: u64,
}

impl<B> RestoringBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    /// `on_end` is called exactly once: when the body ends, when it fails, or when it is
    /// dropped unfinished.
    pub fn new(
        upstream: B,
        encoding: ContentEncoding,
        restorer: Restorer,
        on_end: impl FnOnce(BodyOutcome) + Send + 'static,
    ) -> Self {
        Self {
            upstream: Box::pin(upstream),
            upstream_ended: false,
            decoder: Decoder::new(encoding),
            restorer,
            input: Bytes::new(),
            on_end: Some(Box::new(on_end)),
            bytes_in: 0,
            bytes_out: 0,
        }
    }
}

impl<B> RestoringBody<B> {
    /// Decodes and restores the next piece of the input.
    fn restore_input(&mut self) -> Result<Vec<u8>, BodyError> {
        let (used, decoded) = self.decoder.decode(&self.input)?;
        let mut out = Vec::with_capacity(decoded.len() + decoded.len() / 8);
        self.restorer.push(decoded, &mut out);
        if used == self.input.len() {
            // Let go of upstream's buffer now rather than at the next chunk.
            self.input = Bytes::new();
        } else {
            self.input.advance(used);
        }
        Ok(out)
    }

    /// Ends the decoder and the restorer: the body's last bytes.
    fn restore_rest(&mut self) -> Result<Vec<u8>, BodyError> {
        let decoded = self.decoder.finish()?;
        let mut out = Vec::with_capacity(decoded.len() + decoded.len() / 8);
        self.restorer.push(decoded, &mut out);
        self.restorer.finish(&mut out);
        Ok(out)
    }

    fn report(&mut self, error: Option<String>) {
        if let Some(on_end) = self.on_end.take() {
            on_end(BodyOutcome {
                stats: self.restorer.stats(),
                witnessed: self.restorer.take_witnessed(),
                bytes_in: self.bytes_in,
                bytes_out: self.bytes_out,
                error,
            });
        }
    }

    fn fail(&mut self, error: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.report(Some(error.to_string()));
        Poll::Ready(Some(Err(error)))
    }

    fn data(&mut self, out: Vec<u8>) -> Frame<Bytes> {
        self.bytes_out += out.len() as u64;
        Frame::data(Bytes::from(out))
    }
}

impl<B> Body for RestoringBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        loop {
            if this.on_end.is_none() {
                return Poll::Ready(None);
            }
            if !this.input.is_empty() || this.decoder.has_pending() {
                match this.restore_input() {
                    // Nothing out yet (a token held back, a compressed header): read on.
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => return Poll::Ready(Some(Ok(this.data(out)))),
                    Err(error) => return this.fail(error),
                }
            }
            if this.upstream_ended {
                return match this.restore_rest() {
                    Ok(out) => {
                        let last = (!out.is_empty()).then(|| this.data(out));
                        this.report(None);
                        Poll::Ready(last.map(Ok))
                    }
                    Err(error) => this.fail(error),
                };
            }
            match ready!(this.upstream.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers are dropped: they may carry digests or validators of the tokenized
                    // body, which the restored body would contradict.
                    if let Ok(data) = frame.into_data() {
                        this.bytes_in += data.len() as u64;
                        this.input = data;
                    }
                }
                Some(Err(error)) => return this.fail(BodyError::Upstream(error.to_string())),
                None => this.upstream_ended = true,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.on_end.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown: restoring changes the length, and decoding more so.
        SizeHint::default()
    }
}

impl<B> Drop for RestoringBody<B> {
    fn drop(&mut self) {
        // Dropped before its end: the client went away. The audit still learns what was sent.
        self.report(Some("client closed".to_string()));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::Write;
    use std::sync::{Arc, LazyLock, Mutex};
    use std::task::Waker;

    use connector_pii::canonical::Canonicalizer;
    use connector_pii::keyring::Keyring;
    use connector_pii::restore::{self, restore_all};
    use connector_pii::token::MAX_TOKEN_CHARS;
    use connector_pii::{Kind, Tokenizer};
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use http::HeaderMap;

    use super::*;
    use crate::proxy::decode::STEP_OUTPUT;

    static TOKENIZER: LazyLock<Arc<Tokenizer>> =
        LazyLock::new(|| Arc::new(Tokenizer::new(Keyring::generate().expect("keyring"), Canonicalizer::new(None))));

    fn token(kind: Kind, value: &str) -> String {
        TOKENIZER.tokenize(kind, value).expect("tokenize")
    }

    /// An upstream body playing back frames, errors and a `Pending` before every frame (whose
    /// waker it wakes at once, as a socket with data would).
    struct Scripted {
        steps: VecDeque<Option<Result<Frame<Bytes>, String>>>,
    }

    impl Scripted {
        fn new(steps: impl IntoIterator<Item = Result<Frame<Bytes>, String>>) -> Self {
            Self { steps: steps.into_iter().flat_map(|step| [None, Some(step)]).collect() }
        }

        fn chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
            Self::new(chunks.into_iter().map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk)))))
        }
    }

    impl Body for Scripted {
        type Data = Bytes;
        type Error = String;

        fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, String>>> {
            match self.steps.pop_front() {
                None => Poll::Ready(None),
                Some(None) => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Some(Some(step)) => Poll::Ready(Some(step)),
            }
        }
    }

    type Outcomes = Arc<Mutex<Vec<BodyOutcome>>>;

    fn restoring(
        upstream: Scripted,
        encoding: ContentEncoding,
        restorer: Restorer,
    ) -> (RestoringBody<Scripted>, Outcomes) {
        let outcomes = Outcomes::default();
        let sink = outcomes.clone();
        let on_end = move |outcome| sink.lock().expect("outcomes").push(outcome);
        (RestoringBody::new(upstream, encoding, restorer, on_end), outcomes)
    }

    fn restorer(context: restore::Context) -> Restorer {
        Restorer::new(TOKENIZER.clone(), context)
    }

    /// Polls `body` to its end: the data frames, and the error if one came.
    fn drain<B: Body<Data = Bytes, Error = BodyError> + Unpin>(body: &mut B) -> (Vec<Bytes>, Option<BodyError>) {
        let mut cx = Context::from_waker(Waker::noop());
        let (mut frames, mut error) = (Vec::new(), None);
        loop {
            match Pin::new(&mut *body).poll_frame(&mut cx) {
                Poll::Pending => {}
                Poll::Ready(None) => break,
                Poll::Ready(Some(Ok(frame))) => {
                    let data = frame.into_data().expect("only data frames");
                    assert!(!data.is_empty(), "empty frames are never yielded");
                    frames.push(data);
                }
                Poll::Ready(Some(Err(e))) => {
                    assert!(error.is_none(), "one error, then the end");
                    error = Some(e);
                }
            }
        }
        assert!(body.is_end_stream());
        (frames, error)
    }

    /// Streams `chunks` encoded as `encoding` and checks the body against `restore_all` of
    /// `plain`, and its one outcome.
    fn assert_restores(plain: &[u8], context: restore::Context, encoding: ContentEncoding, chunks: &[&[u8]]) {
        let (expected, expected_stats) = restore_all(TOKENIZER.clone(), context, plain);
        let (mut body, outcomes) = restoring(Scripted::chunks(chunks.iter().copied()), encoding, restorer(context));
        let (frames, error) = drain(&mut body);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.concat(), expected);
        drop(body);
        let outcomes = outcomes.lock().expect("outcomes");
        assert_eq!(outcomes.len(), 1, "reported once, not again on drop");
        assert_eq!(outcomes[0].error, None);
        assert_eq!(outcomes[0].stats, expected_stats);
        assert_eq!(outcomes[0].bytes_in, chunks.iter().map(|c| c.len() as u64).sum::<u64>());
        assert_eq!(outcomes[0].bytes_out, expected.len() as u64);
    }

    fn html_page() -> String {
        let evil = token(Kind::DeviceName, "<img src=x onerror=alert(1)>");
        let email = token(Kind::Email, "zoe@example.com");
        let person = token(Kind::PersonName, "Zoë O'Neil");
        format!(
            "<!doctype html><html><body><h1>{person}</h1><a href=\"/users/{email}\" title='{evil}'>{email}</a>\
             <script>var d = {{\"name\": \"{evil}\"}};</script><p>pii1_notatoken and {}</p></body></html>",
            &email[..20]
        )
    }

    fn json_page() -> String {
        let a = token(Kind::DeviceName, "Zoë's \"phone\"");
        let b = token(Kind::Phone, "+41 44 668 18 00");
        format!("{{\"devices\":[{{\"name\":\"{a}\",\"phone\":\"{b}\"}},{{\"name\":\"{a}\"}}],\"n\":2}}")
    }

    fn gzip(plain: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(plain).expect("gzip");
        encoder.finish().expect("gzip")
    }

    fn zlib(plain: &[u8]) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(plain).expect("zlib");
        encoder.finish().expect("zlib")
    }

    fn raw_deflate(plain: &[u8]) -> Vec<u8> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(plain).expect("deflate");
        encoder.finish().expect("deflate")
    }

    fn brotli(plain: &[u8]) -> Vec<u8> {
        let mut encoder = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
        encoder.write_all(plain).expect("brotli");
        encoder.into_inner()
    }

    #[test]
    fn every_cut_restores_like_the_whole_body() {
        for (page, context) in [(html_page(), restore::Context::Html), (json_page(), restore::Context::JsonString)] {
            let page = page.as_bytes();
            for cut in 0..=page.len() {
                let (head, tail) = page.split_at(cut);
                assert_restores(page, context, ContentEncoding::Identity, &[head, tail]);
            }
            let bytes: Vec<&[u8]> = page.chunks(1).collect();
            assert_restores(page, context, ContentEncoding::Identity, &bytes);
        }
    }

    #[test]
    fn compressed_bodies_restore_in_any_chunking() {
        let page = html_page().repeat(20);
        let page = page.as_bytes();
        let encoded = [
            (ContentEncoding::Gzip, gzip(page)),
            (ContentEncoding::Deflate, zlib(page)),
            (ContentEncoding::Deflate, raw_deflate(page)),
            (ContentEncoding::Brotli, brotli(page)),
        ];
        for (encoding, bytes) in &encoded {
            for size in [1, 2, 7, 100, bytes.len()] {
                let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
                assert_restores(page, restore::Context::Html, *encoding, &chunks);
            }
            for cut in 0..=bytes.len() {
                let (head, tail) = bytes.split_at(cut);
                assert_restores(page, restore::Context::Html, *encoding, &[head, tail]);
            }
        }
    }

    #[test]
    fn gzip_members_follow_one_another() {
        let json = json_page();
        let (first, second) = json.as_bytes().split_at(json.len() / 2);
        let both = [gzip(first), gzip(second)].concat();
        assert_restores(json.as_bytes(), restore::Context::JsonString, ContentEncoding::Gzip, &[&both]);
        let bytes: Vec<&[u8]> = both.chunks(3).collect();
        assert_restores(json.as_bytes(), restore::Context::JsonString, ContentEncoding::Gzip, &bytes);
    }

    #[test]
    fn what_follows_a_zlib_or_brotli_stream_is_ignored() {
        // As browsers do: it decodes to nothing, so nothing of the page is lost.
        let page = json_page();
        for (encoding, bytes) in
            [(ContentEncoding::Deflate, zlib(page.as_bytes())), (ContentEncoding::Brotli, brotli(page.as_bytes()))]
        {
            let padded = [bytes, vec![0; 10]].concat();
            assert_restores(page.as_bytes(), restore::Context::JsonString, encoding, &[&padded]);
        }
    }

    #[test]
    fn a_large_plain_chunk_goes_out_in_steps() {
        let page = html_page().repeat(3 << 20 >> 9);
        let (mut body, _) =
            restoring(Scripted::chunks([page.as_bytes()]), ContentEncoding::Identity, restorer(restore::Context::Html));
        let (frames, error) = drain(&mut body);
        assert!(error.is_none(), "{error:?}");
        assert!(frames.len() > 1);
        let (expected, _) = restore_all(TOKENIZER.clone(), restore::Context::Html, page.as_bytes());
        assert_eq!(frames.concat(), expected);
    }

    #[test]
    fn empty_bodies_are_empty_whatever_the_coding() {
        for encoding in
            [ContentEncoding::Identity, ContentEncoding::Gzip, ContentEncoding::Deflate, ContentEncoding::Brotli]
        {
            assert_restores(b"", restore::Context::Html, encoding, &[]);
            assert_restores(b"", restore::Context::Html, encoding, &[b""]);
        }
    }

    /// Streams `upstream` and expects an error frame whose message holds `message`.
    fn assert_fails(encoding: ContentEncoding, upstream: Scripted, message: &str) -> BodyOutcome {
        let (mut body, outcomes) = restoring(upstream, encoding, restorer(restore::Context::Html));
        let (frames, error) = drain(&mut body);
        let error = error.expect("an error frame");
        assert!(error.to_string().contains(message), "{error}");
        drop(body);
        let outcomes = outcomes.lock().expect("outcomes");
        assert_eq!(outcomes.len(), 1, "reported once, not again on drop");
        assert_eq!(outcomes[0].error.as_deref(), Some(&*error.to_string()));
        assert_eq!(outcomes[0].bytes_out, frames.iter().map(|f| f.len() as u64).sum::<u64>());
        outcomes[0].clone()
    }

    #[test]
    fn cut_compressed_bodies_fail() {
        let page = html_page().repeat(20);
        for (encoding, bytes) in [
            (ContentEncoding::Gzip, gzip(page.as_bytes())),
            (ContentEncoding::Deflate, zlib(page.as_bytes())),
            (ContentEncoding::Deflate, raw_deflate(page.as_bytes())),
            (ContentEncoding::Brotli, brotli(page.as_bytes())),
        ] {
            // In the header, the data, and (for gzip) the trailer.
            for cut in [1, 5, bytes.len() / 2, bytes.len() - 4, bytes.len() - 1] {
                // flate2 tells a cut gzip trailer as a checksum that does not match.
                let message = match encoding {
                    ContentEncoding::Gzip if cut > bytes.len() - 8 => "gzip body is corrupt",
                    _ => "ends before its compressed stream",
                };
                let outcome = assert_fails(encoding, Scripted::chunks([&bytes[..cut]]), message);
                assert_eq!(outcome.bytes_in, cut as u64);
            }
        }
    }

    #[test]
    fn corrupt_compressed_bodies_fail() {
        let page = html_page();
        let mut bad_gzip = gzip(page.as_bytes());
        let crc = bad_gzip.len() - 8;
        bad_gzip[crc] ^= 1;
        assert_fails(ContentEncoding::Gzip, Scripted::chunks([&bad_gzip[..]]), "gzip body is corrupt");
        let text = page.as_bytes();
        assert_fails(ContentEncoding::Gzip, Scripted::chunks([text]), "gzip body is corrupt");
        assert_fails(ContentEncoding::Brotli, Scripted::chunks([text]), "br body is corrupt");
        // Text is neither zlib nor valid raw deflate.
        assert_fails(ContentEncoding::Deflate, Scripted::chunks([text]), "deflate body is corrupt");
        // What follows a gzip member must be another.
        let trailing = [gzip(text), b"<p>not another member</p>".to_vec()].concat();
        assert_fails(ContentEncoding::Gzip, Scripted::chunks([&trailing[..]]), "gzip body is corrupt");
    }

    #[test]
    fn an_upstream_error_fails_the_body() {
        let page = json_page();
        let (head, tail) = page.as_bytes().split_at(page.len() / 2);
        let upstream = Scripted::new([
            Ok(Frame::data(Bytes::copy_from_slice(head))),
            Err("connection reset".to_string()),
            Ok(Frame::data(Bytes::copy_from_slice(tail))),
        ]);
        let outcome = assert_fails(ContentEncoding::Identity, upstream, "connection reset");
        assert_eq!(outcome.bytes_in, head.len() as u64);
        assert!(outcome.bytes_out > 0, "the first half went out before the error");
    }

    #[test]
    fn a_dropped_body_reports_what_was_sent() {
        let page = html_page();
        let (head, tail) = page.as_bytes().split_at(page.len() / 2);
        let (mut body, outcomes) =
            restoring(Scripted::chunks([head, tail]), ContentEncoding::Identity, restorer(restore::Context::Html));
        let mut cx = Context::from_waker(Waker::noop());
        let first = loop {
            if let Poll::Ready(frame) = Pin::new(&mut body).poll_frame(&mut cx) {
                break frame.expect("a frame").expect("data").into_data().expect("data");
            }
        };
        assert!(!body.is_end_stream());
        assert!(outcomes.lock().expect("outcomes").is_empty());
        drop(body);
        let outcomes = outcomes.lock().expect("outcomes");
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].error.as_deref(), Some("client closed"));
        assert_eq!(outcomes[0].bytes_out, first.len() as u64);

        // Dropped before it was ever polled.
        let (body, outcomes) =
            restoring(Scripted::chunks([head]), ContentEncoding::Gzip, restorer(restore::Context::Html));
        drop(body);
        assert_eq!(outcomes.lock().expect("outcomes")[0].error.as_deref(), Some("client closed"));
    }

    #[test]
    fn trailers_are_dropped() {
        let page = json_page();
        let mut trailers = HeaderMap::new();
        trailers.insert("digest", http::HeaderValue::from_static("sha-256=abc"));
        let upstream = Scripted::new([Ok(Frame::data(Bytes::from(page.clone()))), Ok(Frame::trailers(trailers))]);
        let (mut body, outcomes) =
            restoring(upstream, ContentEncoding::Identity, restorer(restore::Context::JsonString));
        let (frames, error) = drain(&mut body);
        assert!(error.is_none());
        let (expected, _) = restore_all(TOKENIZER.clone(), restore::Context::JsonString, page.as_bytes());
        assert_eq!(frames.concat(), expected);
        assert_eq!(outcomes.lock().expect("outcomes").len(), 1);
    }

    #[test]
    fn a_decompression_bomb_comes_out_in_bounded_frames() {
        let zeros = vec![0u8; 20 << 20];
        for (encoding, bomb) in [(ContentEncoding::Gzip, gzip(&zeros)), (ContentEncoding::Brotli, brotli(&zeros))] {
            assert!(bomb.len() < 64 << 10, "{encoding}: {} bytes", bomb.len());
            let (mut body, outcomes) =
                restoring(Scripted::chunks([&bomb[..]]), encoding, restorer(restore::Context::PlainText));
            let (frames, error) = drain(&mut body);
            assert!(error.is_none(), "{error:?}");
            let largest = frames.iter().map(Bytes::len).max().unwrap_or(0);
            assert!(largest <= STEP_OUTPUT + (128 << 10) + MAX_TOKEN_CHARS, "{encoding}: a frame of {largest} bytes");
            assert_eq!(frames.iter().map(Bytes::len).sum::<usize>(), zeros.len());
            assert!(frames.iter().all(|f| f.iter().all(|&b| b == 0)));
            assert_eq!(outcomes.lock().expect("outcomes")[0].bytes_out, zeros.len() as u64);
        }
    }

    #[test]
    fn the_witness_names_the_tokens_of_the_page() {
        let a = token(Kind::Email, "zoe@example.com");
        let b = token(Kind::DeviceName, "Zoë's phone");
        let page = format!("<ul><li>{a}</li><li>{b}</li><li>{a}</li></ul>");
        let bytes = gzip(page.as_bytes());
        let chunks = bytes.chunks(5).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))));
        let restorer = restorer(restore::Context::Html).witness(10);
        let (mut body, outcomes) = restoring(Scripted::new(chunks), ContentEncoding::Gzip, restorer);
        let (frames, _) = drain(&mut body);
        assert_eq!(
            String::from_utf8(frames.concat()).expect("utf-8"),
            "<ul><li>zoe@example.com</li><li>Zoë&#39;s phone</li><li>zoe@example.com</li></ul>"
        );
        let outcomes = outcomes.lock().expect("outcomes");
        assert_eq!(outcomes[0].witnessed, Witnessed { tokens: vec![a, b], more: 0 });
        assert_eq!(outcomes[0].stats.restored, 3);
    }

    #[test]
    fn content_encodings_parse() {
        use http::HeaderValue;
        let parse = |value: &'static str| ContentEncoding::parse(Some(&HeaderValue::from_static(value)));
        assert_eq!(ContentEncoding::parse(None).expect("none"), ContentEncoding::Identity);
        for (value, expected) in [
            ("gzip", ContentEncoding::Gzip),
            ("x-gzip", ContentEncoding::Gzip),
            (" GZIP ", ContentEncoding::Gzip),
            ("deflate", ContentEncoding::Deflate),
            ("br", ContentEncoding::Brotli),
            ("identity", ContentEncoding::Identity),
            ("", ContentEncoding::Identity),
        ] {
            assert_eq!(parse(value).expect(value), expected, "{value:?}");
        }
        for value in ["zstd", "compress", "gzip, br", "gzip,gzip", "br;q=1"] {
            let error = parse(value).expect_err(value);
            assert_eq!(error.0, value);
        }
        let opaque = HeaderValue::from_bytes(b"gz\xffip").expect("opaque header");
        assert!(ContentEncoding::parse(Some(&opaque)).is_err());
    }

    #[test]
    fn the_body_is_send_and_of_unknown_length() {
        fn send<T: Send>(_: &T) {}
        let (body, _) = restoring(Scripted::chunks([]), ContentEncoding::Gzip, restorer(restore::Context::Html));
        send(&body);
        assert_eq!(body.size_hint().upper(), None);
        assert_eq!(body.size_hint().lower(), 0);
        assert!(!body.is_end_stream());
    }
}
