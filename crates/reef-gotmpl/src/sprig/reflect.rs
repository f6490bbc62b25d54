//! Type inspection: `typeOf`, `typeIs`, `typeIsLike`, `kindOf`, `kindIs`, `deepEqual`.

use crate::func::FuncMap;
use crate::value::Value;

use super::sig::{ANY, STR, fixed};
use super::{arg, deep_equal, str_arg};

pub(super) fn register(map: &mut FuncMap) {
    map.add("typeOf", fixed(&[ANY]), |a| Ok(Value::from(arg(a, 0).type_name())));
    map.add("typeIs", fixed(&[STR, ANY]), |a| Ok(Value::Bool(str_arg(a, 0) == arg(a, 1).type_name())));
    map.add("typeIsLike", fixed(&[STR, ANY]), |a| {
        let (target, t) = (str_arg(a, 0), arg(a, 1).type_name());
        Ok(Value::Bool(target == t || format!("*{target}") == t))
    });
    map.add("kindOf", fixed(&[ANY]), |a| Ok(Value::from(arg(a, 0).kind())));
    map.add("kindIs", fixed(&[STR, ANY]), |a| Ok(Value::Bool(str_arg(a, 0) == arg(a, 1).kind())));
    map.add("deepEqual", fixed(&[ANY, ANY]), |a| Ok(Value::Bool(deep_equal(arg(a, 0), arg(a, 1)))));
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::value::Value;

    #[test]
    fn types_and_kinds_are_gos() {
        assert_eq!(show("typeOf", &[Value::Nil]), "<nil>");
        assert_eq!(show("kindOf", &[Value::Nil]), "invalid");
        assert_eq!(show("kindOf", &[l(&[])]), "slice");
        assert_eq!(show("typeIs", &[s("int"), i(1)]), "true");
        assert_eq!(show("deepEqual", &[i(1), Value::Int64(1)]), "false");
        assert_eq!(show("deepEqual", &[l(&[i(1)]), l(&[i(1)])]), "true");
    }
}
