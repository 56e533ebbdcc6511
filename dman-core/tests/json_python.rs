//! `dman_core::json` against Python's own `json` module, byte for byte.
//!
//! Runs `tests/json_python.py` with the project's Python
//! (`dman_test_support::python`) once with every document in one
//! batch: Python reads what we wrote and writes it again (which must give
//! our bytes exactly), and writes random documents of its own (which must
//! parse here to the values Python meant). Python is required: if it cannot
//! be started the test fails rather than skip, since this is the test that
//! holds the file format to the contract.

use std::io::Write;
use std::process::Stdio;

use dman_core::json::{self, Map, Value};
use dman_test_support::python;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const PYTHON_SEED: u64 = 20240611;
const PYTHON_COUNT: usize = 400;

/// Equality that holds for NaN and tells `0.0` from `-0.0`: the bits count.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .zip(ys)
                    .all(|((kx, x), (ky, y))| kx == ky && same(x, y))
        }
        _ => a == b,
    }
}

fn arb_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        any::<f64>(),
        (-1e6f64..1e6),
        (-330i32..310, 1u32..100_000)
            .prop_map(|(e, m)| { format!("{m}e{e}").parse::<f64>().unwrap_or(0.0) }),
        (-1074i32..1024).prop_map(|e| 2f64.powi(e)),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f-\\u{ff}\"\\\\/]{0,12}",
        "[ -~]{0,12}",
        "[\\u{100}-\\u{d7ff}\\u{e000}-\\u{ffff}\\u{10000}-\\u{10ffff}]{0,6}",
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1000i64..1000).prop_map(Value::Int),
        ((1u64 << 63)..=u64::MAX).prop_map(Value::UInt),
        arb_float().prop_map(Value::Float),
        arb_float().prop_map(Value::Float),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 80, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((arb_string(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Documents for Python to read back: proptest's random values, and
/// systematic sweeps of the float and string edge cases.
fn our_documents() -> Vec<Value> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = arb_value();
    let mut docs: Vec<Value> = (0..400)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a value")
                .current()
        })
        .collect();

    let mut powers = Vec::new();
    for e in -330..=310 {
        for m in ["1", "1.5", "9.999999999999999", "2.2250738585072014", "4.9"] {
            if let Ok(f) = format!("{m}e{e}").parse::<f64>() {
                powers.push(Value::Float(f));
                powers.push(Value::Float(-f));
            }
        }
    }
    docs.push(Value::Array(powers));

    // Random bit patterns: every exponent, NaNs with payloads, subnormals.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut bits = Vec::new();
    for _ in 0..20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bits.push(Value::Float(f64::from_bits(state)));
        bits.push(Value::Float(f64::from_bits(state >> 12))); // subnormal
    }
    docs.push(Value::Array(bits));

    let edges = [
        0.0,
        -0.0,
        1.0,
        0.1,
        0.0001,
        0.00009999999999999999,
        1e-05,
        1e15,
        1e16,
        9999999999999998.0,
        1234567890123456.0,
        12345678901234567.0,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740993.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    docs.push(edges.iter().map(|&f| Value::Float(f)).collect());

    let all_low: String = (0u32..0x800).filter_map(char::from_u32).collect();
    let astral: String = (0x10000u32..0x110000)
        .step_by(0x3F1)
        .filter_map(char::from_u32)
        .collect();
    let mut map = Map::new();
    map.insert(all_low.clone(), Value::from(astral.clone()));
    map.insert(astral, Value::from(all_low));
    map.insert(
        "\u{ffff}\u{fffe}\u{e000}\u{d7ff}\u{feff}".into(),
        Value::from(vec![
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::UInt(u64::MAX),
            Value::UInt(1 << 63),
        ]),
    );
    docs.push(Value::Object(map));

    // Nesting and empties at every level.
    let mut nested = Value::Array(vec![]);
    for i in 0..40 {
        let mut m = Map::new();
        m.insert(format!("k{i}"), nested);
        m.insert("e".into(), Value::Object(Map::new()));
        nested = Value::Array(vec![Value::Object(m), Value::Array(vec![])]);
    }
    docs.push(nested);
    for scalar in [
        Value::Null,
        Value::Bool(true),
        Value::from(""),
        Value::Int(0),
    ] {
        docs.push(scalar);
    }
    docs
}

/// What Python printed: `typed` (see json_python.py) into a `Value`.
fn from_typed(t: &serde_json::Value) -> Value {
    let parts = t.as_array().expect("typed value is a list");
    let tag = parts[0].as_str().expect("typed tag");
    match tag {
        "null" => Value::Null,
        "bool" => Value::Bool(parts[1].as_bool().expect("bool")),
        "int" => {
            let text = parts[1].as_str().expect("int text");
            match text.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::UInt(text.parse().expect("int in u64")),
            }
        }
        "float" => {
            let hex = parts[1].as_str().expect("float bits");
            Value::Float(f64::from_bits(
                u64::from_str_radix(hex, 16).expect("hex bits"),
            ))
        }
        "str" => Value::from(parts[1].as_str().expect("str")),
        "list" => Value::Array(
            parts[1]
                .as_array()
                .expect("list items")
                .iter()
                .map(from_typed)
                .collect(),
        ),
        "dict" => Value::Object(
            parts[1]
                .as_array()
                .expect("dict items")
                .iter()
                .map(|pair| {
                    let key = pair[0].as_str().expect("key").to_owned();
                    (key, from_typed(&pair[1]))
                })
                .collect(),
        ),
        other => panic!("unknown typed tag {other:?}"),
    }
}

fn run_python(docs: &[Value]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/json_python.py");
    let mut child = python::command()
        .arg(script)
        .arg(PYTHON_SEED.to_string())
        .arg(PYTHON_COUNT.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start Python, which this test needs as the reference: {e}")
        });
    let mut input = String::new();
    for doc in docs {
        // One document per line: the pretty text, framed as a JSON string.
        input.push_str(&serde_json::to_string(&json::to_string_pretty(doc)).expect("frame"));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("Python's stdin");
    // Written from a thread so that a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("wait for Python");
    writer
        .join()
        .expect("stdin writer thread")
        .expect("write to Python");
    assert!(
        output.status.success(),
        "python {script} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("Python prints ASCII")
        .lines()
        .map(|line| serde_json::from_str(line).expect("Python prints JSON lines"))
        .collect()
}

fn short(text: &str) -> String {
    if text.len() > 600 {
        let mut end = 600;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &text[..end], text.len())
    } else {
        text.to_owned()
    }
}

#[test]
fn byte_for_byte_with_python() {
    let docs = our_documents();
    let lines = run_python(&docs);
    assert_eq!(
        lines.len(),
        docs.len() + PYTHON_COUNT,
        "Python printed an unexpected number of lines"
    );
    let mut failures = Vec::new();

    for (doc, line) in docs.iter().zip(&lines) {
        assert_eq!(line[0], "echo");
        let python_pretty = line[1].as_str().expect("pretty text");
        let python_compact = line[2].as_str().expect("compact text");
        let ours = json::to_string_pretty(doc);
        if ours != python_pretty {
            failures.push(format!(
                "pretty differs\n ours:   {}\n python: {}",
                short(&ours),
                short(python_pretty)
            ));
        }
        let ours = json::to_string_compact(doc);
        if ours != python_compact {
            failures.push(format!(
                "compact differs\n ours:   {}\n python: {}",
                short(&ours),
                short(python_compact)
            ));
        }
        match json::from_str(python_pretty) {
            Ok(parsed) if same(&parsed, doc) => {}
            other => failures.push(format!(
                "Python's rewrite of our document reads back differently: {}\n got: {:?}",
                short(python_pretty),
                other.map(|v| short(&json::to_string_compact(&v)))
            )),
        }
    }

    let mut kinds = [0usize; 3];
    for line in &lines[docs.len()..] {
        assert_eq!(line[0], "gen");
        let python_doc = line[1].as_str().expect("document");
        let expected = from_typed(&line[2]);
        match &expected {
            Value::Array(_) => kinds[0] += 1,
            Value::Object(_) => kinds[1] += 1,
            _ => kinds[2] += 1,
        }
        match json::from_slice(python_doc.as_bytes()) {
            Ok(parsed) if same(&parsed, &expected) => {
                let rewritten = json::to_string_pretty(&parsed);
                if rewritten != python_doc {
                    failures.push(format!(
                        "Python's document is written back differently\n ours:   {}\n python: {}",
                        short(&rewritten),
                        short(python_doc)
                    ));
                }
            }
            other => failures.push(format!(
                "Python's document reads differently: {}\n got: {:?}",
                short(python_doc),
                other.map(|v| short(&json::to_string_compact(&v)))
            )),
        }
    }
    assert!(
        kinds.iter().all(|&n| n > 20),
        "Python generated too narrow a mix: {kinds:?}"
    );

    assert!(
        failures.is_empty(),
        "{} mismatches with Python; the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// What Python accepts and we refuse (lone surrogates) or keep as written
/// (big integers): shown so that a change of behaviour on either side is
/// noticed.
#[test]
fn python_extensions_we_refuse() {
    let script = r#"
import json
for doc in ['"\\ud800"', '123456789012345678901234567890', '[1, 2]']:
    print(repr(json.loads(doc)))
"#;
    let output = python::command()
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| panic!("cannot start Python: {e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "'\\ud800'\n123456789012345678901234567890\n[1, 2]\n"
    );
    assert!(json::from_str("\"\\ud800\"").is_err());
    // A big integer is no longer refused: kept as its digits, written back.
    let big = json::from_str("123456789012345678901234567890").expect("big integer");
    assert_eq!(
        big,
        json::Value::BigInt("123456789012345678901234567890".into())
    );
    assert_eq!(big.to_string(), "123456789012345678901234567890");
    assert!(json::from_str("[1, 2]").is_ok());
}
