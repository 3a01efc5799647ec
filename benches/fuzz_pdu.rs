//! A self-contained mutation fuzzer for the SMS codec (no nightly, no cargo-fuzz): mutates the
//! golden PDUs and random valid encodings and feeds every decoder, failing on any panic.
//!
//! Each iteration takes a corpus entry, applies 1-4 mutations (bit flip, byte set, insert,
//! delete, truncate, splice with another entry, range duplicate, length-ish values) and feeds
//! the octets to `Pdu::decode` and `Tpdu::decode` both directions, their hex text to
//! `Pdu::decode_hex` (with and without a declared length) and `hex::decode`, and the raw octets
//! to `charset::te_to_text` in every charset. Whatever decodes must re-encode and decode to the
//! same value; inputs that decode join the corpus (up to a bound). A panic or a broken round
//! trip prints the input as hex and exits with code 1.
//!
//! `cargo bench --bench fuzz_pdu` runs 2,000,000 iterations; a number on the command line
//! (`cargo bench --bench fuzz_pdu -- 500000`) or `SMS_FUZZ_ITERATIONS` sets another count,
//! `SMS_FUZZ_SEED` the seed. Without `--bench` (as under `cargo test --all-targets`) it runs a
//! short smoke version.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use simodem::sms::charset::{self, Charset};
use simodem::sms::random::random_pdu;
use simodem::sms::{Direction, Pdu, Tpdu, hex};

const FULL_ITERATIONS: u64 = 2_000_000;
const SMOKE_ITERATIONS: u64 = 5_000;
const RANDOM_SEEDS: usize = 256;
const MAX_CORPUS: usize = 8192;

const GOLDEN: &[&str] = &[
    "0011000C914477000910320000AA05E8329BFD06",
    "0791447758100650040C9144770009103200004210510103004005E8329BFD06",
    // Telit B.6 digest request and reply, rebuilt from the field list in the spec.
    "07919343290020001100\
     0C919343868676110015AD26D0D0D0001101\
     57696A43703271563373\
     4E762B61727532305A5561773D3D41542B434F50533F",
    "0791934329002000040C91934386867611001542105101030040\
     40D1D1D10011014A756E72613772306B4945634839715635\
     34326E33513D3D0D0A2B434F50533A20302C302C22766F64\
     61666F6E65204954220D0A0D0A4F4B0D0A",
    // Status report with PI 07 (PID, DCS UCS2, UDL).
    "00262C0C914477000910324210510103004042105101030048000700080A00680065006C006C006F",
    // SUBMIT with a concatenation header and 1 fill bit, and an alphanumeric DELIVER.
    "0041000C9144770009103200000C0500032A0201D06536FB0D",
    "000407D053F41B0E0000421051010300880568656C6C6F",
];

const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x14, 0x7F, 0x80, 0x8C, 0x8D, 0x91, 0xA0, 0xA1,
    0xD0, 0xF0, 0xFF,
];

fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..rng.random_range(1..=4) {
        let len = input.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                input[i] = if rng.random_bool(0.5) {
                    INTERESTING[rng.random_range(0..INTERESTING.len())]
                } else {
                    rng.random()
                };
            }
            2 => {
                let i = rng.random_range(0..=len);
                input.insert(i, rng.random());
            }
            3 if len > 0 => {
                input.remove(rng.random_range(0..len));
            }
            4 => input.truncate(rng.random_range(0..=len)),
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let cut = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            6 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..len);
                let copy = input[a..=b].to_vec();
                let at = rng.random_range(0..=input.len());
                input.splice(at..at, copy);
            }
            _ if len > 0 => {
                // A plausible length octet: nudge a byte by a little.
                let i = rng.random_range(0..len);
                input[i] = input[i]
                    .wrapping_add(rng.random_range(1..=3))
                    .wrapping_sub(2);
            }
            _ => input.push(rng.random()),
        }
    }
}

/// Decodes `input` every way; returns whether anything decoded, or a failure description.
fn exercise(input: &[u8], hex_text: &str) -> Result<bool, String> {
    let mut decoded = false;
    for direction in [Direction::ToNetwork, Direction::FromNetwork] {
        if let Ok(pdu) = Pdu::decode(input, direction) {
            decoded = true;
            let again = pdu
                .encode()
                .map_err(|e| format!("decoded {pdu:?} does not re-encode: {e}"))?;
            let back = Pdu::decode(&again, direction).map_err(|e| {
                format!(
                    "re-encoded {} does not decode: {e}",
                    hex::encode_upper(&again)
                )
            })?;
            if back != pdu {
                return Err(format!("round trip changed {pdu:?} into {back:?}"));
            }
            if let Some(ud) = pdu.tpdu.user_data() {
                let _ = ud.concat();
                let _ = ud.ports();
                if let Ok(alphabet) = pdu.tpdu.dcs().unwrap_or(simodem::sms::Dcs(0)).alphabet() {
                    let _ = ud.text(alphabet);
                }
            }
            let len = pdu.tpdu_len().map_err(|e| format!("tpdu_len: {e}"))?;
            let declared = Pdu::decode_hex(&hex::encode_upper(&again), Some(len), direction);
            if declared.as_ref() != Ok(&pdu) {
                return Err(format!(
                    "decode_hex with the declared length {len} gave {declared:?}"
                ));
            }
        }
        if let Ok(tpdu) = Tpdu::decode(input, direction) {
            decoded = true;
            let again = tpdu
                .encode()
                .map_err(|e| format!("decoded {tpdu:?} does not re-encode: {e}"))?;
            let back = Tpdu::decode(&again, direction)
                .map_err(|e| format!("re-encoded TPDU does not decode: {e}"))?;
            if back != tpdu {
                return Err(format!("TPDU round trip changed {tpdu:?} into {back:?}"));
            }
        }
        let _ = Pdu::decode_hex(hex_text, None, direction);
        let _ = Pdu::decode_hex(hex_text, Some(input.len().saturating_sub(1)), direction);
    }
    // The octets read as text: hex decoding and the +CSCS charsets.
    let as_text = String::from_utf8_lossy(input);
    let _ = hex::decode(&as_text);
    let _ = Pdu::decode_hex(&as_text, None, Direction::ToNetwork);
    for charset in Charset::ALL {
        if let Ok(text) = charset::te_to_text(input, charset) {
            let _ = charset::text_to_te(&text, charset);
        }
    }
    Ok(decoded)
}

fn iterations() -> u64 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(n) = args
        .iter()
        .find_map(|a| a.replace('_', "").parse::<u64>().ok())
    {
        return n;
    }
    if let Some(n) = std::env::var("SMS_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
    {
        return n;
    }
    if args.iter().any(|a| a == "--bench") {
        FULL_ITERATIONS
    } else {
        SMOKE_ITERATIONS
    }
}

fn main() -> ExitCode {
    let iterations = iterations();
    let seed = std::env::var("SMS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x0005_EED5_u64);
    let mut rng = StdRng::seed_from_u64(seed);

    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for golden in GOLDEN {
        match hex::decode(golden) {
            Ok(octets) => {
                let decodes = [Direction::ToNetwork, Direction::FromNetwork]
                    .into_iter()
                    .any(|d| Pdu::decode(&octets, d).is_ok());
                if !decodes {
                    eprintln!("golden vector {golden} does not decode");
                    return ExitCode::FAILURE;
                }
                corpus.push(octets);
            }
            Err(e) => {
                eprintln!("golden vector {golden} is not hex: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for _ in 0..RANDOM_SEEDS {
        let (pdu, direction) = random_pdu(&mut rng);
        match pdu.encode() {
            Ok(octets) => {
                if Pdu::decode(&octets, direction).as_ref() != Ok(&pdu) {
                    eprintln!(
                        "random PDU does not round-trip: {}",
                        hex::encode_upper(&octets)
                    );
                    return ExitCode::FAILURE;
                }
                corpus.push(octets);
            }
            Err(e) => {
                eprintln!("random PDU {pdu:?} does not encode: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let seeds = corpus.len();

    let mut decoded = 0u64;
    let start = Instant::now();
    for _ in 0..iterations {
        let mut input = corpus[rng.random_range(0..corpus.len())].clone();
        mutate(&mut rng, &mut input, &corpus);
        let hex_text = if rng.random_bool(0.1) {
            // Sometimes damage the hex text itself (odd length, a non-hex character).
            let mut text = hex::encode_upper(&input);
            match rng.random_range(0..3) {
                0 => text.push('0'),
                1 => text.insert(rng.random_range(0..=text.len()), 'g'),
                _ => text = text.to_lowercase(),
            }
            text
        } else {
            hex::encode_upper(&input)
        };
        match catch_unwind(AssertUnwindSafe(|| exercise(&input, &hex_text))) {
            Ok(Ok(true)) => {
                decoded += 1;
                if corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                }
            }
            Ok(Ok(false)) => {}
            Ok(Err(problem)) => {
                eprintln!(
                    "round-trip failure: {problem}\ninput: {}",
                    hex::encode_upper(&input)
                );
                return ExitCode::FAILURE;
            }
            Err(_) => {
                eprintln!(
                    "PANIC on input: {}\nhex text: {hex_text}",
                    hex::encode_upper(&input)
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "fuzz_pdu: {iterations} iterations in {elapsed:.2} s = {:.0} iterations/s \
         (seed {seed}, {seeds} seeds, corpus {}, {decoded} mutants decoded), no panics",
        iterations as f64 / elapsed.max(1e-9),
        corpus.len()
    );
    ExitCode::SUCCESS
}
