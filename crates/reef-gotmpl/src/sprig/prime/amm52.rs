//! Fermat tests to base 2 of five 1024-bit numbers at once, with AVX-512's 52-bit integer
//! multiply-add (IFMA), which does eight 52-bit products per instruction.
//!
//! A number is held as twenty 52-bit digits in three vectors of eight 64-bit lanes. The
//! Montgomery product is Gueron and Krasnov's "almost Montgomery multiplication": with
//! R = 2^1040 > 4n it keeps every value below 2n and never subtracts, so its time does not
//! depend on the values. Each step's chain (a digit's product, the reduction factor, the
//! reduction, the move down a digit) waits on the step before; five numbers go through the
//! steps together so that one number's chain overlaps the others'.

#![expect(unsafe_code, reason = "one call into the AVX-512 code, after checking that the CPU has AVX-512")]

use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_alignr_epi64, _mm512_broadcastq_epi64, _mm512_castsi512_si128,
    _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_mov_epi64, _mm512_maskz_mov_epi64, _mm512_set1_epi64,
    _mm512_setzero_si512, _mm512_srli_epi64,
};

/// 52-bit digits of a 1024-bit number (1040 bits).
const DIGITS: usize = 20;
const MASK: u64 = (1 << 52) - 1;
/// The exponent's bits taken at a time: a table of 16 powers of two per number.
const WINDOW: usize = 4;
/// Numbers tested together.
pub(super) const BATCH: usize = 5;

/// Digits in three vectors of eight lanes; the lanes past [`DIGITS`] are zero.
type Digits = [u64; 24];
type Vectors = [__m512i; 3];

/// Whether this CPU has the instructions this module needs.
pub(super) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}

/// For each of [`BATCH`] odd 1024-bit numbers with the top bit set, whether 2^(n-1) ≡ 1 (mod n):
/// every prime passes; few composites do. `None` when the CPU lacks AVX-512 IFMA.
pub(super) fn fermat_base_2(numbers: &[[u64; 16]; BATCH]) -> Option<[bool; BATCH]> {
    if !available() {
        return None;
    }
    // SAFETY: `powers_of_two` is compiled for AVX-512F and AVX-512 IFMA, which the CPU has
    // (checked just above). It does no other unsafe thing: its intrinsics are safe to call in
    // a function compiled for their features.
    let powers = unsafe { powers_of_two(numbers) };
    let mut one = [0u64; 17];
    one[0] = 1;
    Some(powers.map(|p| p == one))
}

/// The moduli, ready for [`amm`].
struct Moduli {
    n: [Vectors; BATCH],
    /// -n⁻¹ mod 2^52, in every lane.
    inverse: [__m512i; BATCH],
}

/// 2^(n-1) mod n for each of the numbers.
#[target_feature(enable = "avx512f,avx512ifma")]
fn powers_of_two(numbers: &[[u64; 16]; BATCH]) -> [[u64; 17]; BATCH] {
    let moduli = Moduli {
        n: numbers.map(|n| vectors(&digits(&n))),
        inverse: numbers.map(|n| {
            // Newton's iteration doubles the correct low bits of n⁻¹ each step: 1, 2, ... 64.
            let mut inverse = 1u64;
            for _ in 0..6 {
                inverse = inverse.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inverse)));
            }
            _mm512_set1_epi64((inverse.wrapping_neg() & MASK) as i64)
        }),
    };
    // 2^c R mod n for each window value c, R = 2^1040.
    let tables: [[Vectors; 1 << WINDOW]; BATCH] = numbers.map(|n| {
        // 2^1024 mod n is 2^1024 - n, since n > 2^1023; sixteen doublings make it R mod n.
        let mut power = super::negate(&n);
        for _ in 0..16 {
            power = super::double_mod(&power, &n);
        }
        std::array::from_fn(|_| {
            let entry = vectors(&digits(&power));
            power = super::double_mod(&power, &n);
            entry
        })
    });
    // The exponent n - 1, by windows from the top; its lowest window is the number's with
    // the bit 0 cleared.
    let window = |q: usize, w: usize| {
        let bit = w * WINDOW;
        ((numbers[q][bit / 64] >> (bit % 64)) & ((1 << WINDOW) - 1) & !u64::from(w == 0)) as usize
    };
    let windows = 1024 / WINDOW;
    let mut x: [Digits; BATCH] = std::array::from_fn(|q| array(&select(&tables[q], window(q, windows - 1))));
    for w in (0..windows - 1).rev() {
        for _ in 0..WINDOW {
            x = amm(&x, &x, &moduli);
        }
        let power: [Digits; BATCH] = std::array::from_fn(|q| array(&select(&tables[q], window(q, w))));
        x = amm(&x, &power, &moduli);
    }
    // Out of Montgomery form: x·1·R⁻¹.
    let mut one = [0u64; 24];
    one[0] = 1;
    let x = amm(&x, &[one; BATCH], &moduli);
    std::array::from_fn(|q| canonical(&undigits(&x[q]), &numbers[q]))
}

/// For each number q, a·b·R⁻¹ mod n, below 2n when a and b are.
#[target_feature(enable = "avx512f,avx512ifma")]
fn amm(a: &[Digits; BATCH], b: &[Digits; BATCH], moduli: &Moduli) -> [Digits; BATCH] {
    let zero = _mm512_setzero_si512();
    let a = a.map(|a| vectors(&a));
    let mut acc = [[zero; 3]; BATCH];
    #[expect(clippy::needless_range_loop, reason = "step i takes digit i of every number's b")]
    for i in 0..DIGITS {
        for (q, acc) in acc.iter_mut().enumerate() {
            let [mut x0, mut x1, mut x2] = *acc;
            let (a, n) = (&a[q], &moduli.n[q]);
            let digit = _mm512_set1_epi64(b[q][i] as i64);
            // a times the digit, which does not wait on the sum: the low halves now, the high
            // halves (one digit up) after the move down.
            x0 = _mm512_add_epi64(x0, _mm512_madd52lo_epu64(zero, a[0], digit));
            x1 = _mm512_add_epi64(x1, _mm512_madd52lo_epu64(zero, a[1], digit));
            x2 = _mm512_add_epi64(x2, _mm512_madd52lo_epu64(zero, a[2], digit));
            // The multiple k of n that clears the lowest digit, in every lane.
            let k = _mm512_madd52lo_epu64(zero, _mm512_broadcastq_epi64(_mm512_castsi512_si128(x0)), moduli.inverse[q]);
            x0 = _mm512_madd52lo_epu64(x0, n[0], k);
            x1 = _mm512_madd52lo_epu64(x1, n[1], k);
            x2 = _mm512_madd52lo_epu64(x2, n[2], k);
            let high = [0, 1, 2].map(|v| _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, a[v], digit), n[v], k));
            // The cleared digit's carry, and every lane one down.
            let carry = _mm512_maskz_mov_epi64(1, _mm512_srli_epi64::<52>(x0));
            x0 = _mm512_alignr_epi64::<1>(x1, x0);
            x1 = _mm512_alignr_epi64::<1>(x2, x1);
            x2 = _mm512_alignr_epi64::<1>(zero, x2);
            x0 = _mm512_add_epi64(_mm512_add_epi64(x0, carry), high[0]);
            x1 = _mm512_add_epi64(x1, high[1]);
            x2 = _mm512_add_epi64(x2, high[2]);
            *acc = [x0, x1, x2];
        }
    }
    acc.map(|v| {
        // Each lane holds a digit plus carries (below 2^59); pass the carries up.
        let mut out = array(&v);
        let mut carry = 0;
        for d in &mut out[..DIGITS] {
            let sum = *d + carry;
            *d = sum & MASK;
            carry = sum >> 52;
        }
        out
    })
}

/// `table[index]`, reading every entry, so the time does not depend on `index`.
#[target_feature(enable = "avx512f")]
fn select(table: &[Vectors; 1 << WINDOW], index: usize) -> Vectors {
    let zero = _mm512_setzero_si512();
    let mut out = [zero; 3];
    for (i, entry) in table.iter().enumerate() {
        let mask = u8::from(i == index).wrapping_neg();
        for (o, e) in out.iter_mut().zip(entry) {
            *o = _mm512_mask_mov_epi64(*o, mask, *e);
        }
    }
    out
}

fn vectors(d: &Digits) -> Vectors {
    std::array::from_fn(|v| {
        let lanes: [u64; 8] = std::array::from_fn(|k| d[8 * v + k]);
        zerocopy::transmute!(lanes)
    })
}

fn array(v: &Vectors) -> Digits {
    let lanes: [[u64; 8]; 3] = v.map(|v| zerocopy::transmute!(v));
    std::array::from_fn(|i| lanes[i / 8][i % 8])
}

/// 64-bit limbs, least significant first, as 52-bit digits.
fn digits(limbs: &[u64; 16]) -> Digits {
    std::array::from_fn(|j| {
        if j >= DIGITS {
            return 0;
        }
        let bit = 52 * j;
        let (limb, shift) = (bit / 64, bit % 64);
        let mut d = limbs[limb] >> shift;
        if shift > 12 && limb + 1 < 16 {
            d |= limbs[limb + 1] << (64 - shift);
        }
        d & MASK
    })
}

/// Digits below 2^1040 as seventeen 64-bit limbs.
fn undigits(d: &Digits) -> [u64; 17] {
    let mut out = [0u64; 17];
    for (j, &digit) in d[..DIGITS].iter().enumerate() {
        let bit = 52 * j;
        let (limb, shift) = (bit / 64, bit % 64);
        out[limb] |= digit << shift;
        if shift > 12 {
            out[limb + 1] |= digit >> (64 - shift);
        }
    }
    out
}

/// `x mod n` for `x` below 2n.
fn canonical(x: &[u64; 17], n: &[u64; 16]) -> [u64; 17] {
    let mut wide = [0u64; 17];
    wide[..16].copy_from_slice(n);
    let (diff, borrow) = super::sub(x, &wide);
    if borrow { *x } else { diff }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
    use crypto_bigint::{Odd, U1024};

    /// 2^(n-1) mod n by `crypto-bigint`, as 64-bit limbs.
    fn reference(n: &[u64; 16]) -> [u64; 17] {
        let modulus = U1024::from_words(*n);
        let params = FixedMontyParams::new_vartime(Odd::new(modulus).expect("odd"));
        let two = FixedMontyForm::new(&U1024::from(2u64), &params);
        let power = two.pow(&modulus.wrapping_sub(&U1024::ONE)).retrieve();
        let mut out = [0u64; 17];
        out[..16].copy_from_slice(&power.to_words());
        out
    }

    fn random_odd() -> [u64; 16] {
        let mut n = [0u64; 16];
        rand::fill(&mut n[..]);
        n[0] |= 1;
        n[15] |= 1 << 63;
        n
    }

    #[test]
    fn digits_round_trip() {
        let n = random_odd();
        let mut wide = [0u64; 17];
        wide[..16].copy_from_slice(&n);
        assert_eq!(undigits(&digits(&n)), wide);
    }

    /// The powers of 2 match `crypto-bigint`'s for random odd numbers, and a prime passes
    /// among composites.
    #[test]
    fn powers_of_two_match_crypto_bigint() {
        if !available() {
            eprintln!("this CPU has no AVX-512 IFMA: nothing to check");
            return;
        }
        for _ in 0..25 {
            let numbers: [[u64; 16]; BATCH] = std::array::from_fn(|_| random_odd());
            // SAFETY: the CPU has AVX-512 IFMA (checked above).
            let ours = unsafe { powers_of_two(&numbers) };
            for (q, n) in numbers.iter().enumerate() {
                assert_eq!(ours[q], reference(n), "number {q}");
            }
        }
        // The 1024-bit MODP group's prime (RFC 2409, Oakley group 2).
        let prime = U1024::from_be_hex(concat!(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
        ))
        .to_words();
        let mut composite = prime;
        composite[0] -= 2;
        let numbers: [[u64; 16]; BATCH] = std::array::from_fn(|q| [composite, prime, random_odd(), prime][q % 4]);
        let mut one = [0u64; 17];
        one[0] = 1;
        let expected = numbers.map(|n| reference(&n) == one);
        assert_eq!(expected[1..4], [true, false, true][..], "the reference tells the prime");
        assert_eq!(fermat_base_2(&numbers).expect("available"), expected);
    }
}
