//! The random primes of RSA keys.
//!
//! Nearly every odd number near a random start is composite. The search throws each one out
//! with the cheapest test that can:
//! 1. a sieve over a window of odd numbers strikes out the multiples of the odd primes below
//!    2^16, nine numbers in ten;
//! 2. on a CPU with AVX-512 IFMA, 1024-bit numbers (the primes of the 2048-bit keys that
//!    `genCA` and the other certificate functions make) go five at a time through a
//!    Miller-Rabin round to base 2 in 52-bit vector arithmetic ([`amm52`]), which throws out
//!    nearly all the rest in an eighth of the time `crypto-bigint` takes. The one in about
//!    thirty that passes must pass five more rounds, to random bases, as Go's `crypto/rsa`
//!    asks of a 1024-bit prime (FIPS 186-5, table B.1);
//! 3. elsewhere (other sizes, other CPUs), `crypto-primes`' Baillie-PSW test decides, the
//!    test the `rsa` crate uses.

#[cfg(target_arch = "x86_64")]
mod amm52;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crypto_bigint::{BoxedUint, Uint};
use crypto_primes::Flavor;

/// The sieve's primes: the odd primes below this.
const SIEVE_LIMIT: u32 = 1 << 16;

/// Odd numbers per sieve window. The gap between 1024-bit primes averages 355 odd numbers;
/// a window without a prime is left for a new random start.
const WINDOW: usize = 1 << 13;

/// Two distinct random primes of `bits` bits, each with its top two bits set (so that their
/// product has exactly `2 * bits` bits). `None` when `bits` is not 256, 512, 1024 or 2048.
pub(super) fn two_primes(bits: u32) -> Option<(BoxedUint, BoxedUint)> {
    match bits {
        256 => Some(search_two::<4>(false)),
        512 => Some(search_two::<8>(false)),
        1024 => Some(search_two::<16>(vector_tests())),
        2048 => Some(search_two::<32>(false)),
        _ => None,
    }
}

/// Whether this CPU tests 1024-bit candidates in [`amm52`]'s vector arithmetic.
fn vector_tests() -> bool {
    #[cfg(target_arch = "x86_64")]
    return amm52::available();
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// The first two distinct primes found by this thread and a helper thread, each searching
/// from its own random starts, with [`amm52`]'s tests if `vectors` (then N must be 16).
/// While one checks a find, the other goes on searching. The helper is not waited for: after
/// the machine has been idle, a new thread may get a processor only milliseconds later, when
/// this thread has found both primes alone; it then sees the search done and ends.
fn search_two<const N: usize>(vectors: bool) -> (BoxedUint, BoxedUint) {
    let search = Arc::new(Search::<N> { found: Mutex::new(Vec::new()), done: AtomicBool::new(false) });
    let theirs = search.clone();
    // Without a second thread (the system refuses one), this thread searches alone.
    let _ = crate::thread::spawn("reef-gotmpl-primes", move || theirs.run(vectors));
    // It returns once two primes are found, by either thread.
    search.run(vectors);
    let found = search.found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let [p, q, ..] = found.as_slice() else { unreachable!("the search ends with two primes") };
    (BoxedUint::from_words(*p), BoxedUint::from_words(*q))
}

/// The primes two threads have found, and whether they have found enough.
struct Search<const N: usize> {
    found: Mutex<Vec<[u64; N]>>,
    done: AtomicBool,
}

impl<const N: usize> Search<N> {
    /// Searches windows until two distinct primes are found.
    fn run(&self, vectors: bool) {
        let sieve = SmallPrimes::get();
        while !self.done.load(Ordering::Relaxed) {
            let Some(prime) = search_window::<N>(sieve, &self.done, vectors) else { continue };
            let mut found = self.found.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !found.contains(&prime) {
                found.push(prime);
            }
            if found.len() >= 2 {
                self.done.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// The first prime in a window of odd numbers from a random start; `None` when the window
/// holds none or `done` is set.
fn search_window<const N: usize>(sieve: &SmallPrimes, done: &AtomicBool, vectors: bool) -> Option<[u64; N]> {
    let mut start = [0u64; N];
    rand::fill(&mut start[..]);
    start[0] |= 1;
    start[N - 1] |= 0b11 << 62;
    let struck = sieve.strike(&start);
    let mut candidates = (0..WINDOW).filter(|&k| !struck[k]).map_while(|k| add_small(&start, 2 * k as u64));
    let is_prime = |c: &[u64; N]| crypto_primes::is_prime(Flavor::Any, &Uint::<N>::from_words(*c));
    #[cfg(not(target_arch = "x86_64"))]
    let _ = vectors;
    #[cfg(target_arch = "x86_64")]
    if vectors && N == 16 {
        loop {
            if done.load(Ordering::Relaxed) {
                return None;
            }
            let mut batch = [[0u64; 16]; amm52::BATCH];
            for slot in &mut batch {
                *slot = <[u64; 16]>::try_from(&candidates.next()?[..]).ok()?;
            }
            let passed = amm52::strong_probable_primes_to_base_2(&batch)?;
            for (candidate, passed) in batch.iter().zip(passed) {
                if passed && confirmed(candidate)? {
                    return <[u64; N]>::try_from(&candidate[..]).ok();
                }
            }
        }
    }
    candidates.take_while(|_| !done.load(Ordering::Relaxed)).find(is_prime)
}

/// Whether a 1024-bit strong probable prime to base 2 is one to [`amm52::BATCH`] (five)
/// random bases too. A composite passes a round with probability 1/4 at most, and a random
/// one far less.
#[cfg(target_arch = "x86_64")]
fn confirmed(n: &[u64; 16]) -> Option<bool> {
    // n is odd: n - 1 is n without its lowest bit.
    let mut n_minus_1 = *n;
    n_minus_1[0] &= !1;
    let bases: [[u64; 16]; amm52::BATCH] = std::array::from_fn(|_| {
        loop {
            // Uniform in [2, n - 2]: a random number, drawn again when it is out of range (at
            // most one time in four, since n > 2^1023 · 3/2).
            let mut base = [0u64; 16];
            rand::fill(&mut base[..]);
            let (_, below_n_minus_1) = sub(&base, &n_minus_1);
            if below_n_minus_1 && (base[0] >= 2 || base[1..].iter().any(|&l| l != 0)) {
                break base;
            }
        }
    });
    Some(amm52::strong_probable_primes(&[*n; amm52::BATCH], &bases)?.iter().all(|&p| p))
}

/// `x + d`; `None` when the sum overflows the limbs.
fn add_small<const N: usize>(x: &[u64; N], d: u64) -> Option<[u64; N]> {
    let mut out = *x;
    let mut carry = d;
    for limb in &mut out {
        let (sum, over) = limb.overflowing_add(carry);
        *limb = sum;
        carry = u64::from(over);
    }
    (carry == 0).then_some(out)
}

/// `a - b` and whether it borrowed.
#[cfg(any(target_arch = "x86_64", test))]
fn sub<const N: usize>(a: &[u64; N], b: &[u64; N]) -> ([u64; N], bool) {
    let mut out = [0u64; N];
    let mut borrow = false;
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        let (d, b1) = a.overflowing_sub(b);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        *o = d;
        borrow = b1 | b2;
    }
    (out, borrow)
}

/// 2^(64N) - n.
#[cfg(any(target_arch = "x86_64", test))]
fn negate<const N: usize>(n: &[u64; N]) -> [u64; N] {
    sub(&[0; N], n).0
}

/// 2x mod n for x below n, in a time that does not depend on x or n.
#[cfg(any(target_arch = "x86_64", test))]
fn double_mod<const N: usize>(x: &[u64; N], n: &[u64; N]) -> [u64; N] {
    let mut doubled = [0u64; N];
    let mut carry = 0u64;
    for (d, &x) in doubled.iter_mut().zip(x) {
        *d = (x << 1) | carry;
        carry = x >> 63;
    }
    let (reduced, borrow) = sub(&doubled, n);
    // Keep 2x only when it is below n: a borrow out of 2x - n that no carry covers.
    let keep = u64::from(borrow & (carry == 0)).wrapping_neg();
    std::array::from_fn(|i| (doubled[i] & keep) | (reduced[i] & !keep))
}

/// The odd primes below [`SIEVE_LIMIT`], computed once.
struct SmallPrimes {
    /// Threes of primes (1 past the last), their product (below 2^48), and 2^(64i) modulo the
    /// product for each limb i of the largest numbers searched: a number's remainder is then
    /// the sum of its limbs times those, reduced once, where a limb-by-limb remainder took a
    /// 128-bit division per limb.
    threes: Vec<([u64; 3], u64, [u64; MAX_LIMBS])>,
}

/// Limbs of the largest primes searched (2048 bits, for 4096-bit keys).
const MAX_LIMBS: usize = 32;

impl SmallPrimes {
    fn get() -> &'static SmallPrimes {
        static PRIMES: std::sync::OnceLock<SmallPrimes> = std::sync::OnceLock::new();
        PRIMES.get_or_init(|| {
            let limit = SIEVE_LIMIT as usize;
            let mut composite = vec![false; limit];
            let mut primes = Vec::new();
            for p in (3..limit).step_by(2) {
                if composite[p] {
                    continue;
                }
                primes.push(p as u32);
                for multiple in (p * p..limit).step_by(2 * p) {
                    composite[multiple] = true;
                }
            }
            let threes = primes
                .chunks(3)
                .map(|three| {
                    let three: [u64; 3] = std::array::from_fn(|i| three.get(i).map_or(1, |&p| u64::from(p)));
                    let product: u64 = three.iter().product();
                    let base = ((1u128 << 64) % u128::from(product)) as u64;
                    let mut powers = [1 % product; MAX_LIMBS];
                    for i in 1..MAX_LIMBS {
                        powers[i] = (u128::from(powers[i - 1]) * u128::from(base) % u128::from(product)) as u64;
                    }
                    (three, product, powers)
                })
                .collect();
            SmallPrimes { threes }
        })
    }

    /// For each odd number `start + 2k` (k below [`WINDOW`]), whether a small prime divides
    /// it.
    fn strike<const N: usize>(&self, start: &[u64; N]) -> Vec<bool> {
        const { assert!(N <= MAX_LIMBS) };
        let mut struck = vec![false; WINDOW];
        for (three, product, powers) in &self.threes {
            // Each term is below 2^112 and there are at most 32: the sum fits 128 bits.
            let sum: u128 = start.iter().zip(powers).map(|(&limb, &power)| u128::from(limb) * u128::from(power)).sum();
            let r = (sum % u128::from(*product)) as u64;
            for &p in three {
                if p == 1 {
                    continue;
                }
                // start + 2k ≡ 0 (mod p) for k ≡ -start · 2⁻¹, and 2⁻¹ ≡ (p + 1) / 2.
                let minus_start = match r % p {
                    0 => 0,
                    r => p - r,
                };
                let first = minus_start * p.div_ceil(2) % p;
                for k in (first as usize..WINDOW).step_by(p as usize) {
                    struck[k] = true;
                }
            }
        }
        struck
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x mod m`, a limb at a time: a reference for the sieve's remainders.
    fn rem(x: &[u64], m: u64) -> u64 {
        x.iter().rev().fold(0, |r, &limb| ((u128::from(r) << 64 | u128::from(limb)) % u128::from(m)) as u64)
    }

    /// Whether the sieve strikes, in a window from a random start of N limbs, exactly the
    /// numbers (every 7th checked) that an odd prime below 2^16 divides.
    fn sieve_strikes_exactly_the_multiples_of_small_primes<const N: usize>() {
        let mut start = [0u64; N];
        rand::fill(&mut start[..]);
        start[0] |= 1;
        start[N - 1] |= 0b11 << 62;
        let struck = SmallPrimes::get().strike(&start);
        let primes: Vec<u64> = (3..u64::from(SIEVE_LIMIT))
            .step_by(2)
            .filter(|&p| (3..p).step_by(2).take_while(|d| d * d <= p).all(|d| p % d != 0))
            .collect();
        assert_eq!(primes.len(), 6541, "the odd primes below 2^16");
        for k in (0..WINDOW).step_by(7) {
            let candidate = add_small(&start, 2 * k as u64).expect("no carry out of the top limb");
            let divisible = primes.iter().any(|&p| rem(&candidate, p) == 0);
            assert_eq!(struck[k], divisible, "{N} limbs: start + 2·{k}");
        }
    }

    #[test]
    fn the_sieve_strikes_exactly_the_multiples_of_small_primes() {
        sieve_strikes_exactly_the_multiples_of_small_primes::<16>();
        sieve_strikes_exactly_the_multiples_of_small_primes::<32>();
    }

    #[test]
    fn doubling_wraps_at_the_modulus() {
        let n = [7u64, 1 << 63];
        let x = [6u64, 1 << 63]; // n - 1: 2x - n = n - 2, past 2^128
        assert_eq!(double_mod(&x, &n), [5, 1 << 63]);
        assert_eq!(double_mod(&[3, 0], &n), [6, 0]);
        assert_eq!(negate(&n), [u64::MAX - 6, (1 << 63) - 1]);
    }

    #[test]
    fn primes_are_prime_distinct_and_of_the_asked_size() {
        for bits in [256, 512, 1024, 2048] {
            let (p, q) = two_primes(bits).expect("a supported size");
            assert_ne!(p, q);
            for prime in [p, q] {
                assert_eq!(prime.bit_width(), bits);
                assert!(prime.bit_vartime(bits - 2), "the second-highest bit is set");
                assert!(crypto_primes::is_prime(Flavor::Any, &prime));
            }
        }
        assert!(two_primes(100).is_none());
    }

    /// On a CPU without AVX-512 IFMA, 1024-bit primes come from `crypto-primes`' test alone.
    #[test]
    fn the_portable_search_finds_1024_bit_primes() {
        let (p, q) = search_two::<16>(false);
        assert_ne!(p, q);
        for prime in [p, q] {
            assert_eq!(prime.bit_width(), 1024);
            assert!(crypto_primes::is_prime(Flavor::Any, &prime));
        }
    }
}
