//! Undoing a body's `Content-Encoding` as it streams, in bounded steps: however much a chunk
//! inflates to (a decompression bomb), one step hands out at most about [`STEP_OUTPUT`] bytes,
//! and the rest waits inside the decoder for the next step.

use std::fmt;
use std::io::{self, Write};

use brotli::enc::StandardAlloc;
use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};
use flate2::write::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// Decoded bytes one step produces, about (the flate decoders may add up to ~100 KiB, their
/// internal buffer and pending window). Small enough that many bodies in flight cost little.
pub const STEP_OUTPUT: usize = 256 * 1024;

/// The brotli decoder's output buffer; flate2's writers have their own of 32 KiB.
const BROTLI_BUFFER: usize = 32 * 1024;

/// How the upstream body is encoded (its `Content-Encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentEncoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

/// A `Content-Encoding` the proxy cannot decode: its bytes cannot be restored, so the caller
/// answers 502 rather than pass tokens (or worse, a half-restored body) through.
#[derive(Debug, thiserror::Error)]
#[error("unsupported Content-Encoding {0:?}")]
pub struct UnsupportedEncoding(pub String);

impl ContentEncoding {
    /// Parses a `Content-Encoding` header value: no header (or an empty one) is identity;
    /// `gzip`/`x-gzip`, `deflate`, `br` and `identity` in any case; anything else, a chain of
    /// several codings included, is unsupported.
    pub fn parse(value: Option<&http::HeaderValue>) -> Result<Self, UnsupportedEncoding> {
        let Some(value) = value else { return Ok(ContentEncoding::Identity) };
        let unsupported = || UnsupportedEncoding(String::from_utf8_lossy(value.as_bytes()).into_owned());
        let text = value.to_str().map_err(|_| unsupported())?.trim();
        Ok(match text.to_ascii_lowercase().as_str() {
            "" | "identity" => ContentEncoding::Identity,
            "gzip" | "x-gzip" => ContentEncoding::Gzip,
            "deflate" => ContentEncoding::Deflate,
            "br" => ContentEncoding::Brotli,
            _ => return Err(unsupported()),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ContentEncoding::Identity => "identity",
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Deflate => "deflate",
            ContentEncoding::Brotli => "br",
        }
    }
}

impl fmt::Display for ContentEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the {0} body ends before its compressed stream does")]
    Truncated(ContentEncoding),
    #[error("the {encoding} body is corrupt: {source}")]
    Corrupt {
        encoding: ContentEncoding,
        #[source]
        source: io::Error,
    },
}

/// Decodes one body. Feed it with [`decode`](Decoder::decode) while it consumes input or
/// [`has_pending`](Decoder::has_pending) says so, end with [`finish`](Decoder::finish).
pub struct Decoder {
    encoding: ContentEncoding,
    codec: Codec,
    /// Whether any input came: an empty body is empty whatever its coding says (HEAD, 304).
    started: bool,
}

enum Codec {
    Identity,
    Gzip(MultiGzDecoder<Vec<u8>>),
    /// `deflate` before two bytes tell a zlib header from raw deflate: the first byte, once seen.
    Sniffing(Option<u8>),
    Zlib(ZlibDecoder<Vec<u8>>),
    RawDeflate(DeflateDecoder<Vec<u8>>),
    Brotli(Box<Brotli>),
}

impl Decoder {
    pub fn new(encoding: ContentEncoding) -> Self {
        let codec = match encoding {
            ContentEncoding::Identity => Codec::Identity,
            ContentEncoding::Gzip => Codec::Gzip(MultiGzDecoder::new(Vec::new())),
            ContentEncoding::Deflate => Codec::Sniffing(None),
            ContentEncoding::Brotli => Codec::Brotli(Box::new(Brotli::new())),
        };
        Self { encoding, codec, started: false }
    }

    /// Decodes from `input` until it is all used or about [`STEP_OUTPUT`] bytes are out.
    /// Returns how much of `input` it used and the decoded bytes, valid until the next call.
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> Result<(usize, &'a [u8]), DecodeError> {
        self.started |= !input.is_empty();
        let encoding = self.encoding;
        let corrupt = |source| DecodeError::Corrupt { encoding, source };
        if let Codec::Sniffing(first) = &mut self.codec {
            let (b0, b1) = match (*first, input) {
                (Some(b0), &[b1, ..]) | (None, &[b0, b1, ..]) => (b0, b1),
                (None, &[b0]) => {
                    *first = Some(b0);
                    return Ok((1, &[]));
                }
                _ => return Ok((input.len(), &[])),
            };
            // A zlib header names deflate with a window of at most 32 KiB and is a multiple of
            // 31; anything else is raw deflate, which some servers send and browsers accept.
            let zlib = b0 & 0x0f == 8 && b0 >> 4 <= 7 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0;
            let mut codec = if zlib {
                Codec::Zlib(ZlibDecoder::new(Vec::new()))
            } else {
                Codec::RawDeflate(DeflateDecoder::new(Vec::new()))
            };
            if let Some(b0) = *first {
                let written = match &mut codec {
                    Codec::Zlib(decoder) => decoder.write_all(&[b0]),
                    Codec::RawDeflate(decoder) => decoder.write_all(&[b0]),
                    _ => Ok(()),
                };
                written.map_err(corrupt)?;
            }
            self.codec = codec;
        }
        match &mut self.codec {
            Codec::Identity => {
                let used = input.len().min(STEP_OUTPUT);
                Ok((used, &input[..used]))
            }
            Codec::Gzip(decoder) => flate_step(decoder, input).map_err(corrupt),
            Codec::Zlib(decoder) => flate_step(decoder, input).map_err(corrupt),
            Codec::RawDeflate(decoder) => flate_step(decoder, input).map_err(corrupt),
            Codec::Brotli(brotli) => brotli.step(input).map_err(corrupt),
            // Replaced above.
            Codec::Sniffing(_) => Ok((input.len(), &[])),
        }
    }

    /// Whether the decoder holds output that [`decode`](Decoder::decode) will give even without
    /// more input.
    pub fn has_pending(&self) -> bool {
        matches!(&self.codec, Codec::Brotli(brotli) if matches!(brotli.last, BrotliResult::NeedsMoreOutput))
    }

    /// Ends the body (all input given, nothing pending): the last decoded bytes, or an error if
    /// the compressed stream was cut short.
    pub fn finish(&mut self) -> Result<&[u8], DecodeError> {
        if !self.started {
            return Ok(&[]);
        }
        let encoding = self.encoding;
        let failed = |source: io::Error| match source.kind() {
            io::ErrorKind::UnexpectedEof => DecodeError::Truncated(encoding),
            _ => DecodeError::Corrupt { encoding, source },
        };
        match &mut self.codec {
            Codec::Identity => Ok(&[]),
            Codec::Gzip(decoder) => flate_finish(decoder).map_err(failed),
            Codec::Zlib(decoder) => flate_finish(decoder).map_err(failed),
            Codec::RawDeflate(decoder) => flate_finish(decoder).map_err(failed),
            Codec::Brotli(brotli) if matches!(brotli.last, BrotliResult::ResultSuccess) => Ok(&[]),
            Codec::Brotli(_) | Codec::Sniffing(_) => Err(DecodeError::Truncated(encoding)),
        }
    }
}

/// flate2's push decoders, writing into a `Vec` this module drains.
trait FlateWriter: Write {
    fn output(&mut self) -> &mut Vec<u8>;
    fn try_finish(&mut self) -> io::Result<()>;
}

macro_rules! flate_writer {
    ($($decoder:ident),*) => {$(
        impl FlateWriter for $decoder<Vec<u8>> {
            fn output(&mut self) -> &mut Vec<u8> {
                self.get_mut()
            }
            fn try_finish(&mut self) -> io::Result<()> {
                $decoder::try_finish(self)
            }
        }
    )*};
}
flate_writer!(MultiGzDecoder, ZlibDecoder, DeflateDecoder);

fn flate_step<'a>(decoder: &'a mut impl FlateWriter, input: &[u8]) -> io::Result<(usize, &'a [u8])> {
    decoder.output().clear();
    let mut used = 0;
    // Each write inflates into flate2's 32 KiB buffer and stops when it is full, so checking the
    // output between writes bounds it however small the input.
    while used < input.len() && decoder.output().len() < STEP_OUTPUT {
        match decoder.write(&input[used..])? {
            // Past the end of a zlib or deflate stream: browsers ignore what follows, and so do
            // we (it decodes to nothing). Gzip reads on into a next member instead.
            0 => used = input.len(),
            n => used += n,
        }
    }
    if used == input.len() {
        // What flate2 still buffers (at most its window) goes out now, not with the next chunk.
        decoder.flush()?;
    }
    Ok((used, decoder.output().as_slice()))
}

fn flate_finish(decoder: &mut impl FlateWriter) -> io::Result<&[u8]> {
    decoder.output().clear();
    decoder.try_finish()?;
    Ok(decoder.output().as_slice())
}

struct Brotli {
    state: BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>,
    buffer: Box<[u8]>,
    output: Vec<u8>,
    last: BrotliResult,
    total_out: usize,
}

impl Brotli {
    fn new() -> Self {
        Self {
            // Strict: RFC 7932's window of at most 16 MiB, not the large-window extension's 1 GiB
            // (which browsers refuse too).
            state: BrotliState::new_strict(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ),
            buffer: vec![0; BROTLI_BUFFER].into_boxed_slice(),
            output: Vec::new(),
            last: BrotliResult::NeedsMoreInput,
            total_out: 0,
        }
    }

    fn step(&mut self, input: &[u8]) -> io::Result<(usize, &[u8])> {
        self.output.clear();
        let mut used = 0;
        loop {
            if matches!(self.last, BrotliResult::ResultSuccess) {
                // Past the end of the stream: ignored, as browsers do.
                return Ok((input.len(), &self.output));
            }
            let mut available_in = input.len() - used;
            let mut available_out = self.buffer.len();
            let mut written = 0;
            self.last = BrotliDecompressStream(
                &mut available_in,
                &mut used,
                input,
                &mut available_out,
                &mut written,
                &mut self.buffer,
                &mut self.total_out,
                &mut self.state,
            );
            self.output.extend_from_slice(&self.buffer[..written]);
            match self.last {
                BrotliResult::ResultSuccess => {}
                // Brotli takes in all it is given before asking for more.
                BrotliResult::NeedsMoreInput => return Ok((input.len(), &self.output)),
                BrotliResult::NeedsMoreOutput if self.output.len() >= STEP_OUTPUT => {
                    return Ok((used, &self.output));
                }
                BrotliResult::NeedsMoreOutput => {}
                BrotliResult::ResultFailure => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "invalid brotli stream"));
                }
            }
        }
    }
}
