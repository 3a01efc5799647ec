//! Descriptor accounting for the TCP/IP stack, alone in its own test binary so that no other
//! test opens or closes descriptors in this process while it counts them.

mod support;

use std::thread;
use std::time::{Duration, Instant};

use support::{ClosingServer, Port, TIMEOUT, World, scratch};

fn ready() -> (World, Port) {
    let world = World::one(&scratch("tcpip-fds", "fds"));
    let mut port = world.port(0);
    world.ctl().wait_registered(0);
    port.exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    port.exchange(b"AT+CSTT=\"internet\",\"\",\"\"\r", b"\r\nOK\r\n");
    port.exchange(b"AT+CIICR\r", b"\r\nOK\r\n");
    port.exchange(b"AT+CIFSR\r", b"\r\n10.64.0.2\r\n");
    (world, port)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// 1,000 connections opened and closed through AT commands leave no socket or task behind.
#[test]
fn a_thousand_connections_leave_no_descriptor_behind() {
    let (world, mut port) = ready();
    let server = ClosingServer::start();
    let server_port = server.port;
    let open = format!("AT+CIPSTART=\"TCP\",\"127.0.0.1\",{server_port}\r");
    port.exchange(open.as_bytes(), b"\r\nOK\r\n\r\nCONNECT OK\r\n");
    port.exchange(b"AT+CIPCLOSE=1\r", b"\r\nCLOSE OK\r\n");
    server.settled(1);
    let before = open_fds();
    for _ in 0..1000 {
        port.send(open.as_bytes());
        port.expect(b"\r\nOK\r\n\r\nCONNECT OK\r\n");
        port.exchange(b"AT+CIPCLOSE=1\r", b"\r\nCLOSE OK\r\n");
    }
    port.exchange(b"AT\r", b"\r\nOK\r\n");
    server.settled(1001);
    let deadline = Instant::now() + TIMEOUT;
    while open_fds() > before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(open_fds(), before, "descriptors after 1,000 connections");
    drop(server);
    world.stop();
}
