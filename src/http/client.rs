//! Who the client is: the address the rate limit counts, the request's log span records
//! (`client`) and the audit log keeps with each change.
//!
//! - By default the client is the TCP peer (`ConnectInfo<Peer>`, set by `http::serve`), and an
//!   `X-Forwarded-For` header is ignored: anyone can write one.
//! - Behind a reverse proxy, `MMR_TRUSTED_PROXIES` names the proxies' networks ([`TrustedProxies`],
//!   comma-separated CIDRs). When the peer is in one of them, the client is read from
//!   `X-Forwarded-For` (all such headers, in order, as one list): walking from the right, each
//!   address a trusted proxy appended is skipped, and the first one not itself trusted is the
//!   client. Addresses left of it were written by the client and are never believed. If every
//!   address is trusted, the left-most is taken; a header that is missing, empty, not text or holds
//!   something that is not an IP address where the walk reaches it gives the peer's address.
//! - Requests with no known peer (the router called in-process) have no client address.
//!
//! [`resolve`] is the middleware that works this out once per request and leaves a
//! [`ClientAddr`] in the request's extensions for the rate limit and the handlers.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::zerocopy::Peer;

/// The header a reverse proxy adds the address it received the request from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address as [`resolve`] found it (kept in `workflow`, where the pages read it too).
pub use crate::workflow::ClientAddr;

/// One network in CIDR notation, such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a
/// network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is in this network (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask32(u32::from(ip), self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask128(u128::from(ip), self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

/// The first `prefix` bits of `bits`.
fn mask32(bits: u32, prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { bits & (u32::MAX << (32 - u32::from(prefix))) }
}

/// The first `prefix` bits of `bits`.
fn mask128(bits: u128, prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { bits & (u128::MAX << (128 - u32::from(prefix))) }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw, None),
        };
        let addr: IpAddr =
            addr.parse().map_err(|_| format!("`{raw}` is not an IP address or a network like 10.0.0.0/8"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{raw}`: the prefix length must be a number from 0 to {max}"))?,
        };
        let network = match addr {
            IpAddr::V4(v4) => IpAddr::V4(mask32(u32::from(v4), prefix).into()),
            IpAddr::V6(v6) => IpAddr::V6(mask128(u128::from(v6), prefix).into()),
        };
        if network != addr {
            return Err(format!("`{raw}` has host bits set: the network is {network}/{prefix}"));
        }
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`MMR_TRUSTED_PROXIES`); empty by
/// default, when no header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Whether `ip` is a trusted proxy's address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client of a request that came from `peer` with `headers` (see the module doc).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        self.forwarded_client(headers).unwrap_or(peer)
    }

    /// The right-most untrusted address of `X-Forwarded-For`, else its left-most; `None` when
    /// there is no usable header.
    fn forwarded_client(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let mut hops = Vec::new();
        for value in headers.get_all(X_FORWARDED_FOR) {
            hops.extend(value.to_str().ok()?.split(',').map(str::trim));
        }
        let mut last = None;
        for hop in hops.into_iter().rev() {
            let ip = hop.parse::<IpAddr>().ok()?.to_canonical();
            if !self.contains(ip) {
                return Some(ip);
            }
            last = Some(ip);
        }
        last
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated CIDRs (spaces allowed); empty: none.
    fn from_str(raw: &str) -> Result<Self, String> {
        raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse).collect::<Result<_, _>>().map(Self)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&nets.join(","))
    }
}

/// The middleware: works out the client's address, records it on the request's span and leaves
/// it in the request's extensions as a [`ClientAddr`].
pub(super) async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<Peer>>().map(|ConnectInfo(peer)| peer.addr.ip());
    let client = peer.map(|peer| state.trusted_proxies.client(peer.to_canonical(), request.headers()));
    if let Some(ip) = client {
        tracing::Span::current().record("client", tracing::field::display(ip));
    }
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn networks_parse_and_match() {
        let nets: TrustedProxies = " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,".parse().unwrap();
        assert_eq!(nets.to_string(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32");
        assert!(nets.contains(ip("10.255.1.2")));
        assert!(!nets.contains(ip("11.0.0.1")));
        assert!(nets.contains(ip("192.0.2.7")) && !nets.contains(ip("192.0.2.8")));
        assert!(nets.contains(ip("2001:db8:ffff::1")) && !nets.contains(ip("2001:db9::1")));
        assert!(nets.contains(ip("::ffff:10.1.2.3")), "an IPv4-mapped address is its IPv4 address");
        let all: TrustedProxies = "0.0.0.0/0,::/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && all.contains(ip("2001:db8::1")));
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }

    #[test]
    fn bad_networks_are_named() {
        for (raw, says) in [
            ("10.0.0.0/33", "from 0 to 32"),
            ("2001:db8::/129", "from 0 to 128"),
            ("10.0.0.0/x", "prefix length"),
            ("localhost", "not an IP address"),
            ("10.0.0.1/8", "host bits set: the network is 10.0.0.0/8"),
        ] {
            let e = raw.parse::<TrustedProxies>().unwrap_err();
            assert!(e.contains(raw) && e.contains(says), "{raw}: {e}");
        }
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let proxies: TrustedProxies = "127.0.0.1,10.0.0.0/8".parse().unwrap();
        let (proxy, stranger) = (ip("127.0.0.1"), ip("198.51.100.4"));
        // From a trusted proxy: the address it forwarded.
        assert_eq!(proxies.client(proxy, &xff(&["203.0.113.9"])), ip("203.0.113.9"));
        // What the client wrote itself (left of it) is never believed; inner proxies are skipped.
        assert_eq!(proxies.client(proxy, &xff(&["1.2.3.4, 203.0.113.9, 10.0.0.5"])), ip("203.0.113.9"));
        assert_eq!(proxies.client(proxy, &xff(&["1.2.3.4", "203.0.113.9,10.0.0.5"])), ip("203.0.113.9"));
        // Garbage the client wrote left of the real hop does not matter.
        assert_eq!(proxies.client(proxy, &xff(&["not-an-address, 203.0.113.9"])), ip("203.0.113.9"));
        // Every hop trusted: the left-most.
        assert_eq!(proxies.client(proxy, &xff(&["10.0.0.9, 10.0.0.5"])), ip("10.0.0.9"));
        // IPv6 hops, and IPv4 mapped into IPv6.
        assert_eq!(proxies.client(proxy, &xff(&["2001:db8::7"])), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("::ffff:127.0.0.1"), &xff(&["::ffff:203.0.113.9"])), ip("203.0.113.9"));
        // Missing, empty or malformed where the walk reaches it: the peer.
        assert_eq!(proxies.client(proxy, &HeaderMap::new()), proxy);
        assert_eq!(proxies.client(proxy, &xff(&[""])), proxy);
        assert_eq!(proxies.client(proxy, &xff(&["203.0.113.9, junk"])), proxy);
        assert_eq!(proxies.client(proxy, &xff(&["203.0.113.9:4711"])), proxy);
        assert_eq!(proxies.client(proxy, &xff(&["203.0.113.9,,10.0.0.5"])), proxy);
        let mut not_text = HeaderMap::new();
        not_text.insert(X_FORWARDED_FOR, HeaderValue::from_bytes(b"203.0.113.9\xff").unwrap());
        assert_eq!(proxies.client(proxy, &not_text), proxy);
        // From an untrusted peer the header is ignored, as it is with no trusted proxies at all.
        assert_eq!(proxies.client(stranger, &xff(&["203.0.113.9"])), stranger);
        assert_eq!(TrustedProxies::default().client(proxy, &xff(&["203.0.113.9"])), proxy);
    }
}
