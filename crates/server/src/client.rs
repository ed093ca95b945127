//! Who is on the other end of a request. Owns [`ClientAddr`] (put into every request's
//! extensions), the `trusted_proxies` networks, the rules for believing `X-Forwarded-For`
//! and `X-Forwarded-Proto` (only from a trusted proxy), and HSTS: a response goes out with
//! `Strict-Transport-Security` exactly when the client's request was HTTPS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::transport::Transport;

/// The client of a request, as far as this server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The peer's address, or the client's as reported by a trusted proxy.
    pub ip: IpAddr,
    /// Whether the client's request was HTTPS (here, or up to a trusted proxy).
    pub https: bool,
}

/// An IP network: an address and a prefix length (a plain address is a full-length prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not an IP address or CIDR network");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { addr, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) are
/// their IPv4 address, so `10.0.0.0/8` matches them.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    pub fn parse(list: &[String]) -> Result<TrustedProxies, String> {
        list.iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
            .map_err(|e| format!("trusted_proxies: {e}"))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }
}

/// The client of a request that arrived from `peer` (unknown when the server was started
/// without connection info), `tls` telling whether this connection is TLS.
///
/// Forwarding headers are anyone's to write, so they count only when the peer is a trusted
/// proxy. Then the client is the right-most `X-Forwarded-For` address that is not itself a
/// trusted proxy (addresses to its left were written by the client, and may be forged);
/// the walk stops at anything unreadable, keeping the last trusted hop. The scheme is the
/// last `X-Forwarded-Proto` value: the one our proxy wrote.
pub fn client_addr(
    peer: Option<IpAddr>,
    tls: bool,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> ClientAddr {
    let Some(peer) = peer.map(canonical) else {
        // No peer known: nothing to trust a forwarding header on.
        return ClientAddr {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            https: tls,
        };
    };
    if !trusted.contains(peer) {
        return ClientAddr {
            ip: peer,
            https: tls,
        };
    }
    let mut ip = peer;
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(addr) = parse_hop(hop) else { break };
        ip = addr;
        if !trusted.contains(addr) {
            break;
        }
    }
    let forwarded_https = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .next_back()
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    ClientAddr {
        ip,
        https: tls || forwarded_https,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`[::1]:80`, `1.2.3.4:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// Middleware: [`ClientAddr`] into the request's extensions, HSTS onto the response when
/// the client spoke HTTPS (never over plain HTTP, where a browser must ignore it anyway and
/// a forged one could pin a host that has no certificate).
pub async fn layer(State(t): State<Arc<Transport>>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_addr(peer, t.tls, req.headers(), &t.trusted_proxies);
    req.extensions_mut().insert(client);
    let mut resp = next.run(req).await;
    if client.https {
        resp.headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, t.hsts.clone());
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.append(*k, v);
            }
        }
        h
    }

    fn trusted(list: &[&str]) -> TrustedProxies {
        let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        TrustedProxies::parse(&list).unwrap_or_default()
    }

    #[test]
    fn networks() {
        let t = trusted(&["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"]);
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("::ffff:10.1.1.1")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("fd12::1")));
        assert!(t.contains(ip("::1")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(trusted(&["0.0.0.0/0"]).contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "::/129", "nonsense", "10.0.0.0/x", ""] {
            assert!(TrustedProxies::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarding_headers_ignored_from_an_untrusted_peer() {
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = client_addr(Some(ip("203.0.113.9")), false, &h, &trusted(&["10.0.0.1"]));
        assert_eq!(
            c,
            ClientAddr {
                ip: ip("203.0.113.9"),
                https: false
            }
        );
        // With no trusted proxy at all, the same.
        let c = client_addr(Some(ip("10.0.0.1")), false, &h, &TrustedProxies::default());
        assert_eq!(c.ip, ip("10.0.0.1"));
        assert!(!c.https);
    }

    #[test]
    fn right_most_untrusted_address_from_a_trusted_proxy() {
        let t = trusted(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxy appended the real one.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 198.51.100.2"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = client_addr(Some(ip("10.0.0.5")), false, &h, &t);
        assert_eq!(
            c,
            ClientAddr {
                ip: ip("198.51.100.2"),
                https: true
            }
        );
        // Two proxies: the inner one's address is skipped, also across header lines.
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.2, 10.1.1.1"),
            ("x-forwarded-for", "10.2.2.2"),
        ]);
        let c = client_addr(Some(ip("10.0.0.5")), false, &h, &t);
        assert_eq!(c.ip, ip("198.51.100.2"));
        assert!(!c.https);
        // Ports are allowed; every hop trusted: the left-most.
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:443, 10.9.9.9:80")]);
        assert_eq!(
            client_addr(Some(ip("10.0.0.5")), false, &h, &t).ip,
            ip("2001:db8::1")
        );
        let h = headers(&[("x-forwarded-for", "10.3.3.3, 10.4.4.4")]);
        assert_eq!(
            client_addr(Some(ip("10.0.0.5")), false, &h, &t).ip,
            ip("10.3.3.3")
        );
        // Garbage stops the walk at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, garbage, 10.4.4.4")]);
        assert_eq!(
            client_addr(Some(ip("10.0.0.5")), false, &h, &t).ip,
            ip("10.4.4.4")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_addr(Some(ip("10.0.0.5")), false, &HeaderMap::new(), &t).ip,
            ip("10.0.0.5")
        );
    }

    #[test]
    fn scheme() {
        let t = trusted(&["127.0.0.1"]);
        let peer = Some(ip("127.0.0.1"));
        // TLS here is HTTPS whatever the headers say.
        let h = headers(&[("x-forwarded-proto", "http")]);
        assert!(client_addr(peer, true, &h, &t).https);
        // The last value is the one our proxy wrote.
        let h = headers(&[("x-forwarded-proto", "https, http")]);
        assert!(!client_addr(peer, false, &h, &t).https);
        let h = headers(&[("x-forwarded-proto", "HTTPS")]);
        assert!(client_addr(peer, false, &h, &t).https);
        // Unknown peer: nothing believed.
        let c = client_addr(None, false, &h, &t);
        assert_eq!(c.ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(!c.https);
    }
}
