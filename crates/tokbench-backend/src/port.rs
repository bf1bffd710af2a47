//! Free-port picking, busy-port detection and the URL to reach a server.
//!
//! A port picked here is free when checked; another process could take it
//! before the server binds it. That race is accepted: the server then
//! exits early with "address already in use" in its log, which
//! [`crate::BackendError::ExitedEarly`] shows.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, ToSocketAddrs};

use crate::BackendError;

/// `host` without surrounding blanks or IPv6 brackets (`[::1]` → `::1`).
fn bare_host(host: &str) -> &str {
    host.trim().trim_start_matches('[').trim_end_matches(']')
}

/// Resolves `host` to the address a listener would bind (`localhost` and
/// names go through the resolver; the first address wins).
///
/// # Errors
/// [`BackendError::Bind`] when the name does not resolve.
pub fn bind_addr(host: &str, port: u16) -> Result<SocketAddr, BackendError> {
    let host = bare_host(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let resolved = (host, port)
        .to_socket_addrs()
        .map_err(|source| BackendError::Bind {
            addr: format!("{host}:{port}"),
            source,
        })?;
    let mut addrs: Vec<SocketAddr> = resolved.collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs.into_iter().next().ok_or_else(|| BackendError::Bind {
        addr: format!("{host}:{port}"),
        source: std::io::Error::new(ErrorKind::NotFound, "the host name has no addresses"),
    })
}

/// Picks a port that is free on `host` by binding port 0 and releasing it.
///
/// # Errors
/// [`BackendError::Bind`] when `host` cannot be bound at all.
pub fn pick_free_port(host: &str) -> Result<u16, BackendError> {
    let addr = bind_addr(host, 0)?;
    let listener = TcpListener::bind(addr).map_err(|source| BackendError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let port = listener.local_addr().map_err(|source| BackendError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    Ok(port.port())
}

/// Checks that `port` can be bound on `host`.
///
/// # Errors
/// [`BackendError::PortInUse`] when something already listens there (on
/// that address or on the wildcard address), [`BackendError::Bind`] for
/// other failures (e.g. a privileged port, an address not on this host).
pub fn check_port_free(host: &str, port: u16) -> Result<(), BackendError> {
    let addr = bind_addr(host, port)?;
    match TcpListener::bind(addr) {
        Ok(_listener) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AddrInUse => Err(BackendError::PortInUse {
            host: host.to_owned(),
            port,
        }),
        Err(source) => Err(BackendError::Bind {
            addr: addr.to_string(),
            source,
        }),
    }
}

/// `http://HOST:PORT` for reaching a server that listens on `host`: a
/// wildcard listen address becomes loopback, IPv6 gets brackets.
pub fn base_url(host: &str, port: u16) -> String {
    let host = bare_host(host);
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => {
            format!("http://{}:{port}", Ipv4Addr::LOCALHOST)
        }
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => {
            format!("http://[{}]:{port}", Ipv6Addr::LOCALHOST)
        }
        Ok(IpAddr::V6(ip)) => format!("http://[{ip}]:{port}"),
        _ => format!("http://{host}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_port_is_bindable_and_nonzero() {
        let port = pick_free_port("127.0.0.1").unwrap();
        assert_ne!(port, 0);
        assert!(check_port_free("127.0.0.1", port).is_ok());
    }

    #[test]
    fn a_listening_port_is_in_use() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let err = check_port_free("127.0.0.1", port).unwrap_err();
        assert!(
            matches!(err, BackendError::PortInUse { port: p, .. } if p == port),
            "{err}"
        );
        assert!(err.to_string().contains(&format!("port {port}")), "{err}");
        // (Not re-checked after `drop(l)`: a parallel test binding port 0
        // may take the freed port in between; the free case is covered by
        // `picked_port_is_bindable_and_nonzero`.)
        drop(l);
    }

    #[test]
    fn a_wildcard_listener_makes_loopback_busy() {
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(matches!(
            check_port_free("localhost", port),
            Err(BackendError::PortInUse { .. })
        ));
    }

    #[test]
    fn base_urls_are_reachable_forms() {
        assert_eq!(base_url("127.0.0.1", 8080), "http://127.0.0.1:8080");
        assert_eq!(base_url("0.0.0.0", 80), "http://127.0.0.1:80");
        assert_eq!(base_url("::", 80), "http://[::1]:80");
        assert_eq!(base_url("[::1]", 80), "http://[::1]:80");
        assert_eq!(base_url("localhost", 1), "http://localhost:1");
    }

    #[test]
    fn unresolvable_hosts_are_bind_errors() {
        let err = pick_free_port("no-such-host.invalid").unwrap_err();
        assert!(matches!(err, BackendError::Bind { .. }), "{err}");
    }
}
