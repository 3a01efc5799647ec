#![no_main]
//! Fuzz target: the CMUX (27.010 basic option) decoder. The input is a list of operations that
//! build a byte stream from raw bytes, well-formed frames (any DLCI, type, P/F, information) and
//! control messages on DLCI 0, then fed to `frame::decode`, the `Deframer` and a `Multiplexer`.
//! Checks: a decoded frame re-encodes and decodes to the same frame; the deframer finds the same
//! frames whatever the chunking and holds less than one frame after draining; everything the
//! multiplexer writes back is whole, valid frames; data only arrives on open DLCIs.

use libfuzzer_sys::fuzz_target;
use simodem::cmux::control;
use simodem::cmux::frame::{self, Deframed, Deframer, FLAG, Kind};
use simodem::cmux::{Multiplexer, MuxEvent};

const KINDS: [Kind; 4] = [Kind::Sabm, Kind::Uih, Kind::Disc, Kind::Ua];

struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

fn stream_of(data: &[u8]) -> Vec<u8> {
    let mut input = Input { data };
    let mut stream = Vec::new();
    while let Some(op) = input.byte() {
        match op % 5 {
            0 => {
                let n = usize::from(input.byte().unwrap_or(0) % 16);
                stream.extend_from_slice(input.bytes(n));
            }
            1 | 2 => {
                let address = input.byte().unwrap_or(0);
                let shape = input.byte().unwrap_or(0);
                let n = usize::from(input.byte().unwrap_or(0) % 64);
                let kind = if shape & 0x80 != 0 {
                    Kind::from_control(input.byte().unwrap_or(0))
                } else {
                    KINDS[usize::from(shape & 3)]
                };
                let info = input.bytes(n).to_vec();
                frame::encode_frame_into(
                    &mut stream,
                    address % 8,
                    address & 0x40 != 0,
                    kind,
                    shape & 0x10 != 0,
                    &info,
                );
            }
            3 => {
                let type_octet = input.byte().unwrap_or(0);
                let n = usize::from(input.byte().unwrap_or(0) % 12);
                let value = input.bytes(n).to_vec();
                let message = control::encode(
                    control::Command::from_type_octet(type_octet),
                    type_octet & 2 != 0,
                    &value,
                );
                frame::encode_frame_into(&mut stream, 0, true, Kind::Uih, false, &message);
            }
            _ => {
                // Corrupt one byte of what was built so far.
                let at = usize::from(input.byte().unwrap_or(0));
                let xor = input.byte().unwrap_or(1);
                if !stream.is_empty() {
                    let i = at % stream.len();
                    stream[i] ^= xor;
                }
            }
        }
    }
    stream
}

/// The frames a deframer finds in `chunks` pushed one after the other.
fn deframe(chunks: &[&[u8]], max_info: usize) -> Vec<frame::Frame> {
    let mut deframer = Deframer::new(max_info);
    let mut frames = Vec::new();
    for chunk in chunks {
        deframer.push(chunk);
        for item in deframer.by_ref() {
            if let Deframed::Frame(f) = item {
                frames.push(f);
            }
        }
        assert!(
            deframer.buffered() <= max_info + 6,
            "deframer holds {} bytes after draining (N1 {max_info})",
            deframer.buffered()
        );
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let (params, data) = data.split_first().map_or((0, data), |(&p, rest)| (p, rest));
    let max_info = [31, 64, 127, 128, 1500][usize::from(params % 5)];
    let stream = stream_of(data);

    // One frame from each flag.
    for start in stream
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == FLAG)
        .map(|(i, _)| i)
    {
        if let Ok((f, used)) = frame::decode(&stream[start..], max_info) {
            assert!(
                used < stream.len() - start,
                "decode used past the closing flag"
            );
            let encoded = f.encode();
            match frame::decode(&encoded, max_info) {
                Ok((again, used_again)) => {
                    assert_eq!(again, f, "decode → encode → decode changed the frame");
                    assert_eq!(used_again + 1, encoded.len(), "re-encoded frame length");
                }
                Err(e) => panic!("{f:?} re-encodes to {encoded:02X?}, which fails: {e}"),
            }
            if f.dlci == 0 && f.kind == Kind::Uih {
                for message in control::messages(&f.info) {
                    let _ = message.msc();
                    let _ = control::Params::parse(message.value);
                }
            }
        }
    }

    // The deframer finds the same frames whatever the chunking.
    let whole = deframe(&[&stream], max_info);
    let split = usize::from(params) * 7 % (stream.len() + 1);
    let (a, b) = stream.split_at(split);
    let parts = deframe(&[a, b], max_info);
    assert_eq!(whole, parts, "chunking at {split} changed the frames");
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    if stream.len() < 512 {
        assert_eq!(whole, deframe(&bytewise, max_info), "one byte at a time");
    }

    // The multiplexer: replies are whole frames, data only on open DLCIs.
    let mut mux = Multiplexer::new(3, max_info);
    mux.set_strict_cr(params & 0x80 != 0);
    let mut open = [false; 64];
    let mut ended = false;
    for chunk in [a, b] {
        if ended {
            break;
        }
        for event in mux.receive(chunk) {
            match event {
                MuxEvent::Reply(bytes) => {
                    let mut check = Deframer::new(frame::MAX_INFO);
                    check.push(&bytes);
                    for item in check.by_ref() {
                        assert!(
                            matches!(item, Deframed::Frame(_)),
                            "reply {bytes:02X?} is not whole frames: {item:?}"
                        );
                    }
                    // The last closing flag stays: it may open the next frame.
                    let rest = check.take_buffered();
                    assert!(
                        rest.iter().all(|&b| b == FLAG),
                        "reply {bytes:02X?} ends in a partial frame"
                    );
                }
                MuxEvent::Opened(d) => {
                    assert!((1..=3).contains(&d), "opened DLCI {d}");
                    open[usize::from(d)] = true;
                }
                MuxEvent::Closed(d) => open[usize::from(d)] = false,
                MuxEvent::Data(d, bytes) => {
                    assert!(
                        open[usize::from(d)],
                        "data {bytes:02X?} on DLCI {d}, not open"
                    );
                }
                MuxEvent::Ended => ended = true,
                MuxEvent::Started | MuxEvent::Signals(..) | MuxEvent::Dropped(_) => {}
            }
        }
    }
    for d in 0..=3u8 {
        let _ = mux.send(d, b"payload");
        let _ = mux.is_open(d);
    }
    let _ = mux.take_unprocessed();
});
