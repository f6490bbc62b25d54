//! Names that users choose, parsed once at the boundary so that the rest of reef can rely on
//! their shape (length, characters) without checking again.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A name that breaks its kind's rules. The message says what the rule is, never more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} name: {rule}")]
pub struct InvalidName {
    /// What was being named ("organization", "secret", ...).
    pub kind: &'static str,
    /// The rule that the name breaks.
    pub rule: &'static str,
}

fn dns_label(s: &str, kind: &'static str) -> Result<(), InvalidName> {
    const RULE: &str = "1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit";
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok { Ok(()) } else { Err(InvalidName { kind, rule: RULE }) }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a name, saying which rule it breaks if it is not valid.
            pub fn parse(s: impl Into<String>) -> Result<Self, InvalidName> {
                let s = s.into();
                let check: fn(&str) -> Result<(), InvalidName> = $check;
                check(&s)?;
                Ok(Self(s))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// An organization's name: a DNS label, since it appears in URLs and, later, in cloud
    /// resource tags and Kubernetes labels.
    OrgName,
    "organization",
    |s| dns_label(s, "organization")
);

name_type!(
    /// A user's login name: 1 to 64 of lowercase letters, digits, '.', '_', '-' and '@'.
    UserName,
    "user",
    |s| {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@')
            });
        if ok {
            Ok(())
        } else {
            Err(InvalidName {
                kind: "user",
                rule: "1 to 64 lowercase letters, digits, '.', '_', '-' or '@'",
            })
        }
    }
);

name_type!(
    /// A secret's name, unique within its organization. It can become a Kubernetes Secret's
    /// name, so it follows the DNS subdomain rule: 1 to 253 lowercase letters, digits, '-'
    /// and '.', starting and ending with a letter or digit.
    SecretName,
    "secret",
    |s| {
        let ok = !s.is_empty()
            && s.len() <= 253
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(())
        } else {
            Err(InvalidName {
                kind: "secret",
                rule: "1 to 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
            })
        }
    }
);

name_type!(
    /// A label a user gives an API token, to recognise it in a list: 1 to 100 printable
    /// characters.
    TokenName,
    "token",
    |s| {
        let ok = !s.trim().is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control);
        if ok {
            Ok(())
        } else {
            Err(InvalidName { kind: "token", rule: "1 to 100 printable characters" })
        }
    }
);

name_type!(
    /// A cluster's name, unique among an organization's clusters that are not deleted. It
    /// becomes part of cloud resource names and tags, and of kubeconfig context names: a DNS
    /// label.
    ClusterName,
    "cluster",
    |s| dns_label(s, "cluster")
);

name_type!(
    /// A node pool's name, unique within its cluster; it becomes a node label value: a DNS
    /// label.
    NodePoolName,
    "node pool",
    |s| dns_label(s, "node pool")
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_follow_the_dns_label_rule() {
        assert!(OrgName::parse("default").is_ok());
        assert!(OrgName::parse("team-42").is_ok());
        for bad in ["", "-a", "a-", "Upper", "a_b", &"a".repeat(64)] {
            assert!(OrgName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn secret_names_may_contain_dots_but_not_start_with_one() {
        assert!(SecretName::parse("aws.prod-1").is_ok());
        assert!(SecretName::parse(".hidden").is_err());
        assert!(SecretName::parse("with space").is_err());
    }

    #[test]
    fn names_reject_invalid_input_when_deserialized() {
        let err = serde_json::from_str::<OrgName>("\"Bad Name\"").unwrap_err();
        assert!(err.to_string().contains("invalid organization name"), "{err}");
    }

    #[test]
    fn token_names_reject_control_characters() {
        assert!(TokenName::parse("ci on laptop").is_ok());
        assert!(TokenName::parse("a\nb").is_err());
        assert!(TokenName::parse("   ").is_err());
    }
}
