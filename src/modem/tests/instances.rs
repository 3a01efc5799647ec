//! The Telit's three AT instances: each its own parser, settings and port, sharing the radio,
//! SMS storage and (with the IP Easy commands) contexts and sockets.

use super::*;

fn telit_with_instances() -> Harness {
    let mut h = Harness::telit();
    h.open_instance(2);
    h.open_instance(3);
    h
}

#[test]
fn each_instance_answers_on_its_own_port() {
    let mut h = telit_with_instances();
    assert_eq!(h.send_on(2, b"AT\r"), b"AT\r\r\nOK\r\n");
    assert_eq!(
        h.send_on(3, b"AT#SELINT?\r"),
        b"AT#SELINT?\r\r\n#SELINT: 2\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.send(b"AT\r"),
        b"AT\r\r\nOK\r\n",
        "instance 1 is untouched"
    );
    assert!(h.instance_out.is_empty(), "nothing leaked to other ports");
}

#[test]
fn settings_are_per_instance() {
    let mut h = telit_with_instances();
    assert_eq!(h.send_on(2, b"ATE0V0\r"), b"ATE0V0\r0\r");
    assert_eq!(h.send_on(2, b"AT\r"), b"0\r");
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n", "instance 1 keeps E1 V1");
    assert_eq!(
        h.send_on(3, b"AT+CMEE=2;+CMEE?\r"),
        b"AT+CMEE=2;+CMEE?\r\r\n+CMEE: 2\r\n\r\nOK\r\n"
    );
    assert_eq!(
        h.send(b"AT+CMEE?\r"),
        b"AT+CMEE?\r\r\n+CMEE: 0\r\n\r\nOK\r\n"
    );
}

#[test]
fn a_half_typed_line_on_one_instance_does_not_mix_with_another() {
    let mut h = telit_with_instances();
    assert_eq!(h.send_on(2, b"AT+CG"), b"AT+CG");
    assert_eq!(h.send(b"AT+CGMI\r"), b"AT+CGMI\r\r\nTelit\r\n\r\nOK\r\n");
    assert_eq!(h.send_on(2, b"MM\r"), b"MM\r\r\nGE865\r\n\r\nOK\r\n");
}

#[test]
fn registration_urcs_reach_every_instance_that_asked_for_them() {
    let mut h = telit_with_instances();
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT+CREG=1"), "\r\nOK\r\n");
    assert_eq!(h.send_on(3, b"AT+CREG=2\r"), b"AT+CREG=2\r\r\nOK\r\n");
    let out = h.apply(Input::Network(NetworkChange {
        service: Some(Service::None),
        ..Default::default()
    }));
    assert_eq!(out, b"\r\n+CREG: 0\r\n");
    assert_eq!(h.take_instance(3), b"\r\n+CREG: 0\r\n");
    assert_eq!(h.take_instance(2), b"", "instance 2 kept +CREG=0");
}

#[test]
fn an_instance_whose_port_is_closed_loses_its_urcs() {
    let mut h = Harness::telit();
    assert_eq!(
        h.send_on(2, b"AT+CREG=1\r"),
        b"AT+CREG=1\r\r\nOK\r\n",
        "bytes imply an open port"
    );
    h.apply(Input::Instance(2, PortEvent::Closed));
    h.apply(Input::Network(NetworkChange {
        service: Some(Service::None),
        ..Default::default()
    }));
    h.apply(Input::Instance(2, PortEvent::Opened));
    assert_eq!(h.take_instance(2), b"", "+CREG: 0 had nobody to go to");
    assert_eq!(h.send_on(2, b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn a_model_with_one_instance_ignores_other_ports() {
    let mut h = Harness::sim900();
    assert_eq!(h.send_on(2, b"AT\r"), b"");
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn reboot_from_instance_two_resets_every_instance_and_keeps_clients() {
    let mut h = telit_with_instances();
    h.send_on(3, b"ATE0\r");
    assert_eq!(h.send_on(2, b"AT#REBOOT\r"), b"AT#REBOOT\r\r\nOK\r\n");
    h.advance(2000);
    assert_eq!(
        h.send_on(3, b"AT\r"),
        b"AT\r\r\nOK\r\n",
        "E1 again after reboot"
    );
    assert_eq!(h.send_on(2, b"AT\r"), b"AT\r\r\nOK\r\n");
    assert_eq!(h.send(b"AT\r"), b"AT\r\r\nOK\r\n");
}

#[test]
fn other_instances_start_from_the_stored_profile_not_from_instance_one() {
    let mut h = Harness::telit();
    assert_eq!(h.send(b"ATE0\r"), b"ATE0\r\r\nOK\r\n");
    h.open_instance(2);
    assert_eq!(
        h.send_on(2, b"AT\r"),
        b"AT\r\r\nOK\r\n",
        "instance 2 echoes (E1)"
    );
}

#[test]
fn state_shows_instance_one_at_the_top_and_every_instance_in_the_list() {
    let mut h = Harness::telit();
    h.open_instance(2);
    h.send_on(2, b"ATE0\r");
    let state = h.modem.state();
    assert!(
        state.settings.echo,
        "the top-level settings are instance 1's"
    );
    let summary: Vec<(u8, &str, bool)> = state
        .instances
        .iter()
        .map(|i| (i.instance, i.mode, i.client_attached))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "command", true),
            (2, "command", true),
            (3, "command", false)
        ]
    );
    assert!(!state.cmux);
    assert!(Harness::sim900().modem.state().instances.is_empty());
}

#[test]
fn a_socket_rings_only_on_the_instance_that_opened_it() {
    let mut h = telit_with_instances();
    h.send(b"ATE0\r");
    assert_eq!(h.cmd("AT#SGACT=1,1"), "\r\n#SGACT: 10.64.0.2\r\n\r\nOK\r\n");
    assert_eq!(
        h.send_on(2, b"AT#SD=2,0,5000,\"127.0.0.1\",0,0,1\r"),
        b"AT#SD=2,0,5000,\"127.0.0.1\",0,0,1\r"
    );
    let (socket, connected) = h.connect_last();
    assert_eq!(connected, b"");
    assert_eq!(
        h.take_instance(2),
        b"\r\nOK\r\n",
        "the #SD result on instance 2"
    );
    assert_eq!(
        h.apply(Input::Socket(socket, SocketEvent::Data(b"hello".to_vec()))),
        b"",
        "instance 1 hears nothing"
    );
    assert_eq!(h.take_instance(2), b"\r\nSRING: 2\r\n");
    assert_eq!(h.take_instance(3), b"");
    assert_eq!(
        h.cmd("AT#SH=2"),
        "\r\nERROR\r\n",
        "only the owner may close it (551 under +CMEE=1)"
    );
}

#[test]
fn state_shows_the_ip_easy_contexts_and_sockets() {
    let mut h = Harness::telit();
    h.send(b"ATE0\r");
    h.cmd("AT#SGACT=1,1");
    h.cmd("AT#SD=1,0,5000,\"127.0.0.1\",0,0,1");
    let (socket, _) = h.connect_last();
    h.apply(Input::Socket(socket, SocketEvent::Data(b"abc".to_vec())));
    let state = serde_json::to_value(h.modem.state()).expect("JSON");
    assert_eq!(
        state["ip_easy"],
        serde_json::json!({
            "contexts": [{"cid": 1, "address": "10.64.0.2", "ip_easy": true}],
            "sockets": [{"conn_id": 1, "state": 3, "owner": 1, "protocol": "TCP",
                         "peer": "127.0.0.1:5000", "bytes_sent": 0, "bytes_received": 3,
                         "bytes_unread": 3}],
            "firewall_rules": 0
        })
    );
    let sim900 = serde_json::to_value(Harness::sim900().modem.state()).expect("JSON");
    assert!(sim900.get("ip_easy").is_none());
}

#[test]
fn state_shows_each_model_only_its_own_ip_stack() {
    let telit = serde_json::to_value(Harness::telit().modem.state()).expect("JSON");
    for field in ["pdp_contexts", "ip", "sockets"] {
        assert!(telit.get(field).is_none(), "{field} is the SIMCom stack's");
    }
    let sim900 = serde_json::to_value(Harness::sim900().modem.state()).expect("JSON");
    assert_eq!(sim900["ip"]["state"], "IP INITIAL");
    assert_eq!(sim900["sockets"], serde_json::json!([]));
}
