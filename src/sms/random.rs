//! Random valid PDUs (every TPDU type, address kind, validity format, coding scheme and user
//! data header) for the codec's round-trip property and the PDU fuzzer's seeds.

use rand::RngExt;
use rand::rngs::StdRng;

use super::tpdu::{Deliver, StatusReport, Submit, Validity};
use super::user_data::{Alphabet, InformationElement};
use super::{Address, Dcs, Direction, Pdu, Timestamp, Tpdu, UserData};

pub fn random_address(rng: &mut StdRng) -> Address {
    const DIGITS: &[u8] = b"0123456789*#abc";
    const ALNUM: &[char] = &['A', 'z', '0', ' ', '@', '€', '{', 'Ä', '_', '\n'];
    match rng.random_range(0..4) {
        0 => {
            let s: String = (0..rng.random_range(1..=11))
                .map(|_| ALNUM[rng.random_range(0..ALNUM.len())])
                .collect();
            match Address::alphanumeric(&s) {
                Ok(a) => a,
                Err(_) => Address::alphanumeric("X").expect("valid by construction"),
            }
        }
        kind => {
            let n = rng.random_range(0..=20);
            let s: String = (0..n)
                .map(|_| char::from(DIGITS[rng.random_range(0..DIGITS.len())]))
                .collect();
            let toa = [0x91, 0x81, 0xA1][kind - 1];
            Address::with_toa(&s, toa).expect("valid by construction")
        }
    }
}

pub fn random_timestamp(rng: &mut StdRng) -> Timestamp {
    Timestamp {
        year: rng.random_range(0..100),
        month: rng.random_range(1..13),
        day: rng.random_range(1..32),
        hour: rng.random_range(0..24),
        minute: rng.random_range(0..60),
        second: rng.random_range(0..60),
        tz_quarters: rng.random_range(-79..=79),
    }
}

pub fn random_dcs(rng: &mut StdRng) -> Dcs {
    loop {
        let dcs = Dcs(rng.random());
        if dcs.alphabet().is_ok() {
            return dcs;
        }
    }
}

pub fn random_user_data(rng: &mut StdRng, alphabet: Alphabet) -> UserData {
    let mut header = Vec::new();
    let mut header_octets = 0;
    if rng.random_bool(0.5) {
        header_octets = 1;
        for _ in 0..rng.random_range(1..4) {
            let ie = match rng.random_range(0..5) {
                0 => InformationElement {
                    id: 0,
                    data: vec![rng.random(), rng.random(), rng.random()],
                },
                1 => InformationElement {
                    id: 8,
                    data: vec![rng.random(), rng.random(), rng.random(), rng.random()],
                },
                2 => InformationElement {
                    id: 4,
                    data: vec![rng.random(), rng.random()],
                },
                3 => InformationElement {
                    id: 5,
                    data: vec![rng.random(), rng.random(), rng.random(), rng.random()],
                },
                _ => {
                    let len = rng.random_range(0..12);
                    InformationElement {
                        id: rng.random(),
                        data: (0..len).map(|_| rng.random()).collect(),
                    }
                }
            };
            header_octets += 2 + ie.data.len();
            header.push(ie);
        }
    }
    let room = match alphabet {
        Alphabet::Gsm7 => {
            160 - if header_octets > 0 {
                (header_octets * 8).div_ceil(7)
            } else {
                0
            }
        }
        _ => 140 - header_octets,
    };
    let len = rng.random_range(0..=room);
    let body = match alphabet {
        Alphabet::Gsm7 => (0..len).map(|_| rng.random_range(0..0x80u8)).collect(),
        _ => (0..len).map(|_| rng.random()).collect(),
    };
    UserData { header, body }
}

pub fn random_pdu(rng: &mut StdRng) -> (Pdu, Direction) {
    let smsc = match rng.random_range(0..3) {
        0 => None,
        _ => {
            let digits: String = (0..rng.random_range(0..=20))
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect();
            Some(
                Address::with_toa(&digits, if rng.random_bool(0.5) { 0x91 } else { 0x81 })
                    .expect("valid by construction"),
            )
        }
    };
    let dcs = random_dcs(rng);
    let alphabet = dcs.alphabet().expect("valid by construction");
    let (tpdu, direction) = match rng.random_range(0..3) {
        0 => (
            Tpdu::Submit(Submit {
                reject_duplicates: rng.random(),
                reply_path: rng.random(),
                status_report_request: rng.random(),
                message_reference: rng.random(),
                destination: random_address(rng),
                pid: rng.random(),
                dcs,
                validity: match rng.random_range(0..4) {
                    0 => Validity::None,
                    1 => Validity::Relative(rng.random()),
                    2 => Validity::Absolute(random_timestamp(rng)),
                    _ => {
                        let mut octets: [u8; 7] = rng.random();
                        octets[0] &= 0xFB;
                        Validity::Enhanced(octets)
                    }
                },
                user_data: random_user_data(rng, alphabet),
            }),
            Direction::ToNetwork,
        ),
        1 => (
            Tpdu::Deliver(Deliver {
                more_messages_to_send: rng.random(),
                reply_path: rng.random(),
                status_report_indication: rng.random(),
                originator: random_address(rng),
                pid: rng.random(),
                dcs,
                timestamp: random_timestamp(rng),
                user_data: random_user_data(rng, alphabet),
            }),
            Direction::FromNetwork,
        ),
        _ => {
            let with_dcs = rng.random_bool(0.5);
            let ud_alphabet = if with_dcs { alphabet } else { Alphabet::Gsm7 };
            (
                Tpdu::StatusReport(StatusReport {
                    more_messages_to_send: rng.random(),
                    status_report_qualifier: rng.random(),
                    message_reference: rng.random(),
                    recipient: random_address(rng),
                    timestamp: random_timestamp(rng),
                    discharge: random_timestamp(rng),
                    status: rng.random(),
                    pid: rng.random_bool(0.5).then(|| rng.random()),
                    dcs: with_dcs.then_some(dcs),
                    user_data: rng
                        .random_bool(0.5)
                        .then(|| random_user_data(rng, ud_alphabet)),
                }),
                Direction::FromNetwork,
            )
        }
    };
    (Pdu { smsc, tpdu }, direction)
}
