//! `semver` and `semverCompare` (Masterminds/semver v3).

use crate::func::FuncMap;

pub(super) fn register(_map: &mut FuncMap) {}
