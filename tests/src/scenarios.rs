//! Every scenario of the reference trees from the Rust side: the Rust type
//! each one loads as ([`load`]), and the Rust code that writes each
//! round-trippable one as `make_reference_trees.py` does in Python
//! ([`write()`]).

use std::future::Future;
use std::pin::Pin;

use dman::core::json::{self, Map, Value};
use dman::core::repo::generator_for_source;
use dman::ndarray::{arr0, array, Array1, Array2, Array3, ShapeBuilder};
use dman::numeric::num_complex::Complex;
use dman::numeric::{CArray, SArray};
use dman::{
    ItemOptions, Key, MDict, MList, MRuns, Record, Repo, Result, RetouchPolicy, SMDict, SMList,
    SMRuns, Serializable, Storable,
};

use crate::fixture::Scenario;
use crate::norm::{NormFuture, Normalize, NormalizeStored};
use crate::refmodel::*;

/// A boxed future of a result.
pub type ResultFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// A scenario's value loaded with its Rust type.
pub trait Loaded {
    /// The normalized value (records are followed).
    fn normalize(&self) -> NormFuture<'_>;
    /// Saves the value back where it was loaded from (`save`, or `store`
    /// for scenarios written with `store`).
    fn save_back<'a>(&'a self, repo: &'a Repo, sc: &'a Scenario) -> ResultFuture<'a, ()>;
}

struct Saved<T>(T);
struct StoredValue<S>(S);

impl<T: Serializable + Normalize> Loaded for Saved<T> {
    fn normalize(&self) -> NormFuture<'_> {
        self.0.normalize()
    }
    fn save_back<'a>(&'a self, repo: &'a Repo, sc: &'a Scenario) -> ResultFuture<'a, ()> {
        Box::pin(async move { repo.save(sc.key(), &self.0).await.map(drop) })
    }
}

impl<S: Storable + Clone + NormalizeStored> Loaded for StoredValue<S> {
    fn normalize(&self) -> NormFuture<'_> {
        self.0.normalize_stored()
    }
    fn save_back<'a>(&'a self, repo: &'a Repo, sc: &'a Scenario) -> ResultFuture<'a, ()> {
        Box::pin(async move { repo.store(sc.key(), &self.0).await.map(drop) })
    }
}

async fn saved<T: Serializable + Normalize + 'static>(
    repo: &Repo,
    sc: &Scenario,
) -> Result<Box<dyn Loaded>> {
    let value: T = repo.load(sc.key()).await?;
    Ok(Box::new(Saved(value)))
}

async fn stored<S: Storable + Clone + NormalizeStored + 'static>(
    repo: &Repo,
    sc: &Scenario,
) -> Result<Box<dyn Loaded>> {
    let value: S = repo.load_stored(sc.key()).await?;
    Ok(Box::new(StoredValue(value)))
}

/// Loads a scenario with its Rust type (records stay unloaded but for
/// preloaded ones).
pub async fn load(repo: &Repo, sc: &Scenario) -> Result<Box<dyn Loaded>> {
    match sc.name.as_str() {
        // Written with `store`: the storable file itself.
        "store_run" | "store_cluster" => stored::<Run>(repo, sc).await,
        "store_person" => stored::<Person>(repo, sc).await,
        "store_barray" => stored::<Array2<f64>>(repo, sc).await,
        "store_smdict" => stored::<SMDict<Any>>(repo, sc).await,

        "json_scalars" => saved::<JsonScalars>(repo, sc).await,
        "json_bigint" => saved::<JsonBigint>(repo, sc).await,
        "json_top_list" => saved::<Vec<Value>>(repo, sc).await,
        "json_top_string" => saved::<String>(repo, sc).await,
        "serializable_dataclass" => saved::<Segment>(repo, sc).await,
        "enum_values" => saved::<EnumValues>(repo, sc).await,
        "modelclass_basic" => saved::<Vec<Config>>(repo, sc).await,
        "modelclass_compact" => saved::<Compact>(repo, sc).await,
        "compact_in_modelclass" => saved::<CompactInModelclass>(repo, sc).await,
        "storable_in_mlist" => saved::<MList<Run>>(repo, sc).await,
        "storable_in_mdict" => saved::<MDict<Run>>(repo, sc).await,
        "storable_in_mruns" => saved::<MRuns<Run>>(repo, sc).await,
        "nested_storables" => saved::<Level0>(repo, sc).await,
        "record_options" => saved::<RecordOptions>(repo, sc).await,
        "record_fields" => saved::<RecordFields>(repo, sc).await,
        "top_record" => saved::<Record<Person>>(repo, sc).await,
        "auto_model" => saved::<AutoModel>(repo, sc).await,
        "instance" => saved::<Instances>(repo, sc).await,
        "mlist_mixed" | "mlist_options" | "storable_containers" | "save_flat_records" => {
            saved::<MList<Any>>(repo, sc).await
        }
        "smlist_top" => saved::<SMList<Any>>(repo, sc).await,
        "smdict_top" => saved::<SMDict<Any>>(repo, sc).await,
        "smruns_top" => saved::<SMRuns<Array1<f64>>>(repo, sc).await,
        "mdict_default"
        | "mdict_by_key"
        | "mdict_subdir"
        | "mdict_by_key_subdir"
        | "mdict_preload"
        | "mdict_record_options" => saved::<MDict<Any>>(repo, sc).await,
        "mruns_default"
        | "mruns_flat"
        | "mruns_subdir"
        | "mruns_removed"
        | "mruns_record_options" => saved::<MRuns<Any>>(repo, sc).await,
        "mruns_preload" => saved::<MRuns<Array1<f64>>>(repo, sc).await,
        "mc_store_by_field" => saved::<ByField>(repo, sc).await,
        "mc_cluster" => saved::<Clustered>(repo, sc).await,
        "mc_subdir" => saved::<InSubdir>(repo, sc).await,
        "mc_all_options" => saved::<AllOptions>(repo, sc).await,
        "mc_no_serialize" => saved::<NoSerialize>(repo, sc).await,
        "barrays" | "barrays_more_dtypes" => saved::<MDict<AnyArray>>(repo, sc).await,
        "inline_arrays" => saved::<InlineArrays>(repo, sc).await,
        "numeric_fields" => saved::<NumericFields>(repo, sc).await,
        "save_flat" | "save_generator" => saved::<Config>(repo, sc).await,
        "save_subdir" | "retouch_auto" => saved::<MList<Array1<f64>>>(repo, sc).await,
        "retouch_ignore" => saved::<MList<Person>>(repo, sc).await,
        "label_generator" | "label_root" => saved::<Label>(repo, sc).await,

        // Python's failure paths, as the data was meant.
        "invalid_unserializable" => saved::<InvalidUnserializable>(repo, sc).await,
        "invalid_exc_unserializable" => saved::<Vec<Any>>(repo, sc).await,
        "invalid_no_file" | "invalid_exc_unwritable" | "invalid_exc_unreadable" => {
            saved::<Holder>(repo, sc).await
        }
        "invalid_no_file_mlist" | "missing_file_dropped" => {
            saved::<MList<Array1<f64>>>(repo, sc).await
        }
        "invalid_undeserializable" => saved::<InvalidUndeserializable>(repo, sc).await,
        "invalid_exc_undeserializable" => saved::<InvalidExcUndeserializable>(repo, sc).await,
        other => panic!("scenario `{other}` has no Rust type: add it to scenarios::load"),
    }
}

// ---- writing --------------------------------------------------------------------------

/// Every scenario dman-rs writes, in manifest order.
pub const WRITTEN: &[&str] = &[
    "json_scalars",
    "json_top_list",
    "json_top_string",
    "serializable_dataclass",
    "enum_values",
    "modelclass_basic",
    "modelclass_compact",
    "compact_in_modelclass",
    "storable_in_mlist",
    "storable_in_mdict",
    "storable_in_mruns",
    "nested_storables",
    "record_options",
    "record_fields",
    "top_record",
    "auto_model",
    "instance",
    "mlist_mixed",
    "mlist_options",
    "storable_containers",
    "smlist_top",
    "smdict_top",
    "smruns_top",
    "mdict_default",
    "mdict_by_key",
    "mdict_subdir",
    "mdict_by_key_subdir",
    "mdict_preload",
    "mdict_record_options",
    "mruns_default",
    "mruns_flat",
    "mruns_subdir",
    "mruns_removed",
    "mruns_record_options",
    "mruns_preload",
    "mc_store_by_field",
    "mc_cluster",
    "mc_subdir",
    "mc_all_options",
    "mc_no_serialize",
    "barrays",
    "barrays_more_dtypes",
    "inline_arrays",
    "numeric_fields",
    "store_run",
    "store_person",
    "store_barray",
    "store_smdict",
    "store_cluster",
    "save_flat",
    "save_flat_records",
    "save_subdir",
    "save_generator",
    "label_generator",
    "label_root",
    "retouch_auto",
    "retouch_ignore",
];

fn parse(text: &str) -> Value {
    json::from_str(text).expect("valid JSON")
}

fn map(text: &str) -> Map {
    match parse(text) {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn values(text: &str) -> Vec<Value> {
    match parse(text) {
        Value::Array(items) => items,
        other => panic!("not a list: {other}"),
    }
}

fn rec<T>(value: T) -> Option<Record<T>> {
    Some(Record::new(value))
}

fn opts(f: impl FnOnce(&mut ItemOptions)) -> ItemOptions {
    let mut o = ItemOptions::default();
    f(&mut o);
    o
}

fn mdict_items(mut d: MDict<Any>) -> MDict<Any> {
    d.insert("john", Any::person("John Silver"));
    d.insert("arr", Any::array(ba(&[1.0, 2.0])));
    d.insert("inline", Any::parse(r#"{"n": 1}"#));
    d
}

/// Writes the scenario `name` into `repo` (generator `ref` unless the
/// scenario says otherwise), as `make_reference_trees.py` does.
pub async fn write(repo: &Repo, name: &str) -> Result<()> {
    let key = Key::new(name);
    match name {
        "json_scalars" => {
            let value = JsonScalars {
                ints: vec![0, 1, -1, 42, 1 << 31, (1 << 53) + 1, i64::MAX, i64::MIN],
                floats: vec![
                    0.1,
                    1e-05,
                    1e16,
                    1.0,
                    -0.0,
                    -2.5,
                    1.5e300,
                    5e-324,
                    1.797_693_134_862_315_7e308,
                    0.300_000_000_000_000_04,
                    123_456_789.125,
                ],
                nonfinite: vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
                strings: [
                    "",
                    "plain",
                    "h\u{e9}llo w\u{f6}rld",
                    "snow \u{2603} and emoji \u{1F600}",
                    "quote \" backslash \\ slash /",
                    "tab\tnewline\ncr\rbell\x07nul\x00",
                    "\u{65e5}\u{672c}\u{8a9e}",
                ]
                .map(String::from)
                .to_vec(),
                bools: vec![true, false],
                none: None,
                nested: parse(
                    r#"{"list": [1, [2, [3, []]], {}], "dict": {"a": {"b": {"c": null}}}, "empty_list": [], "empty_dict": {}}"#,
                ),
                tuple: values(r#"[1, "two", 3.0]"#),
                int_key: [("1", "one"), ("2", "two")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into_iter()
                    .collect(),
                mixed: values(r#"[1, 2.5, "three", null, true, [false], {"k": "v"}]"#),
            };
            repo.save(key, &value).await?;
        }
        "json_top_list" => {
            repo.save(key, &values(r#"[1, "two", 3.5, null, [4, 5]]"#))
                .await?;
        }
        "json_top_string" => {
            repo.save(key, &"just a string \u{2713}".to_string())
                .await?;
        }
        "serializable_dataclass" => {
            let value = Segment {
                start: Point {
                    x: 0.0,
                    y: 1.5,
                    label: "origin".into(),
                },
                end: Point {
                    x: -2.0,
                    y: 3.25,
                    label: String::new(),
                },
                color: Color::Blue,
                tags: vec!["a".into(), "b".into()],
            };
            repo.save(key, &value).await?;
        }
        "enum_values" => {
            let value = EnumValues {
                list: vec![Color::Red, Color::Green, Color::Blue],
                one: Color::Green,
            };
            repo.save(key, &value).await?;
        }
        "modelclass_basic" => {
            let value = vec![
                Config {
                    seed: 7,
                    size: 3,
                    lr: 0.125,
                    name: "first".into(),
                    enabled: false,
                    inner: Inner {
                        alpha: 1.5,
                        beta: vec![1, 2, 3],
                    },
                    layers: vec![16, 32],
                    inners: vec![
                        Inner::default(),
                        Inner {
                            alpha: -1.0,
                            beta: vec![4],
                        },
                    ],
                    options: map(r#"{"opt": "adam", "eps": 1e-08, "nested": {"k": [1, 2]}}"#),
                    color: Color::Blue,
                    note: None,
                },
                Config {
                    note: Some("with a note".into()),
                    ..Config::default()
                },
            ];
            repo.save(key, &value).await?;
        }
        "modelclass_compact" => {
            let value = Compact {
                count: 3,
                ratio: 0.75,
                label: "compact".into(),
                flag: true,
                inner: CompactInner {
                    k: 5,
                    v: "five".into(),
                },
                values: values(r#"[1, 2.5, "x", [3]]"#),
                mapping: map(r#"{"a": 1, "b": [true, null]}"#),
                point: Some(Point {
                    x: 1.0,
                    y: 2.0,
                    label: "p".into(),
                }),
                config: Some(Config {
                    seed: 11,
                    inner: Inner {
                        alpha: 2.0,
                        beta: vec![],
                    },
                    ..Config::default()
                }),
                note: None,
                data: rec(ba(&[1.0, 2.0, 3.0])),
                person: rec(Person::new("Compact Carl")),
            };
            repo.save(key, &value).await?;
        }
        "compact_in_modelclass" => {
            let value = CompactInModelclass {
                holder: CompactHolder {
                    title: "outer".into(),
                    body: Some(Compact {
                        count: 1,
                        ratio: 0.5,
                        label: "inner".into(),
                        flag: false,
                        inner: CompactInner::default(),
                        values: vec![],
                        mapping: Map::new(),
                        point: None,
                        config: None,
                        note: None,
                        data: rec(AnyArray::i64(array![[1i64, 2], [3, 4]])),
                        person: None,
                    }),
                },
                list: vec![
                    CompactInner {
                        k: 1,
                        v: "a".into(),
                    },
                    CompactInner {
                        k: 2,
                        v: "b".into(),
                    },
                ],
            };
            repo.save(key, &value).await?;
        }
        "storable_in_mlist" => {
            let mut value = MList::new();
            value.push(run_value(1));
            value.push(run_value(2));
            repo.save(key, &value).await?;
        }
        "storable_in_mdict" => {
            let mut value = MDict::new().store_by_key(true).store_subdir(true);
            value.insert("alpha", run_value(3));
            value.insert("beta", run_value(4));
            repo.save(key, &value).await?;
        }
        "storable_in_mruns" => {
            let mut value = MRuns::new();
            value.push(run_value(5));
            value.push(run_value(6));
            repo.save(key, &value).await?;
        }
        "nested_storables" => {
            let value = Level0 {
                tag: "zero".into(),
                child: rec(Level1 {
                    tag: "one".into(),
                    child: rec(Level2 {
                        tag: "two".into(),
                        child: rec(Level3 {
                            tag: "three".into(),
                            values: rec(array![[1.0, 2.0], [3.0, 4.0]]),
                        }),
                    }),
                }),
            };
            repo.save(key, &value).await?;
        }
        "record_options" => {
            let p = Person::new;
            let value = RecordOptions {
                default: Record::new(p("Default Dan")),
                stem: Record::new(p("John Silver")).stem("john"),
                stem_suffix: Record::new(p("Jack")).stem("jack").suffix(".txt"),
                name: Record::new(p("Jane")).name("jane.person"),
                subdir: Record::new(p("Jim")).stem("jim").subdir("people"),
                dotted_stem: Record::new(p("Long John"))
                    .stem("john.person")
                    .subdir("people"),
                nested_subdir: Record::new(array![1i64, 2, 3]).subdir("a/b/c"),
                preload: Record::new(arr1(&[0.5])).stem("preloaded").preload(true),
                name_no_ext: Record::new(p("Readme")).name("README"),
                unicode: Record::new(p("Zo\u{eb} \u{2603}")).stem("zoe"),
            };
            repo.save(key, &value).await?;
        }
        "record_fields" => {
            let value = RecordFields {
                plain: rec(arr1(&[1.0, 2.0])),
                by_stem: rec(arr1(&[3.0])),
                by_suffix: rec(Person::new("Suffix Sue")),
                by_stem_suffix: rec(Person::new("Ann")),
                by_name: rec(array![4i32, 5]),
                by_subdir: rec(Person::new("Sub Sam")),
                preloaded: rec(array![[6.0]]),
                dotted_stem: rec(Person::new("Dotty")),
                empty: None,
            };
            repo.save(key, &value).await?;
        }
        "top_record" => {
            repo.save(key, &Record::new(Person::new("Top Tom"))).await?;
        }
        "auto_model" => {
            let mut dict = MDict::new();
            dict.insert("x", Any::person("Dict Dee"));
            dict.insert("y", Any::json(2));
            let value = AutoModel {
                list: MList::from_iter([
                    Any::json(1),
                    Any::person("Listed Lou"),
                    Any::array(ba(&[1.5])),
                ]),
                dict,
                plain: vec![1, 2],
            };
            repo.save(key, &value).await?;
        }
        "instance" => {
            let ell1 = || Instance("ell1".into());
            let value = Instances {
                metric: ell1(),
                metrics: vec![ell1(), ell1()],
            };
            repo.save(key, &value).await?;
        }
        "mlist_mixed" => {
            let mut value = MList::from_iter([
                Any::json(1),
                Any::json("two"),
                Any::array(ba(&[1.0, 2.0])),
                Any::person("Mixed Max"),
                Any::parse(r#"{"k": "v"}"#),
                Any::config(Config {
                    seed: 3,
                    ..Config::default()
                }),
                Any::json(Value::Null),
                Any::parse("[1, [2]]"),
                Any::ndarray(arr1(&[7.0, 8.0]).into_dyn()),
            ]);
            value.record(
                Any::array(AnyArray::i64(array![3i64, 4])),
                &opts(|o| {
                    o.stem = Some("recorded".into());
                    o.subdir = Some("recs".into());
                    o.preload = true;
                }),
            );
            value.record_at(
                1,
                Any::person("Inserted Ida"),
                &ItemOptions::name("inserted.person"),
            );
            value.record(
                Any::array(ba(&[5.0])),
                &opts(|o| o.suffix = Some(".bin".into())),
            );
            value.record(Any::json("not storable"), &ItemOptions::stem("ignored"));
            repo.save(key, &value).await?;
        }
        "mlist_options" => {
            let mut value = MList::new().subdir("items").preload(true);
            value.push(Any::array(ba(&[1.0])));
            value.push(Any::person("Opt Olga"));
            value.push(Any::json(3));
            repo.save(key, &value).await?;
        }
        "storable_containers" => {
            let sml = MList::from_iter([
                Any::array(ba(&[1.0, 2.0])),
                Any::json("inline"),
                Any::person("In List"),
            ]);
            let mut smd = MDict::new().store_by_key(true);
            smd.insert("a", Any::array(AnyArray::i64(array![7i64])));
            smd.insert("b", Any::json("inline"));
            let mut smr = MRuns::new().stem("srun");
            smr.push(Any::array(ba(&[8.0])));
            smr.push(Any::person("In Runs"));
            let at = |stem: &str| {
                opts(|o| {
                    o.stem = Some(stem.into());
                    o.subdir = Some("containers".into());
                })
            };
            let mut value = MList::new();
            value.record(Any::list(sml), &at("inner-list"));
            value.record(Any::dict(smd), &at("inner-dict"));
            value.record(Any::runs(smr), &at("inner-runs"));
            value.push(Any::list(MList::from_iter([Any::array(ba(&[9.0]))])));
            repo.save(key, &value).await?;
        }
        "smlist_top" => {
            let value = SMList(MList::from_iter([Any::json(1), Any::array(ba(&[2.0]))]));
            repo.save(key, &value).await?;
        }
        "smdict_top" => {
            let mut value = MDict::new().store_by_key(true).subdir("dd");
            value.insert("one", Any::array(ba(&[1.0])));
            value.insert("two", Any::json(2));
            repo.save(key, &SMDict(value)).await?;
        }
        "smruns_top" => {
            let mut value = SMRuns::from(MRuns::new().stem("s").store_subdir(false));
            value.push(arr1(&[1.0]));
            repo.save(key, &value).await?;
        }
        "mdict_default" => {
            repo.save(key, &mdict_items(MDict::new())).await?;
        }
        "mdict_by_key" => {
            let value = mdict_items(MDict::new().subdir("people").store_by_key(true));
            repo.save(key, &value).await?;
        }
        "mdict_subdir" => {
            let value = mdict_items(MDict::new().store_subdir(true));
            repo.save(key, &value).await?;
        }
        "mdict_by_key_subdir" => {
            let value = mdict_items(
                MDict::new()
                    .subdir("people")
                    .store_by_key(true)
                    .store_subdir(true),
            );
            repo.save(key, &value).await?;
        }
        "mdict_preload" => {
            let value = mdict_items(MDict::new().subdir("pre").preload(true));
            repo.save(key, &value).await?;
        }
        "mdict_record_options" => {
            let mut value = MDict::new().store_by_key(true);
            value.record(
                "s",
                Any::person("Stemmy"),
                &ItemOptions::stem("custom-stem"),
            );
            value.record(
                "x",
                Any::person("Suffixy"),
                &opts(|o| o.suffix = Some(".txt".into())),
            );
            value.record("n", Any::array(ba(&[1.0])), &ItemOptions::name("named.npy"));
            value.record(
                "d",
                Any::array(ba(&[2.0])),
                &opts(|o| {
                    o.subdir = Some("extra".into());
                    o.preload = true;
                }),
            );
            value.record("i", Any::json(5), &ItemOptions::stem("ignored"));
            repo.save(key, &value).await?;
        }
        "mruns_default" => {
            let mut value = MRuns::new();
            value.push(Any::array(ba(&[1.0])));
            value.push(Any::parse(r#"{"inline": true}"#));
            value.push(Any::person("Runner Rae"));
            repo.save(key, &value).await?;
        }
        "mruns_flat" => {
            let mut value = MRuns::new()
                .stem("exp")
                .subdir("results")
                .store_subdir(false);
            value.push(Any::array(ba(&[1.0])));
            value.push(Any::person("Flat Fay"));
            value.push(Any::run(run_value(7)));
            repo.save(key, &value).await?;
        }
        "mruns_subdir" => {
            let mut value = MRuns::new().stem("experiment").subdir("results");
            value.push(Any::run(run_value(8)));
            value.push(Any::array(ba(&[2.0])));
            repo.save(key, &value).await?;
        }
        "mruns_removed" => {
            let factory = || MRuns::new().stem("trial").subdir("trials");
            repo.track(&key, factory, async |runs: &mut MRuns<Any>| {
                for seed in [10, 11, 12] {
                    runs.push(Any::run(run_value(seed)));
                }
                Ok(())
            })
            .await?;
            repo.track(&key, factory, async |runs: &mut MRuns<Any>| {
                runs.remove(0);
                runs.push(Any::run(run_value(13)));
                runs.push(Any::array(ba(&[14.0])));
                Ok(())
            })
            .await?;
        }
        "mruns_record_options" => {
            let mut value = MRuns::new().stem("r");
            value.push(Any::array(ba(&[0.0])));
            value.record(
                Any::array(ba(&[1.0])),
                &opts(|o| {
                    o.stem = Some("custom".into());
                    o.subdir = Some("extra".into());
                    o.preload = true;
                }),
            );
            value.record_at(
                0,
                Any::person("First Fran"),
                &ItemOptions::name("first.person"),
            );
            value.record(
                Any::array(ba(&[2.0])),
                &opts(|o| o.suffix = Some(".bin".into())),
            );
            repo.save(key, &value).await?;
        }
        "mruns_preload" => {
            let mut value = MRuns::new()
                .stem("p")
                .subdir("pp")
                .preload(true)
                .store_subdir(false);
            value.push(arr1(&[1.0]));
            value.push(arr1(&[2.0]));
            repo.save(key, &value).await?;
        }
        "mc_store_by_field" => {
            let value = ByField {
                a: rec(arr1(&[1.0])),
                b: rec(Person::new("By Field")),
                c: rec(arr1(&[2.0])),
                n: 3,
            };
            repo.save(key, &value).await?;
        }
        "mc_cluster" => {
            let value = Clustered {
                a: rec(arr1(&[1.0])),
                b: rec(Person::new("Clustered Cleo")),
                c: rec(arr1(&[2.0])),
            };
            repo.save(key, &value).await?;
        }
        "mc_subdir" => {
            let value = InSubdir {
                a: rec(arr1(&[1.0])),
                b: rec(Person::new("Subdir Syd")),
            };
            repo.save(key, &value).await?;
        }
        "mc_all_options" => {
            let value = AllOptions {
                a: rec(arr1(&[1.0])),
                b: rec(Person::new("All Al")),
            };
            repo.save(key, &value).await?;
        }
        "mc_no_serialize" => {
            let value = NoSerialize {
                visible: 5,
                secret: "s3cret".into(),
                cache: vec![1, 2, 3],
                data: rec(arr1(&[1.0])),
            };
            repo.save(key, &value).await?;
        }
        "barrays" => {
            let mut value = MDict::new().store_by_key(true);
            value.insert(
                "f64_1d",
                ba(&[
                    0.1,
                    -2.5,
                    1e16,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    -0.0,
                    5e-324,
                ]),
            );
            let f32_2d = Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f32 / 4.0 + 0.1f32);
            value.insert("f32_2d", AnyArray::F32(f32_2d.into_dyn()));
            value.insert(
                "i64_1d",
                AnyArray::i64(array![0i64, -1, (1 << 53) + 1, i64::MAX, i64::MIN]),
            );
            let i32_2d = Array2::from_shape_fn((3, 2), |(i, j)| (i * 2 + j) as i32 - 3);
            value.insert("i32_2d", AnyArray::I32(i32_2d.into_dyn()));
            value.insert("u8_1d", AnyArray::U8(array![0u8, 1, 255].into_dyn()));
            value.insert(
                "bool_1d",
                AnyArray::Bool(array![true, false, true].into_dyn()),
            );
            value.insert(
                "c128_1d",
                AnyArray::C128(
                    array![
                        Complex::new(1.0, 2.0),
                        Complex::new(-0.5, 0.0),
                        Complex::new(3.0, -4.0)
                    ]
                    .into_dyn(),
                ),
            );
            value.insert("f64_0d", AnyArray::f64(arr0(3.25)));
            value.insert("i64_0d", AnyArray::i64(arr0(-7i64)));
            value.insert("f64_empty", AnyArray::f64(Array1::<f64>::zeros(0)));
            value.insert("i64_empty_2d", AnyArray::i64(Array2::<i64>::zeros((0, 3))));
            let f64_3d =
                Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64 * 0.5);
            value.insert("f64_3d", AnyArray::f64(f64_3d));
            // Column-major, as numpy keeps np.asfortranarray.
            let mut fortran = Array2::<f64>::zeros((2, 3).f());
            fortran.assign(&Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f64));
            value.insert("f64_fortran", AnyArray::f64(fortran));
            value.insert(
                "i32_big_endian",
                AnyArray::I32(array![1i32, -2, 3].into_dyn()),
            );
            repo.save(key, &value).await?;
        }
        "barrays_more_dtypes" => {
            let mut value = MDict::new().store_by_key(true);
            value.insert("i8", AnyArray::I8(array![-128i8, 0, 127].into_dyn()));
            value.insert("i16", AnyArray::I16(array![-32768i16, 1, 32767].into_dyn()));
            value.insert("u16", AnyArray::U16(array![0u16, 65535].into_dyn()));
            value.insert("u32", AnyArray::U32(array![0u32, 4_294_967_295].into_dyn()));
            value.insert("u64", AnyArray::U64(array![0u64, u64::MAX].into_dyn()));
            value.insert("f16", AnyArray::f16(&[0.5, -1.25, 65504.0])?);
            value.insert(
                "c64",
                AnyArray::C64(
                    array![Complex::new(1.0f32, -1.0), Complex::new(0.0, 0.25)].into_dyn(),
                ),
            );
            value.insert("f64_big_endian", ba(&[1.5, -0.25]));
            repo.save(key, &value).await?;
        }
        "inline_arrays" => {
            let value = InlineArrays {
                sarray_1d_float: SArray(array![0.1, 1e-05, 1e16, -2.5]),
                sarray_1d_int: SArray(array![1i64, 2, 3]),
                sarray_2d: SArray(Array2::from_shape_fn((2, 3), |(i, j)| {
                    (i * 3 + j) as f64 * 1.5
                })),
                sarray_3d: SArray(arr3((2, 2, 2), (0i64..8).collect())),
                sarray_empty: SArray(Array2::zeros((0, 3))),
                sarray_0d_float: SArray(arr0(1.5)),
                sarray_0d_int: SArray(arr0(7i64)),
                carray_1d_nonfinite: CArray(array![
                    1.0,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY
                ]),
                carray_2d: CArray(Array2::eye(2)),
                carray_3d: CArray(arr3((2, 3, 2), (0i64..12).collect())),
                carray_empty_1d: CArray(Array1::zeros(0)),
                carray_empty_2d: CArray(Array2::zeros((2, 0))),
                carray_0d: CArray(arr0(2.5)),
                carray_bool: CArray(array![true, false]),
                carray_i64_big: CArray(array![(1i64 << 53) + 1, i64::MIN, i64::MAX]),
                carray_f32: CArray(array![0.1f32, 0.5]),
                carray_i32: CArray(array![-1i32, 2]),
                carray_whole_floats: CArray(array![1.0, 2.0]),
                carray_column: CArray(array![[0i64], [1], [2]]),
                carray_row: CArray(array![[0i64, 1, 2]]),
                ndarray_1d: array![1.5, 2.5],
                ndarray_2d: array![[1i64, 2], [3, 4]],
                ndarray_empty: Array1::zeros(0),
                ndarray_0d: arr0(4.0),
            };
            repo.save(key, &value).await?;
        }
        "numeric_fields" => {
            let value = NumericFields {
                b: rec(array![0.0, 1.0, 2.0]),
                s: Some(SArray(array![1i64, 2])),
                c: Some(CArray(Array2::eye(2))),
                n: Some(array![[1.0, 2.0]]),
                // Python: carray[int] converts [1.5, 2.5] to [1, 2].
                ci: Some(CArray(array![1i64, 2])),
            };
            repo.save(key, &value).await?;
        }
        "store_run" => {
            repo.store(key.subdir("stored"), &run_value(20)).await?;
        }
        "store_person" => {
            repo.store(key.subdir("stored"), &Person::new("Stored Stan"))
                .await?;
        }
        "store_barray" => {
            repo.store(key.subdir("stored"), &array![[1.0, 2.0], [3.0, 4.0]])
                .await?;
        }
        "store_smdict" => {
            let mut value = MDict::new().store_by_key(true).subdir("store_smdict-files");
            value.insert("a", Any::array(ba(&[1.0])));
            value.insert("b", Any::json("inline"));
            repo.store(key.subdir("stored"), &SMDict(value)).await?;
        }
        "store_cluster" => {
            repo.store(key.cluster(true), &run_value(21)).await?;
        }
        "save_flat" => {
            let value = Config {
                seed: 30,
                ..Config::default()
            };
            repo.save(key.cluster(false), &value).await?;
        }
        "save_flat_records" => {
            let mut value = MList::from_iter([Any::array(ba(&[1.0])), Any::person("Flat Flo")]);
            value.record(Any::array(ba(&[2.0])), &ItemOptions::stem("flat-named"));
            repo.save(key.cluster(false).subdir("flat"), &value).await?;
        }
        "save_subdir" => {
            let value: MList<Array1<f64>> = [arr1(&[1.0])].into_iter().collect();
            repo.save(key.subdir("sub/dir"), &value).await?;
        }
        "save_generator" => {
            let value = Config {
                seed: 40,
                ..Config::default()
            };
            repo.save(key.generator("demo"), &value).await?;
        }
        "label_generator" => {
            // Python ran examples/patterns/label.py; the Rust program would
            // be examples/patterns/label.rs.
            let value = Label {
                label: "examples/patterns/label.py".into(),
            };
            let generator = generator_for_source("examples/patterns/label.rs");
            repo.save(key.generator(generator), &value).await?;
        }
        "label_root" => {
            let value = Label {
                label: "root_script.py".into(),
            };
            let generator = generator_for_source("root_script.rs");
            repo.save(key.generator(generator), &value).await?;
        }
        "retouch_auto" => {
            let mut value = MList::new();
            for i in 0..3 {
                value.record(arr1(&[f64::from(i)]), &ItemOptions::stem("same"));
            }
            value.record(arr1(&[10.0]), &ItemOptions::stem("run-1"));
            value.record(arr1(&[11.0]), &ItemOptions::stem("run-1"));
            let auto = repo.clone().with_retouch(RetouchPolicy::Auto);
            auto.save(key, &value).await?;
        }
        "retouch_ignore" => {
            let mut value = MList::new();
            value.record(Person::new("first"), &ItemOptions::stem("same"));
            value.record(Person::new("second"), &ItemOptions::stem("same"));
            repo.save(key, &value).await?;
        }
        other => panic!("dman-rs does not write scenario `{other}`"),
    }
    Ok(())
}

/// A scenario of [`WRITTEN`] that could not be written.
#[derive(Debug)]
pub struct WriteError {
    /// The scenario's name.
    pub scenario: &'static str,
    /// What went wrong.
    pub source: dman::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing scenario `{}`: {}", self.scenario, self.source)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Writes every scenario of [`WRITTEN`].
pub async fn write_all(repo: &Repo) -> std::result::Result<(), WriteError> {
    for name in WRITTEN {
        write(repo, name).await.map_err(|source| WriteError {
            scenario: name,
            source,
        })?;
    }
    Ok(())
}
