//! Rate limiting of requests without a valid token, per client address, so that one client
//! cannot crowd out the public's reads of the registry and the archive.
//!
//! - The client is the address [`super::client`] found: the TCP peer's, or, behind a reverse
//!   proxy named in `MMR_TRUSTED_PROXIES`, the one it forwarded. `X-Forwarded-For` from any other
//!   peer is not believed: behind an untrusted proxy every client shares the proxy's address, so
//!   the proxy should do its own limiting. IPv6 addresses count by their /64 network (one host
//!   usually holds a whole /64); requests with no known address (the router called in-process)
//!   share one allowance.
//! - Requests carrying a valid bearer token are not counted: the token is checked here, before
//!   the handler checks it again. A malformed, unknown or revoked token counts as none, so a
//!   made-up `Authorization` header does not get around the limit. An address already over its
//!   limit is refused before any token is looked up, valid or not ([`RateLimiter::refusing`]): a
//!   refused request costs no database lookup, and a token holder sharing an abusive address
//!   waits with it until the allowance refills. `/healthz` and `/readyz` are never limited, so
//!   probes keep working while an address is refused.
//! - The algorithm is GCRA (a token bucket kept as one instant per address, the "theoretical
//!   arrival time"): an address may make `burst` requests at once, then one each
//!   `60 s / per_minute`. Over the limit the answer is 429 `rate_limited` with `Retry-After`,
//!   the whole seconds until the next request would pass.
//! - Time is [`AppState::now`], so tests move it rather than sleep. A wall clock set back cannot
//!   lock an address out: no arrival time is ever further ahead than one full bucket.
//! - Memory is bounded: addresses whose bucket has refilled hold nothing worth keeping and are
//!   dropped once a minute; at [`MAX_ADDRESSES`] the tenth of the addresses with the most
//!   allowance left is forgotten too (they start again with a full bucket).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeDelta};

use super::client::ClientAddr;
use super::extract::Auth;
use super::{ApiError, AppState};

/// The most client addresses tracked at once (about 64 bytes each).
const MAX_ADDRESSES: usize = 100_000;

/// How often addresses whose bucket has refilled are dropped.
const SWEEP_EVERY: TimeDelta = TimeDelta::minutes(1);

/// How many requests one client address may make: `burst` at once, then `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The sustained rate, in requests a minute.
    pub per_minute: NonZeroU32,
    /// How many requests may come at once after a quiet spell.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// `burst` requests at once, then `per_minute` a minute.
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        Self { per_minute, burst }
    }

    /// The time one request uses up: a minute divided by the rate.
    fn interval(self) -> TimeDelta {
        TimeDelta::microseconds(60_000_000 / i64::from(self.per_minute.get()))
    }

    /// How far ahead of now an address's arrival time may be and still let a request through.
    fn tolerance(self) -> TimeDelta {
        self.interval() * (self.burst.get() - 1) as i32
    }
}

/// The per-address state of a [`RateLimit`], in memory (one process's view).
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    capacity: usize,
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    /// Each address's theoretical arrival time: its bucket is full again from then on.
    arrivals: HashMap<Option<IpAddr>, NaiveDateTime>,
    next_sweep: Option<NaiveDateTime>,
}

impl RateLimiter {
    /// A limiter tracking up to 100,000 addresses at once.
    pub fn new(limit: RateLimit) -> Self {
        Self::with_capacity(limit, MAX_ADDRESSES)
    }

    fn with_capacity(limit: RateLimit, capacity: usize) -> Self {
        Self { limit, capacity: capacity.max(1), buckets: Mutex::new(Buckets::default()) }
    }

    /// The limit applied.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Counts a request from `client` (`None`: address unknown) at `now`: `Ok` when it may pass,
    /// otherwise how long until the next one would.
    pub fn check(&self, client: Option<IpAddr>, now: NaiveDateTime) -> Result<(), TimeDelta> {
        let key = client.map(address_key);
        let interval = self.limit.interval();
        // A poisoned lock still holds valid instants: a panic cannot leave one half-written.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = buckets.arrivals.get(&key).copied();
        let arrival = self.arrival(stored, now);
        if let Err(wait) = self.admits(arrival, now) {
            buckets.arrivals.insert(key, arrival);
            return Err(wait);
        }
        if stored.is_none() || buckets.next_sweep.is_none_or(|t| now >= t) {
            buckets.make_room(self.capacity, now);
        }
        buckets.arrivals.insert(key, arrival + interval);
        Ok(())
    }

    /// Whether `client` is being refused at `now`, counting nothing: `Err` with the wait when its
    /// next request would get 429. Lets a request be refused before anything costly is done for
    /// it (such as looking up the token it carries).
    pub fn refusing(&self, client: Option<IpAddr>, now: NaiveDateTime) -> Result<(), TimeDelta> {
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = buckets.arrivals.get(&client.map(address_key)).copied();
        self.admits(self.arrival(stored, now), now)
    }

    /// An address's arrival time as of `now`: never in the past, and never more than a full
    /// bucket ahead, whatever the clock did meanwhile.
    fn arrival(&self, stored: Option<NaiveDateTime>, now: NaiveDateTime) -> NaiveDateTime {
        let limit = self.limit.tolerance() + self.limit.interval();
        stored.map_or(now, |t| t.clamp(now, now + limit))
    }

    /// `Ok` when a request at `now` fits an address whose arrival time is `arrival`, otherwise
    /// how long until one would.
    fn admits(&self, arrival: NaiveDateTime, now: NaiveDateTime) -> Result<(), TimeDelta> {
        let ahead = arrival - now;
        let tolerance = self.limit.tolerance();
        if ahead > tolerance { Err(ahead - tolerance) } else { Ok(()) }
    }

    /// How many addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).arrivals.len()
    }
}

impl Buckets {
    /// Drops addresses whose bucket has refilled (at most once a minute unless full), then, if
    /// still full, the tenth with the earliest arrival times.
    fn make_room(&mut self, capacity: usize, now: NaiveDateTime) {
        let due = self.next_sweep.is_none_or(|t| now >= t);
        if !due && self.arrivals.len() < capacity {
            return;
        }
        self.arrivals.retain(|_, arrival| *arrival > now);
        self.next_sweep = Some(now + SWEEP_EVERY);
        if self.arrivals.len() < capacity {
            return;
        }
        let mut arrivals: Vec<NaiveDateTime> = self.arrivals.values().copied().collect();
        let evict = (capacity / 10).max(1);
        let (_, cutoff, _) = arrivals.select_nth_unstable(evict - 1);
        let cutoff = *cutoff;
        self.arrivals.retain(|_, arrival| *arrival > cutoff);
    }
}

/// The key of an address: IPv4 (also when mapped into IPv6) as is, IPv6 by its /64 network.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
    }
}

/// The middleware: passes probes and requests with a valid token, counts the others against
/// their address, and answers 429 over the limit.
pub(super) async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.rate_limiter.clone() else {
        return next.run(request).await;
    };
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let ClientAddr(client) = parts.extensions.get::<ClientAddr>().copied().unwrap_or_default();
    // An address already refused is refused before its token is looked up, so that a flood of
    // made-up tokens costs the database nothing once the address is over its limit.
    if let Err(wait) = limiter.refusing(client, state.now()) {
        return refused(limiter.limit(), wait);
    }
    if parts.headers.contains_key(header::AUTHORIZATION)
        && let Ok(Auth { principal: Some(_), .. }) = Auth::from_request_parts(&mut parts, &state).await
    {
        return next.run(Request::from_parts(parts, body)).await;
    }
    match limiter.check(client, state.now()) {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(wait) => refused(limiter.limit(), wait),
    }
}

/// 429 with `Retry-After` in whole seconds, rounded up.
fn refused(limit: RateLimit, wait: TimeDelta) -> Response {
    let micros = wait.num_microseconds().and_then(|m| u64::try_from(m).ok()).unwrap_or(1).max(1);
    let seconds = micros.div_ceil(1_000_000);
    let message = format!(
        "too many requests from this address without a token: at most {} at once and {} a minute; retry in {seconds} s",
        limit.burst, limit.per_minute
    );
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn limiter(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimit::new(NonZeroU32::new(per_minute).unwrap(), NonZeroU32::new(burst).unwrap()))
    }

    fn t0() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(9, 30, 0).unwrap()
    }

    fn v4(last: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    #[test]
    fn a_burst_passes_then_one_request_per_interval() {
        let l = limiter(60, 3);
        for _ in 0..3 {
            assert_eq!(l.check(v4(1), t0()), Ok(()));
        }
        assert_eq!(l.check(v4(1), t0()), Err(TimeDelta::seconds(1)));
        assert_eq!(l.check(v4(1), t0() + TimeDelta::milliseconds(400)), Err(TimeDelta::milliseconds(600)));
        assert_eq!(l.check(v4(1), t0() + TimeDelta::seconds(1)), Ok(()));
        assert!(l.check(v4(1), t0() + TimeDelta::seconds(1)).is_err());
        // After a quiet spell the whole burst is back, no more.
        let later = t0() + TimeDelta::minutes(5);
        for _ in 0..3 {
            assert_eq!(l.check(v4(1), later), Ok(()));
        }
        assert!(l.check(v4(1), later).is_err());
    }

    #[test]
    fn asking_whether_an_address_is_refused_counts_nothing() {
        let l = limiter(60, 2);
        for _ in 0..10 {
            assert_eq!(l.refusing(v4(1), t0()), Ok(()));
        }
        assert_eq!(l.tracked(), 0);
        assert_eq!(l.check(v4(1), t0()), Ok(()));
        assert_eq!(l.check(v4(1), t0()), Ok(()));
        assert_eq!(l.refusing(v4(1), t0()), Err(TimeDelta::seconds(1)));
        assert_eq!(l.refusing(v4(1), t0()), Err(TimeDelta::seconds(1)), "asking again adds no wait");
        assert_eq!(l.refusing(v4(2), t0()), Ok(()));
        assert_eq!(l.refusing(v4(1), t0() + TimeDelta::seconds(1)), Ok(()));
    }

    #[test]
    fn addresses_are_counted_apart_and_ipv6_by_its_64() {
        let l = limiter(60, 1);
        assert_eq!(l.check(v4(1), t0()), Ok(()));
        assert!(l.check(v4(1), t0()).is_err());
        assert_eq!(l.check(v4(2), t0()), Ok(()));
        assert_eq!(l.check(None, t0()), Ok(()));
        assert!(l.check(None, t0()).is_err());
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(l.check(Some(a.into()), t0()), Ok(()));
        assert!(l.check(Some(b.into()), t0()).is_err());
        assert_eq!(l.check(Some(c.into()), t0()), Ok(()));
        // An IPv4 address mapped into IPv6 is the same client as the IPv4 address.
        let mapped = Ipv4Addr::new(192, 0, 2, 2).to_ipv6_mapped();
        assert!(l.check(Some(mapped.into()), t0()).is_err());
    }

    #[test]
    fn a_clock_set_back_does_not_lock_an_address_out() {
        let l = limiter(60, 2);
        assert_eq!(l.check(v4(1), t0()), Ok(()));
        assert_eq!(l.check(v4(1), t0()), Ok(()));
        let earlier = t0() - TimeDelta::hours(3);
        assert_eq!(l.check(v4(1), earlier), Err(TimeDelta::seconds(1)));
        assert_eq!(l.check(v4(1), earlier + TimeDelta::seconds(1)), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let l =
            RateLimiter::with_capacity(RateLimit::new(NonZeroU32::new(60).unwrap(), NonZeroU32::new(5).unwrap()), 100);
        // A thousand addresses in one instant: never more than the capacity is kept.
        for i in 0..1000u32 {
            assert_eq!(l.check(Some(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))), t0()), Ok(()));
            assert!(l.tracked() <= 100, "{} tracked after {i}", l.tracked());
        }
        // Once their buckets have refilled, the next sweep forgets them all.
        assert_eq!(l.check(v4(1), t0() + TimeDelta::minutes(2)), Ok(()));
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let limit = RateLimit::new(NonZeroU32::new(5).unwrap(), NonZeroU32::new(5).unwrap());
        let r = refused(limit, TimeDelta::milliseconds(11_001));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "12");
        assert_eq!(refused(limit, TimeDelta::microseconds(1)).headers()[header::RETRY_AFTER], "1");
    }
}
