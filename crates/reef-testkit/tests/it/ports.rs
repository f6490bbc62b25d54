//! Free ports and waiting for a listener.

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

#[test]
fn free_port_can_be_bound_on_loopback() {
    let port = reef_testkit::free_port();
    assert_ne!(port, 0);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind the free port");
    assert_eq!(listener.local_addr().expect("address").port(), port);
}

#[test]
fn free_port_skips_ports_in_use() {
    let held: Vec<TcpListener> = (0..20)
        .map(|_| {
            let port = reef_testkit::free_port();
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind the free port")
        })
        .collect();
    let ports: std::collections::BTreeSet<u16> = held.iter().map(|l| l.local_addr().expect("address").port()).collect();
    assert_eq!(ports.len(), held.len(), "a port in use was handed out again");
}

#[tokio::test]
async fn wait_for_port_returns_once_a_listener_appears() {
    let port = reef_testkit::free_port();
    let err = reef_testkit::wait_for_port(port, Duration::from_millis(100)).await.expect_err("nothing listens yet");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);

    let listener = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.expect("bind")
    });
    reef_testkit::wait_for_port(port, Duration::from_secs(10)).await.expect("the listener is found");
    drop(listener.await.expect("listener task"));
}
