//! Telit Easy Script storage, `#GPIO` and `#SMSMODE` on a virtual clock: exact bytes of every
//! form, the `#WSCRIPT` upload and its 30 s idle timeout, NVM across reboots and restarts.

use super::Harness;
use crate::modem::profile::TELIT;
use crate::modem::*;

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";
/// The GE865's script NVM ([DOC] datasheet: 1.9 MB).
const SPACE: usize = 1_900_000;

/// A booted Telit with echo off.
fn telit() -> Harness {
    let mut h = Harness::telit();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h
}

impl Harness {
    /// Feeds bytes; returns what the client sees and every explanation given meanwhile.
    fn send_explained(&mut self, bytes: &[u8]) -> (Vec<u8>, Vec<String>) {
        self.modem.handle(self.now, Input::Dte(bytes.to_vec()));
        let mut out = Vec::new();
        let mut events = Vec::new();
        while let Some(output) = self.modem.poll_output() {
            match output {
                Output::Dte(b) => out.extend(b),
                Output::Event(event) => events.push(event.message),
                Output::SaveNvm(nvm) => self.nvm_saves.push(*nvm),
                other => self.socket_requests.push(other),
            }
        }
        (out, events)
    }

    /// Stores `content` as `name` through `#WSCRIPT` (echo off); returns the final bytes.
    fn write_script(&mut self, name: &str, content: &[u8]) -> Vec<u8> {
        let prompt = self.cmd(&format!("AT#WSCRIPT=\"{name}\",{}", content.len()));
        assert_eq!(prompt, "\r\n>>>", "prompt for {name}");
        self.send(content)
    }

    fn last_nvm(&self) -> Nvm {
        self.nvm_saves.last().cloned().expect("NVM was saved")
    }
}

/// A Telit powered on from `nvm` (as `--state` gives it), echo off.
fn restarted(nvm: Nvm) -> Harness {
    let mut config = ModemConfig::new(&TELIT);
    config.nvm = nvm;
    let mut h = Harness::booted(config);
    assert_eq!(h.cmd("ATE0"), "ATE0\r\r\nOK\r\n");
    h
}

fn free_line(prefix: &str, used: usize) -> String {
    format!("{prefix}: free bytes: {}", SPACE - used)
}

// ----- #WSCRIPT / #RSCRIPT -----

#[test]
fn wscript_prompts_three_greater_than_signs_then_takes_exactly_size_bytes() {
    let mut h = Harness::telit();
    assert_eq!(
        h.send(b"AT#WSCRIPT=\"a.py\",12\r"),
        b"AT#WSCRIPT=\"a.py\",12\r\r\n>>>",
        "[DOC] <CR><LF>>>>, no space; the command line is echoed, the script is not"
    );
    assert_eq!(
        h.send(b"print 'hi'"),
        b"",
        "10 of 12 bytes: still collecting"
    );
    assert_eq!(h.send(b"\r\n"), b"\r\nOK\r\n");
    assert_eq!(
        h.send(b"AT#RSCRIPT=\"a.py\"\r"),
        b"AT#RSCRIPT=\"a.py\"\r\r\n<<<print 'hi'\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_binary_script_round_trips_byte_for_byte() {
    let mut h = telit();
    let content: Vec<u8> = b"\x00\x01\r\n\x1a\x1b+++\r\rAT\r\x08\xff\x7f\n".to_vec();
    assert_eq!(h.write_script("bin.pyo", &content), b"\r\nOK\r\n");
    let mut expected = b"\r\n<<<".to_vec();
    expected.extend_from_slice(&content);
    expected.extend_from_slice(b"\r\nOK\r\n");
    assert_eq!(h.send(b"AT#RSCRIPT=\"bin.pyo\"\r"), expected);
    let saved = h.last_nvm();
    let stored = &saved.easy_script.expect("scripts in NVM").files[0];
    assert_eq!(stored.content, content, "NVM keeps the raw bytes");
}

#[test]
fn the_lf_of_a_crlf_command_line_is_not_script_data() {
    let mut h = telit();
    assert_eq!(h.send(b"AT#WSCRIPT=\"a.py\",3\r\n"), b"\r\n>>>");
    assert_eq!(h.send(b"abc"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#RSCRIPT=a.py"), "\r\n<<<abc\r\nOK\r\n");
}

#[test]
fn bytes_after_the_last_script_byte_are_command_lines_again() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#WSCRIPT=\"a.py\",3"), "\r\n>>>");
    assert_eq!(h.send(b"ab"), b"");
    assert_eq!(h.send(b"cAT+CMEE=1\r"), b"\r\nOK\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMEE?"), "\r\n+CMEE: 1\r\n\r\nOK\r\n");
}

#[test]
fn unquoted_names_keep_their_case_and_names_are_case_sensitive() {
    let mut h = telit();
    // [OBS] `at#wscript=ciclo2.py,268` → `>>>` … `OK`.
    assert_eq!(h.send(b"at#wscript=Ciclo2.py,2\r"), b"\r\n>>>");
    assert_eq!(h.send(b"ok"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#RSCRIPT=\"Ciclo2.py\""), "\r\n<<<ok\r\nOK\r\n");
    assert_eq!(h.cmd("AT#RSCRIPT=\"ciclo2.py\""), ERROR);
}

#[test]
fn a_hidden_script_reads_back_empty_but_lists_its_size() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#WSCRIPT=\"h.py\",5,1"), "\r\n>>>");
    assert_eq!(h.send(b"hello"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#RSCRIPT=\"h.py\""), "\r\n<<<\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        format!(
            "\r\n#LSCRIPT: \"h.py\",5\r\n{}\r\n\r\nOK\r\n",
            free_line("#LSCRIPT", 5)
        )
    );
    assert_eq!(h.cmd("AT#WSCRIPT=\"v.py\",2,0"), "\r\n>>>");
    assert_eq!(h.send(b"ab"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#RSCRIPT=\"v.py\""), "\r\n<<<ab\r\nOK\r\n");
}

#[test]
fn writing_a_name_again_replaces_the_file_in_its_place() {
    let mut h = telit();
    assert_eq!(h.write_script("one.py", b"first"), b"\r\nOK\r\n");
    assert_eq!(h.write_script("two.py", b"22"), b"\r\nOK\r\n");
    assert_eq!(h.write_script("one.py", b"1"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#RSCRIPT=\"one.py\""), "\r\n<<<1\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        format!(
            "\r\n#LSCRIPT: \"one.py\",1\r\n#LSCRIPT: \"two.py\",2\r\n{}\r\n\r\nOK\r\n",
            free_line("#LSCRIPT", 3)
        )
    );
}

#[test]
fn wscript_refuses_bad_names_sizes_and_forms() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#WSCRIPT=?"), OK);
    for line in [
        "AT#WSCRIPT",
        "AT#WSCRIPT?",
        "AT#WSCRIPT=",
        "AT#WSCRIPT=\"\",5",
        "AT#WSCRIPT=\"seventeen_chars.p\",5",
        "AT#WSCRIPT=\"a.py\"",
        "AT#WSCRIPT=\"a.py\",0",
        "AT#WSCRIPT=\"a.py\",-1",
        "AT#WSCRIPT=\"a.py\",x",
        "AT#WSCRIPT=\"a.py\",1900001",
        "AT#WSCRIPT=\"a.py\",5,2",
        "AT#WSCRIPT=\"a.py\",5,0,0",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    assert_eq!(h.cmd("AT+CMEE=1"), OK);
    assert_eq!(h.cmd("AT#WSCRIPT=\"a.py\",0"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(
        h.cmd("AT#WSCRIPT=\"sixteen_chars.py\",1"),
        "\r\n>>>",
        "16 characters is the limit"
    );
    assert_eq!(h.send(b"x"), b"\r\nOK\r\n");
    assert!(h.nvm_saves.len() == 1, "only the stored file saved NVM");
}

#[test]
fn a_script_must_fit_the_free_space_counting_the_file_it_replaces() {
    let mut h = telit();
    let big = vec![b'#'; SPACE - 10];
    assert_eq!(h.write_script("big.py", &big), b"\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        format!(
            "\r\n#LSCRIPT: \"big.py\",{}\r\n#LSCRIPT: free bytes: 10\r\n\r\nOK\r\n",
            SPACE - 10
        )
    );
    let (out, why) = h.send_explained(b"AT#WSCRIPT=\"x.py\",11\r");
    assert_eq!(out, ERROR.as_bytes());
    assert!(
        why.iter()
            .any(|w| w == "script \"x.py\" of 11 bytes does not fit: 10 bytes free"),
        "{why:?}"
    );
    assert_eq!(h.write_script("x.py", b"0123456789"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#WSCRIPT=\"y.py\",1"), ERROR, "full");
    assert_eq!(
        h.cmd(&format!("AT#WSCRIPT=\"big.py\",{}", SPACE - 10)),
        "\r\n>>>",
        "the old big.py gives its room back"
    );
}

#[test]
fn wscript_gives_error_after_30_s_without_a_byte_and_stores_nothing() {
    let mut h = telit();
    assert_eq!(h.cmd("AT+CMEE=2"), OK);
    assert_eq!(h.cmd("AT#WSCRIPT=\"slow.py\",10"), "\r\n>>>");
    assert_eq!(h.advance(20_000), b"");
    assert_eq!(h.send(b"abc"), b"", "a byte starts the 30 s over");
    assert_eq!(h.advance(29_999), b"");
    assert_eq!(
        h.advance(1),
        b"\r\nERROR\r\n",
        "[DOC] a plain ERROR message, whatever +CMEE says"
    );
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        format!("\r\n{}\r\n\r\nOK\r\n", free_line("#LSCRIPT", 0))
    );
    assert!(h.nvm_saves.is_empty());
    assert_eq!(h.cmd("AT"), OK, "command mode again");
}

#[test]
fn an_upload_timing_out_keeps_the_file_it_would_have_replaced() {
    let mut h = telit();
    assert_eq!(h.write_script("a.py", b"old"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#WSCRIPT=\"a.py\",5"), "\r\n>>>");
    assert_eq!(h.send(b"ne"), b"");
    assert_eq!(h.advance(30_000), ERROR.as_bytes());
    assert_eq!(h.cmd("AT#RSCRIPT=\"a.py\""), "\r\n<<<old\r\nOK\r\n");
}

#[test]
fn rscript_of_a_missing_file_or_a_bad_form_is_an_error() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#RSCRIPT=?"), OK);
    for line in [
        "AT#RSCRIPT=\"none.py\"",
        "AT#RSCRIPT",
        "AT#RSCRIPT?",
        "AT#RSCRIPT=",
        "AT#RSCRIPT=\"a.py\",1",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
}

// ----- #LSCRIPT / #LCSCRIPT / #DSCRIPT -----

#[test]
fn lscript_lists_in_write_order_then_the_free_bytes() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        "\r\n#LSCRIPT: free bytes: 1900000\r\n\r\nOK\r\n"
    );
    h.write_script("b.py", b"123");
    h.write_script("a.py", b"12");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        "\r\n#LSCRIPT: \"b.py\",3\r\n#LSCRIPT: \"a.py\",2\r\n#LSCRIPT: free bytes: 1899995\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#LSCRIPT=?"), OK);
    assert_eq!(
        h.cmd("AT#LSCRIPT?"),
        ERROR,
        "the read form is SELINT 0/1 only"
    );
    assert_eq!(h.cmd("AT#LSCRIPT=1"), ERROR);
}

#[test]
fn lcscript_adds_the_crc16_ccitt_in_four_hex_digits() {
    let mut h = telit();
    h.write_script("c.py", b"123456789");
    h.write_script("h.py", b"h");
    assert_eq!(
        h.cmd("AT#LCSCRIPT"),
        "\r\n#LCSCRIPT: \"c.py\",9,29B1\r\n#LCSCRIPT: \"h.py\",1,0C5E\r\n\
         #LCSCRIPT: free bytes: 1899990\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#LCSCRIPT=\"c.py\""),
        "\r\n#LCSCRIPT: \"c.py\",9,29B1\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#LCSCRIPT=\"x.py\""), ERROR);
    assert_eq!(h.cmd("AT#LCSCRIPT="), ERROR);
    assert_eq!(h.cmd("AT#LCSCRIPT=?"), OK);
    assert_eq!(h.cmd("AT#LCSCRIPT?"), ERROR);
}

#[test]
fn dscript_deletes_and_a_missing_file_is_an_error() {
    let mut h = telit();
    h.write_script("a.py", b"aaa");
    h.write_script("b.py", b"b");
    let saves = h.nvm_saves.len();
    assert_eq!(h.cmd("AT#DSCRIPT=\"a.py\""), OK);
    assert_eq!(h.nvm_saves.len(), saves + 1, "NVM saved");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        "\r\n#LSCRIPT: \"b.py\",1\r\n#LSCRIPT: free bytes: 1899999\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#DSCRIPT=\"a.py\""), ERROR);
    assert_eq!(h.cmd("AT+CMEE=1"), OK);
    assert_eq!(h.cmd("AT#DSCRIPT=\"a.py\""), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT#DSCRIPT=?"), OK);
    assert_eq!(h.cmd("AT#DSCRIPT"), "\r\n+CME ERROR: 4\r\n");
}

// ----- #ESCRIPT / #STARTMODESCR / #EXECSCR -----

#[test]
fn escript_selects_any_name_without_checking_and_reads_it_quoted() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#ESCRIPT?"), "\r\n#ESCRIPT: \"\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ESCRIPT=?"), OK);
    assert_eq!(h.cmd("AT#ESCRIPT=\"ciclo3.py\""), OK, "no existence check");
    assert_eq!(
        h.cmd("AT#ESCRIPT?"),
        "\r\n#ESCRIPT: \"ciclo3.py\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#ESCRIPT=\"seventeen_chars.p\""), ERROR);
    assert_eq!(h.cmd("AT#ESCRIPT=\"a\",\"b\""), ERROR);
    assert_eq!(h.cmd("AT#ESCRIPT="), OK, "empty: no start-up script");
    assert_eq!(h.cmd("AT#ESCRIPT?"), "\r\n#ESCRIPT: \"\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ESCRIPT"), ERROR);
}

#[test]
fn startmodescr_sets_mode_and_timeout_within_their_ranges() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#STARTMODESCR=?"),
        "\r\n#STARTMODESCR: (0-2),(10-60)\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#STARTMODESCR?"),
        "\r\n#STARTMODESCR: 0,10\r\n\r\nOK\r\n",
        "factory: DTR mode, 10 s"
    );
    assert_eq!(h.cmd("AT#STARTMODESCR=1,30"), OK);
    assert_eq!(
        h.cmd("AT#STARTMODESCR?"),
        "\r\n#STARTMODESCR: 1,30\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#STARTMODESCR=2"), OK);
    assert_eq!(
        h.cmd("AT#STARTMODESCR?"),
        "\r\n#STARTMODESCR: 2,30\r\n\r\nOK\r\n",
        "an omitted time-out is kept"
    );
    for line in [
        "AT#STARTMODESCR=3",
        "AT#STARTMODESCR=1,9",
        "AT#STARTMODESCR=1,61",
        "AT#STARTMODESCR=",
        "AT#STARTMODESCR=1,10,1",
        "AT#STARTMODESCR",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
}

#[test]
fn execscr_answers_error_because_simodem_runs_no_python() {
    let mut h = telit();
    h.write_script("run.py", b"import MDM\r\n");
    assert_eq!(h.cmd("AT#ESCRIPT=\"run.py\""), OK);
    let (out, why) = h.send_explained(b"AT#EXECSCR\r");
    assert_eq!(out, ERROR.as_bytes());
    assert!(
        why.contains(
            &"#EXECSCR: \"run.py\" is selected and stored; simodem stores Easy Script files \
              but does not run Telit Python → ERROR"
                .to_string()
        ),
        "{why:?}"
    );
    assert_eq!(h.cmd("AT+CMEE=2"), OK);
    assert_eq!(
        h.cmd("AT#EXECSCR"),
        "\r\n+CME ERROR: operation not supported\r\n"
    );
    assert_eq!(h.cmd("AT#EXECSCR=?"), OK);
}

// ----- NVM -----

/// Scripts, start-up selection, start mode and #SMSMODE as `configure` left them.
fn configure(h: &mut Harness) {
    assert_eq!(
        h.write_script("ciclo3.py", b"a\r\nb\x00\x1a"),
        b"\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#WSCRIPT=\"secret.pyo\",2,1"), "\r\n>>>");
    assert_eq!(h.send(b"\xff\x00"), b"\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ESCRIPT=\"ciclo3.py\""), OK);
    assert_eq!(h.cmd("AT#STARTMODESCR=1,45"), OK);
    assert_eq!(h.cmd("AT#SMSMODE=0"), OK);
}

fn assert_configured(h: &mut Harness) {
    assert_eq!(
        h.send(b"AT#RSCRIPT=\"ciclo3.py\"\r"),
        b"\r\n<<<a\r\nb\x00\x1a\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#RSCRIPT=\"secret.pyo\""), "\r\n<<<\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        "\r\n#LSCRIPT: \"ciclo3.py\",6\r\n#LSCRIPT: \"secret.pyo\",2\r\n\
         #LSCRIPT: free bytes: 1899992\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#ESCRIPT?"),
        "\r\n#ESCRIPT: \"ciclo3.py\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#STARTMODESCR?"),
        "\r\n#STARTMODESCR: 1,45\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SMSMODE?"), "\r\n#SMSMODE: 0\r\n\r\nOK\r\n");
}

#[test]
fn scripts_and_their_settings_survive_reboot() {
    let mut h = telit();
    configure(&mut h);
    assert_eq!(h.cmd("AT#REBOOT"), OK);
    h.advance(2000);
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_configured(&mut h);
}

#[test]
fn scripts_survive_a_restart_from_the_state_file_json() {
    let mut h = telit();
    configure(&mut h);
    let json = serde_json::to_string(&h.last_nvm()).expect("serialise");
    assert!(
        json.contains(r#""content":"YQ0KYgAa""#),
        "script bytes are base64: {json}"
    );
    let nvm: Nvm = serde_json::from_str(&json).expect("deserialise");
    let mut h = restarted(nvm);
    assert_configured(&mut h);
}

#[test]
fn a_state_file_from_before_scripts_reads_as_factory() {
    let nvm: Nvm = serde_json::from_str("{}").expect("old state file");
    assert_eq!(nvm.easy_script, None);
    assert_eq!(nvm.sms_mode, None);
    let mut h = restarted(nvm);
    assert_eq!(h.cmd("AT#SMSMODE?"), "\r\n#SMSMODE: 1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#ESCRIPT?"), "\r\n#ESCRIPT: \"\"\r\n\r\nOK\r\n");
}

/// The explanations a Telit powered on from `nvm` gives.
fn boot_explanations(nvm: Nvm) -> Vec<String> {
    let mut config = ModemConfig::new(&TELIT);
    config.nvm = nvm;
    let mut modem = Modem::new(config, Instant(0));
    let mut why = Vec::new();
    while let Some(output) = modem.poll_output() {
        if let Output::Event(event) = output {
            why.push(event.message);
        }
    }
    why
}

#[test]
fn power_on_explains_the_enabled_script_it_would_run() {
    let mut h = telit();
    h.write_script("ciclo3.py", b"import MDM\r\n");
    assert_eq!(h.cmd("AT#ESCRIPT=\"ciclo3.py\""), OK);
    assert!(boot_explanations(h.last_nvm()).contains(
        &"Easy Script: \"ciclo3.py\" is enabled and would run at start-up \
          (#STARTMODESCR=0: only with DTR low); simodem stores scripts but does not run Telit Python"
            .to_string()
    ));
    assert_eq!(h.cmd("AT#STARTMODESCR=1,20"), OK);
    assert!(
        boot_explanations(h.last_nvm()).contains(
            &"Easy Script: \"ciclo3.py\" is enabled and would run at start-up \
          (#STARTMODESCR=1: unless an AT command comes within 20 s); simodem stores scripts but \
          does not run Telit Python"
                .to_string()
        )
    );
    assert_eq!(h.cmd("AT#ESCRIPT=\"gone.py\""), OK);
    assert!(boot_explanations(h.last_nvm()).contains(
        &"Easy Script: \"gone.py\" is selected by #ESCRIPT but not stored: nothing would run at \
          start-up"
            .to_string()
    ));
    assert_eq!(h.cmd("AT#ESCRIPT="), OK);
    let why = boot_explanations(h.last_nvm());
    assert!(!why.iter().any(|w| w.starts_with("Easy Script")), "{why:?}");
    assert_eq!(h.cmd("AT#ESCRIPT=\"ciclo3.py\""), OK);
    let (out, why) = h.send_explained(b"AT#REBOOT\r");
    assert_eq!(out, OK.as_bytes());
    assert!(
        why.iter()
            .any(|w| w.starts_with("Easy Script: \"ciclo3.py\" is enabled")),
        "#REBOOT explains it too: {why:?}"
    );
    h.advance(2000);
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#ESCRIPT?"),
        "\r\n#ESCRIPT: \"ciclo3.py\"\r\n\r\nOK\r\n"
    );
}

// ----- #GPIO -----

#[test]
fn gpio_read_lists_the_ge865_pins_as_the_hardware_starts_them() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#GPIO?"),
        "\r\n#GPIO: 0,0\r\n#GPIO: 0,0\r\n#GPIO: 0,0\r\n#GPIO: 0,0\r\n#GPIO: 0,0\r\n\
         #GPIO: 0,0\r\n#GPIO: 0,0\r\n#GPIO: 0,0\r\n#GPIO: 1,1\r\n#GPIO: 1,1\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#GPIO=?"),
        "\r\n#GPIO: (1-10),(0-2),(0-3)\r\n\r\nOK\r\n"
    );
}

#[test]
fn gpio_follows_the_reference_example() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#GPIO=3,0,1"), OK);
    assert_eq!(h.cmd("AT#GPIO=3,2"), "\r\n#GPIO: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=4,1,1"), OK);
    assert_eq!(h.cmd("AT#GPIO=4,2"), "\r\n#GPIO: 1,1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=5,0,0"), OK);
    assert_eq!(h.cmd("AT#GPIO=5,2"), "\r\n#GPIO: 0,0\r\n\r\nOK\r\n");
}

#[test]
fn gpio_two_parameter_set_drives_the_latch_keeping_the_direction() {
    let mut h = telit();
    // The app note's `AT#GPIO=2,1` by SMS ATRUN: on a pin still an input it changes nothing
    // visible; once the pin is an output it drives it.
    assert_eq!(h.cmd("AT#GPIO=2,1"), OK);
    assert_eq!(h.cmd("AT#GPIO=2,2"), "\r\n#GPIO: 0,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=2,0,1"), OK);
    assert_eq!(h.cmd("AT#GPIO=2,2"), "\r\n#GPIO: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=2,1"), OK);
    assert_eq!(h.cmd("AT#GPIO=2,2"), "\r\n#GPIO: 1,1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=2,0"), OK);
    assert_eq!(h.cmd("AT#GPIO=2,2"), "\r\n#GPIO: 1,0\r\n\r\nOK\r\n");
}

#[test]
fn gpio_alternate_function_only_where_the_pin_has_one_and_no_pull_down_on_ge865() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#GPIO=6,0,2"), OK, "GPIO6: alarm output");
    assert_eq!(h.cmd("AT#GPIO=6,2"), "\r\n#GPIO: 2,0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#GPIO=3,0,2"),
        ERROR,
        "GPIO3 has no alternate function"
    );
    assert_eq!(h.cmd("AT#GPIO=3,2"), "\r\n#GPIO: 0,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=8,0,1"), OK);
    assert_eq!(
        h.cmd("AT#GPIO=8,0,3"),
        OK,
        "[DOC] no tristate pull-down: reverted to input"
    );
    assert_eq!(h.cmd("AT#GPIO=8,2"), "\r\n#GPIO: 0,0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#GPIO=7,2,1"),
        "\r\n#GPIO: 1,0\r\n\r\nOK\r\n",
        "mode 2 with a direction sets it, then reports"
    );
}

#[test]
fn gpio_refuses_bad_pins_modes_directions_and_the_later_save_parameter() {
    let mut h = telit();
    for line in [
        "AT#GPIO=0,2",
        "AT#GPIO=11,2",
        "AT#GPIO=3,3",
        "AT#GPIO=3,0,4",
        "AT#GPIO=3",
        "AT#GPIO=",
        "AT#GPIO",
        "AT#GPIO=\"3\",2",
        "AT#GPIO=2,1,1,1",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    assert_eq!(h.cmd("AT+CMEE=1"), OK);
    assert_eq!(h.cmd("AT#GPIO=11,2"), "\r\n+CME ERROR: 4\r\n");
}

#[test]
fn gpio_state_is_volatile_and_shows_in_ctl_state() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#GPIO=1,1,1"), OK);
    assert_eq!(h.cmd("AT#GPIO=6,0,2"), OK);
    let state = serde_json::to_value(h.modem.state()).expect("state");
    let gpio = state["gpio"].as_array().expect("gpio pins");
    assert_eq!(gpio.len(), 10);
    assert_eq!(
        gpio[0],
        serde_json::json!({"pin": 1, "direction": "output", "stat": 1})
    );
    assert_eq!(
        gpio[5],
        serde_json::json!({"pin": 6, "direction": "alternate", "stat": 0})
    );
    assert_eq!(
        gpio[1],
        serde_json::json!({"pin": 2, "direction": "input", "stat": 0})
    );
    assert_eq!(h.cmd("AT#REBOOT"), OK);
    h.advance(2000);
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT#GPIO=1,2"), "\r\n#GPIO: 0,0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPIO=6,2"), "\r\n#GPIO: 0,0\r\n\r\nOK\r\n");
    let sim900 = serde_json::to_value(Harness::sim900().modem.state()).expect("state");
    assert!(sim900.get("gpio").is_none(), "no GPIO on the SIM900");
}

#[test]
fn the_sim900_has_none_of_these_commands() {
    let mut h = Harness::sim900();
    h.cmd("ATE0");
    for line in ["AT#WSCRIPT=?", "AT#LSCRIPT", "AT#GPIO?", "AT#SMSMODE?"] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    assert!(!h.modem.improved_sms_mode());
}

// ----- #SMSMODE -----

#[test]
fn smsmode_reads_sets_and_is_kept_in_nvm() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#SMSMODE?"),
        "\r\n#SMSMODE: 1\r\n\r\nOK\r\n",
        "[DOC] 1 is the GE865-QUAD's factory value"
    );
    assert_eq!(h.cmd("AT#SMSMODE=?"), "\r\n#SMSMODE: (0,1)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSMODE=0"), OK);
    assert_eq!(h.last_nvm().sms_mode, Some(0));
    assert_eq!(h.cmd("AT#SMSMODE?"), "\r\n#SMSMODE: 0\r\n\r\nOK\r\n");
    for line in [
        "AT#SMSMODE=2",
        "AT#SMSMODE=",
        "AT#SMSMODE=1,1",
        "AT#SMSMODE",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    assert_eq!(h.cmd("AT#REBOOT"), OK);
    h.advance(2000);
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT#SMSMODE?"), "\r\n#SMSMODE: 0\r\n\r\nOK\r\n");
}

#[test]
fn selint_cannot_change_while_smsmode_is_1() {
    let mut h = telit();
    assert_eq!(h.cmd("AT+CMEE=2"), OK);
    let (out, why) = h.send_explained(b"AT#SELINT=2\r");
    assert_eq!(out, ERROR.as_bytes(), "[DOC] an ERROR result code");
    assert!(why.contains(&"#SELINT cannot change while #SMSMODE=1".to_string()));
    assert_eq!(h.cmd("AT#SELINT?"), "\r\n#SELINT: 2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SMSMODE=0"), OK);
    assert_eq!(h.cmd("AT#SELINT=2"), OK);
}

/// A Telit in text mode, registered.
fn telit_text_mode() -> Harness {
    let mut h = Harness::telit();
    h.advance(1000);
    assert_eq!(h.cmd("AT+CMGF=1"), "AT+CMGF=1\r\r\nOK\r\n");
    h
}

fn submitted_text(h: &Harness, index: usize) -> String {
    h.submitted[index]
        .submit
        .user_data
        .text(crate::sms::Alphabet::Gsm7)
        .expect("GSM 7-bit text")
}

#[test]
fn smsmode_1_reissues_the_prompt_for_each_cr_typed_in_a_text_message() {
    let mut h = telit_text_mode();
    assert_eq!(
        h.send(b"AT+CMGS=\"+393471234567\"\r"),
        b"AT+CMGS=\"+393471234567\"\r\r\n> "
    );
    assert_eq!(
        h.send(b"line one\rline two\r"),
        b"line one\r\r\n> line two\r\r\n> ",
        "echo of each CR, then the prompt again"
    );
    assert_eq!(h.send(b"end\x1a"), b"end");
    assert_eq!(h.advance(1000), b"\r\n+CMGS: 0\r\n\r\nOK\r\n");
    assert_eq!(
        submitted_text(&h, 0),
        "line one\rline two\rend",
        "the CRs stay"
    );

    assert_eq!(h.cmd("ATE0"), "ATE0\r\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGS=\"+393471234567\""), "\r\n> ");
    assert_eq!(h.send(b"a\rb"), b"\r\n> ", "E0: only the prompt");
    assert_eq!(h.send(b"\x1a"), b"");
    assert_eq!(h.advance(1000), b"\r\n+CMGS: 1\r\n\r\nOK\r\n");
    assert_eq!(submitted_text(&h, 1), "a\rb");
}

#[test]
fn smsmode_1_reissues_the_prompt_in_cmgw_text_too() {
    let mut h = telit_text_mode();
    h.cmd("ATE0");
    assert_eq!(h.cmd("AT+CMGW=\"+393471234567\""), "\r\n> ");
    assert_eq!(h.send(b"x\ry\x1a"), b"\r\n> \r\n+CMGW: 1\r\n\r\nOK\r\n");
}

#[test]
fn smsmode_0_or_pdu_mode_do_not_reissue_the_prompt() {
    let mut h = telit_text_mode();
    assert_eq!(h.cmd("AT#SMSMODE=0"), "AT#SMSMODE=0\r\r\nOK\r\n");
    assert_eq!(
        h.send(b"AT+CMGS=\"+393471234567\"\r"),
        b"AT+CMGS=\"+393471234567\"\r\r\n> "
    );
    assert_eq!(h.send(b"a\rb\x1a"), b"a\rb");
    assert_eq!(h.advance(1000), b"\r\n+CMGS: 0\r\n\r\nOK\r\n");

    assert_eq!(h.cmd("AT#SMSMODE=1"), "AT#SMSMODE=1\r\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CMGF=0"), "AT+CMGF=0\r\r\nOK\r\n");
    assert_eq!(h.send(b"AT+CMGS=19\r"), b"AT+CMGS=19\r\r\n> ");
    assert_eq!(h.send(b"00\r"), b"00\r", "PDU mode: a CR is only echoed");
    assert_eq!(h.send(b"\x1b"), b"\r\nOK\r\n", "ESC cancels");
}

#[test]
fn rscript_chained_with_another_command_keeps_the_order() {
    let mut h = telit();
    h.write_script("a.py", b"abc");
    assert_eq!(
        h.cmd("AT#RSCRIPT=\"a.py\";#LSCRIPT"),
        "\r\n<<<abc\r\n#LSCRIPT: \"a.py\",3\r\n#LSCRIPT: free bytes: 1899997\r\n\r\nOK\r\n"
    );
}

#[test]
fn an_upload_on_instance_2_is_that_port_s_own_and_times_out_there() {
    let mut h = telit();
    h.open_instance(2);
    assert_eq!(h.send_on(2, b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_eq!(h.send_on(2, b"AT#WSCRIPT=\"two.py\",4\r"), b"\r\n>>>");
    assert_eq!(
        h.cmd("AT#LSCRIPT"),
        "\r\n#LSCRIPT: free bytes: 1900000\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.send_on(2, b"AT\r"),
        b"",
        "instance 2's bytes are script data"
    );
    assert_eq!(h.advance(30_000), b"", "instance 1 sees nothing");
    assert_eq!(h.take_instance(2), b"\r\nERROR\r\n");
    assert_eq!(h.send_on(2, b"AT#WSCRIPT=\"two.py\",4\r"), b"\r\n>>>");
    assert_eq!(h.send_on(2, b"2222"), b"\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#RSCRIPT=\"two.py\""),
        "\r\n<<<2222\r\nOK\r\n",
        "one store for all"
    );
}
