//! Fixture charts (tests/fixtures/charts) rendered with the arguments in
//! tests/fixtures/cases.txt; tests/fixtures/expected/CASE.out holds what helm 4.2.3 printed
//! (regenerate with scripts/helm-fixtures-gen).

use super::{Outcome, crate_dir, first_difference, reef};

/// Reads an expected output file: `exit CODE`, helm's stdout, then (on failure) a line
/// `--- error` and the message helm printed after `Error: `.
fn expected(text: &str) -> Outcome {
    let body = text.split_once('\n').map_or("", |(_, rest)| rest);
    let split = if body.starts_with("--- error\n") { Some(0) } else { body.find("\n--- error\n").map(|i| i + 1) };
    match split {
        Some(i) => Outcome {
            stdout: body[..i].to_owned(),
            error: Some(body[i + "--- error\n".len()..].trim_end_matches('\n').to_owned()),
        },
        None => Outcome { stdout: body.to_owned(), error: None },
    }
}

#[test]
fn fixture_charts_render_as_helm_renders_them() {
    let dir = crate_dir().join("tests/fixtures");
    let cases = std::fs::read_to_string(dir.join("cases.txt")).expect("reading cases.txt");
    let mut failures = Vec::new();
    let mut count = 0;
    for line in cases.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (name, args) = line.split_once(':').expect("NAME: ARGS");
        let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
        let want = expected(
            &std::fs::read_to_string(dir.join(format!("expected/{}.out", name.trim()))).expect("expected output"),
        );
        let got = reef(&args, &dir.join("charts"));
        count += 1;
        if got != want {
            let detail = if got.error != want.error {
                format!("helm error: {:?}\nreef error: {:?}", want.error, got.error)
            } else {
                first_difference(&want.stdout, &got.stdout)
            };
            failures.push(format!("{}: {detail}", name.trim()));
        }
    }
    assert!(count > 0, "no fixture cases");
    assert!(
        failures.is_empty(),
        "{} of {count} fixture cases differ from helm:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
