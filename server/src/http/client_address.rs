//! The client's address behind load balancers: `X-Forwarded-For`, `X-Forwarded-Proto` and the
//! other forwarding headers are believed only from the proxies an operator trusts
//! (`http.trusted_proxies`).
//!
//! Per-client failure limits (sign-in, verification codes, COCOA) key on the request's peer
//! address. Behind nginx every request comes from nginx, so without this all clients would
//! share one budget; believing the header from anybody would give a guesser a new budget per
//! forged value. The rule, as nginx's `real_ip_recursive on` and Rails' trusted proxies:
//!
//! - the direct peer is not trusted: its forwarding headers are removed, the peer is the client;
//! - the direct peer is trusted: walk `X-Forwarded-For` from the right (the entry the nearest
//!   proxy appended), skipping trusted addresses; the first untrusted address is the client.
//!   When every entry is trusted, the leftmost is; an entry that is not an IP address stops the
//!   walk at the last good one (a forged or broken header cannot reach past a trusted proxy).
//!
//! The result replaces the request's peer address before any handler runs, so every service
//! (`HttpRequest::peer_addr`) and `ConnectionInfo::scheme` see the same, checked answer.
//! Privacy: the address is used for limits only; it is never logged.

use std::net::{IpAddr, SocketAddr};

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderName};
use ipnet::IpNet;

/// Forwarding headers removed from requests that do not come from a trusted proxy.
const FORWARDING_HEADERS: [HeaderName; 5] = [
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-real-ip"),
];

/// Most `X-Forwarded-For` entries looked at (a chain of proxies is short; a long header is
/// forged or broken).
const MAX_HOPS: usize = 16;

/// The networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses `entries`: CIDR networks (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        let networks = entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "http.trusted_proxies entry '{entry}' is not an IP address or a CIDR network (e.g. 10.0.0.0/8)"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies { networks })
    }

    /// Whether `address` is one of the trusted proxies (IPv4-mapped IPv6 counts as IPv4).
    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks.iter().any(|net| net.contains(&address))
    }

    /// The client address of a request whose direct peer is `peer`, given the values of its
    /// `X-Forwarded-For` headers in order; `None` when the headers are not to be believed.
    pub fn client_of<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        if !self.trusts(peer) {
            return None;
        }
        let mut client = None;
        let entries = forwarded_for.rev().flat_map(|value| value.rsplit(','));
        for entry in entries.take(MAX_HOPS) {
            let Some(address) = parse_entry(entry) else {
                break;
            };
            client = Some(address);
            if !self.trusts(address) {
                break;
            }
        }
        client
    }

    /// Applies the rule to `request`: replaces its peer address with the client's, or removes
    /// the forwarding headers when its peer is not trusted.
    pub fn apply(&self, request: &mut ServiceRequest) {
        let Some(peer) = request.peer_addr() else {
            return;
        };
        if !self.trusts(peer.ip()) {
            if FORWARDING_HEADERS
                .iter()
                .any(|name| request.headers().contains_key(name))
            {
                let headers = request.headers_mut();
                for name in &FORWARDING_HEADERS {
                    headers.remove(name);
                }
            }
            return;
        }
        let values: Vec<&str> = request
            .headers()
            .get_all(&FORWARDING_HEADERS[1])
            .filter_map(|value| value.to_str().ok())
            .collect();
        if let Some(client) = self.client_of(peer.ip(), values.into_iter()) {
            request.head_mut().peer_addr = Some(SocketAddr::new(client, 0));
        }
    }
}

/// One `X-Forwarded-For` entry: an address, optionally `[v6]:port` or `v4:port`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    entry
        .parse::<SocketAddr>()
        .ok()
        .map(|socket| socket.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            proxies.client_of(ip("203.0.113.9"), ["198.51.100.1"].into_iter()),
            None
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let proxies = trusted(&["10.0.0.0/8", "127.0.0.1"]);
        // A client forged "1.2.3.4"; nginx appended the real peer, then an inner proxy.
        let header = ["1.2.3.4, 198.51.100.7, 10.1.2.3"];
        assert_eq!(
            proxies.client_of(ip("127.0.0.1"), header.into_iter()),
            Some(ip("198.51.100.7"))
        );
        // Several header lines count as one list, in order.
        let lines = ["1.2.3.4", "198.51.100.7", "10.1.2.3"];
        assert_eq!(
            proxies.client_of(ip("10.9.9.9"), lines.into_iter()),
            Some(ip("198.51.100.7"))
        );
    }

    #[test]
    fn a_broken_entry_stops_the_walk_at_the_last_good_one() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            proxies.client_of(
                ip("10.0.0.1"),
                ["198.51.100.7, garbage, 10.0.0.2"].into_iter()
            ),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(
            proxies.client_of(ip("10.0.0.1"), ["nonsense"].into_iter()),
            None
        );
        assert_eq!(proxies.client_of(ip("10.0.0.1"), std::iter::empty()), None);
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let proxies = trusted(&["::1/128", "127.0.0.0/8"]);
        assert_eq!(
            proxies.client_of(ip("::ffff:127.0.0.1"), ["[2001:db8::5]:4711"].into_iter()),
            Some(ip("2001:db8::5"))
        );
        assert_eq!(
            proxies.client_of(ip("::1"), ["192.0.2.44:1234"].into_iter()),
            Some(ip("192.0.2.44"))
        );
    }

    #[test]
    fn a_forged_header_cannot_be_made_endless() {
        let proxies = trusted(&["10.0.0.0/8"]);
        let long = vec!["10.0.0.3"; 100].join(",");
        // Every entry trusted and more than MAX_HOPS: the walk stops at MAX_HOPS entries.
        assert_eq!(
            proxies.client_of(ip("10.0.0.1"), [long.as_str()].into_iter()),
            Some(ip("10.0.0.3"))
        );
    }

    #[test]
    fn entries_that_are_not_networks_are_refused() {
        let error = TrustedProxies::parse(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(error.contains("10.0.0.0/33"), "{error}");
        assert!(TrustedProxies::parse(&["nginx".into()]).is_err());
        assert!(TrustedProxies::parse(&["192.0.2.1".into(), "fd00::/8".into()]).is_ok());
    }
}
