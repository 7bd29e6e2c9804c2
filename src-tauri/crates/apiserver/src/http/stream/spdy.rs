//! SPDY/3.1 framing, server side: the subset kubectl's SPDY library (moby/spdystream) speaks
//! for exec, attach and port-forward (STREAMS.md §3).
//!
//! Why our own code: no maintained Rust crate is a SPDY/3.1 *server* that fits. The crates on
//! crates.io are clients (`spdy-mux`, `kube-portforward` on top of it) and enforce SPDY's
//! 64 KiB send windows, which stalls against kubectl because spdystream never sends
//! WINDOW_UPDATE; others send SETTINGS right after the upgrade, which kubectl can lose (it
//! parses the 101 through a throw-away buffer). The subset needed is small: eight frame types,
//! and one zlib stream per direction with the SPDY/3 preset dictionary for header blocks.
//!
//! [`Decoder`] turns an arbitrary byte stream (TLS reads, or WebSocket messages of the
//! port-forward tunnel, whose boundaries mean nothing) into [`Frame`]s; [`Encoder`] writes
//! each outgoing frame as one buffer so it leaves in one write.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The SPDY/3 header dictionary (1423 bytes, Adler-32 `0xe3c6a7c2`), a fixed part of the
/// protocol: both zlib streams are primed with it.
pub const DICTIONARY: &[u8] = include_bytes!("spdy3_dictionary.bin");

/// `FLAG_FIN` on DATA, SYN_STREAM and SYN_REPLY.
pub const FLAG_FIN: u8 = 0x01;

/// The largest DATA payload sent: kubectl itself writes at most 32 KiB per frame.
pub const MAX_DATA: usize = 32 * 1024;

/// The largest frame accepted (the 24-bit length field allows 16 MiB; nothing kubectl sends
/// comes near that, so a larger one is a broken peer).
const MAX_FRAME: usize = 1 << 24;

/// The largest decompressed header block accepted (spdystream's own bound is 4 KiB per name
/// or value; a block of a few headers is far below this).
const MAX_HEADER_BLOCK: usize = 256 * 1024;

/// One SPDY frame, as far as this server cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream: u32,
        fin: bool,
        data: Vec<u8>,
    },
    SynStream {
        stream: u32,
        fin: bool,
        headers: Vec<(String, String)>,
    },
    RstStream {
        stream: u32,
        status: u32,
    },
    Ping(u32),
    GoAway {
        last_good: u32,
        status: u32,
    },
    /// SYN_REPLY, SETTINGS, HEADERS, WINDOW_UPDATE and NOOP: read and ignored (a client never
    /// sends SYN_REPLY to a server; there is no flow control, see the module doc).
    Ignored(u16),
}

/// A protocol error that ends the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Parses frames from a byte stream; keeps the connection's one header inflater.
pub struct Decoder {
    buf: Vec<u8>,
    inflate: Decompress,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            buf: Vec::new(),
            inflate: Decompress::new(true),
        }
    }
}

impl Decoder {
    /// Appends bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ProtocolError> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = (usize::from(self.buf[5]) << 16)
            | (usize::from(self.buf[6]) << 8)
            | usize::from(self.buf[7]);
        if len >= MAX_FRAME {
            return Err(ProtocolError(format!("frame too large: {len}")));
        }
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..8 + len).collect();
        let flags = frame[4];
        let payload = &frame[8..];
        if frame[0] & 0x80 == 0 {
            let stream = be32(&frame[0..4]) & 0x7fff_ffff;
            if stream == 0 {
                return Err(ProtocolError("data frame on stream 0".into()));
            }
            return Ok(Some(Frame::Data {
                stream,
                fin: flags & FLAG_FIN != 0,
                data: payload.to_vec(),
            }));
        }
        let version = u16::from_be_bytes([frame[0] & 0x7f, frame[1]]);
        if version != 3 {
            return Err(ProtocolError(format!("unsupported SPDY version {version}")));
        }
        let kind = u16::from_be_bytes([frame[2], frame[3]]);
        let need = |n: usize| {
            if payload.len() < n {
                Err(ProtocolError(format!("control frame {kind} too short")))
            } else {
                Ok(())
            }
        };
        Ok(Some(match kind {
            1 => {
                need(10)?;
                let stream = be32(&payload[0..4]) & 0x7fff_ffff;
                if stream == 0 {
                    return Err(ProtocolError("SYN_STREAM on stream 0".into()));
                }
                let headers = self.headers(&payload[10..])?;
                Frame::SynStream {
                    stream,
                    fin: flags & FLAG_FIN != 0,
                    headers,
                }
            }
            3 => {
                need(8)?;
                Frame::RstStream {
                    stream: be32(&payload[0..4]) & 0x7fff_ffff,
                    status: be32(&payload[4..8]),
                }
            }
            6 => {
                need(4)?;
                Frame::Ping(be32(&payload[0..4]))
            }
            7 => {
                need(8)?;
                Frame::GoAway {
                    last_good: be32(&payload[0..4]) & 0x7fff_ffff,
                    status: be32(&payload[4..8]),
                }
            }
            2 | 8 => {
                // The header block still goes through the inflater, which must stay in step.
                need(4)?;
                self.headers(&payload[4..])?;
                Frame::Ignored(kind)
            }
            4 | 5 | 9 => Frame::Ignored(kind),
            other => return Err(ProtocolError(format!("unknown control frame type {other}"))),
        }))
    }

    /// Inflates one header block (continuing the connection's zlib stream) and parses it.
    fn headers(&mut self, block: &[u8]) -> Result<Vec<(String, String)>, ProtocolError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut consumed = 0usize;
        while consumed < block.len() {
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADER_BLOCK {
                    return Err(ProtocolError("header block too large".into()));
                }
                out.reserve(out.len().max(256));
            }
            let before = self.inflate.total_in();
            match self
                .inflate
                .decompress_vec(&block[consumed..], &mut out, FlushDecompress::Sync)
            {
                Ok(Status::StreamEnd) => {
                    consumed += (self.inflate.total_in() - before) as usize;
                    break;
                }
                Ok(_) => {
                    let used = (self.inflate.total_in() - before) as usize;
                    consumed += used;
                    if used == 0 && out.len() < out.capacity() {
                        break;
                    }
                }
                Err(e) if e.needs_dictionary().is_some() => {
                    consumed += (self.inflate.total_in() - before) as usize;
                    self.inflate
                        .set_dictionary(DICTIONARY)
                        .map_err(|e| ProtocolError(format!("header dictionary: {e}")))?;
                }
                Err(e) => return Err(ProtocolError(format!("header block: {e}"))),
            }
        }
        if consumed != block.len() {
            return Err(ProtocolError(
                "compressed payload size was incorrect".into(),
            ));
        }
        parse_header_block(&out)
    }
}

/// Parses an uncompressed header block (`u32 count`, then length-prefixed names and values).
pub fn parse_header_block(b: &[u8]) -> Result<Vec<(String, String)>, ProtocolError> {
    let bad = || ProtocolError("malformed header block".into());
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], ProtocolError> {
        let s = b.get(at..at + n).ok_or_else(bad)?;
        at += n;
        Ok(s)
    };
    let count = be32(take(4)?);
    let mut headers = Vec::new();
    for _ in 0..count {
        let n = be32(take(4)?) as usize;
        let name = String::from_utf8_lossy(take(n)?).into_owned();
        let n = be32(take(4)?) as usize;
        let value = String::from_utf8_lossy(take(n)?).into_owned();
        headers.push((name, value));
    }
    Ok(headers)
}

/// Writes frames; keeps the connection's one header deflater.
pub struct Encoder {
    deflate: Compress,
}

impl Default for Encoder {
    fn default() -> Self {
        let mut deflate = Compress::new(Compression::best(), true);
        // Cannot fail on a fresh stream; if it did, Go's reader would still accept a stream
        // without a dictionary (it only demands one when the header's FDICT bit says so).
        let _ = deflate.set_dictionary(DICTIONARY);
        Encoder { deflate }
    }
}

impl Encoder {
    /// SYN_REPLY for a client stream, with an empty header block.
    pub fn syn_reply(&mut self, stream: u32) -> Vec<u8> {
        let block = self.compress(&0u32.to_be_bytes());
        let mut f = control(2, 0, 4 + block.len());
        f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        f.extend_from_slice(&block);
        f
    }

    fn compress(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 64);
        let start = self.deflate.total_in();
        loop {
            let done = (self.deflate.total_in() - start) as usize;
            if out.len() == out.capacity() {
                out.reserve(64);
            }
            let _ = self
                .deflate
                .compress_vec(&plain[done..], &mut out, FlushCompress::Sync);
            let done = (self.deflate.total_in() - start) as usize;
            // A sync flush is complete when all input is in and there was room to spare.
            if done == plain.len() && out.len() < out.capacity() {
                return out;
            }
        }
    }
}

fn control(kind: u16, flags: u8, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + len);
    f.extend_from_slice(&[0x80, 0x03]);
    f.extend_from_slice(&kind.to_be_bytes());
    f.push(flags);
    f.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    f
}

/// A DATA frame (payload at most [`MAX_DATA`]; callers chunk).
pub fn data(stream: u32, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.push(if fin { FLAG_FIN } else { 0 });
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(payload);
    f
}

/// PING with the client's id, echoed verbatim.
pub fn ping(id: u32) -> Vec<u8> {
    let mut f = control(6, 0, 4);
    f.extend_from_slice(&id.to_be_bytes());
    f
}

/// RST_STREAM (status 5 is CANCEL).
pub fn rst_stream(stream: u32, status: u32) -> Vec<u8> {
    let mut f = control(3, 0, 8);
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(&status.to_be_bytes());
    f
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// A client's side of the header compression, as spdystream does it (level 9, the
    /// dictionary, one sync-flushed chunk per block), for building SYN_STREAMs in tests.
    pub(crate) struct ClientFramer {
        deflate: Compress,
        pub inflate: Decoder,
    }

    impl ClientFramer {
        pub(crate) fn new() -> Self {
            let mut deflate = Compress::new(Compression::best(), true);
            deflate.set_dictionary(DICTIONARY).expect("dictionary");
            ClientFramer {
                deflate,
                inflate: Decoder::default(),
            }
        }

        pub(crate) fn syn_stream(&mut self, id: u32, headers: &[(&str, &str)]) -> Vec<u8> {
            let mut plain = (headers.len() as u32).to_be_bytes().to_vec();
            for (k, v) in headers {
                plain.extend_from_slice(&(k.len() as u32).to_be_bytes());
                plain.extend_from_slice(k.as_bytes());
                plain.extend_from_slice(&(v.len() as u32).to_be_bytes());
                plain.extend_from_slice(v.as_bytes());
            }
            let mut enc = Encoder {
                deflate: std::mem::replace(
                    &mut self.deflate,
                    Compress::new(Compression::best(), true),
                ),
            };
            let block = enc.compress(&plain);
            self.deflate = enc.deflate;
            let mut f = control(1, 0, 10 + block.len());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&0u32.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&block);
            f
        }
    }

    #[test]
    fn the_dictionary_is_spdy3s() {
        assert_eq!(DICTIONARY.len(), 1423);
        let (mut a, mut b) = (1u32, 0u32);
        for &x in DICTIONARY {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(
            (b << 16) | a,
            0xe3c6_a7c2,
            "Adler-32 of the SPDY/3 dictionary"
        );
    }

    #[test]
    fn syn_replies_match_the_zlib_test_vectors_of_the_contract() {
        let mut enc = Encoder::default();
        assert_eq!(
            hex(&enc.syn_reply(1)),
            "800300020000001400000001".to_string() + "78f9e3c6a7c202a6230600000000ffff",
            "first empty-header SYN_REPLY (STREAMS.md §3.2)"
        );
        let second = enc.syn_reply(3);
        assert_eq!(
            hex(&second[12..]),
            "020100000000ffff",
            "the next empty block continues the stream"
        );
    }

    #[test]
    fn a_syn_stream_split_anywhere_decodes_with_one_inflater() {
        let mut client = ClientFramer::new();
        let a = client.syn_stream(1, &[("streamtype", "error")]);
        let b = client.syn_stream(3, &[("streamtype", "stdout")]);
        assert_eq!(
            &a[18..24],
            &[0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2],
            "kubectl's first block"
        );
        let mut all = a.clone();
        all.extend_from_slice(&b);
        all.extend_from_slice(&data(3, true, b"hi"));
        all.extend_from_slice(&ping(7));
        let mut dec = Decoder::default();
        let mut frames = Vec::new();
        // One byte at a time: WebSocket tunnel messages split frames at arbitrary places.
        for byte in all {
            dec.feed(&[byte]);
            while let Some(f) = dec.next_frame().expect("valid frames") {
                frames.push(f);
            }
        }
        assert_eq!(
            frames,
            vec![
                Frame::SynStream {
                    stream: 1,
                    fin: false,
                    headers: vec![("streamtype".into(), "error".into())]
                },
                Frame::SynStream {
                    stream: 3,
                    fin: false,
                    headers: vec![("streamtype".into(), "stdout".into())]
                },
                Frame::Data {
                    stream: 3,
                    fin: true,
                    data: b"hi".to_vec()
                },
                Frame::Ping(7),
            ]
        );
    }

    #[test]
    fn broken_frames_are_protocol_errors_not_panics() {
        let mut dec = Decoder::default();
        dec.feed(&[0x80, 0x03, 0x00, 0x63, 0, 0, 0, 0]);
        assert!(dec.next_frame().is_err(), "unknown control type");
        let mut dec = Decoder::default();
        dec.feed(&[0x80, 0x03, 0x00, 0x01, 0, 0, 0, 2, 0, 0]);
        assert!(dec.next_frame().is_err(), "short SYN_STREAM");
        let mut dec = Decoder::default();
        dec.feed(&data(0, false, b"x"));
        assert!(dec.next_frame().is_err(), "stream 0");
    }
}
