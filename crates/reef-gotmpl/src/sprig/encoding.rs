//! `b64enc`, `b64dec`, `b32enc`, `b32dec` with Go's standard (padded) alphabets. Decoding
//! errors are returned as the result text, as Sprig does. Strings are Go's bytes
//! ([`crate::go_string`]), so binary data goes through `b64dec` and `b64enc` unchanged.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::func::FuncMap;
use crate::go_string::{from_bytes, to_bytes};
use crate::value::Value;

use super::sig::{STR, fixed};
use super::str_arg;

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits accepted.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

pub(super) fn register(map: &mut FuncMap) {
    map.add("b64enc", fixed(&[STR]), |a| Ok(Value::from(GO_STD.encode(to_bytes(&str_arg(a, 0))))));
    map.add("b64dec", fixed(&[STR]), |a| {
        // Go skips newlines and carriage returns.
        let input: String = str_arg(a, 0).chars().filter(|c| *c != '\n' && *c != '\r').collect();
        Ok(Value::from(match GO_STD.decode(&input) {
            Ok(bytes) => from_bytes(&bytes).into_owned(),
            Err(e) => format!("illegal base64 data at input byte {}", error_offset(&e, &input)),
        }))
    });
    map.add("b32enc", fixed(&[STR]), |a| Ok(Value::from(data_encoding::BASE32.encode(&to_bytes(&str_arg(a, 0))))));
    map.add("b32dec", fixed(&[STR]), |a| {
        let input: String = str_arg(a, 0).chars().filter(|c| *c != '\n' && *c != '\r').collect();
        Ok(Value::from(match data_encoding::BASE32.decode(input.as_bytes()) {
            Ok(bytes) => from_bytes(&bytes).into_owned(),
            Err(e) => format!("illegal base32 data at input byte {}", e.position),
        }))
    });
}

/// Where Go reports a base64 error: the offending byte, or for a truncated input the start
/// of the incomplete quantum.
fn error_offset(e: &base64::DecodeError, input: &str) -> usize {
    match e {
        base64::DecodeError::InvalidByte(pos, _) => *pos,
        base64::DecodeError::InvalidLastSymbol(pos, _) => *pos,
        base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => input.len() / 4 * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn base64_and_base32_round_trip() {
        assert_eq!(show("b64enc", &[s("hello")]), "aGVsbG8=");
        assert_eq!(show("b64dec", &[s("aGVsbG8=")]), "hello");
        assert_eq!(show("b32enc", &[s("hello")]), "NBSWY3DP");
        assert_eq!(show("b32dec", &[s("NBSWY3DP")]), "hello");
    }
}
