//! `#[derive(Serializable)]` on an enum of one-field variants: a mixed
//! item, written as its variant's value as Python writes it, and read as
//! the first variant (in declaration order) whose type accepts what was
//! written: a record by its `sto_type`, an enveloped serializable by its
//! `_ser__type`, the rest by JSON shape.

use std::sync::Arc;

use dman_core::json::{self, Value};
use dman_core::{graph, EncodeOptions, Modelclass, Record, Serializable};
use dman_core::{StorageBackend, StoragePath};
use dman_memory::MemoryBackend;
use dman_test_support::seed::Config;
use indexmap::IndexMap;

use dman_test_support::storables::{Note, Person};

/// Every kind of variant, in an order where shape decides.
#[derive(Serializable, Debug)]
enum Entry {
    Note(Record<Note>),
    Person(Record<Person>),
    Config(Config),
    Int(i64),
    Float(f64),
    Text(String),
    Flag(bool),
    Nothing(Option<i64>),
    List(Vec<i64>),
    Dict(IndexMap<String, f64>),
}

#[derive(Modelclass, Debug)]
#[dman(name = "lab")]
struct Lab {
    items: Vec<Entry>,
    named: IndexMap<String, Entry>,
}

fn key<'v>(value: &'v Value, name: &str) -> &'v Value {
    value
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in {value:?}"))
}

fn store() -> Arc<dyn StorageBackend> {
    Arc::new(MemoryBackend::new())
}

fn sample() -> Lab {
    let mut named = IndexMap::new();
    named.insert(
        "alice".to_string(),
        Entry::Note(Record::new(Note { text: "hi".into() })),
    );
    named.insert("count".to_string(), Entry::Int(7));
    named.insert("label".to_string(), Entry::Text("ctl".into()));
    Lab {
        items: vec![
            Entry::Person(Record::new(Person { name: "Ann".into() })),
            Entry::Config(Config::default()),
            Entry::Float(f64::NAN),
            Entry::Float(2.5),
            Entry::Flag(true),
            Entry::Nothing(None),
            Entry::List(vec![1, 2]),
            Entry::Dict(IndexMap::from([("x".to_string(), 1.5)])),
        ],
        named,
    }
}

#[tokio::test]
async fn a_mixed_enum_writes_each_variant_as_python_and_reads_it_back() {
    let store = store();
    let path = StoragePath::parse("lab/lab.json").expect("path");
    graph::save(&sample(), &store, &path, EncodeOptions::default(), 4)
        .await
        .expect("save");
    let doc = graph::read_json(&store, &path).await.expect("read");
    let content = key(&doc, "_ser__content");
    let items = key(content, "items").as_array().expect("a list");
    let named = key(content, "named");
    // Each item as Python writes it: records, an enveloped modelclass,
    // bare JSON values.
    assert_eq!(key(&items[0], "_ser__type"), &Value::from("_ser__record"));
    assert_eq!(
        key(key(&items[0], "_ser__content"), "sto_type"),
        &Value::from("person")
    );
    assert_eq!(key(&items[1], "_ser__type"), &Value::from("config"));
    assert_eq!(
        json::to_string_compact(&Value::Array(items[2..].to_vec())),
        r#"[NaN, 2.5, true, null, [1, 2], {"x": 1.5}]"#
    );
    assert_eq!(key(named, "count"), &Value::Int(7));
    assert_eq!(key(named, "label"), &Value::from("ctl"));

    let lab: Lab = graph::load(&store, &path).await.expect("load");
    match &lab.named["alice"] {
        Entry::Note(r) => assert_eq!(r.get().await.expect("note").text, "hi"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(lab.named["count"], Entry::Int(7)));
    assert!(matches!(&lab.named["label"], Entry::Text(t) if t == "ctl"));
    match &lab.items[0] {
        Entry::Person(r) => assert_eq!(r.get().await.expect("person").name, "Ann"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(&lab.items[1], Entry::Config(c) if *c == Config::default()));
    assert!(matches!(lab.items[2], Entry::Float(f) if f.is_nan()));
    assert!(matches!(lab.items[3], Entry::Float(f) if f == 2.5));
    assert!(matches!(lab.items[4], Entry::Flag(true)));
    assert!(matches!(lab.items[5], Entry::Nothing(None)));
    assert!(matches!(&lab.items[6], Entry::List(l) if l == &[1, 2]));
    assert!(matches!(&lab.items[7], Entry::Dict(d) if d["x"] == 1.5));
}

/// Declaration order decides between shapes that overlap: an integer is an
/// `Int` when `Int` comes first, a `Float` when only a float variant is
/// there.
#[test]
fn declaration_order_decides() {
    #[derive(Serializable, Debug)]
    enum FloatFirst {
        Float(f64),
        Int(i64),
    }
    let ctx = dman_core::DecodeContext::new(store(), StoragePath::root());
    let v: FloatFirst = dman_core::serial::deserialize(&Value::Int(3), &ctx).expect("3");
    assert!(matches!(v, FloatFirst::Float(f) if f == 3.0));
    let v: Entry = dman_core::serial::deserialize(&Value::Int(3), &ctx).expect("3");
    assert!(matches!(v, Entry::Int(3)));

    // An integer out of a variant's range goes on to the next variant.
    #[derive(Serializable, Debug)]
    enum Number {
        Small(i8),
        Int(i64),
        Big(u64),
        Float(f64),
    }
    let read = |v: Value| dman_core::serial::deserialize::<Number>(&v, &ctx).expect("a number");
    assert!(matches!(read(Value::Int(-3)), Number::Small(-3)));
    assert!(matches!(read(Value::Int(300)), Number::Int(300)));
    assert!(matches!(read(Value::UInt(u64::MAX)), Number::Big(u64::MAX)));
    // A float variant takes an integer it holds exactly, and leaves a
    // larger one to a variant that keeps it.
    #[derive(Serializable, Debug)]
    enum Loose {
        Float(f64),
        Any(dman_core::Dynamic),
    }
    let loose = |v: Value| dman_core::serial::deserialize::<Loose>(&v, &ctx).expect("any");
    assert!(matches!(loose(Value::Int(1 << 53)), Loose::Float(_)));
    assert!(matches!(loose(Value::Int((1 << 53) + 1)), Loose::Any(_)));
    assert!(matches!(
        loose(Value::UInt(u64::MAX)),
        Loose::Any(dman_core::Dynamic::UInt(u64::MAX))
    ));

    // Beyond 64 bits no variant holds it without rounding: an error.
    let big = dman_core::serial::deserialize::<Number>(&Value::BigInt("1".repeat(30)), &ctx);
    assert!(big.is_err(), "{big:?}");
}

/// An item no variant accepts is an error naming the variants, what was
/// found and where; a record of another `sto_type` is such an item.
#[test]
fn an_item_no_variant_accepts_is_a_clear_error() {
    #[derive(Serializable, Debug)]
    enum Notes {
        Note(Record<Note>),
        Int(i64),
    }
    #[derive(Modelclass, Debug)]
    #[dman(name = "holder")]
    struct Holder {
        items: Vec<Notes>,
    }
    let doc = json::from_str(
        r#"{"_ser__type": "holder", "_ser__content": {"items": [1,
            {"_ser__type": "_ser__record", "_ser__content": {"target": "a.person", "sto_type": "person"}}]}}"#,
    )
    .expect("json");
    let ctx = dman_core::DecodeContext::new(store(), StoragePath::root());
    let err = dman_core::serial::deserialize::<Holder>(&doc, &ctx)
        .expect_err("a person is no note")
        .to_string();
    assert!(err.contains("Record<Note>"), "{err}");
    assert!(err.contains("`Notes`"), "{err}");
    assert!(err.contains("items[1]"), "{err}");
    assert!(err.contains("person"), "{err}");
}

/// The deepest document the JSON reader takes is read as `Dynamic`,
/// written back and dropped on a 2 MiB stack (a tokio worker's).
#[test]
fn the_deepest_document_fits_a_worker_stack_as_dynamic() {
    let depth = json::MAX_DEPTH - 1;
    let text = format!(
        "{}{{\"k\": 1}}{}",
        "[{\"a\": ".repeat(depth / 2),
        "}]".repeat(depth / 2)
    );
    let run = move || {
        let doc = json::from_str(&text).expect("deep but legal");
        let ctx = dman_core::DecodeContext::new(store(), StoragePath::root());
        let value: dman_core::Dynamic =
            dman_core::serial::deserialize(&doc, &ctx).expect("decoded");
        let mut plan = dman_core::SavePlan::new(store(), dman_core::EncodeOptions::default());
        let mut ctx = dman_core::EncodeContext::new(&mut plan, StoragePath::root());
        let back = dman_core::serial::serialize(&value, &mut ctx).expect("encoded");
        assert!(back == doc, "written back as read");
        drop(value);
    };
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .expect("thread")
        .join()
        .expect("no stack overflow");
}
