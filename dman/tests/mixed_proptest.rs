//! Random mixed containers round-trip: lists, dicts and runs of ints,
//! floats (NaN, the infinities, -0.0 and subnormals included), strings
//! (control characters and non-ASCII included), nested lists, nulls,
//! integers beyond `i64` and records of two storable types are saved by
//! Rust, loaded back equal, and a fixed sample of them is loaded equal by
//! Python dman 1.0.1.
//!
//! Each case is described by a plain [`V`] tree that proptest generates
//! and shrinks; the containers are built from it and compared through it.
//! Comparison and the Python printout use a canonical text of that tree
//! (floats by their bits, strings by their UTF-8 bytes in hex) so that
//! neither side's JSON or float formatting takes part in the verdict.
//!
//! Needs the Python of scripts/setup-python.sh.

use std::path::Path;
use std::sync::Arc;

use dman::{Dynamic, MDict, MList, MRuns, MemoryBackend, Record, Repo, Serializable};
use dman_test_support::python;
use dman_test_support::storables::{Note, Person};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// A plain value inside a nested list. `Int` comes before `Float`
/// because `f64` accepts integers too; `Null` is only ever `None`, since
/// `Some(i)` would read back as `Int`.
#[derive(Serializable, Debug)]
enum Leaf {
    Int(i64),
    Float(f64),
    Text(String),
    Flag(bool),
    List(Vec<Leaf>),
    Null(Option<i64>),
}

/// An item of the containers under test, in the order reading tries them.
#[derive(Serializable, Debug)]
enum Mixed {
    Note(Record<Note>),
    Person(Record<Person>),
    Int(i64),
    /// Integers above `i64::MAX`, which `Int` must leave to it.
    Wide(u64),
    Float(f64),
    Text(String),
    Flag(bool),
    Nested(Vec<Leaf>),
    Null(Option<i64>),
    /// Integers no earlier variant takes (beyond 64 bits).
    Any(Dynamic),
}

/// What a case holds, independent of the containers.
#[derive(Debug, Clone)]
enum V {
    Note(String),
    Person(String),
    Int(i64),
    /// Above `i64::MAX`.
    Wide(u64),
    Float(f64),
    Text(String),
    Flag(bool),
    List(Vec<V>),
    Null,
    /// The decimal digits of an integer beyond 64 bits.
    Big(String),
}

/// One container to save.
#[derive(Debug, Clone)]
enum Case {
    List(Vec<V>),
    Dict {
        store_by_key: bool,
        store_subdir: bool,
        entries: Vec<(String, V)>,
    },
    Runs {
        store_subdir: bool,
        items: Vec<V>,
    },
}

// ---- strategies --------------------------------------------------------------

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::EPSILON),
        // Subnormals of either sign.
        (1u64..(1u64 << 52), any::<bool>()).prop_map(|(bits, neg)| {
            let f = f64::from_bits(bits);
            if neg {
                -f
            } else {
                f
            }
        }),
        // NaNs with a payload: any NaN must read back as a NaN.
        (1u64..(1u64 << 51)).prop_map(|payload| f64::from_bits(0x7ff8_0000_0000_0000 | payload)),
        // Integral floats, which Python writes as `2.0` or `1e+16`.
        (-(1i64 << 60)..(1i64 << 60)).prop_map(|i| i as f64),
        (-30i32..30).prop_map(|e| 10f64.powi(e)),
        any::<f64>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        any::<char>(),
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        prop::sample::select(vec![
            '"',
            '\\',
            '/',
            '\u{7f}',
            '\r',
            '\n',
            'é',
            'ß',
            '日',
            '😀',
            '\u{2028}',
            '\u{fffe}',
            '\u{feff}',
            '\u{10ffff}',
        ]),
        prop::char::range('a', 'z'),
    ];
    prop::collection::vec(ch, 0..12).prop_map(String::from_iter)
}

/// An integer Python writes that no 64-bit type holds: above `u64::MAX` or
/// below `i64::MIN`.
fn big() -> impl Strategy<Value = String> {
    (any::<bool>(), 1u8..10, "[0-9]{19,40}")
        .prop_map(|(neg, lead, rest)| format!("{}{lead}{rest}", if neg { "-" } else { "" }))
}

fn leaf() -> impl Strategy<Value = V> {
    let scalar = prop_oneof![
        any::<i64>().prop_map(V::Int),
        float().prop_map(V::Float),
        text().prop_map(V::Text),
        any::<bool>().prop_map(V::Flag),
        Just(V::Null),
    ];
    scalar.prop_recursive(3, 24, 5, |inner| {
        prop::collection::vec(inner, 0..5).prop_map(V::List)
    })
}

fn item() -> impl Strategy<Value = V> {
    prop_oneof![
        text().prop_map(V::Note),
        text().prop_map(V::Person),
        any::<i64>().prop_map(V::Int),
        ((1u64 << 63)..=u64::MAX).prop_map(V::Wide),
        float().prop_map(V::Float),
        text().prop_map(V::Text),
        any::<bool>().prop_map(V::Flag),
        prop::collection::vec(leaf(), 0..5).prop_map(V::List),
        Just(V::Null),
        big().prop_map(V::Big),
    ]
}

/// Entries with distinct keys, in the order generated.
fn entries(key: BoxedStrategy<String>) -> impl Strategy<Value = Vec<(String, V)>> {
    prop::collection::vec((key, item()), 0..8).prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect()
    })
}

fn case() -> impl Strategy<Value = Case> {
    // With store_by_key a key names a record's file, with store_subdir its
    // folder: letters, digits, `_`, `-` and some non-ASCII letters, never
    // `.` or a path separator. Any string is a key only when it names
    // nothing.
    let file_key = "[a-zA-Z0-9_\\-éß日]{1,10}".boxed();
    prop_oneof![
        prop::collection::vec(item(), 0..8).prop_map(Case::List),
        entries(text().boxed()).prop_map(|entries| Case::Dict {
            store_by_key: false,
            store_subdir: false,
            entries
        }),
        (any::<bool>(), any::<bool>(), entries(file_key)).prop_map(
            |(store_by_key, store_subdir, entries)| Case::Dict {
                store_by_key,
                store_subdir,
                entries
            }
        ),
        (any::<bool>(), prop::collection::vec(item(), 0..8)).prop_map(|(store_subdir, items)| {
            Case::Runs {
                store_subdir,
                items,
            }
        }),
    ]
}

// ---- building and reading containers -------------------------------------

fn to_leaf(v: &V) -> Leaf {
    match v {
        V::Int(i) => Leaf::Int(*i),
        V::Float(f) => Leaf::Float(*f),
        V::Text(s) => Leaf::Text(s.clone()),
        V::Flag(b) => Leaf::Flag(*b),
        V::List(items) => Leaf::List(items.iter().map(to_leaf).collect()),
        V::Null => Leaf::Null(None),
        V::Note(_) | V::Person(_) | V::Wide(_) | V::Big(_) => unreachable!("leaf() makes no {v:?}"),
    }
}

fn to_mixed(v: &V) -> Mixed {
    match v {
        V::Note(text) => Mixed::Note(Record::new(Note { text: text.clone() })),
        V::Person(name) => Mixed::Person(Record::new(Person { name: name.clone() })),
        V::Int(i) => Mixed::Int(*i),
        V::Wide(u) => Mixed::Wide(*u),
        V::Float(f) => Mixed::Float(*f),
        V::Text(s) => Mixed::Text(s.clone()),
        V::Flag(b) => Mixed::Flag(*b),
        V::List(items) => Mixed::Nested(items.iter().map(to_leaf).collect()),
        V::Null => Mixed::Null(None),
        V::Big(digits) => Mixed::Any(Dynamic::BigInt(digits.clone())),
    }
}

fn from_leaf(leaf: &Leaf) -> V {
    match leaf {
        Leaf::Int(i) => V::Int(*i),
        Leaf::Float(f) => V::Float(*f),
        Leaf::Text(s) => V::Text(s.clone()),
        Leaf::Flag(b) => V::Flag(*b),
        Leaf::List(items) => V::List(items.iter().map(from_leaf).collect()),
        // A `Some` here would be an integer that `Int` did not take.
        Leaf::Null(None) => V::Null,
        Leaf::Null(Some(i)) => V::Big(format!("unexpected Some({i})")),
    }
}

async fn from_mixed(item: &Mixed) -> dman::Result<V> {
    Ok(match item {
        Mixed::Note(r) => V::Note(r.get().await?.text.clone()),
        Mixed::Person(r) => V::Person(r.get().await?.name.clone()),
        Mixed::Int(i) => V::Int(*i),
        Mixed::Wide(u) => V::Wide(*u),
        Mixed::Float(f) => V::Float(*f),
        Mixed::Text(s) => V::Text(s.clone()),
        Mixed::Flag(b) => V::Flag(*b),
        Mixed::Nested(items) => V::List(items.iter().map(from_leaf).collect()),
        Mixed::Null(None) => V::Null,
        Mixed::Null(Some(i)) => V::Big(format!("unexpected Some({i})")),
        Mixed::Any(Dynamic::BigInt(digits)) => V::Big(digits.clone()),
        Mixed::Any(other) => V::Big(format!("unexpected Dynamic {other:?}")),
    })
}

async fn from_items<'a>(items: impl Iterator<Item = &'a Mixed>) -> dman::Result<Vec<V>> {
    let mut out = Vec::new();
    for item in items {
        out.push(from_mixed(item).await?);
    }
    Ok(out)
}

async fn save(repo: &Repo, key: &str, case: &Case) -> dman::Result<()> {
    match case {
        Case::List(items) => {
            let list: MList<Mixed> = items.iter().map(to_mixed).collect();
            repo.save(key, &list).await?;
        }
        Case::Dict {
            store_by_key,
            store_subdir,
            entries,
        } => {
            let mut dict = MDict::new()
                .store_by_key(*store_by_key)
                .store_subdir(*store_subdir);
            for (k, v) in entries {
                dict.insert(k.clone(), to_mixed(v));
            }
            repo.save(key, &dict).await?;
        }
        Case::Runs {
            store_subdir,
            items,
        } => {
            let mut runs = MRuns::new().store_subdir(*store_subdir);
            for v in items {
                runs.push(to_mixed(v));
            }
            repo.save(key, &runs).await?;
        }
    }
    Ok(())
}

/// Loads `key` as the container `case` was saved as, and describes it as a
/// case again (options included).
async fn load(repo: &Repo, key: &str, case: &Case) -> dman::Result<Case> {
    Ok(match case {
        Case::List(_) => {
            let list: MList<Mixed> = repo.load(key).await?;
            Case::List(from_items(list.iter()).await?)
        }
        Case::Dict { .. } => {
            let dict: MDict<Mixed> = repo.load(key).await?;
            let mut entries = Vec::new();
            for (k, item) in dict.iter() {
                entries.push((k.clone(), from_mixed(item).await?));
            }
            Case::Dict {
                store_by_key: dict.is_store_by_key(),
                store_subdir: dict.is_store_subdir(),
                entries,
            }
        }
        Case::Runs { .. } => {
            let runs: MRuns<Mixed> = repo.load(key).await?;
            Case::Runs {
                store_subdir: runs.is_store_subdir(),
                items: from_items(runs.iter()).await?,
            }
        }
    })
}

// ---- the canonical text -------------------------------------------------------

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Every NaN is `f:nan`; any other float is its bits, so -0.0 and 0.0
/// differ and no float formatting is involved.
fn canon(v: &V) -> String {
    match v {
        V::Note(text) => format!("note:{}", hex(text)),
        V::Person(name) => format!("person:{}", hex(name)),
        V::Int(i) => format!("i:{i}"),
        V::Wide(u) => format!("i:{u}"),
        V::Float(f) if f.is_nan() => "f:nan".into(),
        V::Float(f) => format!("f:{}", f.to_bits()),
        V::Text(s) => format!("s:{}", hex(s)),
        V::Flag(b) => b.to_string(),
        V::List(items) => canon_list(items),
        V::Null => "null".into(),
        V::Big(digits) => format!("i:{digits}"),
    }
}

fn canon_list(items: &[V]) -> String {
    let parts: Vec<String> = items.iter().map(canon).collect();
    format!("[{}]", parts.join(","))
}

fn canon_case(case: &Case) -> String {
    match case {
        Case::List(items) | Case::Runs { items, .. } => canon_list(items),
        Case::Dict { entries, .. } => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", hex(k), canon(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// The options a container keeps, which its items' text does not show.
fn options(case: &Case) -> String {
    match case {
        Case::List(_) => "list".into(),
        Case::Dict {
            store_by_key,
            store_subdir,
            ..
        } => format!("dict by_key={store_by_key} subdir={store_subdir}"),
        Case::Runs { store_subdir, .. } => format!("runs subdir={store_subdir}"),
    }
}

// ---- Rust round trip ------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

#[test]
fn random_mixed_containers_load_back_equal() {
    let rt = runtime();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        // A failure prints its shrunk case; no regression file in the tree.
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |case| {
        rt.block_on(async {
            let repo = Repo::new(Arc::new(MemoryBackend::new())).with_generator("gen");
            save(&repo, "case", &case)
                .await
                .map_err(|e| TestCaseError::fail(format!("save: {e}")))?;
            let back = load(&repo, "case", &case)
                .await
                .map_err(|e| TestCaseError::fail(format!("load: {e}")))?;
            prop_assert_eq!(options(&back), options(&case));
            prop_assert_eq!(canon_case(&back), canon_case(&case));
            Ok(())
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

// ---- Python loads a sample --------------------------------------------------------

/// The Python side: the same storables, and the canonical text of each key
/// named on the command line, one line each.
const PYTHON: &str = r#"
import sys, os, struct
import dman

@dman.storable(name="note")
class Note:
    __ext__ = ".txt"
    def __init__(self, text): self.text = text
    def __write__(self, path):
        with open(path, "w", encoding="utf-8", newline="") as f: f.write(self.text)
    @classmethod
    def __read__(cls, path):
        # newline="": a "\r" in the text must not become "\n".
        with open(path, encoding="utf-8", newline="") as f: return cls(f.read())

@dman.storable(name="person")
class Person:
    __ext__ = ".person"
    def __init__(self, name): self.name = name
    def __write__(self, path):
        with open(path, "w", encoding="utf-8", newline="") as f: f.write(self.name)
    @classmethod
    def __read__(cls, path):
        with open(path, encoding="utf-8", newline="") as f: return cls(f.read())

def hx(s): return s.encode("utf-8").hex()

def canon(v):
    if isinstance(v, Note): return "note:" + hx(v.text)
    if isinstance(v, Person): return "person:" + hx(v.name)
    if v is None: return "null"
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, int): return "i:%d" % v
    if isinstance(v, float):
        if v != v: return "f:nan"
        return "f:%d" % struct.unpack("<Q", struct.pack("<d", v))[0]
    if isinstance(v, str): return "s:" + hx(v)
    if isinstance(v, (dman.mdict, dict)):
        return "{" + ",".join(hx(k) + ":" + canon(v[k]) for k in v) + "}"
    if isinstance(v, (dman.mlist, dman.mruns, list)):
        return "[" + ",".join(canon(x) for x in v) + "]"
    raise TypeError("unexpected %r" % (v,))

os.chdir(sys.argv[1])
for key in sys.argv[2:]:
    print(canon(dman.load(key, generator="gen")))
"#;

/// The first cases of a fixed seed: the same sample on every run.
fn sample(n: usize) -> Vec<Case> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = case();
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("generate a case")
                .current()
        })
        .collect()
}

fn python(dir: &Path, keys: &[String]) -> String {
    let script = dir.join("mixed_proptest.py");
    std::fs::write(&script, PYTHON).expect("write the script");
    let mut args = vec![script.display().to_string(), dir.display().to_string()];
    args.extend(keys.iter().cloned());
    python::run(&args)
}

/// Everything the issue names in one dict, so that Python sees each of
/// them whatever the random sample holds.
fn everything() -> Case {
    let floats = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        2.0,
        1e16,
        1e-5,
        0.1,
        f64::from_bits(1),
        -f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MAX,
    ];
    let mut entries: Vec<(String, V)> = floats
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}"), V::Float(*f)))
        .collect();
    entries.extend([
        (
            "note".into(),
            V::Note("h\u{e9}llo\r\n\u{0}\u{1F600}".into()),
        ),
        ("person".into(), V::Person("\u{65e5}\u{672c}\t\"q\"".into())),
        ("int".into(), V::Int(i64::MIN)),
        ("i64-max".into(), V::Int(i64::MAX)),
        ("above-i64".into(), V::Wide(1 << 63)),
        ("u64-max".into(), V::Wide(u64::MAX)),
        (
            "text".into(),
            V::Text("\u{0}\u{1f}\u{7f}\u{2028}\\/\u{10ffff}".into()),
        ),
        ("flag".into(), V::Flag(true)),
        ("null".into(), V::Null),
        (
            "big".into(),
            V::Big("-123456789012345678901234567890".into()),
        ),
        ("above-u64".into(), V::Big("18446744073709551616".into())),
        (
            "nested".into(),
            V::List(vec![
                V::Int(1),
                V::Float(f64::NAN),
                V::List(vec![V::Text("\u{e9}".into()), V::Null, V::List(vec![])]),
                V::Flag(false),
            ]),
        ),
    ]);
    Case::Dict {
        store_by_key: true,
        store_subdir: true,
        entries,
    }
}

#[test]
fn python_loads_a_sample_equal() {
    let mut cases = sample(8);
    cases.push(everything());
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    std::fs::create_dir(dir.join(".dman")).expect("mkdir .dman");
    let repo = dman::open(&dir.join(".dman").display().to_string())
        .expect("open the folder")
        .with_generator("gen");
    let keys: Vec<String> = (0..cases.len()).map(|i| format!("sample-{i}")).collect();
    runtime().block_on(async {
        for (key, case) in keys.iter().zip(&cases) {
            save(&repo, key, case).await.expect("save a sample");
            let back = load(&repo, key, case).await.expect("load a sample");
            assert_eq!(canon_case(&back), canon_case(case), "Rust, {key}");
        }
    });

    let printed = python(dir, &keys);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per key:\n{printed}");
    for ((key, case), line) in keys.iter().zip(&cases).zip(lines) {
        assert_eq!(line, canon_case(case), "Python, {key}: {case:?}");
    }
}

/// Integer variants of different widths, then a catch-all.
#[derive(Serializable, Debug)]
enum Widths {
    Small(u8),
    Int(i64),
    Any(Dynamic),
}

/// Found by the round trip above: `i64` accepted 2^63 (JSON `UInt`) and
/// then failed the read with "does not fit in i64", where a later variant
/// would have kept it. An integer now goes to the first variant it fits.
#[test]
fn an_integer_too_wide_for_a_variant_is_left_to_the_next() {
    runtime().block_on(async {
        let repo = Repo::new(Arc::new(MemoryBackend::new())).with_generator("gen");
        let list: MList<Widths> = [
            Widths::Small(7),
            Widths::Int(300),
            Widths::Int(-1),
            Widths::Any(Dynamic::UInt(1 << 63)),
            Widths::Any(Dynamic::UInt(u64::MAX)),
        ]
        .into_iter()
        .collect();
        repo.save("widths", &list).await.expect("save");
        let back: MList<Widths> = repo
            .load("widths")
            .await
            .expect("an integer variant fits each");
        let got: Vec<String> = back.iter().map(|w| format!("{w:?}")).collect();
        assert_eq!(
            got,
            [
                "Small(7)",
                "Int(300)",
                "Int(-1)",
                "Any(9223372036854775808)",
                "Any(18446744073709551615)"
            ]
        );
    });
}
