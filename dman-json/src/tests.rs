//! The rules of the module, one test each; `tests/json_python.rs` checks
//! the same against Python itself.

use super::*;
use proptest::prelude::*;

fn pretty(text: &str) -> String {
    to_string_pretty(&from_str(text).expect("test input parses"))
}

fn float(f: f64) -> String {
    to_string_pretty(&Value::Float(f))
}

fn err(text: &str) -> JsonError {
    from_str(text).expect_err("test input must be refused")
}

// ---- floats ----

#[test]
fn floats_as_python_repr() {
    let cases: &[(f64, &str)] = &[
        (0.1, "0.1"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (0.00012, "0.00012"),
        (1.5e-5, "1.5e-05"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (1e15, "1000000000000000.0"),
        (1234567890123456.0, "1234567890123456.0"),
        (9999999999999998.0, "9999999999999998.0"),
        (12345678901234567.0, "1.2345678901234568e+16"),
        (123456789.0, "123456789.0"),
        (100.0, "100.0"),
        (1.0, "1.0"),
        (-2.5, "-2.5"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (5e-324, "5e-324"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-1.7976931348623157e308, "-1.7976931348623157e+308"),
        (1e22, "1e+22"),
        (1e23, "1e+23"),
        (1e100, "1e+100"),
        (1.25e-100, "1.25e-100"),
        (0.3, "0.3"),
        (0.1 + 0.2, "0.30000000000000004"),
        (2.0f64.powi(60), "1.152921504606847e+18"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ];
    for &(f, expected) in cases {
        assert_eq!(float(f), expected, "formatting {f:?}");
    }
}

#[test]
fn floats_parse_back_exactly() {
    for text in [
        "0.1",
        "1e-05",
        "1e+16",
        "5e-324",
        "1.7976931348623157e+308",
        "-0.0",
    ] {
        let v = from_str(text).unwrap();
        assert_eq!(to_string_pretty(&v), text);
    }
    assert!(matches!(from_str("-0.0"), Ok(Value::Float(f)) if f == 0.0 && f.is_sign_negative()));
    assert!(matches!(from_str("NaN"), Ok(Value::Float(f)) if f.is_nan()));
    assert_eq!(from_str("Infinity"), Ok(Value::Float(f64::INFINITY)));
    assert_eq!(from_str("-Infinity"), Ok(Value::Float(f64::NEG_INFINITY)));
    assert_eq!(from_str("1E5"), Ok(Value::Float(100000.0)));
    assert_eq!(from_str("0.5e1"), Ok(Value::Float(5.0)));
    assert_eq!(from_str("1e400"), Ok(Value::Float(f64::INFINITY)));
    assert_eq!(from_str("-1e400"), Ok(Value::Float(f64::NEG_INFINITY)));
    assert_eq!(from_str("1e-400"), Ok(Value::Float(0.0)));
    // Correct rounding on a long mantissa (the halfway case of 2^53 + 1).
    assert_eq!(
        from_str("9007199254740993.0"),
        Ok(Value::Float(9007199254740992.0))
    );
}

#[test]
fn compact_float_arrays() {
    let v = Value::from(vec![1.0, 2.0, 0.5]);
    assert_eq!(to_string_compact(&v), "[1.0, 2.0, 0.5]");
    assert_eq!(v.to_string(), "[1.0, 2.0, 0.5]");
}

// ---- integers ----

#[test]
fn integer_ranges() {
    assert_eq!(from_str("0"), Ok(Value::Int(0)));
    assert_eq!(from_str("-0"), Ok(Value::Int(0)));
    assert_eq!(from_str("-9223372036854775808"), Ok(Value::Int(i64::MIN)));
    assert_eq!(from_str("9223372036854775807"), Ok(Value::Int(i64::MAX)));
    assert_eq!(from_str("9223372036854775808"), Ok(Value::UInt(1 << 63)));
    assert_eq!(from_str("18446744073709551615"), Ok(Value::UInt(u64::MAX)));
    // Python writes integers of any size: kept as digits, written back.
    assert_eq!(
        from_str("18446744073709551616"),
        Ok(Value::BigInt("18446744073709551616".into()))
    );
    assert_eq!(
        from_str("-9223372036854775809"),
        Ok(Value::BigInt("-9223372036854775809".into()))
    );
    assert_eq!(
        pretty("[1180591620717411303424]"),
        "[\n    1180591620717411303424\n]"
    );
    let long = "9".repeat(5000);
    assert_eq!(from_str(&long), Ok(Value::BigInt(long.clone())));
    // No Rust integer reads one; the message stays short.
    let e = from_value::<u64>(&Value::BigInt(long)).expect_err("too large");
    assert!(e.to_string().contains("too large"), "{e}");
    assert!(e.to_string().len() < 300, "{e}");
    assert_eq!(
        pretty("[-9223372036854775808, 18446744073709551615]"),
        "[\n    -9223372036854775808,\n    18446744073709551615\n]"
    );
}

// ---- strings ----

#[test]
fn string_escapes_as_ensure_ascii() {
    let s = "q\"b\\s/\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}\u{80}é\u{ffff}😀~ ";
    assert_eq!(
        to_string_pretty(&Value::from(s)),
        r#""q\"b\\s/\n\r\t\b\f\u0000\u001f\u007f\u0080\u00e9\uffff\ud83d\ude00~ ""#
    );
    assert_eq!(
        from_str(&to_string_pretty(&Value::from(s))),
        Ok(Value::from(s))
    );
}

#[test]
fn string_escapes_read() {
    assert_eq!(
        from_str(r#""\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83d\ude00\u0000""#),
        Ok(Value::from("\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{e9}😀\u{0}"))
    );
    // Raw non-ASCII and DEL are fine unescaped.
    assert_eq!(from_str("\"é\u{7f}😀\""), Ok(Value::from("é\u{7f}😀")));
}

#[test]
fn lone_surrogates_are_refused() {
    for text in [
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800x""#,
        r#""\ud800\u0041""#,
        r#""\udc00\ud800""#,
    ] {
        let e = err(text);
        assert!(e.message().contains("lone surrogate"), "{text}: {e}");
    }
}

#[test]
fn bad_strings() {
    assert!(err("\"a\nb\"")
        .message()
        .contains("control character U+000A"));
    assert!(err("\"a\tb\"").message().contains("control character"));
    assert!(err(r#""\x""#).message().contains("invalid escape"));
    assert!(err(r#""\u12G4""#).message().contains("four hex digits"));
    assert!(err(r#""\u""#).message().contains("four hex digits"));
    assert!(err(r#""\u12"#).message().contains("end of input"));
    assert!(err(r#""\ud83d"#).message().contains("end of input"));
    assert!(err("\"abc").message().contains("end of input"));
    assert!(err("\"abc\\").message().contains("end of input"));
}

// ---- structure ----

#[test]
fn nested_empties_and_layout() {
    assert_eq!(pretty("[]"), "[]");
    assert_eq!(pretty("{}"), "{}");
    assert_eq!(pretty("[[]]"), "[\n    []\n]");
    assert_eq!(
        pretty(r#"{"a": [], "b": {}, "c": [1, {"x": [{}]}], "d": null}"#),
        "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n        1,\n        {\n            \"x\": [\n                {}\n            ]\n        }\n    ],\n    \"d\": null\n}"
    );
    assert_eq!(
        to_string_compact(&from_str(r#"{"a":[],"b":{"c":[true,false]}}"#).unwrap()),
        r#"{"a": [], "b": {"c": [true, false]}}"#
    );
}

#[test]
fn key_order_and_duplicates() {
    let v = from_str(r#"{"z": 1, "a": 2, "m": 3}"#).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["z", "a", "m"]);
    // Python: {'a': 3, 'b': 2}
    let v = from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
    assert_eq!(to_string_compact(&v), r#"{"a": 3, "b": 2}"#);
}

#[test]
fn whitespace() {
    assert_eq!(
        from_str(" \t\r\n[ 1 , { \"a\" : 2 } ] \n"),
        from_str("[1,{\"a\":2}]")
    );
    // Only JSON's four whitespace characters, as in Python.
    assert!(from_str("\u{a0}1").is_err());
    assert!(from_str("1\u{c}").is_err());
}

#[test]
fn syntax_errors_have_positions() {
    let e = err("{\n  \"a\": 1,\n  \"b\" 2\n}");
    assert_eq!(e.to_string(), "expected ':', found '2' at line 3 column 7");
    let e = err("{\"a\": 1\n\n    \"b\": 2}");
    assert_eq!(e.line(), Some(3));
    assert_eq!(e.column(), Some(5));
    assert!(e.to_string().starts_with("expected ',' or '}'"), "{e}");
    // Columns count characters, not bytes.
    let e = err("[\"é\", x]");
    assert_eq!(e.column(), Some(7));
    assert_eq!(err("[1 2]").message(), "expected ',' or ']', found '2'");
    assert!(err("[1,]").message().starts_with("expected a value"));
    assert!(err("{\"a\":1,}").message().starts_with("expected a key"));
    assert!(err("{1: 2}").message().starts_with("expected a key"));
    assert!(err("1 2").message().contains("after the JSON value"));
    assert!(err("01").message().contains("after the JSON value"));
    assert!(err("+1").message().starts_with("expected a value"));
    assert!(err(".5").message().starts_with("expected a value"));
    assert!(err("1.e5")
        .message()
        .contains("digit after the decimal point"));
    assert!(err("1e+").message().contains("end of input"));
    assert!(err("1ex").message().contains("digit in the exponent"));
    assert!(err("-NaN").message().starts_with("expected a value"));
    assert!(err("nan").message().starts_with("expected a value"));
    assert!(err("True").message().starts_with("expected a value"));
    assert!(err("'a'").message().starts_with("expected a value"));
    assert!(err("truex").message().contains("after the JSON value"));
}

#[test]
fn truncated_input() {
    let doc = r#"{"a": [1, 2.5, "x\u00e9", true, null, NaN, -Infinity, {"b": {}}], "c": false}"#;
    for end in 0..doc.len() {
        let e = err(&doc[..end]);
        assert!(
            e.message().starts_with("unexpected end of input"),
            "{:?}: {e}",
            &doc[..end]
        );
    }
    assert!(from_str(doc).is_ok());
    for text in [
        "", "   ", "[", "{", "{\"a\"", "{\"a\":", "-", "tr", "Infin", "-Inf", "1.", "1e",
    ] {
        assert!(
            err(text).message().starts_with("unexpected end of input"),
            "{text:?}"
        );
    }
}

#[test]
fn bom_and_invalid_utf8() {
    assert!(err("\u{feff}1").message().contains("byte order mark"));
    let e = from_slice(b"\xEF\xBB\xBF1").unwrap_err();
    assert!(e.message().contains("byte order mark"));
    let e = from_slice(b"[\"ab\xFF\"]").unwrap_err();
    assert!(e.message().contains("invalid UTF-8"), "{e}");
    assert_eq!((e.line(), e.column()), (Some(1), Some(5)));
    assert!(from_slice(b"\"\xED\xA0\x80\"").is_err()); // an encoded surrogate
    assert_eq!(from_slice("\"é\"".as_bytes()), Ok(Value::from("é")));
}

#[test]
fn depth_limit() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    let v = from_str(&ok).unwrap();
    assert_eq!(to_string_compact(&v), ok);
    assert!(to_string_pretty(&v).len() > ok.len());
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(err(&deep).message().contains("nested deeper than 1024"));
    let deep_objects = "{\"a\":".repeat(MAX_DEPTH + 1);
    assert!(err(&deep_objects).message().contains("nested deeper"));
    // Hostile input fails fast without touching the stack.
    assert!(err(&"[".repeat(1_000_000))
        .message()
        .contains("nested deeper"));
}

#[test]
fn never_panics_on_odd_bytes() {
    let samples: &[&[u8]] = &[
        b"\xff",
        b"\x00",
        b"[\x00]",
        b"\"\x00\"",
        b"{\"\xc3\"",
        b"\xc3",
        b"[1,\xe2\x82",
        b"\"\\u\xc3\xa9000\"",
        b"\"\\\xc3\xa9\"",
        b"{\"a\"\xc3\xa9",
        b"-\xc3\xa9",
        b"1.\xc3\xa9",
    ];
    for bytes in samples {
        assert!(from_slice(bytes).is_err(), "{bytes:?}");
    }
}

// ---- conveniences ----

#[test]
fn accessors() {
    let v = from_str(r#"{"s": "x", "i": -3, "u": 18446744073709551615, "f": 2.5, "b": true, "n": null, "a": [1], "o": {}}"#).unwrap();
    assert_eq!(v.get("s").and_then(Value::as_str), Some("x"));
    assert_eq!(v.get("i").and_then(Value::as_i64), Some(-3));
    assert_eq!(v.get("i").and_then(Value::as_u64), None);
    assert_eq!(v.get("u").and_then(Value::as_u64), Some(u64::MAX));
    assert_eq!(v.get("u").and_then(Value::as_i64), None);
    assert_eq!(v.get("f").and_then(Value::as_f64), Some(2.5));
    assert_eq!(v.get("i").and_then(Value::as_f64), Some(-3.0));
    assert_eq!(v.get("f").and_then(Value::as_i64), None);
    assert_eq!(v.get("b").and_then(Value::as_bool), Some(true));
    assert!(v.get("n").is_some_and(Value::is_null));
    assert_eq!(v.get("a").and_then(Value::as_array).map(Vec::len), Some(1));
    assert!(v
        .get("o")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty));
    assert_eq!(v.get("missing"), None);
    assert_eq!(Value::Int(1).get("a"), None);
    let names: Vec<&str> = v
        .as_object()
        .unwrap()
        .values()
        .map(Value::type_name)
        .collect();
    assert_eq!(
        names,
        ["str", "int", "int", "float", "bool", "null", "list", "dict"]
    );
}

#[test]
fn from_impls() {
    assert_eq!(Value::from(true), Value::Bool(true));
    assert_eq!(Value::from(3i32), Value::Int(3));
    assert_eq!(Value::from(3u32), Value::Int(3));
    assert_eq!(Value::from(3usize), Value::Int(3));
    assert_eq!(Value::from(3u64), Value::Int(3));
    assert_eq!(Value::from(u64::MAX), Value::UInt(u64::MAX));
    assert_eq!(Value::from(0.5f32), Value::Float(0.5));
    assert_eq!(Value::from(0.1f32).to_string(), "0.10000000149011612");
    assert_eq!(Value::from("a"), Value::String("a".into()));
    assert_eq!(Value::from(String::from("a")), Value::String("a".into()));
    assert_eq!(
        Value::from(vec![Value::Null]),
        Value::Array(vec![Value::Null])
    );
    assert_eq!(Value::from(Map::new()), Value::Object(Map::new()));
    assert_eq!(Value::from(None::<i32>), Value::Null);
    assert_eq!(Value::from(Some(1.5)), Value::Float(1.5));
    assert_eq!([1, 2].into_iter().collect::<Value>().to_string(), "[1, 2]");
    assert_eq!("[1]".parse::<Value>(), Ok(Value::from(vec![1])));
    assert_eq!(format!("{:#}", Value::from(vec![1])), "[\n    1\n]");
}

#[test]
fn writers_agree() {
    let v = from_str(r#"{"a": [1.5, "é"]}"#).unwrap();
    let mut out = Vec::new();
    write_pretty(&v, &mut out).unwrap();
    assert_eq!(out, to_vec_pretty(&v));
    assert_eq!(out, to_string_pretty(&v).into_bytes());
}

// ---- serde_json and serde ----

#[cfg(feature = "serde_json")]
#[test]
fn serde_json_conversions() {
    let sj: serde_json::Value =
        serde_json::from_str(r#"{"b": 1, "a": [18446744073709551615, -1, 0.5, "x", null, true]}"#)
            .unwrap();
    let v = Value::from(sj.clone());
    assert_eq!(
        to_string_compact(&v),
        r#"{"b": 1, "a": [18446744073709551615, -1, 0.5, "x", null, true]}"#
    );
    assert_eq!(serde_json::Value::try_from(v), Ok(sj));
    let e = serde_json::Value::try_from(Value::from(vec![f64::NAN])).unwrap_err();
    assert!(e.to_string().contains("NaN"), "{e}");
    assert!(serde_json::Value::try_from(Value::Float(f64::NEG_INFINITY)).is_err());
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Kind {
    Unit,
    Newtype(u8),
    Tuple(i32, String),
    Struct { x: f64 },
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Record {
    name: String,
    loss: f64,
    steps: Vec<u32>,
    big: u64,
    maybe: Option<i8>,
    kinds: Vec<Kind>,
    by_id: std::collections::BTreeMap<u32, bool>,
    #[serde(default)]
    missing: Vec<String>,
}

#[test]
fn serde_bridge_keeps_layout_and_nan() {
    let record = Record {
        name: "é".into(),
        loss: f64::INFINITY,
        steps: vec![1, 2],
        big: u64::MAX,
        maybe: None,
        kinds: vec![
            Kind::Unit,
            Kind::Newtype(7),
            Kind::Tuple(-1, "t".into()),
            Kind::Struct { x: 0.5 },
        ],
        by_id: [(3, true), (10, false)].into_iter().collect(),
        missing: vec![],
    };
    let v = to_value(&record).unwrap();
    assert_eq!(
        to_string_compact(&v),
        r#"{"name": "\u00e9", "loss": Infinity, "steps": [1, 2], "big": 18446744073709551615, "maybe": null, "kinds": ["Unit", {"Newtype": 7}, {"Tuple": [-1, "t"]}, {"Struct": {"x": 0.5}}], "by_id": {"3": true, "10": false}, "missing": []}"#
    );
    let back: Record = from_value(&v).unwrap();
    assert_eq!(back, record);
    // Same layout as serde_json, apart from the non-finite float.
    let mut finite = record;
    finite.loss = 1.0;
    let theirs = from_str(&serde_json::to_string(&finite).unwrap()).unwrap();
    assert_eq!(to_value(&finite).unwrap(), theirs);

    let nan: f64 = from_value(&Value::Float(f64::NAN)).unwrap();
    assert!(nan.is_nan());
    let as_float: f64 = from_value(&Value::Int(3)).unwrap();
    assert_eq!(as_float, 3.0);
}

#[test]
fn serde_bridge_errors() {
    let e = from_value::<Record>(&from_str(r#"{"name": "x"}"#).unwrap()).unwrap_err();
    assert!(e.to_string().contains("missing field"), "{e}");
    assert_eq!(e.line(), None);
    let e = from_value::<u8>(&Value::Int(300)).unwrap_err();
    assert!(e.to_string().contains("300"), "{e}");
    assert!(from_value::<i64>(&Value::Float(1.0)).is_err());
    assert!(from_value::<(i32,)>(&Value::from(vec![1, 2])).is_err());
    assert!(from_value::<Kind>(&Value::Int(1)).is_err());
    assert!(to_value(&u128::MAX).is_err());
    let mut bad_keys = std::collections::HashMap::new();
    bad_keys.insert(vec![1], 1);
    assert!(to_value(&bad_keys).is_err());
    // Keys written as Python's json writes the keys of a dict.
    struct Keys;
    impl serde::Serialize for Keys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(None)?;
            map.serialize_entry(&1i8, &())?;
            map.serialize_entry(&1e-5, &())?;
            map.serialize_entry(&f64::NAN, &())?;
            map.serialize_entry(&true, &())?;
            map.serialize_entry(&'c', &())?;
            map.end()
        }
    }
    assert_eq!(
        to_value(&Keys).unwrap().to_string(),
        r#"{"1": null, "1e-05": null, "NaN": null, "true": null, "c": null}"#
    );
}

#[test]
fn value_through_serde_formats() {
    let v = from_str(r#"{"a": [1, 18446744073709551615, 2.5, "x", null, {"b": false}]}"#).unwrap();
    let through_json: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(through_json, v);
    let through_value: Value = from_value(&v).unwrap();
    assert_eq!(through_value, v);
    assert_eq!(to_value(&v).unwrap(), v);
}

// ---- properties ----

/// Values of every kind; floats finite, since NaN is unequal to itself.
pub(super) fn arb_value() -> impl Strategy<Value = Value> {
    let float = prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (-1e6f64..1e6),
        (-30i32..30, any::<i32>()).prop_map(|(e, m)| f64::from(m) * 10f64.powi(e)),
        Just(0.0),
        Just(-0.0),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((1u64 << 63)..=u64::MAX).prop_map(Value::UInt),
        "-?[1-9][0-9]{20,40}".prop_map(Value::BigInt),
        float.prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
        "[ -~\\n\\t]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn has_big_int(v: &Value) -> bool {
    match v {
        Value::BigInt(_) => true,
        Value::Array(items) => items.iter().any(has_big_int),
        Value::Object(map) => map.values().any(has_big_int),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pretty_round_trips(v in arb_value()) {
        let text = to_string_pretty(&v);
        prop_assert!(text.is_ascii());
        prop_assert_eq!(from_str(&text), Ok(v.clone()));
        prop_assert_eq!(from_slice(text.as_bytes()), Ok(v.clone()));
        prop_assert_eq!(from_str(&to_string_compact(&v)), Ok(v.clone()));
        // serde's data model has no integers beyond `u64`/`i64` (without
        // its 128-bit extension): a big integer stays in dman's own JSON.
        if !has_big_int(&v) {
            prop_assert_eq!(from_value::<Value>(&v), Ok(v.clone()));
            prop_assert_eq!(to_value(&v), Ok(v));
        }
    }

    #[test]
    fn floats_round_trip(bits in any::<u64>()) {
        let f = f64::from_bits(bits);
        let text = to_string_pretty(&Value::Float(f));
        match from_str(&text) {
            Ok(Value::Float(g)) => prop_assert!(
                g.to_bits() == f.to_bits() || (f.is_nan() && g.is_nan()),
                "{} -> {}", f, text
            ),
            other => prop_assert!(false, "{} -> {} -> {:?}", f, text, other),
        }
    }

    #[test]
    fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = from_slice(&bytes);
    }

    #[test]
    fn never_panics_on_json_like_text(text in "[\\[\\]{}\",:0-9eE.+\\-\\\\ntrufalsNIiy\\u{e9} ]{0,40}") {
        let _ = from_str(&text);
    }

    #[test]
    fn any_prefix_is_refused_not_panicked(v in arb_value(), cut in any::<prop::sample::Index>()) {
        let text = to_string_pretty(&v);
        let end = cut.index(text.len() + 1);
        let _ = from_str(&text[..end]);
    }
}
