//! The derive macros against the Python dman 1.0.1 format: the JSON they
//! write, the record targets they give, and full round trips through a
//! memory backend.

use std::sync::Arc;

use dman_core::json::{self, Value};
use dman_core::{
    graph, DecodeContext, EncodeOptions, Modelclass, Record, Serializable, Storable,
    StorageBackend, StoragePath,
};
use dman_memory::MemoryBackend;
// The seed's `@dman.modelclass(name="config")`, every field with a default.
use dman_test_support::seed::Config;

// ---- types -----------------------------------------------------------------

/// The seed's `Person` storable.
#[derive(Storable, Debug, PartialEq, Clone)]
#[dman(name = "Person", ext = ".person")]
struct Person {
    name: String,
}

impl Person {
    fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.name.as_bytes().to_vec())
    }
    fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
        Ok(Person {
            name: String::from_utf8_lossy(bytes).into_owned(),
        })
    }
}

fn person(name: &str) -> Person {
    Person { name: name.into() }
}

/// The seed's `@dman.modelclass(name="run", storable=True)`.
#[derive(Modelclass, Debug)]
#[dman(name = "run", storable)]
struct Run {
    config: Config,
    data: Option<Record<Person>>,
    output: Option<Record<Person>>,
}

/// A holder of a storable run, as `mruns` holds them.
#[derive(Modelclass, Debug)]
#[dman(name = "experiment")]
struct Experiment {
    run: Record<Run>,
}

#[derive(Serializable, Debug, Clone, Copy, PartialEq)]
#[dman(rename_all = "UPPERCASE")]
enum Color {
    Red,
    Green,
    #[dman(rename = "DARK")]
    DarkBlue,
}

#[derive(Serializable, Debug, Clone, Copy, PartialEq)]
#[dman(
    name = "mode",
    class = "SolverMode",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
enum Mode {
    FastApprox,
    Exact,
}

/// A Python `@serializable` dataclass.
#[derive(Serializable, Debug, Clone, PartialEq)]
struct Point {
    x: f64,
    label: Option<String>,
    color: Color,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
enum Solver {
    Newton { tol: f64 },
    Bisection,
}

fn forty_two() -> u32 {
    42
}

fn default_solver() -> Solver {
    Solver::Bisection
}

#[derive(Modelclass, Debug, PartialEq)]
#[dman(name = "settings")]
struct Settings {
    #[dman(rename = "learning-rate")]
    rate: f64,
    #[dman(serde)]
    solver: Solver,
    #[dman(serde, default = "default_solver")]
    fallback: Solver,
    #[dman(skip)]
    cache: Vec<i64>,
    #[dman(skip, default = "forty_two")]
    answer: u32,
    #[dman(default)]
    retries: u32,
    #[dman(default = "forty_two")]
    limit: u32,
    note: Option<String>,
}

fn encode<T: Serializable>(value: &T) -> (Value, dman_core::SavePlan) {
    let store = memory();
    graph::encode(value, &store, &path("root.json"), EncodeOptions::default()).expect("encode")
}

fn decode<T: Serializable>(doc: &Value) -> dman_core::Result<T> {
    dman_core::serial::deserialize(doc, &DecodeContext::new(memory(), StoragePath::root()))
}

fn memory() -> Arc<dyn StorageBackend> {
    Arc::new(MemoryBackend::new())
}

fn path(p: &str) -> StoragePath {
    StoragePath::parse(p).unwrap()
}

fn parse(text: &str) -> Value {
    json::from_str(text).unwrap()
}

/// The content of a modelclass document.
fn content(doc: &Value) -> &Value {
    dman_core::serial::split_envelope(doc)
        .expect("an envelope")
        .1
}

/// The `target` of the record at `key` (enveloped or bare).
fn target(doc: &Value, key: &str) -> String {
    let field = content(doc)
        .get(key)
        .unwrap_or_else(|| panic!("no field `{key}` in {doc}"));
    let rec = match dman_core::serial::split_envelope(field) {
        Some(("_ser__record", c)) => c,
        _ => field,
    };
    rec.get("target")
        .and_then(Value::as_str)
        .expect("a target")
        .to_string()
}

fn is_uuid_name(name: &str, ext: &str) -> bool {
    let Some(stem) = name.strip_suffix(ext) else {
        return false;
    };
    stem.len() == 36 && uuid::Uuid::parse_str(stem).is_ok()
}

// ---- modelclasses ------------------------------------------------------------

#[test]
fn config_encodes_exactly_as_python() {
    let (doc, plan) = encode(&Config::default());
    assert_eq!(doc, config_doc());
    assert!(plan.writes().is_empty());
    assert_eq!(
        json::to_string_pretty(&doc),
        "{\n    \"_ser__type\": \"config\",\n    \"_ser__content\": {\n        \"seed\": 1234,\n        \"size\": 20,\n        \"nsample\": 1000,\n        \"nrepeats\": 2\n    }\n}"
    );
    assert_eq!(decode::<Config>(&doc).unwrap(), Config::default());
    assert_eq!(<Config as Serializable>::SER_TYPE, Some("config"));
}

#[test]
fn missing_fields_take_the_container_defaults() {
    let doc = parse(r#"{"_ser__type": "config", "_ser__content": {"seed": 7}}"#);
    let cfg: Config = decode(&doc).unwrap();
    assert_eq!(
        cfg,
        Config {
            seed: 7,
            ..Config::default()
        }
    );
}

#[test]
fn missing_required_field_names_the_field() {
    #[derive(Modelclass, Debug)]
    #[dman(name = "strict")]
    struct Strict {
        #[allow(dead_code)]
        seed: i64,
        #[allow(dead_code)]
        size: i64,
    }
    let doc = parse(r#"{"_ser__type": "strict", "_ser__content": {"seed": 1}}"#);
    let err = decode::<Strict>(&doc).unwrap_err().to_string();
    assert!(err.contains("missing field `size`"), "{err}");

    let doc = parse(r#"{"_ser__type": "strict", "_ser__content": {"seed": "one", "size": 2}}"#);
    let err = decode::<Strict>(&doc).unwrap_err().to_string();
    assert!(err.contains("seed") && err.contains("int"), "{err}");

    let doc = parse(r#"{"_ser__type": "strict", "_ser__content": [1, 2]}"#);
    let err = decode::<Strict>(&doc).unwrap_err().to_string();
    assert!(err.contains("strict"), "{err}");
}

#[test]
fn wrong_ser_type_names_both_types() {
    let doc = parse(r#"{"_ser__type": "run", "_ser__content": {}}"#);
    let err = decode::<Config>(&doc).unwrap_err().to_string();
    assert!(err.contains("`config`") && err.contains("`run`"), "{err}");
}

#[test]
fn run_records_get_uuid_targets_and_none_is_left_out() {
    let run = Run {
        config: Config::default(),
        data: Some(Record::new(person("data"))),
        output: None,
    };
    let (doc, plan) = encode(&run);
    let c = content(&doc);
    assert_eq!(
        c.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["config", "data"]
    );
    let data = c.get("data").unwrap();
    assert_eq!(data.get("_ser__type"), Some(&Value::from("_ser__record")));
    let rec = data.get("_ser__content").unwrap();
    assert_eq!(rec.get("sto_type"), Some(&Value::from("Person")));
    assert_eq!(rec.as_object().unwrap().len(), 2, "{rec}");
    let t = target(&doc, "data");
    assert!(is_uuid_name(&t, ".person"), "{t}");
    assert_eq!(plan.writes().len(), 1);
    assert_eq!(plan.writes()[0].0.as_str(), t);
    assert_eq!(&plan.writes()[0].1.to_bytes()[..], b"data");

    assert_eq!(<Run as Storable>::STO_TYPE, "run");
    assert_eq!(<Run as Storable>::EXTENSION, ".json");
    const { assert!(<Run as Storable>::JSON) };
}

#[test]
fn storable_modelclass_is_a_json_file_without_envelope() {
    let exp = Experiment {
        run: Record::new(Run {
            config: Config::default(),
            data: Some(Record::new(person("d"))),
            output: Some(Record::new(person("o")).stem("out").subdir("results")),
        }),
    };
    let (doc, plan) = encode(&exp);
    let run_target = target(&doc, "run");
    assert!(is_uuid_name(&run_target, ".json"), "{run_target}");
    // Content files first (the run's records), then the run's own file.
    let paths: Vec<&str> = plan.writes().iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert_eq!(paths[1], "results/out.person");
    assert_eq!(paths[2], run_target);
    let run_doc = json::from_slice(&plan.writes()[2].1.to_bytes()).unwrap();
    let obj = run_doc.as_object().unwrap();
    assert!(!obj.contains_key("_ser__type"), "{run_doc}");
    assert_eq!(obj.get("config"), Some(&config_doc()));
    assert_eq!(
        obj["output"],
        parse(
            r#"{"_ser__type": "_ser__record", "_ser__content": {"target": "results/out.person", "sto_type": "Person"}}"#
        )
    );
}

/// The seed config's document.
fn config_doc() -> Value {
    parse(
        r#"{"_ser__type": "config", "_ser__content": {"seed": 1234, "size": 20, "nsample": 1000, "nrepeats": 2}}"#,
    )
}

// ---- record options ------------------------------------------------------------

#[derive(Modelclass)]
#[dman(store_by_field)]
struct ByField {
    data: Option<Record<Person>>,
    #[dman(stem = "explicit")]
    other: Option<Record<Person>>,
}

#[derive(Modelclass)]
#[dman(cluster)]
struct Cluster {
    data: Option<Record<Person>>,
    #[dman(subdir = "own")]
    other: Option<Record<Person>>,
}

#[derive(Modelclass)]
#[dman(cluster, subdir = "sub", store_by_field)]
struct ClusterSub {
    data: Option<Record<Person>>,
}

#[derive(Modelclass)]
#[dman(subdir = "sub")]
struct Sub {
    data: Option<Record<Person>>,
    #[dman(rename = "renamed", name = "file.bin")]
    other: Option<Record<Person>>,
    #[dman(suffix = ".txt", preload)]
    text: Option<Record<Person>>,
}

fn rec(name: &str) -> Option<Record<Person>> {
    Some(Record::new(person(name)))
}

#[test]
fn store_by_field_names_files_after_fields() {
    let (doc, _) = encode(&ByField {
        data: rec("a"),
        other: rec("b"),
    });
    assert_eq!(target(&doc, "data"), "data.person");
    assert_eq!(target(&doc, "other"), "explicit.person");
}

#[test]
fn cluster_puts_files_in_field_folders() {
    let (doc, _) = encode(&Cluster {
        data: rec("a"),
        other: rec("b"),
    });
    let t = target(&doc, "data");
    assert!(
        t.starts_with("data/") && is_uuid_name(&t["data/".len()..], ".person"),
        "{t}"
    );
    // An explicit field subdir replaces the cluster folder (Python: only an
    // AUTO subdir is derived from the class options).
    let t = target(&doc, "other");
    assert!(
        t.starts_with("own/") && is_uuid_name(&t["own/".len()..], ".person"),
        "{t}"
    );

    let (doc, _) = encode(&ClusterSub { data: rec("a") });
    assert_eq!(target(&doc, "data"), "sub/data/data.person");
}

#[test]
fn subdir_name_suffix_and_preload() {
    let (doc, _) = encode(&Sub {
        data: rec("a"),
        other: rec("b"),
        text: rec("c"),
    });
    let t = target(&doc, "data");
    assert!(
        t.starts_with("sub/") && is_uuid_name(&t[4..], ".person"),
        "{t}"
    );
    assert_eq!(target(&doc, "renamed"), "sub/file.bin");
    let t = target(&doc, "text");
    assert!(
        t.starts_with("sub/") && is_uuid_name(&t[4..], ".txt"),
        "{t}"
    );
    let text = content(&doc)
        .get("text")
        .unwrap()
        .get("_ser__content")
        .unwrap();
    assert_eq!(text.get("preload"), Some(&Value::Bool(true)));
    let data = content(&doc)
        .get("data")
        .unwrap()
        .get("_ser__content")
        .unwrap();
    assert_eq!(data.get("preload"), None);
}

#[test]
fn record_options_of_the_record_win_over_field_defaults() {
    let (doc, _) = encode(&ByField {
        data: Some(Record::new(person("a")).stem("john")),
        other: None,
    });
    assert_eq!(target(&doc, "data"), "john.person");
    assert!(content(&doc).get("other").is_none());
}

// ---- compact ---------------------------------------------------------------------

#[derive(Modelclass, Debug)]
#[dman(name = "cmp", compact, store_by_field)]
struct Compact {
    config: Config,
    rec: Record<Person>,
    opt: Option<Record<Person>>,
    missing: Option<Record<Person>>,
    point: Option<Point>,
    n: i64,
    /// Python: a missing key takes the field's default, `None` or not.
    #[dman(default = "some_seven")]
    seven: Option<i64>,
}

fn some_seven() -> Option<i64> {
    Some(7)
}

#[test]
fn compact_writes_fields_without_envelopes() {
    let value = Compact {
        config: Config::default(),
        rec: Record::new(person("r")),
        opt: rec("o"),
        missing: None,
        point: Some(Point {
            x: 1.5,
            label: None,
            color: Color::Green,
        }),
        n: 3,
        seven: None,
    };
    let (doc, plan) = encode(&value);
    assert_eq!(
        doc,
        parse(
            r#"{"_ser__type": "cmp", "_ser__content": {
                "config": {"seed": 1234, "size": 20, "nsample": 1000, "nrepeats": 2},
                "rec": {"target": "rec.person", "sto_type": "Person"},
                "opt": {"target": "opt.person", "sto_type": "Person"},
                "point": {"x": 1.5, "label": null, "color": {"_ser__type": "Color", "_ser__content": "Color.GREEN"}},
                "n": 3}}"#
        )
    );
    assert_eq!(plan.writes().len(), 2);

    let back: Compact = decode(&doc).unwrap();
    assert_eq!(back.config, Config::default());
    assert_eq!(back.rec.target().as_deref(), Some("rec.person"));
    assert_eq!(
        back.opt.as_ref().and_then(Record::target).as_deref(),
        Some("opt.person")
    );
    assert!(back.missing.is_none());
    assert_eq!(back.point, value.point);
    assert_eq!(back.n, 3);
    assert_eq!(back.seven, Some(7));
}

// ---- dataclasses, enums, newtypes ------------------------------------------------------

#[test]
fn dataclass_writes_every_field_with_envelope_and_none_as_null() {
    let p = Point {
        x: 1.0,
        label: None,
        color: Color::Red,
    };
    let (doc, _) = encode(&p);
    assert_eq!(
        doc,
        parse(
            r#"{"_ser__type": "Point", "_ser__content": {"x": 1.0, "label": null,
                "color": {"_ser__type": "Color", "_ser__content": "Color.RED"}}}"#
        )
    );
    assert_eq!(decode::<Point>(&doc).unwrap(), p);
    // A missing optional key reads as `None` too.
    let doc = parse(
        r#"{"_ser__type": "Point", "_ser__content": {"x": 2, "color": {"_ser__type": "Color", "_ser__content": "Color.DARK"}}}"#,
    );
    assert_eq!(
        decode::<Point>(&doc).unwrap(),
        Point {
            x: 2.0,
            label: None,
            color: Color::DarkBlue
        }
    );
}

#[test]
fn enums_round_trip_as_python_members() {
    for (c, text) in [
        (Color::Red, "Color.RED"),
        (Color::Green, "Color.GREEN"),
        (Color::DarkBlue, "Color.DARK"),
    ] {
        let (doc, _) = encode(&c);
        assert_eq!(
            doc,
            parse(&format!(
                r#"{{"_ser__type": "Color", "_ser__content": "{text}"}}"#
            ))
        );
        assert_eq!(decode::<Color>(&doc).unwrap(), c);
    }
    // Python reads the part after the last dot.
    let doc = parse(r#"{"_ser__type": "Color", "_ser__content": "RED"}"#);
    assert_eq!(decode::<Color>(&doc).unwrap(), Color::Red);
    let doc = parse(r#"{"_ser__type": "Color", "_ser__content": "Color.PURPLE"}"#);
    let err = decode::<Color>(&doc).unwrap_err().to_string();
    assert!(err.contains("PURPLE") && err.contains("Color"), "{err}");

    let (doc, _) = encode(&Mode::FastApprox);
    assert_eq!(
        doc,
        parse(r#"{"_ser__type": "mode", "_ser__content": "SolverMode.FAST_APPROX"}"#)
    );
    assert_eq!(decode::<Mode>(&doc).unwrap(), Mode::FastApprox);
    assert_eq!(
        decode::<Mode>(&parse(
            r#"{"_ser__type": "mode", "_ser__content": "SolverMode.EXACT"}"#
        ))
        .unwrap(),
        Mode::Exact
    );
}

#[derive(Serializable, Debug, PartialEq)]
struct Meters(f64);

#[derive(Serializable, Debug, PartialEq)]
struct Wrapped(Config);

#[derive(Serializable, Debug, PartialEq)]
struct MaybeMeters(Option<Meters>);

#[test]
fn newtypes_are_transparent() {
    let (doc, _) = encode(&Meters(3.5));
    assert_eq!(doc, Value::Float(3.5));
    assert_eq!(decode::<Meters>(&doc).unwrap(), Meters(3.5));
    let (doc, _) = encode(&Wrapped(Config::default()));
    assert_eq!(doc, config_doc());
    assert_eq!(decode::<Wrapped>(&doc).unwrap(), Wrapped(Config::default()));
    assert!(MaybeMeters(None).is_absent());
    assert_eq!(MaybeMeters::absent(), Some(MaybeMeters(None)));
}

// ---- serde, skip, default, rename ------------------------------------------------------

#[test]
fn serde_skip_default_and_rename_fields() {
    let s = Settings {
        rate: 0.5,
        solver: Solver::Newton { tol: 0.1 },
        fallback: Solver::Bisection,
        cache: vec![1, 2, 3],
        answer: 7,
        retries: 3,
        limit: 5,
        note: None,
    };
    let (doc, _) = encode(&s);
    assert_eq!(
        doc,
        parse(
            r#"{"_ser__type": "settings", "_ser__content": {"learning-rate": 0.5,
                "solver": {"Newton": {"tol": 0.1}}, "fallback": "Bisection", "retries": 3, "limit": 5}}"#
        )
    );
    let back: Settings = decode(&doc).unwrap();
    assert_eq!(
        back,
        Settings {
            cache: vec![],
            answer: 42,
            ..s
        }
    );

    let doc = parse(
        r#"{"_ser__type": "settings", "_ser__content": {"learning-rate": 1, "solver": "Bisection"}}"#,
    );
    let back: Settings = decode(&doc).unwrap();
    assert_eq!(back.rate, 1.0);
    assert_eq!(back.fallback, Solver::Bisection);
    assert_eq!((back.retries, back.limit, back.answer), (0, 42, 42));
    assert_eq!(back.note, None);

    let doc = parse(r#"{"_ser__type": "settings", "_ser__content": {"learning-rate": 1}}"#);
    let err = decode::<Settings>(&doc).unwrap_err().to_string();
    assert!(err.contains("missing field `solver`"), "{err}");
}

#[test]
fn dataclass_fields_have_the_same_options() {
    #[derive(Serializable, Debug, PartialEq)]
    #[dman(name = "opts")]
    struct Opts {
        #[dman(rename = "type")]
        kind: String,
        #[dman(serde)]
        solver: Solver,
        #[dman(skip)]
        cache: Vec<u8>,
        #[dman(default = "forty_two")]
        limit: u32,
    }
    let o = Opts {
        kind: "a".into(),
        solver: Solver::Bisection,
        cache: vec![1],
        limit: 1,
    };
    let (doc, _) = encode(&o);
    assert_eq!(
        doc,
        parse(
            r#"{"_ser__type": "opts", "_ser__content": {"type": "a", "solver": "Bisection", "limit": 1}}"#
        )
    );
    let doc =
        parse(r#"{"_ser__type": "opts", "_ser__content": {"type": "b", "solver": "Bisection"}}"#);
    let back: Opts = decode(&doc).unwrap();
    assert_eq!(
        (back.kind.as_str(), back.limit, back.cache.len()),
        ("b", 42, 0)
    );
}

#[test]
fn dataclass_records_ignore_the_enclosing_field_options() {
    #[derive(Serializable)]
    #[dman(name = "holder")]
    struct Holder {
        person: Record<Person>,
    }
    #[derive(Modelclass)]
    #[dman(store_by_field)]
    struct Outer {
        holder: Holder,
        #[dman(stem = "direct")]
        direct: Record<Person>,
    }
    let (doc, _) = encode(&Outer {
        holder: Holder {
            person: Record::new(person("p")),
        },
        direct: Record::new(person("d")),
    });
    let holder = content(&doc).get("holder").unwrap();
    let t = target(holder, "person");
    assert!(is_uuid_name(&t, ".person"), "{t}");
    assert_eq!(target(&doc, "direct"), "direct.person");
}

// ---- storables ---------------------------------------------------------------------------

#[derive(Storable, Debug, PartialEq)]
#[dman(write = "write_counter", read = "read_counter")]
struct Counter(u32);

fn write_counter(c: &Counter) -> Result<bytes::Bytes, String> {
    Ok(bytes::Bytes::from(c.0.to_string()))
}

fn read_counter(b: &[u8]) -> Result<Counter, String> {
    std::str::from_utf8(b)
        .map_err(|e| e.to_string())?
        .parse()
        .map(Counter)
        .map_err(|e: std::num::ParseIntError| format!("not a count: {e}"))
}

#[test]
fn storable_derive_defaults_and_custom_functions() {
    assert_eq!(<Counter as Storable>::STO_TYPE, "Counter");
    assert_eq!(<Counter as Storable>::EXTENSION, ".sto");
    const { assert!(!<Counter as Storable>::JSON) };
    assert_eq!(<Person as Storable>::EXTENSION, ".person");
    let ctx = DecodeContext::new(memory(), StoragePath::root());
    let stored = dman_core::Stored::Bytes(bytes::Bytes::from_static(b"x"));
    let err = Counter::from_stored(stored, &ctx).unwrap_err().to_string();
    assert!(
        err.contains("Counter") && err.contains("read") && err.contains("not a count"),
        "{err}"
    );
    let stored = dman_core::Stored::Bytes(bytes::Bytes::from_static(b"12"));
    assert_eq!(Counter::from_stored(stored, &ctx).unwrap(), Counter(12));
}

#[test]
fn serializable_storable_writes_json_content() {
    #[derive(Serializable, Debug, PartialEq)]
    #[dman(name = "address", storable)]
    struct Address {
        street: String,
        number: i64,
    }
    #[derive(Modelclass)]
    struct Holder {
        #[dman(stem = "home")]
        address: Record<Address>,
    }
    let (doc, plan) = encode(&Holder {
        address: Record::new(Address {
            street: "Main".into(),
            number: 1,
        }),
    });
    assert_eq!(target(&doc, "address"), "home.json");
    assert_eq!(
        json::from_slice(&plan.writes()[0].1.to_bytes()).unwrap(),
        parse(r#"{"street": "Main", "number": 1}"#)
    );
    assert_eq!(<Address as Storable>::STO_TYPE, "address");
}

// ---- generics ------------------------------------------------------------------------------

#[derive(Modelclass, Debug, PartialEq)]
#[dman(name = "pair")]
struct Pair<T> {
    a: T,
    b: Option<T>,
}

#[derive(Modelclass, Debug, PartialEq)]
#[dman(
    name = "tagged",
    bound = "T: serde::Serialize + serde::de::DeserializeOwned"
)]
struct Tagged<T> {
    #[dman(serde)]
    tag: T,
}

#[test]
fn generic_modelclasses() {
    let (doc, _) = encode(&Pair { a: 1i64, b: None });
    assert_eq!(
        doc,
        parse(r#"{"_ser__type": "pair", "_ser__content": {"a": 1}}"#)
    );
    assert_eq!(decode::<Pair<i64>>(&doc).unwrap(), Pair { a: 1, b: None });
    let (doc, _) = encode(&Tagged {
        tag: Solver::Bisection,
    });
    assert_eq!(
        decode::<Tagged<Solver>>(&doc).unwrap(),
        Tagged {
            tag: Solver::Bisection
        }
    );
}

// ---- full round trips ------------------------------------------------------------------------

#[derive(Modelclass, Debug)]
#[dman(name = "bundle", store_by_field, subdir = "files")]
struct Bundle {
    config: Config,
    lazy: Record<Person>,
    #[dman(preload)]
    eager: Record<Person>,
    runs: Vec<Record<Run>>,
    maybe: Option<Record<Person>>,
}

#[tokio::test]
async fn save_and_load_through_a_memory_backend() {
    let mem = Arc::new(MemoryBackend::new());
    let store: Arc<dyn StorageBackend> = mem.clone();
    let root = path("exp/bundle.json");
    let bundle = Bundle {
        config: Config::default(),
        lazy: Record::new(person("lazy")),
        eager: Record::new(person("eager")),
        runs: vec![Record::new(Run {
            config: Config {
                seed: 1,
                ..Config::default()
            },
            data: rec("run data"),
            output: None,
        })
        .stem("run-0")],
        maybe: None,
    };
    graph::save(&bundle, &store, &root, EncodeOptions::default(), 4)
        .await
        .unwrap();

    let mut paths: Vec<String> = mem.paths().iter().map(|p| p.as_str().to_string()).collect();
    paths.sort();
    assert_eq!(paths.len(), 5, "{paths:?}");
    assert!(paths.contains(&"exp/bundle.json".to_string()));
    assert!(paths.contains(&"exp/files/lazy.person".to_string()));
    assert!(paths.contains(&"exp/files/eager.person".to_string()));
    // Items of a list get no field options: the run's file is where its
    // record says, relative to the bundle's folder.
    assert!(paths.contains(&"exp/run-0.json".to_string()), "{paths:?}");
    let run_data = paths
        .iter()
        .find(|p| p.starts_with("exp/") && is_uuid_name(&p[4..], ".person"))
        .expect("the run's data file");
    assert_eq!(&mem.get(&path(run_data)).unwrap()[..], b"run data");

    let loaded: Bundle = graph::load(&store, &root).await.unwrap();
    assert_eq!(loaded.config, Config::default());
    assert!(!loaded.lazy.is_loaded(), "records load lazily");
    assert!(
        loaded.eager.is_loaded(),
        "preload records load with their holder"
    );
    assert_eq!(loaded.eager.loaded(), Some(&person("eager")));
    assert_eq!(loaded.lazy.get().await.unwrap(), &person("lazy"));
    assert!(loaded.lazy.is_loaded());
    assert!(loaded.maybe.is_none());
    let run = loaded.runs[0].get().await.unwrap();
    assert_eq!(run.config.seed, 1);
    assert!(run.output.is_none());
    let data = run.data.as_ref().unwrap();
    assert!(!data.is_loaded());
    assert_eq!(data.get().await.unwrap(), &person("run data"));

    // Saving again keeps every file where it is.
    let report = graph::save(&loaded, &store, &root, EncodeOptions::default(), 4)
        .await
        .unwrap();
    assert!(report.deleted.is_empty(), "{report:?}");
    assert_eq!(mem.paths().len(), 5);
}
