//! The Telit IP Easy contexts and configuration on a virtual clock: `+CGDCONT`/`+CGACT`/
//! `+CGPADDR`, `#SGACT`, `#SGACTCFG`, `#GPRS`, `#QDNS`, `#FRWL`, `#SCFG*`, the legacy commands, NVM.

use std::net::Ipv4Addr;

use super::Harness;
use crate::modem::telit_ip::SocketState;
use crate::modem::*;

/// A booted Telit (registered and attached) with echo off.
fn telit() -> Harness {
    let mut h = Harness::telit();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h
}

fn network(service: Service) -> Input {
    Input::Network(NetworkChange {
        service: Some(service),
        ..Default::default()
    })
}

impl Harness {
    /// Runs a line and returns what the client sees and every explanation given meanwhile.
    fn cmd_explained(&mut self, line: &str) -> (String, Vec<String>) {
        self.modem
            .handle(self.now, Input::Dte(format!("{line}\r").into_bytes()));
        let mut bytes = Vec::new();
        let mut events = Vec::new();
        while let Some(output) = self.modem.poll_output() {
            match output {
                Output::Dte(b) => bytes.extend(b),
                Output::Event(event) => events.push(event.message),
                Output::SaveNvm(nvm) => self.nvm_saves.push(*nvm),
                other => self.socket_requests.push(other),
            }
        }
        (String::from_utf8_lossy(&bytes).into_owned(), events)
    }

    /// The NVM the modem last asked to be saved.
    fn saved_nvm(&self) -> Nvm {
        self.nvm_saves.last().cloned().expect("NVM was saved")
    }

    /// Answers DNS query `query`.
    fn resolve(&mut self, query: u32, result: Resolution) -> String {
        let out = self.apply(Input::Resolved { query, result });
        String::from_utf8_lossy(&out).into_owned()
    }
}

const OK: &str = "\r\nOK\r\n";
const ERROR: &str = "\r\nERROR\r\n";

// ----- +CGDCONT -----

#[test]
fn cgdcont_test_read_and_factory_context_one() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT+CGDCONT=?"),
        "\r\n+CGDCONT: (1-5),\"IP\",,,(0,1),(0,1)\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CGDCONT?"),
        "\r\n+CGDCONT: 1,\"IP\",\"\",\"\",0,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn cgdcont_defines_and_undefines_contexts() {
    let mut h = telit();
    assert_eq!(h.cmd("AT+CGDCONT=1,\"IP\",\"webtrial.globalm2m.net\""), OK);
    assert_eq!(h.cmd("AT+CGDCONT=3,\"IP\",\"wap\",\"10.1.2.3\",1,0"), OK);
    assert_eq!(
        h.cmd("AT+CGDCONT?"),
        "\r\n+CGDCONT: 1,\"IP\",\"webtrial.globalm2m.net\",\"\",0,0\r\n\
         +CGDCONT: 3,\"IP\",\"wap\",\"10.1.2.3\",1,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CGDCONT=1"), OK);
    assert_eq!(
        h.cmd("AT+CGDCONT?"),
        "\r\n+CGDCONT: 3,\"IP\",\"wap\",\"10.1.2.3\",1,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CGDCONT="), OK, "nothing given: nothing changes");
}

#[test]
fn cgdcont_rejects_bad_values_and_undefining_an_active_context() {
    let mut h = telit();
    for line in [
        "AT+CGDCONT=6,\"IP\",\"apn\"",
        "AT+CGDCONT=0,\"IP\",\"apn\"",
        "AT+CGDCONT=1,\"PPP\",\"apn\"",
        "AT+CGDCONT=1,\"IP\",\"apn\",\"\",2",
        "AT+CGDCONT=1,\"IP\",\"apn\",\"\",0,0,1",
        "AT+CGDCONT",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT+CGDCONT=7"), "\r\n+CME ERROR: 4\r\n");
    h.cmd("AT#SGACT=1,1");
    assert_eq!(h.cmd("AT+CGDCONT=1"), "\r\n+CME ERROR: 3\r\n");
}

// ----- +CGACT, +CGPADDR, #CGPADDR -----

#[test]
fn cgact_activates_contexts_that_ip_easy_sockets_cannot_use() {
    let mut h = telit();
    assert_eq!(h.cmd("AT+CGACT=?"), "\r\n+CGACT: (0,1)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGDCONT=2,\"IP\",\"apn2\""), OK);
    assert_eq!(
        h.cmd("AT+CGACT?"),
        "\r\n+CGACT: 1,0\r\n+CGACT: 2,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CGACT=1,2"), OK);
    assert_eq!(
        h.cmd("AT+CGACT?"),
        "\r\n+CGACT: 1,0\r\n+CGACT: 2,1\r\n\r\nOK\r\n"
    );
    assert_eq!(h.modem.telit.ip_easy_address(2), None);
    assert_eq!(h.cmd("AT#SGACT=2,1"), ERROR, "the context is up already");
    assert_eq!(
        h.cmd("AT+CGPADDR=2"),
        "\r\n+CGPADDR: 2,\"10.64.0.3\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CGACT=0"), OK, "no cid: every defined context");
    assert_eq!(
        h.cmd("AT+CGACT?"),
        "\r\n+CGACT: 1,0\r\n+CGACT: 2,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT+CGACT=1"), OK);
    assert_eq!(
        h.cmd("AT+CGACT?"),
        "\r\n+CGACT: 1,1\r\n+CGACT: 2,1\r\n\r\nOK\r\n"
    );
    assert_eq!(h.modem.telit.ip_easy_address(1), None);
}

#[test]
fn cgact_needs_registration_and_valid_cids() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT+CGACT=1,6"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT+CGACT=2"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT+CGACT"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(
        h.cmd("AT+CGACT=1,3"),
        "\r\n+CME ERROR: 555\r\n",
        "undefined"
    );
    h.apply(network(Service::None));
    assert_eq!(h.cmd("AT+CGACT=1,1"), "\r\n+CME ERROR: 30\r\n");
}

#[test]
fn cgpaddr_forms_as_the_real_module_answers_them() {
    let mut h = telit();
    h.cmd("AT+CMEE=2");
    assert_eq!(h.cmd("AT+CGDCONT=2,\"IP\",\"wap.cingular\""), OK);
    assert_eq!(h.cmd("AT+CGPADDR=?"), "\r\n+CGPADDR: (1,2)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGPADDR=1"), "\r\n+CGPADDR: 1,\"\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT+CGPADDR"), ERROR, "plain ERROR even under CMEE=2");
    assert_eq!(h.cmd("AT+CGPADDR?"), ERROR);
    h.cmd("AT#SGACT=1,1");
    assert_eq!(
        h.cmd("AT+CGPADDR="),
        "\r\n+CGPADDR: 1,\"10.64.0.2\"\r\n+CGPADDR: 2,\"\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CGPADDR=2,1"),
        "\r\n+CGPADDR: 2,\"\"\r\n+CGPADDR: 1,\"10.64.0.2\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT+CGPADDR=0"),
        "\r\n+CME ERROR: operation not supported\r\n"
    );
}

#[test]
fn cgpaddr_shows_a_static_address_of_an_inactive_context() {
    let mut h = telit();
    h.cmd("AT+CGDCONT=3,\"IP\",\"apn\",\"10.9.9.9\"");
    assert_eq!(
        h.cmd("AT+CGPADDR=3"),
        "\r\n+CGPADDR: 3,\"10.9.9.9\"\r\n\r\nOK\r\n"
    );
}

#[test]
fn hash_cgpaddr_forms() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#CGPADDR=?"), "\r\n#CGPADDR: (1)\r\n\r\nOK\r\n");
    h.cmd("AT#SGACT=1,1");
    assert_eq!(
        h.cmd("AT#CGPADDR=1"),
        "\r\n#CGPADDR: 1,\"10.64.0.2\"\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#CGPADDR="),
        "\r\n#CGPADDR: 1,\"10.64.0.2\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#CGPADDR=0"), "\r\n#CGPADDR: 0,\"\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#CGPADDR"), ERROR);
    h.cmd("AT+CMEE=2");
    assert_eq!(
        h.cmd("AT#CGPADDR"),
        "\r\n+CME ERROR: operation not allowed\r\n"
    );
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#CGPADDR?"), "\r\n+CME ERROR: 3\r\n");
}

// ----- #SGACT -----

#[test]
fn sgact_activates_with_an_unquoted_address() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(
        h.modem.telit.ip_easy_address(1),
        Some(Ipv4Addr::new(10, 64, 0, 2))
    );
    assert_eq!(h.cmd("AT+CGDCONT=2,\"IP\",\"b\""), OK);
    assert_eq!(
        h.cmd("AT#SGACT=2, 1"),
        "\r\n#SGACT: 10.64.0.3\r\n\r\nOK\r\n"
    );
}

#[test]
fn sgact_address_follows_the_configured_pdp_address() {
    let mut config = ModemConfig::new(&crate::modem::profile::TELIT);
    config.pdp_address = Ipv4Addr::new(10, 214, 230, 150);
    let mut h = Harness::booted(config);
    h.cmd("ATE0");
    assert_eq!(
        h.cmd("AT#SGACT=1,1"),
        "\r\n#SGACT: 10.214.230.150\r\n\r\nOK\r\n"
    );
}

#[test]
fn sgact_read_lists_defined_contexts_and_test_gives_ranges() {
    let mut h = telit();
    h.cmd("AT+CGDCONT=2,\"IP\",\"b\"");
    h.cmd("AT+CGDCONT=3,\"IP\",\"c\"");
    h.cmd("AT#SGACT=2,1");
    assert_eq!(
        h.cmd("AT#SGACT?"),
        "\r\n#SGACT: 1,0\r\n#SGACT: 2,1\r\n#SGACT: 3,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SGACT=?"), "\r\n#SGACT: (0-5),(0,1)\r\n\r\nOK\r\n");
}

#[test]
fn sgact_deactivation_is_ok_and_frees_the_context() {
    let mut h = telit();
    h.cmd("AT#SGACT=1,1");
    assert_eq!(h.cmd("AT#SGACT=1,0"), OK);
    assert_eq!(h.cmd("AT#SGACT?"), "\r\n#SGACT: 1,0\r\n\r\nOK\r\n");
    assert_eq!(h.modem.telit.ip_easy_address(1), None);
    assert_eq!(h.cmd("AT#SGACT=1,0"), OK, "already down: still OK");
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
}

#[test]
fn sgact_without_a_bound_socket_is_error_whatever_cmee_says() {
    let mut h = telit();
    h.cmd("AT+CMEE=2");
    for conn in 1..=3 {
        assert_eq!(h.cmd(&format!("AT#SCFG={conn},3,300,90,600,50")), OK);
    }
    assert_eq!(h.cmd("AT#SGACT=1,1"), ERROR);
    assert_eq!(h.cmd("AT#SGACT=1,0"), ERROR);
}

#[test]
fn sgact_errors_by_cause() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    h.cmd("AT#SGACT=1,1");
    assert_eq!(
        h.cmd("AT#SGACT=1,1"),
        "\r\n+CME ERROR: 553\r\n",
        "already active"
    );
    assert_eq!(
        h.cmd("AT#SGACT=2,1"),
        "\r\n+CME ERROR: 555\r\n",
        "not defined"
    );
    assert_eq!(h.cmd("AT#SGACT=6,1"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT#SGACT=1,2"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(h.cmd("AT#SGACT=1"), "\r\n+CME ERROR: 4\r\n");
    assert_eq!(
        h.cmd("AT#SGACT=0,1"),
        "\r\n+CME ERROR: 4\r\n",
        "no GSM context"
    );
    assert_eq!(h.cmd("AT#SGACT"), "\r\n+CME ERROR: 4\r\n");
    h.cmd("AT+CMEE=2");
    assert_eq!(
        h.cmd("AT#SGACT=1,1"),
        "\r\n+CME ERROR: context already activated\r\n"
    );
}

#[test]
fn sgact_needs_gprs_service() {
    let mut h = telit();
    h.cmd("AT+CMEE=2");
    assert_eq!(h.cmd("AT+CGATT=0"), OK);
    assert_eq!(
        h.cmd("AT#SGACT=1,1"),
        "\r\n+CME ERROR: activation failed\r\n"
    );
    h.apply(network(Service::None));
    h.cmd("AT+CGATT=1");
    assert_eq!(
        h.cmd("AT#SGACT=1,1"),
        "\r\n+CME ERROR: activation failed\r\n"
    );
}

#[test]
fn a_third_active_context_is_refused() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    h.cmd("AT+CGDCONT=2,\"IP\",\"b\"");
    h.cmd("AT+CGDCONT=3,\"IP\",\"c\"");
    assert_eq!(h.cmd("AT#SCFG=6,3,300,90,600,50"), OK);
    h.cmd("AT#SGACT=1,1");
    h.cmd("AT+CGACT=1,2");
    assert_eq!(h.cmd("AT#SGACT=3,1"), "\r\n+CME ERROR: 555\r\n");
    assert_eq!(h.cmd("AT#SGACT=2,0"), OK);
    assert_eq!(h.cmd("AT#SGACT=3,1"), "\r\n#SGACT: 10.64.0.4\r\n\r\nOK\r\n");
}

#[test]
fn sgact_user_and_password_are_accepted_and_the_password_never_explained() {
    let mut h = telit();
    let (out, events) = h.cmd_explained("AT#SGACT=1,1,\"user\",\"s3cr3t\"");
    assert_eq!(out, "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert!(
        events.iter().any(|e| e.contains("password set")),
        "{events:?}"
    );
    assert!(events.iter().all(|e| !e.contains("s3cr3t")), "{events:?}");
    let (out, events) = h.cmd_explained("AT#SGACT=1,1,\"user\",\"s3cr3t\"");
    assert_eq!(out, ERROR);
    assert!(events.iter().all(|e| !e.contains("s3cr3t")), "{events:?}");
    assert!(
        events.iter().any(|e| e.contains("<password>")),
        "{events:?}"
    );
}

// ----- network loss and #SGACTCFG -----

#[test]
fn network_loss_takes_every_context_down() {
    let mut h = telit();
    h.cmd("AT+CGDCONT=2,\"IP\",\"b\"");
    h.cmd("AT#SGACT=1,1");
    h.cmd("AT+CGACT=1,2");
    assert_eq!(h.apply(network(Service::None)), b"");
    assert_eq!(
        h.cmd("AT#SGACT?"),
        "\r\n#SGACT: 1,0\r\n#SGACT: 2,0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.apply(network(Service::Home)),
        b"",
        "no auto-activation configured"
    );
    assert_eq!(
        h.cmd("AT#SGACT?"),
        "\r\n#SGACT: 1,0\r\n#SGACT: 2,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn sgactcfg_test_read_and_set() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#SGACTCFG=?"),
        "\r\n#SGACTCFG: (1-5),(0-15),(180-3600),(0,1)\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SGACTCFG?"),
        "\r\n#SGACTCFG: 1,0,180,0\r\n#SGACTCFG: 2,0,180,0\r\n#SGACTCFG: 3,0,180,0\r\n\
         #SGACTCFG: 4,0,180,0\r\n#SGACTCFG: 5,0,180,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SGACTCFG=1,1"), OK);
    assert_eq!(h.cmd("AT#SGACTCFG=3,15,3600,1"), OK);
    assert_eq!(h.cmd("AT#SGACTCFG=3,2"), OK, "delay and urcmode kept");
    assert_eq!(
        h.cmd("AT#SGACTCFG?"),
        "\r\n#SGACTCFG: 1,1,180,0\r\n#SGACTCFG: 2,0,180,0\r\n#SGACTCFG: 3,2,3600,1\r\n\
         #SGACTCFG: 4,0,180,0\r\n#SGACTCFG: 5,0,180,0\r\n\r\nOK\r\n"
    );
    let saved = h.saved_nvm().telit_ip.expect("IP Easy NVM");
    assert_eq!(saved.auto_activation[2].retry, 2);
    assert_eq!(saved.auto_activation[2].delay_s, 3600);
    for line in [
        "AT#SGACTCFG=0,1",
        "AT#SGACTCFG=6,1",
        "AT#SGACTCFG=1,16",
        "AT#SGACTCFG=1,1,179",
        "AT#SGACTCFG=1,1,3601",
        "AT#SGACTCFG=1,1,180,2",
        "AT#SGACTCFG=1",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
}

#[test]
fn sgactcfg_activates_after_the_network_returns_with_the_urc() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SGACTCFG=1,3,180,1"), OK);
    assert_eq!(
        h.cmd("AT#SGACT?"),
        "\r\n#SGACT: 1,0\r\n\r\nOK\r\n",
        "not at once"
    );
    h.apply(network(Service::None));
    assert_eq!(
        h.apply(network(Service::Home)),
        b"\r\n#SGACT: 10.64.0.2\r\n"
    );
    assert_eq!(
        h.modem.telit.ip_easy_address(1),
        Some(Ipv4Addr::new(10, 64, 0, 2))
    );
}

#[test]
fn sgactcfg_without_urcmode_activates_silently() {
    let mut h = telit();
    h.cmd("AT#SGACTCFG=1,1");
    assert_eq!(h.cmd("AT+CGATT=0"), OK);
    assert_eq!(h.cmd("AT+CGATT=1"), OK, "the attach activates, no URC");
    assert_eq!(h.cmd("AT#SGACT?"), "\r\n#SGACT: 1,1\r\n\r\nOK\r\n");
}

#[test]
fn sgactcfg_needs_a_socket_bound_to_the_context() {
    let mut h = telit();
    h.cmd("AT+CGDCONT=3,\"IP\",\"c\"");
    h.cmd("AT#SGACTCFG=3,1,180,1");
    h.apply(network(Service::None));
    assert_eq!(h.apply(network(Service::Home)), b"");
    assert_eq!(
        h.cmd("AT#SGACT?"),
        "\r\n#SGACT: 1,0\r\n#SGACT: 3,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn sgactcfg_retries_after_the_delay_then_gives_up() {
    let mut h = telit();
    assert_eq!(h.cmd("AT+CGDCONT=1"), OK, "undefined: activation fails");
    h.cmd("AT#SGACTCFG=1,2,200,1");
    h.apply(network(Service::None));
    assert_eq!(h.apply(network(Service::Home)), b"", "attempt 1 fails");
    assert_eq!(h.advance(199_999), b"");
    assert_eq!(h.advance(1), b"", "attempt 2 fails: the last");
    assert_eq!(h.modem.next_deadline(), None);
    h.cmd("AT+CGDCONT=1,\"IP\",\"apn\"");
    assert_eq!(h.advance(1_000_000), b"");
    h.apply(network(Service::None));
    assert_eq!(
        h.apply(network(Service::Home)),
        b"\r\n#SGACT: 10.64.0.2\r\n",
        "a new attach starts a new series"
    );
}

#[test]
fn sgactcfg_retry_succeeds_once_the_context_can_come_up() {
    let mut h = telit();
    h.cmd("AT+CGDCONT=1");
    h.cmd("AT#SGACTCFG=1,3,180,1");
    h.apply(network(Service::None));
    assert_eq!(h.apply(network(Service::Home)), b"");
    h.cmd("AT+CGDCONT=1,\"IP\",\"apn\"");
    assert_eq!(h.advance(180_000), b"\r\n#SGACT: 10.64.0.2\r\n");
    assert_eq!(h.modem.next_deadline(), None);
}

#[test]
fn sgactcfg_activates_at_power_on_and_urcmode_follows_the_stored_profile() {
    let mut h = telit();
    h.cmd("AT#SGACTCFG=1,1,180,1");
    assert_eq!(h.cmd("AT&W"), OK);
    assert_eq!(h.cmd("AT#REBOOT"), OK);
    assert_eq!(h.advance(2000), b"\r\n#SGACT: 10.64.0.2\r\n");
    assert_eq!(h.cmd("AT#SGACT?"), "\r\n#SGACT: 1,1\r\n\r\nOK\r\n");
}

#[test]
fn scfg_may_not_move_a_socket_off_an_auto_activated_context() {
    let mut h = telit();
    h.cmd("AT+CMEE=2");
    h.cmd("AT#SGACTCFG=1,1");
    assert_eq!(h.cmd("AT#SCFG=1,2,300,90,600,50"), ERROR);
    assert_eq!(
        h.cmd("AT#SCFG=1,1,512,90,600,50"),
        OK,
        "other fields may change"
    );
    assert_eq!(h.cmd("AT#SCFG=4,1,300,90,600,50"), ERROR, "nor onto it");
    h.cmd("AT#SGACTCFG=1,0");
    assert_eq!(h.cmd("AT#SCFG=1,2,300,90,600,50"), OK);
}

// ----- #SGACTAUTH, #USERID, #PASSW, #GPRS -----

#[test]
fn sgactauth_set_read_test() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SGACTAUTH?"), "\r\n#SGACTAUTH: 1\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SGACTAUTH=?"),
        "\r\n#SGACTAUTH: (0-2)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SGACTAUTH=2"), OK);
    assert_eq!(h.cmd("AT#SGACTAUTH?"), "\r\n#SGACTAUTH: 2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SGACTAUTH=3"), ERROR);
    assert_eq!(h.cmd("AT#SGACTAUTH="), ERROR);
}

#[test]
fn userid_set_read_test() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#USERID?"), "\r\n#USERID: \"\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#USERID=\"myName\""), OK);
    assert_eq!(h.cmd("AT#USERID?"), "\r\n#USERID: \"myName\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#USERID=?"), "\r\n#USERID: 50\r\n\r\nOK\r\n");
    assert_eq!(h.cmd(&format!("AT#USERID=\"{}\"", "u".repeat(51))), ERROR);
    assert_eq!(h.cmd("AT#USERID="), OK);
    assert_eq!(h.cmd("AT#USERID?"), "\r\n#USERID: \"\"\r\n\r\nOK\r\n");
}

#[test]
fn passw_has_no_read_form_and_is_never_explained() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#PASSW=?"), "\r\n#PASSW: 50\r\n\r\nOK\r\n");
    let (out, events) = h.cmd_explained("AT#PASSW=\"myPassword\"");
    assert_eq!(out, OK);
    assert_eq!(h.modem.telit.password, "myPassword");
    assert!(
        events.iter().any(|e| e.contains("password set")),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| !e.contains("myPassword")),
        "{events:?}"
    );
    let long = format!("AT#PASSW=\"{}\"", "p".repeat(51));
    let (out, events) = h.cmd_explained(&long);
    assert_eq!(out, ERROR);
    assert!(events.iter().all(|e| !e.contains("ppp")), "{events:?}");
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#PASSW?"), "\r\n+CME ERROR: 4\r\n");
}

#[test]
fn gprs_activates_context_one_with_plus_ip() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#GPRS=?"), "\r\n#GPRS: (0,1)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPRS?"), "\r\n#GPRS: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPRS=1"), "\r\n+IP: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPRS?"), "\r\n#GPRS: 1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SGACT?"), "\r\n#SGACT: 1,1\r\n\r\nOK\r\n");
    h.cmd("AT+CMEE=2");
    assert_eq!(
        h.cmd("AT#GPRS=1"),
        "\r\n+CME ERROR: context already activated\r\n"
    );
    assert_eq!(h.cmd("AT#GPRS=0"), OK);
    assert_eq!(h.cmd("AT#GPRS?"), "\r\n#GPRS: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPRS=1"), "\r\n+IP: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#GPRS="), OK, "empty is 0");
    assert_eq!(h.cmd("AT#GPRS?"), "\r\n#GPRS: 0\r\n\r\nOK\r\n");
}

#[test]
fn gprs_needs_a_socket_on_context_one() {
    let mut h = telit();
    for conn in 1..=3 {
        h.cmd(&format!("AT#SCFG={conn},2,300,90,600,50"));
    }
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#GPRS=1"), ERROR);
    assert_eq!(h.cmd("AT#GPRS=2"), "\r\n+CME ERROR: 4\r\n");
}

// ----- #QDNS -----

#[test]
fn qdns_waits_for_the_answer_and_holds_typed_input() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#QDNS=?"), OK);
    assert_eq!(h.cmd("AT#QDNS=\"www.telit.net\""), "");
    assert_eq!(
        std::mem::take(&mut h.socket_requests),
        vec![Output::Resolve {
            query: 1,
            name: "www.telit.net".into()
        }]
    );
    assert_eq!(h.cmd("AT"), "", "held until the result");
    assert_eq!(
        h.resolve(
            1,
            Ok(vec![
                "::1".parse().expect("ip"),
                "81.201.117.177".parse().expect("ip")
            ])
        ),
        "\r\n#QDNS: \"www.telit.net\",\"81.201.117.177\"\r\n\r\nOK\r\n\r\nOK\r\n"
    );
}

#[test]
fn qdns_failure_is_558_with_the_real_verbose_text() {
    let mut h = telit();
    h.cmd("AT+CMEE=2");
    assert_eq!(h.cmd("AT#QDNS=nowhere.invalid"), "");
    assert_eq!(
        h.resolve(1, Err(SocketFailure::Dns)),
        "\r\n+CME ERROR: can not resolve DN\r\n"
    );
    h.cmd("AT+CMEE=1");
    h.cmd("AT#QDNS=v6only.example");
    assert_eq!(
        h.resolve(2, Ok(vec!["::1".parse().expect("ip")])),
        "\r\n+CME ERROR: 558\r\n"
    );
    assert_eq!(
        h.resolve(2, Err(SocketFailure::Dns)),
        "",
        "answered already"
    );
}

#[test]
fn qdns_gives_up_after_20_s_without_an_answer() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#QDNS=\"slow.example\""), "");
    assert_eq!(h.advance(19_999), b"");
    assert_eq!(h.advance(1), b"\r\n+CME ERROR: 558\r\n");
    assert_eq!(
        h.resolve(1, Ok(vec!["10.0.0.1".parse().expect("ip")])),
        "",
        "too late"
    );
    assert_eq!(h.cmd("AT"), OK);
}

#[test]
fn qdns_of_a_dotted_address_answers_at_once_and_sets_the_sktset_address() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#QDNS=\"10.1.2.3\""),
        "\r\n#QDNS: \"10.1.2.3\",\"10.1.2.3\"\r\n\r\nOK\r\n"
    );
    assert!(h.socket_requests.is_empty());
    assert_eq!(
        h.cmd("AT#SKTSET?"),
        "\r\n#SKTSET: 0,3333,\"10.1.2.3\",0,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn qdns_needs_gprs_service() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    h.cmd("AT+CGATT=0");
    assert_eq!(h.cmd("AT#QDNS=\"example.com\""), "\r\n+CME ERROR: 558\r\n");
    assert_eq!(h.cmd("AT#QDNS="), "\r\n+CME ERROR: 4\r\n");
    assert!(h.socket_requests.is_empty());
}

// ----- #FRWL -----

#[test]
fn frwl_adds_lists_and_removes_rules() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#FRWL=?"), "\r\n#FRWL: (0-2)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#FRWL?"), OK);
    assert_eq!(h.cmd("AT#FRWL=1,\"197.158.1.1\",\"255.255.0.0\""), OK);
    assert_eq!(
        h.cmd("AT#FRWL=1,\"213.115.113.054\",\"255.255.255.000\""),
        OK
    );
    assert_eq!(
        h.cmd("AT#FRWL=1,\"197.158.1.1\",\"255.255.0.0\""),
        OK,
        "no twin"
    );
    assert_eq!(
        h.cmd("AT#FRWL?"),
        "\r\n#FRWL: \"197.158.1.1\",\"255.255.0.0\"\r\n\
         #FRWL: \"213.115.113.54\",\"255.255.255.0\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#FRWL="), h.cmd("AT#FRWL?"));
    assert!(
        h.modem
            .telit
            .firewall_accepts(Ipv4Addr::new(197, 158, 200, 7))
    );
    assert!(
        !h.modem
            .telit
            .firewall_accepts(Ipv4Addr::new(197, 159, 1, 1))
    );
    assert_eq!(h.cmd("AT#FRWL=0,\"197.158.1.1\",\"255.255.0.0\""), OK);
    assert_eq!(h.cmd("AT#FRWL=0,\"1.1.1.1\",\"255.255.0.0\""), OK, "absent");
    assert_eq!(
        h.cmd("AT#FRWL?"),
        "\r\n#FRWL: \"213.115.113.54\",\"255.255.255.0\"\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#FRWL=2"), OK);
    assert_eq!(h.cmd("AT#FRWL?"), OK);
    assert!(
        !h.modem
            .telit
            .firewall_accepts(Ipv4Addr::new(213, 115, 113, 54))
    );
}

#[test]
fn frwl_rejects_bad_rules_and_keeps_at_most_the_profile_count() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    for line in [
        "AT#FRWL=1,\"1.2.3\",\"255.0.0.0\"",
        "AT#FRWL=1,\"1.2.3.4\"",
        "AT#FRWL=3",
        "AT#FRWL=1,\"1.2.3.4\",\"255.0.0.0\",1",
        "AT#FRWL",
    ] {
        assert_eq!(h.cmd(line), "\r\n+CME ERROR: 4\r\n", "{line}");
    }
    for i in 0..10 {
        assert_eq!(
            h.cmd(&format!("AT#FRWL=1,\"10.0.0.{i}\",\"255.255.255.255\"")),
            OK
        );
    }
    assert_eq!(
        h.cmd("AT#FRWL=1,\"10.0.0.99\",\"255.255.255.255\""),
        "\r\n+CME ERROR: 3\r\n"
    );
}

// ----- #SCFG, #SCFGEXT, #SCFGEXT2 -----

#[test]
fn scfg_read_test_and_set() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#SCFG?"),
        "\r\n#SCFG: 1,1,300,90,600,50\r\n#SCFG: 2,1,300,90,600,50\r\n#SCFG: 3,1,300,90,600,50\r\n\
         #SCFG: 4,2,300,90,600,50\r\n#SCFG: 5,2,300,90,600,50\r\n#SCFG: 6,2,300,90,600,50\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SCFG=?"),
        "\r\n#SCFG: (1-6),(0-5),(0-1500),(0-65535),(10-1200),(0-255)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SCFG=3,2,250,0,1200,0"), OK);
    assert_eq!(
        h.cmd("AT#SCFG?"),
        "\r\n#SCFG: 1,1,300,90,600,50\r\n#SCFG: 2,1,300,90,600,50\r\n#SCFG: 3,2,250,0,1200,0\r\n\
         #SCFG: 4,2,300,90,600,50\r\n#SCFG: 5,2,300,90,600,50\r\n#SCFG: 6,2,300,90,600,50\r\n\r\nOK\r\n"
    );
    let saved = h.saved_nvm().telit_ip.expect("IP Easy NVM");
    assert_eq!(saved.sockets[2].pkt_sz, 250);
    assert_eq!(saved.sockets[2].cid, 2);
}

#[test]
fn scfg_needs_six_values_in_range() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    for line in [
        "AT#SCFG=1,1,300,90,600",
        "AT#SCFG=0,1,300,90,600,50",
        "AT#SCFG=7,1,300,90,600,50",
        "AT#SCFG=1,6,300,90,600,50",
        "AT#SCFG=1,1,1501,90,600,50",
        "AT#SCFG=1,1,300,65536,600,50",
        "AT#SCFG=1,1,300,90,9,50",
        "AT#SCFG=1,1,300,90,1201,50",
        "AT#SCFG=1,1,300,90,600,256",
        "AT#SCFG=1,1,300,90,600,50,1",
        "AT#SCFG=1,,300,90,600,50",
    ] {
        assert_eq!(h.cmd(line), "\r\n+CME ERROR: 4\r\n", "{line}");
    }
}

#[test]
fn scfg_is_error_while_the_socket_is_not_closed() {
    let mut h = telit();
    h.cmd("AT+CMEE=2");
    h.modem.telit.sockets[1].state = SocketState::Suspended;
    assert_eq!(h.cmd("AT#SCFG=2,1,300,90,600,30"), ERROR);
    assert_eq!(h.cmd("AT#SCFG=1,1,300,90,600,30"), OK);
}

#[test]
fn scfgext_read_test_and_set() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#SCFGEXT=?"),
        "\r\n#SCFGEXT: (1-6),(0-2),(0,1),(0-240),(0,1),(0,1)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SCFGEXT=1,2,0,30,1"), OK);
    assert_eq!(h.cmd("AT#SCFGEXT=3,1,1,0"), OK);
    assert_eq!(h.cmd("AT#SCFGEXT=4,0,1,0,0,1"), OK);
    assert_eq!(
        h.cmd("AT#SCFGEXT?"),
        "\r\n#SCFGEXT: 1,2,0,30,1,0\r\n#SCFGEXT: 2,0,0,0,0,0\r\n#SCFGEXT: 3,1,1,0,0,0\r\n\
         #SCFGEXT: 4,0,1,0,0,1\r\n#SCFGEXT: 5,0,0,0,0,0\r\n#SCFGEXT: 6,0,0,0,0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SCFGEXT=1,2,0,30"), OK, "optional values kept");
    assert!(h.modem.telit.config(1).listen_auto_rsp);
    for line in [
        "AT#SCFGEXT=1,3,0,0",
        "AT#SCFGEXT=1,0,2,0",
        "AT#SCFGEXT=1,0,0,241",
        "AT#SCFGEXT=1,0,0,0,2",
        "AT#SCFGEXT=1,0,0",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    let saved = h.saved_nvm().telit_ip.expect("IP Easy NVM");
    assert_eq!(saved.sockets[0].keepalive, 30);
    assert!(saved.sockets[3].send_hex);
}

#[test]
fn scfgext2_read_test_and_set() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#SCFGEXT2=?"),
        "\r\n#SCFGEXT2: (1-6),(0,1),(0,1),(0),(0),(0)\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SCFGEXT2=1,1"), OK);
    assert_eq!(h.cmd("AT#SCFGEXT2=2,1,1"), OK);
    assert_eq!(
        h.cmd("AT#SCFGEXT2?"),
        "\r\n#SCFGEXT2: 1,1,0,0,0,0\r\n#SCFGEXT2: 2,1,0,0,0,0\r\n#SCFGEXT2: 3,0,0,0,0,0\r\n\
         #SCFGEXT2: 4,0,0,0,0,0\r\n#SCFGEXT2: 5,0,0,0,0,0\r\n#SCFGEXT2: 6,0,0,0,0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.modem.telit.config(2).abort_conn_attempt, 1);
    for line in [
        "AT#SCFGEXT2=1,2",
        "AT#SCFGEXT2=1,0,2",
        "AT#SCFGEXT2=1,0,0,1",
        "AT#SCFGEXT2=1",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    assert_eq!(
        h.saved_nvm().telit_ip.expect("NVM").sockets[1].buffer_start,
        1
    );
}

// ----- legacy single-socket commands -----

#[test]
fn legacy_parameters_are_the_instance_sockets_scfg_fields() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#PKTSZ?"), "\r\n#PKTSZ: 300\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#PKTSZ=100"), OK);
    assert_eq!(h.cmd("AT#PKTSZ?"), "\r\n#PKTSZ: 100\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#PKTSZ=0"), OK);
    assert_eq!(
        h.cmd("AT#PKTSZ?"),
        "\r\n#PKTSZ: 300\r\n\r\nOK\r\n",
        "automatic"
    );
    assert_eq!(h.cmd("AT#DSTO=10"), OK);
    assert_eq!(h.cmd("AT#DSTO?"), "\r\n#DSTO: 10\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKTTO=30"), OK);
    assert_eq!(h.cmd("AT#SKTTO?"), "\r\n#SKTTO: 30\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKTCT=100"), OK);
    assert_eq!(h.cmd("AT#SKTCT?"), "\r\n#SKTCT: 100\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT#SCFG?"),
        "\r\n#SCFG: 1,1,0,30,100,10\r\n#SCFG: 2,1,300,90,600,50\r\n#SCFG: 3,1,300,90,600,50\r\n\
         #SCFG: 4,2,300,90,600,50\r\n#SCFG: 5,2,300,90,600,50\r\n#SCFG: 6,2,300,90,600,50\r\n\r\nOK\r\n"
    );
    assert!(h.nvm_saves.is_empty(), "#SKTSAV stores them");
}

#[test]
fn legacy_parameters_last_past_a_reboot_only_with_sktsav() {
    let mut h = telit();
    h.cmd("AT#PKTSZ=100");
    h.cmd("AT#REBOOT");
    h.advance(2000);
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT#PKTSZ?"), "\r\n#PKTSZ: 300\r\n\r\nOK\r\n");
    h.cmd("AT#PKTSZ=100");
    h.cmd("AT#SKTTO=30");
    assert_eq!(h.cmd("AT#SKTSAV"), OK);
    h.cmd("AT#REBOOT");
    h.advance(2000);
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT#PKTSZ?"), "\r\n#PKTSZ: 100\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKTTO?"), "\r\n#SKTTO: 30\r\n\r\nOK\r\n");
}

#[test]
fn legacy_parameter_tests_ranges_and_omitted_values() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#PKTSZ=?"), "\r\n#PKTSZ: (0-1500)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#DSTO=?"), "\r\n#DSTO: (0-255)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKTTO=?"), "\r\n#SKTTO: (0-65535)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKTCT=?"), "\r\n#SKTCT: (10-1200)\r\n\r\nOK\r\n");
    for line in [
        "AT#PKTSZ=1501",
        "AT#DSTO=256",
        "AT#SKTTO=65536",
        "AT#SKTCT=9",
        "AT#SKTCT=1201",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
    h.cmd("AT#DSTO=");
    assert_eq!(h.cmd("AT#DSTO?"), "\r\n#DSTO: 0\r\n\r\nOK\r\n");
    h.cmd("AT#SKTCT=");
    assert_eq!(h.cmd("AT#SKTCT?"), "\r\n#SKTCT: 600\r\n\r\nOK\r\n");
}

#[test]
fn legacy_commands_refuse_a_socket_on_the_gsm_context() {
    let mut h = telit();
    h.cmd("AT+CMEE=1");
    assert_eq!(h.cmd("AT#SCFG=1,0,300,90,600,50"), OK);
    for line in [
        "AT#PKTSZ=100",
        "AT#PKTSZ?",
        "AT#SKTSET=0,1024,\"1.2.3.4\"",
        "AT#SKTSAV",
        "AT#SKTRST",
        "AT#USERID=\"a\"",
        "AT#PASSW=\"b\"",
    ] {
        assert_eq!(h.cmd(line), "\r\n+CME ERROR: 3\r\n", "{line}");
    }
}

#[test]
fn sktset_set_read_and_test() {
    let mut h = telit();
    assert_eq!(
        h.cmd("AT#SKTSET?"),
        "\r\n#SKTSET: 0,3333,\"\",0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SKTSET=0,1024,\"123.255.020.001\",255"), OK);
    assert_eq!(
        h.cmd("AT#SKTSET?"),
        "\r\n#SKTSET: 0,1024,\"123.255.020.001\",255,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#SKTSET=1,1024,\"www.telit.net\",,1025"), OK);
    assert_eq!(
        h.cmd("AT#SKTSET="),
        "\r\n#SKTSET: 1,1024,\"www.telit.net\",0,1025\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SKTSET=?"),
        "\r\n#SKTSET: (0,1),(0-65535),,(0,255),(0-65535)\r\n\r\nOK\r\n"
    );
    for line in [
        "AT#SKTSET=2,1,\"a\"",
        "AT#SKTSET=0,65536,\"a\"",
        "AT#SKTSET=0,1",
        "AT#SKTSET=0,1,\"a\",1",
    ] {
        assert_eq!(h.cmd(line), ERROR, "{line}");
    }
}

#[test]
fn sktsav_keeps_target_user_and_password_across_a_reboot_and_sktrst_forgets_them() {
    let mut h = telit();
    h.cmd("AT#SKTSET=0,1024,\"host.example\"");
    h.cmd("AT#USERID=\"me\"");
    h.cmd("AT#PASSW=\"pw\"");
    assert_eq!(h.cmd("AT#SKTSAV=?"), OK);
    let (out, events) = h.cmd_explained("AT#SKTSAV");
    assert_eq!(out, OK);
    assert!(
        events
            .iter()
            .all(|e| !e.contains("pw\"") && !e.contains(" pw"))
    );
    let saved = h.saved_nvm().telit_ip.expect("NVM");
    assert_eq!(saved.legacy_user, "me");
    assert_eq!(saved.legacy_password, "pw");
    h.cmd("AT#SKTSET=1,1,\"changed\"");
    h.cmd("AT#USERID=\"other\"");
    assert_eq!(h.cmd("AT#REBOOT"), OK);
    h.advance(2000);
    assert_eq!(
        h.cmd("AT#SKTSET?"),
        "AT#SKTSET?\r\r\n#SKTSET: 0,1024,\"host.example\",0,0\r\n\r\nOK\r\n"
    );
    h.cmd("ATE0");
    assert_eq!(h.cmd("AT#USERID?"), "\r\n#USERID: \"me\"\r\n\r\nOK\r\n");
    assert_eq!(h.modem.telit.password, "pw");
    h.cmd("AT#PKTSZ=100");
    assert_eq!(h.cmd("AT#SKTRST=?"), OK);
    assert_eq!(h.cmd("AT#SKTRST"), OK);
    assert_eq!(
        h.cmd("AT#SKTSET?"),
        "\r\n#SKTSET: 0,3333,\"\",0,0\r\n\r\nOK\r\n"
    );
    assert_eq!(h.cmd("AT#USERID?"), "\r\n#USERID: \"\"\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#PKTSZ?"), "\r\n#PKTSZ: 300\r\n\r\nOK\r\n");
    let saved = h.saved_nvm().telit_ip.expect("NVM");
    assert_eq!(saved.legacy_user, "");
    assert_eq!(saved.legacy_password, "");
    assert_eq!(saved.legacy_target.address, "");
}

#[test]
fn skipesc_and_e2esc_set_read_test() {
    let mut h = telit();
    assert_eq!(h.cmd("AT#SKIPESC?"), "\r\n#SKIPESC: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKIPESC=?"), "\r\n#SKIPESC: (0,1)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKIPESC=1"), OK);
    assert_eq!(h.cmd("AT#SKIPESC?"), "\r\n#SKIPESC: 1\r\n\r\nOK\r\n");
    assert_eq!(h.modem.telit.skip_esc, 1);
    assert_eq!(h.cmd("AT#SKIPESC=2"), ERROR);
    assert_eq!(h.cmd("AT#E2ESC?"), "\r\n#E2ESC: 0\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#E2ESC=?"), "\r\n#E2ESC: (0-10)\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#E2ESC=10"), OK);
    assert_eq!(h.cmd("AT#E2ESC?"), "\r\n#E2ESC: 10\r\n\r\nOK\r\n");
    assert_eq!(h.modem.telit.e2esc_s, 10);
    assert_eq!(h.cmd("AT#E2ESC=11"), ERROR);
}

// ----- NVM and volatile state across power cycles -----

/// Configures everything that lives in NVM and some volatile state.
fn configure_all(h: &mut Harness) {
    for line in [
        "AT#SCFG=2,3,512,120,300,20",
        "AT#SCFGEXT=2,1,1,10,1,1",
        "AT#SCFGEXT2=2,1",
        "AT#SGACTCFG=4,5,600",
        "AT+CGDCONT=1,\"IP\",\"internet\"",
        "AT+CGDCONT=2,\"IP\",\"m2m\",\"10.1.1.1\",1,1",
        "AT#FRWL=1,\"10.0.0.0\",\"255.0.0.0\"",
        "AT#SGACTAUTH=2",
        "AT#SKIPESC=1",
        "AT#SGACT=1,1",
    ] {
        assert!(h.cmd(line).ends_with(OK), "{line}");
    }
}

fn assert_nvm_kept_and_volatile_reset(h: &mut Harness) {
    assert_eq!(
        h.cmd("AT#SCFG?"),
        "\r\n#SCFG: 1,1,300,90,600,50\r\n#SCFG: 2,3,512,120,300,20\r\n#SCFG: 3,1,300,90,600,50\r\n\
         #SCFG: 4,2,300,90,600,50\r\n#SCFG: 5,2,300,90,600,50\r\n#SCFG: 6,2,300,90,600,50\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.cmd("AT#SCFGEXT?"),
        "\r\n#SCFGEXT: 1,0,0,0,0,0\r\n#SCFGEXT: 2,1,1,10,1,1\r\n#SCFGEXT: 3,0,0,0,0,0\r\n\
         #SCFGEXT: 4,0,0,0,0,0\r\n#SCFGEXT: 5,0,0,0,0,0\r\n#SCFGEXT: 6,0,0,0,0,0\r\n\r\nOK\r\n"
    );
    assert!(h.cmd("AT#SCFGEXT2?").contains("#SCFGEXT2: 2,1,0,0,0,0\r\n"));
    assert!(h.cmd("AT#SGACTCFG?").contains("#SGACTCFG: 4,5,600,0\r\n"));
    assert_eq!(h.cmd("AT#FRWL?"), OK, "firewall rules are volatile");
    assert_eq!(h.cmd("AT#SGACTAUTH?"), "\r\n#SGACTAUTH: 1\r\n\r\nOK\r\n");
    assert_eq!(h.cmd("AT#SKIPESC?"), "\r\n#SKIPESC: 0\r\n\r\nOK\r\n");
    assert_eq!(
        h.cmd("AT+CGDCONT?"),
        "\r\n+CGDCONT: 1,\"IP\",\"internet\",\"\",0,0\r\n\
         +CGDCONT: 2,\"IP\",\"m2m\",\"10.1.1.1\",1,1\r\n\r\nOK\r\n",
        "+CGDCONT is in NVM"
    );
    assert_eq!(
        h.cmd("AT#SGACT?"),
        "\r\n#SGACT: 1,0\r\n#SGACT: 2,0\r\n\r\nOK\r\n"
    );
}

#[test]
fn nvm_survives_reboot_and_volatile_state_resets() {
    let mut h = telit();
    configure_all(&mut h);
    assert_eq!(h.cmd("AT#REBOOT"), OK);
    h.advance(2000);
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    assert_nvm_kept_and_volatile_reset(&mut h);
}

#[test]
fn nvm_survives_a_restart_from_the_saved_state() {
    let mut h = telit();
    configure_all(&mut h);
    let mut config = ModemConfig::new(&crate::modem::profile::TELIT);
    config.nvm = h.saved_nvm();
    let mut h = Harness::booted(config);
    h.cmd("ATE0");
    assert_nvm_kept_and_volatile_reset(&mut h);
}
