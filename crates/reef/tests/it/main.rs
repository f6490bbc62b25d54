//! End-to-end tests of the reef binary.
