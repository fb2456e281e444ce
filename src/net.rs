//! Loopback ports for the servers a controller starts (Redis, njord-sim, metrics endpoints).

use std::net::TcpListener;

/// A loopback port nobody listens on now, picked below the kernel's ephemeral range. Outgoing
/// connections take their local ports from that range, so a port picked there (the kernel's
/// own pick for port 0) can be taken by any client between the pick and the server's bind:
/// "Address already in use" under load. Random in the 12,768 ports below the range, checked
/// by a bind; the kernel's pick only when none of 64 tries is free.
pub fn free_port() -> std::io::Result<u16> {
    let low = ephemeral_low().unwrap_or(32_768);
    let from = low.saturating_sub(12_768).max(1_024);
    if from < low {
        for _ in 0..64 {
            let port = rand::random_range(from..low);
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                return l.local_addr().map(|a| a.port());
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")?
        .local_addr()
        .map(|a| a.port())
}

/// The first port of Linux's ephemeral range, when it can be read.
fn ephemeral_low() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_free_and_below_the_ephemeral_range() {
        let low = ephemeral_low().unwrap_or(32_768);
        for _ in 0..20 {
            let p = free_port().unwrap();
            assert!(p < low, "{p} is in the ephemeral range from {low}");
            TcpListener::bind(("127.0.0.1", p)).unwrap();
        }
    }
}
