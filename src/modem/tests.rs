//! Core behaviour on a virtual clock: exact bytes for every command-mode rule.
//! No test sleeps; time only moves when a test says so.

use super::*;
use crate::modem::profile::{SIM900, TELIT};

pub(crate) struct Harness {
    pub modem: Modem,
    pub now: Instant,
    pub nvm_saves: Vec<Nvm>,
    /// Socket commands and DNS lookups the modem asked for, oldest first.
    pub socket_requests: Vec<Output>,
    /// Messages the modem handed to the network.
    pub submitted: Vec<crate::network::sms::Submission>,
    /// What instances 2 and 3 wrote to their own ports and no test has taken yet.
    pub instance_out: std::collections::BTreeMap<u8, Vec<u8>>,
    /// The explanations the modem gave, oldest first.
    pub explanations: Vec<String>,
}

impl Harness {
    pub fn new(config: ModemConfig) -> Self {
        let modem = Modem::new(config, Instant(0));
        let mut h = Harness {
            modem,
            now: Instant(0),
            nvm_saves: Vec::new(),
            socket_requests: Vec::new(),
            submitted: Vec::new(),
            instance_out: Default::default(),
            explanations: Vec::new(),
        };
        h.modem.handle(h.now, Input::DteOpened);
        h.drain();
        h
    }

    /// A SIM900 whose boot has finished and whose rate is detected (echo still on).
    pub fn sim900() -> Self {
        Self::booted(ModemConfig::new(&SIM900))
    }

    pub fn telit() -> Self {
        Self::booted(ModemConfig::new(&TELIT))
    }

    /// A registered Telit on the operator `operator` with echo off (the ATRUN application
    /// note's world is "vodafone IT").
    pub fn telit_on(operator: &str) -> Self {
        let mut config = ModemConfig::new(&TELIT);
        config.network.operator_long = operator.into();
        let mut h = Self::booted(config);
        h.advance(3000);
        assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
        h
    }

    pub fn booted(config: ModemConfig) -> Self {
        let mut h = Self::new(config);
        h.advance(2000);
        let out = h.send(b"AT\r");
        assert_eq!(out, b"AT\r\r\nOK\r\n");
        h
    }

    fn drain(&mut self) -> Vec<u8> {
        let mut bytes = Vec::new();
        while let Some(output) = self.modem.poll_output() {
            match output {
                Output::Dte(b) => bytes.extend(b),
                Output::InstanceDte(instance, b) => {
                    self.instance_out.entry(instance).or_default().extend(b)
                }
                Output::SaveNvm(nvm) => self.nvm_saves.push(*nvm),
                Output::Event(event) => self.explanations.push(event.message),
                Output::SubmitSms(submission) => self.submitted.push(submission),
                request @ (Output::Socket(..) | Output::Resolve { .. }) => {
                    self.socket_requests.push(request)
                }
            }
        }
        bytes
    }

    /// Feeds any input; returns what the client sees.
    pub fn apply(&mut self, input: Input) -> Vec<u8> {
        self.modem.handle(self.now, input);
        self.drain()
    }

    pub fn send(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.modem.handle(self.now, Input::Dte(bytes.to_vec()));
        self.drain()
    }

    /// Moves virtual time forward, firing every deadline on the way.
    pub fn advance(&mut self, ms: u64) -> Vec<u8> {
        let target = self.now.plus_millis(ms);
        let mut bytes = Vec::new();
        while let Some(deadline) = self.modem.next_deadline() {
            if deadline > target {
                break;
            }
            self.now = deadline.max(self.now);
            self.modem.handle(self.now, Input::Timer);
            bytes.extend(self.drain());
        }
        self.now = target;
        bytes
    }

    /// Opens AT instance `instance`'s own port (`<link>-2`, `<link>-3`).
    pub fn open_instance(&mut self, instance: u8) {
        self.modem
            .handle(self.now, Input::Instance(instance, PortEvent::Opened));
        self.drain();
    }

    /// Bytes to instance `instance`'s own port; returns what that port printed.
    pub fn send_on(&mut self, instance: u8, bytes: &[u8]) -> Vec<u8> {
        self.modem.handle(
            self.now,
            Input::Instance(instance, PortEvent::Bytes(bytes.to_vec())),
        );
        self.drain();
        self.take_instance(instance)
    }

    /// What instance `instance`'s own port printed since last taken.
    pub fn take_instance(&mut self, instance: u8) -> Vec<u8> {
        self.instance_out.remove(&instance).unwrap_or_default()
    }

    /// Answers the modem's last `Connect` as a host would (connected from 127.0.0.1:40000 to
    /// 127.0.0.1:5000); returns that socket and what the client then sees.
    pub fn connect_last(&mut self) -> (SocketId, Vec<u8>) {
        let socket = match self.socket_requests.last() {
            Some(Output::Socket(id, SocketCommand::Connect { .. })) => *id,
            other => panic!("expected a connect, got {other:?}"),
        };
        let peer: std::net::SocketAddr = "127.0.0.1:5000".parse().expect("address");
        let local: std::net::SocketAddr = "127.0.0.1:40000".parse().expect("address");
        let out = self.apply(Input::Socket(
            socket,
            SocketEvent::Connected { local, peer },
        ));
        (socket, out)
    }

    /// Feeds an event of socket `id`; returns what the client (instance 1) sees.
    pub fn net(&mut self, id: u32, event: SocketEvent) -> Vec<u8> {
        self.apply(Input::Socket(SocketId(id), event))
    }

    /// The socket commands and DNS lookups asked for since the last call.
    pub fn requests(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.socket_requests)
    }

    /// Sends a line with echo off and returns the response as text.
    pub fn cmd(&mut self, line: &str) -> String {
        let out = self.send(format!("{line}\r").as_bytes());
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn quiet_sim900() -> Harness {
    let mut h = Harness::sim900();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h
}

// ----- power-on -----

#[test]
fn sim900_factory_autobaud_is_silent_until_first_at() {
    let mut h = Harness::new(ModemConfig::new(&SIM900));
    assert_eq!(h.advance(5000), b"");
    assert_eq!(
        h.send(b"\x1b\r"),
        b"",
        "bytes before AT are lost at an unknown rate"
    );
    assert_eq!(
        h.send(b"at\r"),
        b"",
        "lower-case at does not train auto-baud"
    );
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn sim900_autobaud_never_announces_start_up_even_after_an_early_at() {
    let mut h = Harness::new(ModemConfig::new(&SIM900));
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
    assert_eq!(h.advance(5000), b"", "no RDY, +CPIN or Call Ready at IPR=0");
    assert_eq!(
        h.cmd("AT+CPIN?"),
        "AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n"
    );
}

#[test]
fn sim900_fixed_rate_boot_prints_urcs_at_profile_times() {
    let mut h = Harness::sim900();
    h.cmd("AT+IPR=115200;&W");
    let nvm = h.nvm_saves.last().cloned().expect("&W saved NVM");
    let mut config = ModemConfig::new(&SIM900);
    config.nvm = nvm;
    let mut h = Harness::new(config);
    assert_eq!(h.advance(49), b"");
    assert_eq!(h.advance(1), b"\r\nRDY\r\n");
    assert_eq!(h.advance(149), b"");
    assert_eq!(h.advance(1), b"\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n");
    assert_eq!(h.advance(300), b"\r\nCall Ready\r\n");
    assert_eq!(
        h.advance(10_000),
        b"",
        "SMS Ready is off for the SIM900 profile"
    );
}

#[test]
fn telit_boots_without_urcs_and_answers_at_once() {
    let mut h = Harness::new(ModemConfig::new(&TELIT));
    assert_eq!(h.advance(5000), b"");
    assert_eq!(h.send(b"at\r"), b"at\r\r\nOK\r\n");
}

#[test]
fn registration_urc_saved_with_ampersand_w_is_printed_after_boot() {
    let mut h = Harness::sim900();
    h.cmd("AT+CREG=1;+IPR=9600;&W");
    let mut config = ModemConfig::new(&SIM900);
    config.nvm = h.nvm_saves.last().cloned().unwrap();
    let mut h = Harness::new(config);
    let out = h.advance(2000);
    assert_eq!(
        out,
        b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+CREG: 2\r\n\r\nCall Ready\r\n\r\n+CREG: 1\r\n"
    );
}

// ----- echo, framing, editing -----

#[test]
fn echo_is_byte_for_byte_and_e0_line_is_still_echoed() {
    let mut h = Harness::sim900();
    assert_eq!(h.send(b"A"), b"A");
    assert_eq!(h.send(b"T"), b"T");
    assert_eq!(h.send(b"E0\r"), b"E0\r\r\nOK\r\n");
    assert_eq!(h.send(b"AT\r"), b"\r\nOK\r\n");
}

#[test]
fn lf_after_cr_is_swallowed_and_never_echoed() {
    let mut h = Harness::sim900();
    assert_eq!(h.send(b"AT\r\n"), b"AT\r\r\nOK\r\n");
    assert_eq!(h.send(b"\nAT\r"), b"\nAT\r\r\nOK\r\n");
}

#[test]
fn numeric_framing_under_v0() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("ATV0"), "0\r");
    assert_eq!(h.cmd("AT+CSQ"), "+CSQ: 20,0\r\n0\r");
    assert_eq!(h.cmd("AT+NOPE"), "4\r");
    assert_eq!(h.cmd("AT+CMEE=1"), "0\r");
    assert_eq!(h.cmd("AT+NOPE"), "+CME ERROR: 100\r\n");
    assert_eq!(h.cmd("ATV1"), "\r\nOK\r\n");
}

#[test]
fn quiet_mode_suppresses_results_but_not_information() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("ATQ1"), "");
    assert_eq!(h.cmd("AT+CSQ"), "\r\n+CSQ: 20,0\r\n");
    assert_eq!(h.cmd("AT+NOPE"), "");
    assert_eq!(h.cmd("ATQ0"), "\r\nOK\r\n");
}

#[test]
fn backspace_edits_with_s5() {
    let mut h = quiet_sim900();
    assert_eq!(h.send(b"AT+CSX\x08Q\r"), b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATS5=127"), "\r\nOK\r\n");
    assert_eq!(h.send(b"AT+CSX\x7fQ\r"), b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
}

#[test]
fn a_slash_repeats_the_previous_line_without_cr() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CSQ"), "\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    assert_eq!(h.send(b"A/"), b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    assert_eq!(h.send(b"\r"), b"", "a CR after A/ is tolerated");
}

#[test]
fn telit_at_hash_slash_repeats_and_sim900_rejects_it() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    assert_eq!(h.cmd("AT+CGMM"), "\r\nGE865\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#/"), "\r\nGE865\r\n\r\nOK\r\n");
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT#/"), "\r\nERROR\r\n");
}

#[test]
fn case_spaces_and_chaining() {
    let mut h = quiet_sim900();
    assert_eq!(
        h.cmd("at+cgmi;+CGMM"),
        "\r\nSIMCOM_Ltd\r\n\r\nSIMCOM_SIM900\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT S7=45 S0=0 V1 X4"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATS7?"), "\r\n45\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMEE = 1 ; +CREG = 2"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CMEE?;+CREG?"),
        "\r\n+CMEE: 1\r\n\r\n+CREG: 2,1,\"1A2B\",\"0C3D\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn chained_basic_commands_run_left_to_right() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("ATE1V0&C1"), "0\r");
    assert_eq!(h.send(b"ATV1\r"), b"ATV1\r\r\nOK\r\n");
}

#[test]
fn nothing_runs_after_the_first_error() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CSQ;+BOGUS;V0"), "\r\n+CSQ: 20,0\r\n\r\nERROR\r\n");
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n", "V0 after the error did not run");
    assert_eq!(h.cmd("ATE5V0"), "\r\nERROR\r\n");
}

#[test]
fn line_limit_rejects_the_whole_line() {
    let mut h = quiet_sim900();
    let ok_line = format!("AT{}", "E0".repeat(278));
    assert_eq!(ok_line.len() - 2, 556);
    assert_eq!(h.cmd(&ok_line), "\r\nOK\r\n");
    let long = format!("ATV0{}", "E0".repeat(278));
    assert_eq!(h.cmd(&long), "\r\nERROR\r\n", "V0 at the start did not run");
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
}

#[test]
fn telit_line_limit_is_80() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    assert_eq!(h.cmd(&format!("AT{}", "E0".repeat(40))), "\r\nOK\r\n");
    assert_eq!(h.cmd(&format!("AT{}E", "E0".repeat(40))), "\r\nERROR\r\n");
}

#[test]
fn unknown_commands_are_errors_in_every_cmee_format() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+MODE=2"), "\r\nERROR\r\n");
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT+MODE=2"), "\r\n+CME ERROR: 100\r\n");
    assert_eq!(h.cmd("AT+CREG}1"), "\r\n+CME ERROR: 100\r\n");
    assert_eq!(h.cmd("AT^CVOICE=?"), "\r\n+CME ERROR: 100\r\n");
    h.cmd("AT+CMEE=2");
    assert_eq!(h.cmd("AT+ZPAS?"), "\r\n+CME ERROR: unknown\r\n");
    assert_eq!(
        h.cmd("AT+CSCS=\"KLINGON\""),
        "\r\n+CME ERROR: invalid input value\r\n"
    );
}

#[test]
fn cmee_test_read_and_range() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CMEE=?"), "\r\n+CMEE: (0-2)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMEE?"), "\r\n+CMEE: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMEE=3"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CMEE=x"), "\r\nERROR\r\n");
}

// ----- S-registers and profiles -----

#[test]
fn s_registers_read_write_and_reject() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("ATS0?"), "\r\n0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATS0=3"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATS0?"), "\r\n3\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATS3=10"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("ATS999=1"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("ATS999?"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("ATS12=20"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("ATS12?"),
        "\r\n50\r\n\r\nOK\r\n",
        "SIM900 S12 is fixed"
    );
    assert_eq!(h.cmd("ATS2?"), "\r\n43\r\n\r\nOK\r\n");
}

#[test]
fn telit_s_registers_print_three_digits_and_s12_is_live() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    assert_eq!(h.cmd("ATS12=100"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATS12?"), "\r\n100\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATS3?"), "\r\n013\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATS12=10"), "\r\nERROR\r\n");
}

#[test]
fn ampersand_f_z_and_w_restore_and_store() {
    let mut h = quiet_sim900();
    h.cmd("AT+CMEE=2;S0=5");
    assert_eq!(h.cmd("AT&W"), "\r\nOK\r\n");
    assert_eq!(h.nvm_saves.len(), 1);
    h.cmd("AT+CMEE=0;S0=9;+IPR=9600");
    assert_eq!(h.cmd("ATZ"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CMEE?;S0?;+IPR?"),
        "\r\n+CMEE: 2\r\n\r\n5\r\n\r\n+IPR: 9600\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT&F"), "\r\nOK\r\n");
    assert_eq!(
        h.send(b"AT+CMEE?;S0?;+IPR?\r"),
        b"AT+CMEE?;S0?;+IPR?\r\r\n+CMEE: 0\r\n\r\n0\r\n\r\n+IPR: 9600\r\n\r\nOK\r\n",
        "&F restores echo on and keeps the UART rate"
    );
    assert_eq!(h.send(b"ATZ1\r"), b"ATZ1\r\r\nERROR\r\n");
}

#[test]
fn ampersand_v_shows_active_and_stored_profiles() {
    let mut h = quiet_sim900();
    let out = h.cmd("AT&V");
    assert_eq!(
        out,
        "\r\nACTIVE PROFILE:\r\nE0 Q0 V1 X4 &C1 &D1 +IFC: 0,0 +CMEE: 0 +CREG: 0 +CGREG: 0 +IPR: 0 +CSCS: \"IRA\"\r\n\
         S0: 0, S2: 43, S3: 13, S4: 10, S5: 8, S6: 2, S7: 60, S8: 2, S10: 15, S12: 50\r\n\r\n\
         STORED PROFILE:\r\nE1 Q0 V1 X4 &C1 &D1 +IFC: 0,0 +CMEE: 0 +CREG: 0 +CGREG: 0 +IPR: 0 +CSCS: \"IRA\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn uart_commands() {
    let mut h = quiet_sim900();
    assert_eq!(
        h.cmd("AT+IPR=?"),
        "\r\n+IPR: (),(0,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+IPR?"), "\r\n+IPR: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+IPR=12345"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+IPR=115200"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+IFC?"), "\r\n+IFC: 0,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+IFC=2,2"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+IFC?"), "\r\n+IFC: 2,2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+IFC=3"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+IFC=?"), "\r\n+IFC: (0-2),(0-2)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT&D2&C0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT&D3"), "\r\nERROR\r\n");
}

// ----- identity -----

#[test]
fn sim900_identity() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("ATI"), "\r\nSIM900 R11.0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+GCAP"), "\r\n+GCAP:+FCLASS,+CGSM\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CGMR"),
        "\r\nRevision:1137B11SIM900M64_ST\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+GSN"), "\r\n490154203237518\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIMI"), "\r\n001010123456789\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CCID"), "\r\n89010100000123456789\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CNUM"),
        "\r\n+CNUM: \"\",\"+15550000001\",145,7,4\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+GSV"),
        "\r\nSIMCOM_Ltd\r\nSIMCOM_SIM900\r\nRevision:1137B11SIM900M64_ST\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+GOI"), "\r\nSIM900\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGMI=?"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGMI?"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("ATI9"), "\r\nERROR\r\n");
}

#[test]
fn telit_identity() {
    let mut h = Harness::telit();
    h.cmd("ATE0;+CMEE=2");
    assert_eq!(h.cmd("AT+CGMI"), "\r\nTelit\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGMM"), "\r\nGE865\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGMR"), "\r\n10.00.002\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+GSN"), "\r\n0000614558\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#CGSN"), "\r\n#CGSN: 490154203237518\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATI"), "\r\n332\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("ATI2"), "\r\nOK\r\n");
    assert_eq!(h.cmd("ATI5"), "\r\nDOB v.2.0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+GCAP"),
        "\r\n+GCAP: +CGSM,+DS,+FCLASS,+MS\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SELINT?"), "\r\n#SELINT: 2\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CGMI?"),
        "\r\n+CME ERROR: operation not supported\r\n"
    );
    assert_eq!(
        h.cmd("AT+CNUM"),
        "\r\n+CNUM: \"\",\"+15550000001\",145\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CLTS?"), "\r\n+CME ERROR: unknown\r\n");
}

#[test]
fn clac_lists_exactly_the_table() {
    let mut h = quiet_sim900();
    let out = h.cmd("AT+CLAC");
    let mut expected = String::from("\r\n");
    for line in crate::commands::clac_lines(&SIM900) {
        expected.push_str(&line);
        expected.push_str("\r\n");
    }
    expected.push_str("\r\nOK\r\n");
    assert_eq!(out, expected);
    assert!(out.starts_with("\r\nAT&C\r\nAT&D\r\nAT&F\r\n"));
}

#[test]
fn every_listed_command_answers_its_test_or_basic_form_without_unknown_error() {
    for profile in crate::modem::profile::PROFILES {
        for entry in crate::commands::supported(profile) {
            let mut h = Harness::booted(ModemConfig::new(profile));
            h.cmd("ATE0;+CMEE=1");
            let line = match entry.name {
                "S" => "ATS0?".to_string(),
                name if name.starts_with(['+', '#']) => format!("AT{name}=?"),
                name => format!("AT{name}"),
            };
            let out = h.cmd(&line);
            assert!(
                !out.contains("+CME ERROR: 100"),
                "{} {line}: {out:?}",
                profile.id
            );
        }
    }
}

// ----- SIM and network -----

#[test]
fn network_queries_when_registered() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CPIN?"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSQ"), "\r\n+CSQ: 20,0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CSQ=?"),
        "\r\n+CSQ: (0-31,99),(0-7,99)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CREG=2"), "\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CREG?"),
        "\r\n+CREG: 2,1,\"1A2B\",\"0C3D\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CGREG=2;+CGREG?"),
        "\r\n+CGREG: 2,1,\"1A2B\",\"0C3D\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CREG=?"), "\r\n+CREG: (0-2)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CREG=3"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CGATT?"), "\r\n+CGATT: 1\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+COPS?"),
        "\r\n+COPS: 0,0,\"simodem\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+COPS=3,2;+COPS?"),
        "\r\n+COPS: 0,2,\"00101\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+COPS=?"),
        "\r\n+COPS: (2,\"simodem\",\"simodem\",\"00101\"),,(0,1,4),(0,1,2)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CBC"), "\r\n+CBC: 0,95,4170\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CPAS"), "\r\n+CPAS: 0\r\n\r\nOK\r\n");
}

#[test]
fn registration_runs_searching_then_home_with_urcs() {
    let mut h = Harness::new(ModemConfig::new(&TELIT));
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT+CREG=2;+CGREG=1"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 2,0\r\n\r\nOK\r\n");
    assert_eq!(h.advance(200), b"\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n");
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 2,2\r\n\r\nOK\r\n");
    assert_eq!(
        h.advance(500),
        b"\r\n+CREG: 1,\"1A2B\",\"0C3D\"\r\n\r\n+CGREG: 1\r\n"
    );
}

#[test]
fn cops_deregister_and_manual_selection() {
    let mut h = quiet_sim900();
    h.cmd("AT+CREG=1");
    assert_eq!(h.cmd("AT+COPS=2"), "\r\nOK\r\n\r\n+CREG: 0\r\n");
    assert_eq!(h.cmd("AT+COPS?"), "\r\n+COPS: 2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+COPS=1,2,\"00101\""), "\r\nOK\r\n\r\n+CREG: 2\r\n");
    assert_eq!(h.advance(500), b"\r\n+CREG: 1\r\n");
    assert_eq!(h.cmd("AT+COPS?"), "\r\n+COPS: 1,2,\"00101\"\r\n\r\nOK\r\n");
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT+COPS=1,0,\"Other\""), "\r\n+CME ERROR: 32\r\n");
    assert_eq!(h.cmd("AT+COPS=1"), "\r\n+CME ERROR: 765\r\n");
    assert_eq!(h.cmd("AT+COPS=0"), "\r\nOK\r\n");
}

#[test]
fn cfun_zero_and_four_deregister_and_one_comes_back() {
    let mut h = quiet_sim900();
    h.cmd("AT+CREG=1;+CMEE=1");
    assert_eq!(
        h.cmd("AT+CFUN=0"),
        "\r\nOK\r\n\r\n+CPIN: NOT READY\r\n\r\n+CREG: 0\r\n"
    );
    assert_eq!(h.cmd("AT+CFUN?"), "\r\n+CFUN: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSQ"), "\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CFUN=4"), "\r\n+CME ERROR: 3\r\n");
    assert_eq!(h.cmd("AT+CFUN=1"), "\r\nOK\r\n");
    assert_eq!(
        h.advance(200),
        b"\r\n+CPIN: READY\r\n\r\n+CREG: 2\r\n\r\nCall Ready\r\n"
    );
    assert_eq!(h.advance(500), b"\r\n+CREG: 1\r\n");
    assert_eq!(h.cmd("AT+CFUN=4"), "\r\nOK\r\n\r\n+CREG: 0\r\n");
    assert_eq!(h.cmd("AT+CPIN?"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CFUN=1"), "\r\nOK\r\n\r\n+CREG: 2\r\n");
    assert_eq!(h.cmd("AT+CFUN=?"), "\r\n+CFUN: (0,1,4),(0,1)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CFUN=2"), "\r\n+CME ERROR: 765\r\n");
}

#[test]
fn cfun_reset_answers_ok_then_reboots() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CFUN=1,1;+CSQ"), "\r\nOK\r\n");
    assert_eq!(h.advance(3000), b"", "auto-baud: silent after the reset");
    assert_eq!(
        h.send(b"AT\r"),
        b"AT\r\r\nOK\r\n",
        "echo back on after reset"
    );
}

#[test]
fn pin_flow_with_wrong_pin_and_puk() {
    let mut config = ModemConfig::new(&SIM900);
    config.pin = Some("1234".into());
    let mut h = Harness::booted(config);
    h.cmd("ATE0;+CMEE=1;+CREG=1");
    assert_eq!(h.cmd("AT+CPIN?"), "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CIMI"), "\r\n+CME ERROR: 11\r\n");
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CPIN=\"0000\""), "\r\n+CME ERROR: 16\r\n");
    assert_eq!(
        h.cmd("AT+CPIN=\"1234\""),
        "\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\n+CREG: 2\r\n"
    );
    assert_eq!(h.advance(500), b"\r\n+CREG: 1\r\n");
    assert_eq!(h.cmd("AT+CPIN=\"1234\""), "\r\n+CME ERROR: 3\r\n");

    let mut config = ModemConfig::new(&SIM900);
    config.pin = Some("1234".into());
    let mut h = Harness::booted(config);
    h.cmd("ATE0;+CMEE=1");
    for _ in 0..3 {
        assert_eq!(h.cmd("AT+CPIN=1111"), "\r\n+CME ERROR: 16\r\n");
    }
    assert_eq!(h.cmd("AT+CPIN?"), "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CPIN=\"12345678\""), "\r\n+CME ERROR: 12\r\n");
    assert_eq!(
        h.cmd("AT+CPIN=\"87654321\",\"4321\""),
        "\r\n+CME ERROR: 16\r\n"
    );
    assert_eq!(
        h.cmd("AT+CPIN=\"12345678\",\"4321\""),
        "\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n"
    );
    assert_eq!(h.cmd("AT+CPIN=\"abcd\""), "\r\n+CME ERROR: 765\r\n");
}

#[test]
fn missing_sim_reports_not_inserted() {
    let mut config = ModemConfig::new(&SIM900);
    config.sim_inserted = false;
    let mut h = Harness::booted(config);
    h.cmd("ATE0;+CMEE=2");
    assert_eq!(h.cmd("AT+CPIN?"), "\r\n+CME ERROR: SIM not inserted\r\n");
    assert_eq!(h.cmd("AT+CCID"), "\r\n+CME ERROR: SIM not inserted\r\n");
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 0,0\r\n\r\nOK\r\n");
}

#[test]
fn cgatt_detach_and_attach() {
    let mut h = quiet_sim900();
    h.cmd("AT+CGREG=1");
    assert_eq!(h.cmd("AT+CGATT=0"), "\r\nOK\r\n\r\n+CGREG: 0\r\n");
    assert_eq!(h.cmd("AT+CGATT?"), "\r\n+CGATT: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGATT=1"), "\r\nOK\r\n\r\n+CGREG: 1\r\n");
    assert_eq!(h.cmd("AT+CGATT=?"), "\r\n+CGATT: (0,1)\r\n\r\nOK\r\n");
}

#[test]
fn charset_set_read_test() {
    let mut h = quiet_sim900();
    assert_eq!(
        h.cmd("AT+CSCS=?"),
        "\r\n+CSCS: (\"IRA\",\"GSM\",\"UCS2\",\"HEX\",\"PCCP\",\"PCDN\",\"8859-1\")\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CSCS?"), "\r\n+CSCS: \"IRA\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSCS=\"HEX\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSCS?"), "\r\n+CSCS: \"HEX\"\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CSCS=\"UCS2\";+CSCS?"),
        "\r\n+CSCS: \"UCS2\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn clock_read_set_and_reject() {
    let mut h = quiet_sim900();
    // The RTC starts at 2026-01-01 00:00:00 UTC plus the 2 s of boot.
    assert_eq!(
        h.cmd("AT+CCLK?"),
        "\r\n+CCLK: \"26/01/01,00:00:02+00\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CCLK=\"16/11/09,19:50:43+04\""), "\r\nOK\r\n");
    h.advance(61_000);
    assert_eq!(
        h.cmd("AT+CCLK?"),
        "\r\n+CCLK: \"16/11/09,19:51:44+04\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CCLK=\"16/13/09,19:50:43+04\""), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CCLK"), "\r\nERROR\r\n");
    assert_eq!(h.cmd("AT+CLTS=1;+CLTS?"), "\r\n+CLTS: 1\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CLTS=?"),
        "\r\n+CLTS: \"yy/MM/dd,hh:mm:ss+/-zz\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn cpowd_prints_normal_power_down_and_goes_silent() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CPOWD=1;+CSQ"), "\r\nNORMAL POWER DOWN\r\n");
    assert_eq!(h.cmd("AT"), "");
    assert_eq!(h.advance(10_000), b"");
    assert!(!h.modem.is_powered());
    h.modem.reboot(h.now);
    assert_eq!(h.cmd("AT"), "AT\r\r\nOK\r\n");
}

#[test]
fn telit_shdn_and_reboot() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    assert_eq!(h.cmd("AT#REBOOT"), "\r\nOK\r\n");
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
    h.cmd("ATE0");
    assert_eq!(h.cmd("AT#SHDN"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT"), "");
}

#[test]
fn telit_ato_without_connection_is_no_carrier_and_sim900_is_error() {
    let mut h = Harness::telit();
    h.cmd("ATE0");
    assert_eq!(h.cmd("ATO"), "\r\nNO CARRIER\r\n");
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("ATO"), "\r\nERROR\r\n");
}

#[test]
fn sms_settings_needed_at_connect() {
    let mut h = quiet_sim900();
    assert_eq!(h.cmd("AT+CMGF=0"), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGF?"), "\r\n+CMGF: 0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CSCA?"),
        "\r\n+CSCA: \"+15550009999\",145\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CSMP=49,167,0,0;+CSMP?"),
        "\r\n+CSMP: 49,167,0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CSCA=\"\""), "\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CSCA?"), "\r\n+CMS ERROR: 330\r\n");
}

// ----- DTR and the port -----

#[test]
fn closing_the_port_discards_a_partial_line_and_keeps_settings() {
    let mut h = quiet_sim900();
    h.cmd("AT+CMEE=2");
    h.send(b"AT+CS");
    h.modem.handle(h.now, Input::DteClosed);
    h.modem.handle(h.now, Input::DteOpened);
    assert_eq!(h.send(b"Q\r"), b"");
    assert_eq!(h.cmd("AT+CMEE?"), "\r\n+CMEE: 2\r\n\r\nOK\r\n");
}

#[test]
fn urcs_while_the_port_is_closed_are_lost_not_delivered_late() {
    let mut h = Harness::new(ModemConfig::new(&TELIT));
    h.cmd("ATE0;+CREG=1");
    h.modem.handle(h.now, Input::DteClosed);
    h.advance(1000);
    h.modem.handle(h.now, Input::DteOpened);
    assert_eq!(h.cmd("AT+CREG?"), "\r\n+CREG: 1,1\r\n\r\nOK\r\n");
}

// ----- bad input -----

#[test]
fn bad_input_gets_errors_and_the_modem_recovers() {
    let mut h = quiet_sim900();
    let cases: &[&[u8]] = &[
        b"AT\x00\x00\r",
        b"AT\xff\xff\xff\r",
        b"AT+CSCS=\"\xc3\x28\"\r",
        b"AT;;;\r",
        b"AT+COPS=1,0,\"abc\r",
        b"AT+CREG=x\r",
        b"AT+CREG=99999999999999\r",
        b"ATS999=1\r",
        b"AT+CMEE=-1\r",
    ];
    for case in cases {
        assert_eq!(h.send(case), b"\r\nERROR\r\n", "{case:?}");
        assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
    }
    let mut long = b"AT".to_vec();
    long.extend(std::iter::repeat_n(b'X', 100_000));
    assert_eq!(h.send(&long), b"");
    assert_eq!(h.send(b"\r"), b"\r\nERROR\r\n");
    assert_eq!(h.cmd("AT"), "\r\nOK\r\n");
}

#[test]
fn seeded_random_lines_never_break_the_modem() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(0x5EED_0002);
    let vocabulary: &[&str] = &[
        "AT", "E", "V", "Q", "X", "S0", "S5=", "&F", "&W", "&V", "Z", "I", "+CREG", "+CGREG",
        "+COPS", "+CSQ", "+CPIN", "+CFUN", "+CMEE", "+CSCS", "+CCLK", "+IPR", "+IFC", "=", "?",
        "=?", ";", ",", "\"", "0", "1", "2", "99", "HEX", " ", "\x08",
    ];
    let mut lines = 0;
    let mut h = quiet_sim900();
    while lines < 100_000 {
        let mut line = Vec::new();
        if rng.random_bool(0.5) {
            let len = rng.random_range(0..40);
            line.extend((0..len).map(|_| rng.random::<u8>()));
        } else {
            line.extend_from_slice(b"AT");
            for _ in 0..rng.random_range(0..8) {
                let word = vocabulary[rng.random_range(0..vocabulary.len())];
                line.extend_from_slice(word.as_bytes());
            }
        }
        let text = String::from_utf8_lossy(&line).to_ascii_uppercase();
        // Lines that power the modem off or reset it are covered by their own tests.
        if text.contains("CFUN") && text.contains(',') || text.contains("CPOWD") {
            continue;
        }
        line.push(b'\r');
        h.send(&line);
        lines += 1;
        if lines % 1000 == 0 {
            // Restore a known framing, then the modem must still answer.
            h.send(b"\rAT&F;+CFUN=1;+CMEE=0\r");
            h.advance(1000);
            assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n", "after {lines} lines");
            h.send(b"ATE0\r");
        }
    }
}

mod atrun;
mod instances;
mod ip;
mod mux;
mod sms;
mod stimuli;
mod telit_context;
mod telit_moni;
mod telit_random;
mod telit_script;
mod telit_socket;
