//! Miller-Rabin rounds on five 1024-bit numbers at once (or on one number to five bases),
//! with AVX-512's 52-bit integer multiply-add (IFMA), which does eight 52-bit products per
//! instruction.
//!
//! A number is held as twenty 52-bit digits in three vectors of eight 64-bit lanes. The
//! Montgomery product is Gueron and Krasnov's "almost Montgomery multiplication": with
//! R = 2^1040 > 4n it keeps every value below 2n and never subtracts, so its time does not
//! depend on the values. Each step's chain (a digit's product, the reduction factor, the
//! reduction, the move down a digit) waits on the step before; five numbers go through the
//! steps together so that one number's chain overlaps the others'.
//!
//! A power of a base b is taken four bits of the exponent at a time, from a table of b's
//! first sixteen powers. A power of 2 needs no table: a bit at a time, a squaring and a
//! doubling, and the doubling is folded into the squaring's last pass. Nothing branches on
//! the exponent's bits or reads memory at an address they choose.

#![expect(unsafe_code, reason = "one call into the AVX-512 code, after checking that the CPU has AVX-512")]

use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_alignr_epi64, _mm512_and_si512, _mm512_broadcastq_epi64, _mm512_castsi512_si128,
    _mm512_cmpeq_epu64_mask, _mm512_cmpgt_epu64_mask, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64,
    _mm512_mask_add_epi64, _mm512_mask_mov_epi64, _mm512_maskz_mov_epi64, _mm512_set1_epi64, _mm512_setzero_si512,
    _mm512_srli_epi64,
};

/// 52-bit digits of a 1024-bit number (1040 bits).
const DIGITS: usize = 20;
const MASK: u64 = (1 << 52) - 1;
/// The exponent's bits taken at a time by [`power`]: a table of 16 powers per number.
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

/// For each of [`BATCH`] odd 1024-bit numbers n with the top bit set and a base b below n,
/// whether n is a strong probable prime to base b (one Miller-Rabin round): with
/// n - 1 = d·2^s and d odd, b^d ≡ 1 or b^(d·2^r) ≡ -1 (mod n) for some r < s. Every prime
/// is; of composites, a quarter of the bases at most pass. `None` when the CPU lacks AVX-512
/// IFMA.
pub(super) fn strong_probable_primes(
    numbers: &[[u64; 16]; BATCH],
    bases: &[[u64; 16]; BATCH],
) -> Option<[bool; BATCH]> {
    tests(numbers, Some(bases))
}

/// [`strong_probable_primes`] to base 2, which needs no table of the base's powers: a
/// multiplication by 2 is a doubling of the digits.
pub(super) fn strong_probable_primes_to_base_2(numbers: &[[u64; 16]; BATCH]) -> Option<[bool; BATCH]> {
    tests(numbers, None)
}

fn tests(numbers: &[[u64; 16]; BATCH], bases: Option<&[[u64; 16]; BATCH]>) -> Option<[bool; BATCH]> {
    if !available() {
        return None;
    }
    // SAFETY: `strong_tests` is compiled for AVX-512F and AVX-512 IFMA, which the CPU has
    // (checked just above). It does no other unsafe thing: its intrinsics are safe to call in
    // a function compiled for their features.
    Some(unsafe { strong_tests(numbers, bases) })
}

/// The moduli, ready for [`amm`], with the numbers every power needs.
struct Moduli {
    n: [Vectors; BATCH],
    /// -n⁻¹ mod 2^52, in every lane.
    inverse: [__m512i; BATCH],
    /// The numbers as 64-bit limbs.
    limbs: [[u64; 16]; BATCH],
    /// 1 in Montgomery form: R mod n, R = 2^1040.
    one: [[u64; 16]; BATCH],
}

impl Moduli {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(numbers: &[[u64; 16]; BATCH]) -> Moduli {
        Moduli {
            n: numbers.map(|n| vectors(&digits(&n))),
            inverse: numbers.map(|n| {
                // Newton's iteration doubles the correct low bits of n⁻¹ each step: 1, 2, ... 64.
                let mut inverse = 1u64;
                for _ in 0..6 {
                    inverse = inverse.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inverse)));
                }
                _mm512_set1_epi64((inverse.wrapping_neg() & MASK) as i64)
            }),
            limbs: *numbers,
            // 2^1024 mod n is 2^1024 - n, since n > 2^1023; sixteen doublings make it R mod n.
            one: numbers.map(|n| doublings(super::negate(&n), &n, 16)),
        }
    }

    /// b^c R mod n for each number's base b and each window value c.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn tables(&self, bases: &[[u64; 16]; BATCH]) -> [[Vectors; 1 << WINDOW]; BATCH] {
        // R² mod n, from 2^64 R by four Montgomery squarings (to 2^1024 R) and sixteen
        // doublings.
        let mut r2: [Digits; BATCH] = std::array::from_fn(|q| digits(&doublings(self.one[q], &self.limbs[q], 64)));
        for _ in 0..4 {
            r2 = amm(&r2, &r2, self);
        }
        let r2 = std::array::from_fn(|q| digits(&doublings(self.canonical(q, &r2[q]), &self.limbs[q], 16)));
        // bR = b·R²·R⁻¹, then each next power one multiplication on.
        let base = amm(&bases.map(|b| digits(&b)), &r2, self);
        let mut power: [Digits; BATCH] = self.one.map(|one| digits(&one));
        let mut tables = [[[_mm512_setzero_si512(); 3]; 1 << WINDOW]; BATCH];
        for c in 0..1 << WINDOW {
            for (table, power) in tables.iter_mut().zip(&power) {
                table[c] = vectors(power);
            }
            power = amm(&power, &base, self);
        }
        tables
    }

    /// `x` (below 4n) reduced below n, as 64-bit limbs.
    fn canonical(&self, q: usize, x: &Digits) -> [u64; 16] {
        let mut x = undigits(x);
        let mut n = [0u64; 17];
        n[..16].copy_from_slice(&self.limbs[q]);
        for _ in 0..3 {
            let (diff, borrow) = super::sub(&x, &n);
            if !borrow {
                x = diff;
            }
        }
        std::array::from_fn(|i| x[i])
    }
}

/// `x` doubled `times` times, mod n.
fn doublings(mut x: [u64; 16], n: &[u64; 16], times: usize) -> [u64; 16] {
    for _ in 0..times {
        x = super::double_mod(&x, n);
    }
    x
}

/// b^e R mod n for each number's table of b's powers and exponent e, below 2n.
#[target_feature(enable = "avx512f,avx512ifma")]
fn power(moduli: &Moduli, tables: &[[Vectors; 1 << WINDOW]; BATCH], exponents: &[[u64; 16]; BATCH]) -> [Digits; BATCH] {
    let window = |q: usize, w: usize| {
        let bit = w * WINDOW;
        ((exponents[q][bit / 64] >> (bit % 64)) & ((1 << WINDOW) - 1)) as usize
    };
    let windows = 1024 / WINDOW;
    let mut x: [Digits; BATCH] = std::array::from_fn(|q| array(&select(&tables[q], window(q, windows - 1))));
    for w in (0..windows - 1).rev() {
        for _ in 0..WINDOW {
            x = amm(&x, &x, moduli);
        }
        let power: [Digits; BATCH] = std::array::from_fn(|q| array(&select(&tables[q], window(q, w))));
        x = amm(&x, &power, moduli);
    }
    x
}

/// 2^e R mod n for each number's exponent e, below 4n: for each bit of e from the top, a
/// squaring and, if the bit is set, a doubling. With R > 2^16 n, a squaring of a number below
/// 4n is still below 2n.
#[target_feature(enable = "avx512f,avx512ifma")]
fn power_of_two(moduli: &Moduli, exponents: &[[u64; 16]; BATCH]) -> [Digits; BATCH] {
    let mut x: [Digits; BATCH] = moduli.one.map(|one| digits(&one));
    for bit in (0..1024).rev() {
        let double = exponents.map(|e| (((e[bit / 64] >> (bit % 64)) & 1) as u8).wrapping_neg());
        x = amm_doubling(&x, &x, moduli, double);
    }
    x
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn strong_tests(numbers: &[[u64; 16]; BATCH], bases: Option<&[[u64; 16]; BATCH]>) -> [bool; BATCH] {
    let moduli = Moduli::new(numbers);
    // n - 1 = d·2^s.
    let s = numbers.map(|n| {
        let mut m = n;
        m[0] &= !1;
        let limb = m.iter().position(|&l| l != 0).unwrap_or(15);
        64 * limb + m[limb].trailing_zeros() as usize
    });
    let d: [[u64; 16]; BATCH] = std::array::from_fn(|q| {
        let (n, s) = (&numbers[q], s[q]);
        let (limbs, bits) = (s / 64, s % 64);
        let limb = |i: usize| n.get(i + limbs).copied().unwrap_or(0);
        std::array::from_fn(|i| match bits {
            0 => limb(i),
            _ => (limb(i) >> bits) | (limb(i + 1) << (64 - bits)),
        })
    });
    let minus_one: [[u64; 16]; BATCH] = std::array::from_fn(|q| super::sub(&numbers[q], &moduli.one[q]).0);
    let mut x = match bases {
        Some(bases) => power(&moduli, &moduli.tables(bases), &d),
        None => power_of_two(&moduli, &d),
    };
    // Decided: Some(whether it passed).
    let mut verdict: [Option<bool>; BATCH] = std::array::from_fn(|q| {
        let x = moduli.canonical(q, &x[q]);
        (x == moduli.one[q] || x == minus_one[q]).then_some(true)
    });
    for r in 1..s.iter().copied().max().unwrap_or(0) {
        x = amm(&x, &x, &moduli);
        for q in 0..BATCH {
            if verdict[q].is_none() && r < s[q] {
                let x = moduli.canonical(q, &x[q]);
                if x == minus_one[q] {
                    verdict[q] = Some(true);
                } else if x == moduli.one[q] {
                    verdict[q] = Some(false);
                }
            }
        }
    }
    verdict.map(|v| v.unwrap_or(false))
}

/// For each number q, a·b·R⁻¹ mod n, below 2n when a and b are.
#[target_feature(enable = "avx512f,avx512ifma")]
fn amm(a: &[Digits; BATCH], b: &[Digits; BATCH], moduli: &Moduli) -> [Digits; BATCH] {
    amm_doubling(a, b, moduli, [0; BATCH])
}

/// [`amm`], doubled for the numbers whose `double` mask is all ones (the lanes, below 2^60,
/// have room), below 4n then.
#[target_feature(enable = "avx512f,avx512ifma")]
fn amm_doubling(a: &[Digits; BATCH], b: &[Digits; BATCH], moduli: &Moduli, double: [u8; BATCH]) -> [Digits; BATCH] {
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
            x1 = _mm512_madd52lo_epu64(x1, a[1], digit);
            x2 = _mm512_madd52lo_epu64(x2, a[2], digit);
            // The multiple k of n that clears the lowest digit, in every lane.
            let k = _mm512_madd52lo_epu64(zero, _mm512_broadcastq_epi64(_mm512_castsi512_si128(x0)), moduli.inverse[q]);
            x0 = _mm512_madd52lo_epu64(x0, n[0], k);
            x1 = _mm512_madd52lo_epu64(x1, n[1], k);
            x2 = _mm512_madd52lo_epu64(x2, n[2], k);
            let high = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, a[0], digit), n[0], k);
            // The cleared digit's carry, and every lane one down.
            let carry = _mm512_maskz_mov_epi64(1, _mm512_srli_epi64::<52>(x0));
            x0 = _mm512_alignr_epi64::<1>(x1, x0);
            x1 = _mm512_alignr_epi64::<1>(x2, x1);
            x2 = _mm512_alignr_epi64::<1>(zero, x2);
            x0 = _mm512_add_epi64(_mm512_add_epi64(x0, carry), high);
            x1 = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(x1, a[1], digit), n[1], k);
            x2 = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(x2, a[2], digit), n[2], k);
            *acc = [x0, x1, x2];
        }
    }
    std::array::from_fn(|q| array(&normalize(acc[q].map(|v| _mm512_mask_add_epi64(v, double[q], v, v)))))
}

/// Digits from lanes that hold a digit plus carries of any size, in the vectors: each
/// lane's carries go to the next lane, then the carries of one that this makes ripple up
/// all at once, as a binary addition of lane masks.
#[target_feature(enable = "avx512f")]
fn normalize([x0, x1, x2]: Vectors) -> Vectors {
    let (zero, mask) = (_mm512_setzero_si512(), _mm512_set1_epi64(MASK as i64));
    let [h0, h1, h2] = [x0, x1, x2].map(|x| _mm512_srli_epi64::<52>(x));
    let y = [
        _mm512_add_epi64(_mm512_and_si512(x0, mask), _mm512_alignr_epi64::<7>(h0, zero)),
        _mm512_add_epi64(_mm512_and_si512(x1, mask), _mm512_alignr_epi64::<7>(h1, h0)),
        _mm512_add_epi64(_mm512_and_si512(x2, mask), _mm512_alignr_epi64::<7>(h2, h1)),
    ];
    // Each lane is now below 2^52 + 2^12: it carries one at most. Lanes at 2^52 or more
    // make a carry; lanes of 2^52 - 1 pass one on.
    let lanes = |m: [u8; 3]| u32::from(m[0]) | u32::from(m[1]) << 8 | u32::from(m[2]) << 16;
    let makes = lanes(y.map(|y| _mm512_cmpgt_epu64_mask(y, mask)));
    let passes = lanes(y.map(|y| _mm512_cmpeq_epu64_mask(y, mask)));
    let takes = ((makes << 1).wrapping_add(passes)) ^ passes;
    let one = _mm512_set1_epi64(1);
    std::array::from_fn(|v| {
        let take = (takes >> (8 * v)) as u8;
        _mm512_and_si512(_mm512_mask_add_epi64(y[v], take, y[v], one), mask)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
    use crypto_bigint::{ConcatenatingMul as _, Odd, U1024};
    use crypto_primes::hazmat::MillerRabin;

    fn random_odd() -> [u64; 16] {
        let mut n = [0u64; 16];
        rand::fill(&mut n[..]);
        n[0] |= 1;
        n[15] |= 1 << 63;
        n
    }

    /// A random number below 2^1023, so below any of the numbers here.
    fn random_base() -> [u64; 16] {
        let mut b = [0u64; 16];
        rand::fill(&mut b[..]);
        b[15] >>= 1;
        b
    }

    /// The 1024-bit MODP group's prime (RFC 2409, Oakley group 2).
    fn modp_prime() -> [u64; 16] {
        U1024::from_be_hex(concat!(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD",
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
        ))
        .to_words()
    }

    #[test]
    fn digits_round_trip() {
        let n = random_odd();
        let mut wide = [0u64; 17];
        wide[..16].copy_from_slice(&n);
        assert_eq!(undigits(&digits(&n)), wide);
    }

    /// Carries pass through lanes that are full (2^52 - 1) as a chain of additions would
    /// pass them, including where one lane's carry ripples through several.
    #[test]
    fn normalizing_passes_carries_up() {
        if !available() {
            eprintln!("this CPU has no AVX-512 IFMA: nothing to check");
            return;
        }
        let reference = |lanes: &Digits| {
            let mut out = *lanes;
            let mut carry = 0;
            for d in &mut out {
                let sum = *d + carry;
                *d = sum & MASK;
                carry = sum >> 52;
            }
            out
        };
        let mut cases = vec![];
        // 2^52 in lane 0 ripples through full lanes 1 to 9 (across the first vector's end).
        let mut ripple = [0u64; 24];
        ripple[0] = 1 << 52;
        ripple[1..10].fill(MASK);
        ripple[10] = 5;
        cases.push(ripple);
        for _ in 0..200 {
            let mut lanes = [0u64; 24];
            for lane in &mut lanes[..DIGITS] {
                // Full lanes, full lanes with carries, and any value.
                *lane = match rand::random::<u8>() % 4 {
                    0 => MASK,
                    1 => (u64::from(rand::random::<u8>() >> 1) << 52) | MASK,
                    _ => rand::random::<u64>(),
                };
            }
            cases.push(lanes);
        }
        for lanes in cases {
            // SAFETY: the CPU has AVX-512 (checked above).
            let ours = unsafe { array(&normalize(vectors(&lanes))) };
            assert_eq!(ours, reference(&lanes), "{lanes:x?}");
        }
    }

    /// b^e mod n, for random odd n, bases and exponents, and 2^e mod n match `crypto-bigint`'s.
    #[test]
    fn powers_match_crypto_bigint() {
        if !available() {
            eprintln!("this CPU has no AVX-512 IFMA: nothing to check");
            return;
        }
        for _ in 0..10 {
            let numbers: [[u64; 16]; BATCH] = std::array::from_fn(|_| random_odd());
            let bases: [[u64; 16]; BATCH] = std::array::from_fn(|_| random_base());
            let exponents: [[u64; 16]; BATCH] = std::array::from_fn(|_| random_odd());
            let mut two = [0u64; 16];
            two[0] = 2;
            // SAFETY: the CPU has AVX-512 IFMA (checked above).
            let (ours, ours_of_two) = unsafe {
                let moduli = Moduli::new(&numbers);
                let mut one = [0u64; 24];
                one[0] = 1;
                let plain = |x: [Digits; BATCH]| {
                    let x = amm(&x, &[one; BATCH], &moduli);
                    std::array::from_fn::<_, BATCH, _>(|q| moduli.canonical(q, &x[q]))
                };
                (plain(power(&moduli, &moduli.tables(&bases), &exponents)), plain(power_of_two(&moduli, &exponents)))
            };
            for q in 0..BATCH {
                let params = FixedMontyParams::new_vartime(Odd::new(U1024::from_words(numbers[q])).expect("odd"));
                let exponent = U1024::from_words(exponents[q]);
                let base = FixedMontyForm::new(&U1024::from_words(bases[q]), &params);
                assert_eq!(ours[q], base.pow(&exponent).retrieve().to_words(), "number {q}");
                let two = FixedMontyForm::new(&U1024::from_words(two), &params);
                assert_eq!(ours_of_two[q], two.pow(&exponent).retrieve().to_words(), "number {q}, base 2");
            }
        }
    }

    /// The strong test agrees with `crypto-primes`' Miller-Rabin round, on primes (with
    /// random bases, so that both the first power and the squarings after it decide) and on
    /// composites: random odd numbers, and a product of two primes, which has no small factor.
    #[test]
    fn strong_tests_agree_with_crypto_primes() {
        if !available() {
            eprintln!("this CPU has no AVX-512 IFMA: nothing to check");
            return;
        }
        let (p, q) = super::super::two_primes(512).expect("512-bit primes");
        let product: [u64; 16] = std::array::from_fn(|i| {
            let words = p.concatenating_mul(&q).to_words();
            words.get(i).copied().unwrap_or(0)
        });
        // Primes found by `crypto-primes` alone, with n ≡ 1 (mod 8), so that s ≥ 3 and the
        // squarings after the first power decide for most bases.
        let mut primes = vec![modp_prime()];
        while primes.len() < 4 {
            let mut n = random_odd();
            n[0] = (n[0] & !7) | 1;
            let mut n = U1024::from_words(n);
            while !crypto_primes::is_prime(crypto_primes::Flavor::Any, &n) {
                n = n.wrapping_add(&U1024::from(8u64));
            }
            primes.push(n.to_words());
        }
        let mut passed = 0;
        for n in primes.iter().chain([product, random_odd(), random_odd()].iter()) {
            let mut two = [0u64; 16];
            two[0] = 2;
            let bases: [[u64; 16]; BATCH] = std::array::from_fn(|i| if i == 0 { two } else { random_base() });
            let ours = strong_probable_primes(&[*n; BATCH], &bases).expect("available");
            let mr = MillerRabin::new(Odd::new(U1024::from_words(*n)).expect("odd"));
            let to_base_2 = strong_probable_primes_to_base_2(&[*n; BATCH]).expect("available");
            assert_eq!(to_base_2, [mr.test_base_two().is_probably_prime(); BATCH], "base 2 of {n:x?}");
            for (i, base) in bases.iter().enumerate() {
                let expected = mr.test(&U1024::from_words(*base)).is_probably_prime();
                assert_eq!(ours[i], expected, "base {i} of {n:x?}");
                passed += usize::from(ours[i]);
            }
        }
        assert_eq!(passed, primes.len() * BATCH, "every prime passes with every base, no composite does");
    }
}
