//! Submissions a second per client network (audit F7): a token bucket per IPv4 /24 and per
//! IPv6 /64 (one host holds a whole /64, so an address each would be no limit), with the
//! buckets of idle networks swept away so the limiter's memory stays bounded whoever calls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Networks tracked at most; past it the idle ones are swept, and if none is idle, all.
const MAX_TRACKED: usize = 65_536;

/// A token bucket per client network.
pub struct RateLimit {
    per_second: f64,
    buckets: Mutex<HashMap<u128, (f64, Instant)>>,
}

/// The network a client is counted in: its IPv4 /24 or IPv6 /64 (an IPv4-mapped IPv6 address
/// counts as its IPv4 address).
pub fn network_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4) >> 8),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4) >> 8),
            None => (u128::from(v6) >> 64) | (1 << 127),
        },
    }
}

impl RateLimit {
    /// `per_second` submissions a second per network, in bursts of up to that many.
    pub fn new(per_second: u32) -> RateLimit {
        RateLimit { per_second: f64::from(per_second.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Whether `ip` may submit now (taking a token if so).
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() >= MAX_TRACKED {
            // A network whose bucket has filled up again is idle: forgetting it changes nothing.
            let full = self.per_second;
            b.retain(|_, (tokens, last)| *tokens + now.duration_since(*last).as_secs_f64() * full < full);
            if b.len() >= MAX_TRACKED {
                b.clear();
            }
        }
        let (tokens, last) = b.entry(network_of(ip)).or_insert((self.per_second, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.per_second);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Networks tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_count_by_network_and_the_buckets_stay_bounded() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(network_of(ip("10.1.2.3")), network_of(ip("10.1.2.250")));
        assert_ne!(network_of(ip("10.1.2.3")), network_of(ip("10.1.3.3")));
        assert_eq!(network_of(ip("2001:db8:0:1::1")), network_of(ip("2001:db8:0:1:ffff::2")));
        assert_ne!(network_of(ip("2001:db8:0:1::1")), network_of(ip("2001:db8:0:2::1")));
        assert_eq!(network_of(ip("::ffff:10.1.2.3")), network_of(ip("10.1.2.9")));

        let limit = RateLimit::new(3);
        assert!((0..3).all(|_| limit.allow(ip("10.1.2.3"))));
        assert!(!limit.allow(ip("10.1.2.77")), "the same /24 shares the bucket");
        assert!(limit.allow(ip("10.1.3.1")));
        // Many networks, one request each: the map never holds more than its cap.
        for i in 0..(MAX_TRACKED as u32 + 10) {
            limit.allow(IpAddr::V6(std::net::Ipv6Addr::from((u128::from(i) + 7) << 64)));
        }
        assert!(limit.tracked() <= MAX_TRACKED, "{}", limit.tracked());
    }
}
