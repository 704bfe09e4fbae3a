//! Frames on the link: a 9-byte header (stream id u32, kind u8, payload length u32, all
//! big-endian) and at most `MAX_PAYLOAD` bytes of payload.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub const HEADER_LEN: usize = 9;
/// The largest payload of one frame; bigger writes are split.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// What a frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Stream 0: the link is up; the payload is the protocol version.
    Hello = 0,
    /// A new stream; the payload is its door (one byte: which service it is for).
    Open = 1,
    Data = 2,
    /// The sender writes no more on this stream (a half-close).
    Eof = 3,
    /// The stream is gone, both ways.
    Reset = 4,
    /// The receiver read this many more bytes (u32): the sender may send that much more.
    Window = 5,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Hello,
            1 => Kind::Open,
            2 => Kind::Data,
            3 => Kind::Eof,
            4 => Kind::Reset,
            5 => Kind::Window,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub stream: u32,
    pub kind: Kind,
    pub payload: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("a frame of {0} bytes is over the {MAX_PAYLOAD}-byte limit")]
    TooLong(usize),
}

impl Frame {
    pub fn new(stream: u32, kind: Kind, payload: impl Into<Bytes>) -> Frame {
        Frame {
            stream,
            kind,
            payload: payload.into(),
        }
    }

    /// Appends the frame to `out`. A payload over `MAX_PAYLOAD` is a bug of the caller.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), FrameError> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(FrameError::TooLong(self.payload.len()));
        }
        out.reserve(HEADER_LEN + self.payload.len());
        out.put_u32(self.stream);
        out.put_u8(self.kind as u8);
        // At most MAX_PAYLOAD: fits.
        out.put_u32(
            u32::try_from(self.payload.len())
                .map_err(|_| FrameError::TooLong(self.payload.len()))?,
        );
        out.put_slice(&self.payload);
        Ok(())
    }

    /// Takes one whole frame off the front of `buf`; `None` while it holds less than one.
    pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let kind = buf[4];
        let kind = Kind::from_u8(kind).ok_or(FrameError::UnknownKind(kind))?;
        let len = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(FrameError::TooLong(len));
        }
        if buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let stream = buf.get_u32();
        buf.advance(5);
        // A copy, not a view: a small frame kept in a queue must not keep the whole read
        // buffer it arrived in alive.
        let payload = Bytes::copy_from_slice(&buf[..len]);
        buf.advance(len);
        Ok(Some(Frame {
            stream,
            kind,
            payload,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = Kind> {
        (0u8..=5).prop_map(|b| Kind::from_u8(b).unwrap_or(Kind::Data))
    }

    proptest! {
        #[test]
        fn frames_decode_as_encoded_whatever_the_chunking(
            frames in prop::collection::vec((any::<u32>(), kind(), prop::collection::vec(any::<u8>(), 0..300)), 1..20),
            cut in 1usize..50,
        ) {
            let frames: Vec<Frame> = frames.into_iter().map(|(s, k, p)| Frame::new(s, k, p)).collect();
            let mut wire = BytesMut::new();
            for f in &frames {
                f.encode(&mut wire).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            // Fed in chunks of `cut` bytes, as a pipe may deliver them.
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                buf.extend_from_slice(chunk);
                while let Some(f) = Frame::decode(&mut buf).map_err(|e| TestCaseError::fail(e.to_string()))? {
                    got.push(f);
                }
            }
            prop_assert!(buf.is_empty());
            prop_assert_eq!(got, frames);
        }
    }

    #[test]
    fn a_bad_kind_or_an_oversized_length_is_an_error_not_a_wait() {
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 9, 0, 0, 0, 0][..]);
        assert_eq!(Frame::decode(&mut buf), Err(FrameError::UnknownKind(9)));
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            Frame::decode(&mut buf),
            Err(FrameError::TooLong(_))
        ));
        let big = Frame::new(1, Kind::Data, vec![0u8; MAX_PAYLOAD + 1]);
        assert!(big.encode(&mut BytesMut::new()).is_err());
    }
}
