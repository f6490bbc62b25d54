//! DSA keys as Sprig's `genPrivateKey "dsa"` makes them: Go's `dsa.GenerateParameters` with
//! `L2048N256` (FIPS 186-3 sizes: a 2048-bit prime `p`, a 256-bit prime `q` dividing `p - 1`)
//! and `dsa.GenerateKey`, written as Sprig's `DSAKeyFormat` (the OpenSSL `DSA PRIVATE KEY`
//! layout: version 0, p, q, g, y, x).

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Integer as _, Limb, NonZero, Odd, Resize as _};
use crypto_primes::{Flavor, is_prime};

use super::certs::{der, der_integer};

const L_BITS: u32 = 2048;
const N_BITS: u32 = 256;

/// Products of the odd primes below 200, each fitting a 64-bit limb: a candidate that one of
/// them divides is skipped before the costly primality test.
const SMALL_PRIME_PRODUCTS: &[(u64, &[u64])] = &[
    (
        3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29 * 31 * 37 * 41 * 43 * 47,
        &[3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47],
    ),
    (53 * 59 * 61 * 67 * 71 * 73 * 79 * 83 * 89, &[53, 59, 61, 67, 71, 73, 79, 83, 89]),
    (97 * 101 * 103 * 107 * 109 * 113 * 127 * 131, &[97, 101, 103, 107, 109, 113, 127, 131]),
    (137 * 139 * 149 * 151 * 157 * 163 * 167 * 173, &[137, 139, 149, 151, 157, 163, 167, 173]),
    (179 * 181 * 191 * 193 * 197 * 199, &[179, 181, 191, 193, 197, 199]),
];

/// A DSA private key with its domain parameters.
pub(super) struct DsaKey {
    p: BoxedUint,
    q: BoxedUint,
    g: BoxedUint,
    y: BoxedUint,
    x: BoxedUint,
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::fill(bytes.as_mut_slice());
    bytes
}

/// Whether an odd small prime divides `n` (which is larger than all of them).
fn has_small_factor(n: &BoxedUint) -> bool {
    SMALL_PRIME_PRODUCTS.iter().any(|(product, primes)| {
        let divisor = NonZero::new(Limb(*product)).expect("a product of primes is not zero");
        let rem = n.rem_limb(divisor).0;
        primes.iter().any(|p| rem.is_multiple_of(*p))
    })
}

fn probably_prime(n: &BoxedUint) -> bool {
    n.is_odd().into() && !has_small_factor(n) && is_prime(Flavor::Any, n)
}

/// `base^exp mod modulus`, for an odd modulus.
fn pow_mod(base: &BoxedUint, exp: &BoxedUint, modulus: &Odd<BoxedUint>) -> BoxedUint {
    let params = BoxedMontyParams::new_vartime(modulus.clone());
    BoxedMontyForm::new(base.resize(modulus.bits_precision()), &params).pow(exp).retrieve()
}

/// Go's `dsa.GenerateParameters(params, rand.Reader, dsa.L2048N256)`: a random 256-bit prime
/// `q`, then up to `4 * L` random 2048-bit numbers moved down to the next `1 mod q` until one
/// is prime, then the generator `h^((p-1)/q) mod p` for the first `h >= 2` that is not 1.
fn generate_parameters() -> (BoxedUint, BoxedUint, BoxedUint) {
    let one = BoxedUint::one_with_precision(L_BITS);
    loop {
        let mut q_bytes = random_bytes((N_BITS / 8) as usize);
        q_bytes[0] |= 0x80;
        *q_bytes.last_mut().expect("q has bytes") |= 1;
        let q = BoxedUint::from_be_slice(&q_bytes, N_BITS).expect("q fits its precision");
        if !probably_prime(&q) {
            continue;
        }
        let q_nonzero = NonZero::new(q.clone()).expect("q has its top bit set");
        for _ in 0..4 * L_BITS {
            let mut p_bytes = random_bytes((L_BITS / 8) as usize);
            p_bytes[0] |= 0x80;
            *p_bytes.last_mut().expect("p has bytes") |= 1;
            let p = BoxedUint::from_be_slice(&p_bytes, L_BITS).expect("p fits its precision");
            // p - (p mod q - 1), so that p = 1 mod q
            let rem = p.rem(&q_nonzero).resize(L_BITS);
            let p = p.wrapping_sub(&rem).wrapping_add(&one);
            if p.bit_width() < L_BITS || !probably_prime(&p) {
                continue;
            }
            let p_odd = Odd::new(p.clone()).expect("a prime above 2 is odd");
            let e = p.wrapping_sub(&one).wrapping_div(&q_nonzero);
            let mut h = BoxedUint::from(2u8).resize(L_BITS);
            loop {
                let g = pow_mod(&h, &e, &p_odd);
                if g != one {
                    return (p, q, g);
                }
                h = h.wrapping_add(&one);
            }
        }
    }
}

impl DsaKey {
    /// Go's `dsa.GenerateParameters` then `dsa.GenerateKey`: `x` is a random nonzero number
    /// below `q` of `q`'s byte length, `y = g^x mod p`.
    pub(super) fn generate() -> DsaKey {
        let (p, q, g) = generate_parameters();
        let x = loop {
            let x = BoxedUint::from_be_slice(&random_bytes((N_BITS / 8) as usize), N_BITS).expect("x fits");
            if !bool::from(x.is_zero()) && x < q {
                break x;
            }
        };
        let p_odd = Odd::new(p.clone()).expect("p is an odd prime");
        let y = pow_mod(&g, &x, &p_odd);
        DsaKey { p, q, g, y, x }
    }

    /// Sprig's `DSAKeyFormat` in DER: `SEQUENCE { version 0, p, q, g, y, x }`.
    pub(super) fn der(&self) -> Vec<u8> {
        let ints = [&self.p, &self.q, &self.g, &self.y, &self.x].map(|n| der_integer(&n.to_be_bytes()));
        let mut body = der_integer(&[0]);
        for int in ints {
            body.extend(int);
        }
        der(0x30, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_factors_are_found() {
        assert!(has_small_factor(&BoxedUint::from(3u32 * 1_000_003)));
        assert!(has_small_factor(&BoxedUint::from(199u32 * 211)));
        assert!(!has_small_factor(&BoxedUint::from(211u32 * 223)));
    }

    #[test]
    fn a_generated_key_satisfies_the_dsa_relations() {
        let key = DsaKey::generate();
        assert_eq!(key.p.bit_width(), L_BITS);
        assert_eq!(key.q.bit_width(), N_BITS);
        let one = BoxedUint::one_with_precision(L_BITS);
        let q = NonZero::new(key.q.clone()).expect("q");
        // q divides p - 1
        assert!(bool::from(key.p.wrapping_sub(&one).rem(&q).is_zero()));
        let p = Odd::new(key.p.clone()).expect("p");
        // g has order q, and y = g^x
        assert_eq!(pow_mod(&key.g, &key.q, &p), one);
        assert_ne!(key.g, one);
        assert_eq!(pow_mod(&key.g, &key.x, &p), key.y);
        assert!(key.x < key.q);
        let der = key.der();
        assert_eq!(&der[..4], &[0x30, 0x82, ((der.len() - 4) >> 8) as u8, (der.len() - 4) as u8]);
    }
}
