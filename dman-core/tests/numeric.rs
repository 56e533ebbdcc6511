//! The `numeric` module (feature `ndarray`, enabled for tests by
//! dman-core's dev-dependency on itself): `.npy` files and inline arrays,
//! checked against what numpy and Python dman 1.0.1 read and write.
//!
//! The interop tests run the project's Python (`DMAN_PYTHON`, or the venv
//! `scripts/setup-python.sh` makes, through `dman_test_support::python`).
//! They fail, never skip, when it cannot be had.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dman_core::json::{self, Value};
use dman_core::numeric::ndarray::{
    arr0, array, s, Array, Array1, Array2, Array3, ArrayD, Dimension, Ix0, Ix1, Ix2, Ix3, IxDyn,
    ShapeBuilder,
};
use dman_core::numeric::num_complex::Complex;
use dman_core::numeric::{
    decode_inline, decode_npy, encode_inline, encode_npy, CArray, Element, InlineElement,
    NpyHeader, SArray,
};
use dman_core::repo::Repo;
use dman_core::serial::{self, Serializable};
use dman_core::{
    DecodeContext, EncodeContext, EncodeOptions, Record, SavePlan, Storable, StorageBackend,
    StoragePath, Stored,
};
use dman_memory::MemoryBackend;
use dman_test_support::fixture::getting_started_arrays;
use dman_test_support::python;

// ---- helpers -----------------------------------------------------------------

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn npy_dir() -> PathBuf {
    crate_dir().join("tests/npy")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = npy_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a script of tests/npy with the project's Python; panics with its
/// output when it fails.
fn run_python(script: &str, args: &[&str]) -> String {
    let out = python::command()
        .arg(npy_dir().join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run Python: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

fn memory() -> Arc<dyn StorageBackend> {
    Arc::new(MemoryBackend::new())
}

fn decode_ctx() -> DecodeContext {
    DecodeContext::new(memory(), StoragePath::root())
}

/// Runs `f` with an encoding context on a throwaway plan.
fn with_encode<R>(f: impl FnOnce(&mut EncodeContext<'_>) -> R) -> R {
    let mut plan = SavePlan::new(memory(), EncodeOptions::default());
    let mut ctx = EncodeContext::new(&mut plan, StoragePath::root());
    f(&mut ctx)
}

fn serialize<T: Serializable>(value: &T) -> Value {
    with_encode(|ctx| serial::serialize(value, ctx)).expect("serialize")
}

fn deserialize<T: Serializable>(value: &Value) -> dman_core::Result<T> {
    serial::deserialize(value, &decode_ctx())
}

/// Exact equality of shape and every element, NaN and -0.0 included
/// (`Debug` prints the shortest text that reads back to the same value).
fn exact<A: Debug, D: Dimension>(a: &Array<A, D>, b: &Array<A, D>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| format!("{x:?}") == format!("{y:?}"))
}

fn assert_exact<A: Debug, D: Dimension>(got: &Array<A, D>, want: &Array<A, D>) {
    assert!(exact(got, want), "got {got:?}\nwant {want:?}");
}

fn decode_err<A: Element, D: Dimension>(bytes: &[u8]) -> String {
    match decode_npy::<A, D>(bytes) {
        Ok(a) => panic!("decoded {:?} without error", a.shape()),
        Err(e) => e.to_string(),
    }
}

/// A key of a JSON object (the test data is trusted).
fn at<'a>(value: &'a Value, key: &str) -> &'a Value {
    value
        .get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {value}"))
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "{message:?} does not contain {part:?}"
        );
    }
}

// ---- the getting-started fixture ---------------------------------------------

/// The `.npy` files of the getting-started fixture, by archive name.
fn getting_started_npy() -> BTreeMap<String, Vec<u8>> {
    getting_started_arrays().into_iter().collect()
}

fn reference() -> Value {
    let text =
        std::fs::read_to_string(npy_dir().join("npy_reference.json")).expect("npy_reference.json");
    json::from_str(&text).expect("reference JSON")
}

#[test]
fn getting_started_arrays_match_numpy_reference() {
    let files = getting_started_npy();
    let reference = reference();
    let reference = reference.as_object().expect("reference object");
    assert_eq!(files.len(), 4, "the fixture holds four .npy files");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>(),
        "the reference describes the fixture's .npy files"
    );
    for (name, bytes) in &files {
        let want = &reference[name.as_str()];
        let a: Array2<f64> = decode_npy(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The same through the storable impl, as a record loads it.
        let stored = <Array2<f64> as Storable>::from_stored(
            Stored::Bytes(bytes.clone().into()),
            &decode_ctx(),
        )
        .expect("from_stored");
        assert_exact(&stored, &a);

        let shape: Vec<usize> = at(want, "shape")
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .collect();
        assert_eq!(a.shape(), shape.as_slice(), "{name}");
        assert_eq!(at(want, "dtype").as_str(), Some("float64"));
        assert_eq!(
            NpyHeader::parse(bytes)
                .expect("header")
                .dtype_name()
                .as_deref(),
            Some("float64")
        );
        assert!(a.is_standard_layout());
        // Written back, the file is byte for byte the one numpy wrote.
        assert!(
            encode_npy(&a).expect("encode") == *bytes,
            "{name}: re-encoded bytes differ"
        );

        // Every value exactly: the wrapping sum of the bit patterns.
        let bits = a.iter().fold(0u64, |acc, x| acc.wrapping_add(x.to_bits()));
        assert_eq!(
            Some(bits),
            at(want, "bits_sum").as_u64(),
            "{name}: bit-pattern sum"
        );
        // numpy sums pairwise, so the last digits may differ.
        let sum: f64 = a.sum();
        let want_sum = at(want, "sum").as_f64().expect("sum");
        assert!(
            (sum - want_sum).abs() <= 1e-9 * want_sum.abs().max(1.0),
            "{name}: sum {sum} vs {want_sum}"
        );
        for e in at(want, "elements").as_array().expect("elements") {
            let ix: Vec<usize> = at(e, "index")
                .as_array()
                .expect("index")
                .iter()
                .map(|i| i.as_u64().expect("i") as usize)
                .collect();
            let value = at(e, "value").as_f64().expect("value");
            assert_eq!(a[[ix[0], ix[1]]].to_bits(), value.to_bits(), "{name}{ix:?}");
        }
    }
}

#[test]
fn numpy_reference_is_what_the_script_prints() {
    let printed = run_python("npy_reference.py", &[]);
    assert_eq!(
        json::from_str(&printed).expect("script output"),
        reference()
    );
}

// ---- arrays written from Rust, read by numpy and Python dman -------------------

/// An element as the interop manifest lists it.
trait Manifest: Element + Debug {
    fn manifest(&self) -> Value;
}

macro_rules! manifest_inline {
    ($($t:ty),*) => {$(
        impl Manifest for $t {
            fn manifest(&self) -> Value {
                self.to_json()
            }
        }
    )*};
}
manifest_inline!(f64, f32, i64, i32, i16, i8, u64, u32, u16, u8, bool);

impl Manifest for Complex<f64> {
    fn manifest(&self) -> Value {
        Value::Array(vec![Value::Float(self.re), Value::Float(self.im)])
    }
}

impl Manifest for Complex<f32> {
    fn manifest(&self) -> Value {
        Value::Array(vec![
            Value::Float(f64::from(self.re)),
            Value::Float(f64::from(self.im)),
        ])
    }
}

struct Cases {
    dir: PathBuf,
    entries: Vec<Value>,
}

impl Cases {
    fn add<A: Manifest, D: Dimension + 'static>(
        &mut self,
        name: &str,
        dtype: &str,
        array: Array<A, D>,
    ) -> json::Map {
        let npy = format!("{name}.npy");
        let bytes = with_encode(|ctx| array.to_stored(ctx))
            .expect("to_stored")
            .into_bytes();
        std::fs::write(self.dir.join(&npy), &bytes).expect("write npy");
        // The file reads back in Rust too, with the same values.
        assert_exact(&decode_npy::<A, D>(&bytes).expect("decode own npy"), &array);
        let mut entry = json::Map::new();
        entry.insert("name".into(), Value::String(name.into()));
        entry.insert("dtype".into(), Value::String(dtype.into()));
        entry.insert(
            "shape".into(),
            Value::Array(
                array
                    .shape()
                    .iter()
                    .map(|&d| Value::from(d as u64))
                    .collect(),
            ),
        );
        entry.insert(
            "values".into(),
            Value::Array(array.iter().map(Manifest::manifest).collect()),
        );
        entry.insert("npy".into(), Value::String(npy));
        entry
    }

    fn npy<A: Manifest, D: Dimension + 'static>(
        &mut self,
        name: &str,
        dtype: &str,
        array: Array<A, D>,
    ) {
        let entry = self.add(name, dtype, array);
        self.entries.push(Value::Object(entry));
    }

    fn both<A: Manifest + InlineElement, D: Dimension + 'static>(
        &mut self,
        name: &str,
        dtype: &str,
        array: Array<A, D>,
    ) {
        let mut entry = self.add(name, dtype, array.clone());
        let s = serialize(&SArray::from(array.clone()));
        let c = serialize(&CArray::from(array.clone()));
        let n = serialize(&array);
        // And each reads back in Rust.
        assert_exact(
            &deserialize::<SArray<A, D>>(&s).expect("sarray back").0,
            &array,
        );
        assert_exact(
            &deserialize::<CArray<A, D>>(&c).expect("carray back").0,
            &array,
        );
        assert_exact(
            &deserialize::<Array<A, D>>(&n).expect("ndarray back"),
            &array,
        );
        entry.insert("sarray".into(), s);
        entry.insert("carray".into(), c);
        entry.insert("ndarray".into(), n);
        self.entries.push(Value::Object(entry));
    }
}

#[test]
fn rust_arrays_load_in_numpy_and_python_dman() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cases = Cases {
        dir: tmp.path().to_path_buf(),
        entries: Vec::new(),
    };
    let f64_2d = array![
        [0.0, 1.5, -2.25],
        [0.1, 1e-5, 1e16],
        [f64::NAN, f64::INFINITY, -0.0]
    ];
    cases.both("f64_0d", "float64", arr0(-3.25));
    cases.both(
        "f64_1d",
        "float64",
        array![
            0.1,
            0.2,
            0.30000000000000004,
            1e-7,
            123456789.125,
            f64::NEG_INFINITY
        ],
    );
    cases.both("f64_2d", "float64", f64_2d.clone());
    cases.both(
        "f64_3d",
        "float64",
        Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as f64 / 7.0),
    );
    cases.both(
        "f64_dyn_4d",
        "float64",
        ArrayD::from_shape_fn(IxDyn(&[2, 1, 2, 3]), |ix| ix[3] as f64 - ix[0] as f64),
    );
    cases.both("f64_empty_0x3", "float64", Array2::<f64>::zeros((0, 3)));
    cases.both("f64_empty_1d", "float64", Array1::<f64>::zeros(0));
    cases.both(
        "f64_empty_2x0x2",
        "float64",
        Array3::<f64>::zeros((2, 0, 2)),
    );
    // Fortran layout and a strided view: written in logical order.
    cases.both(
        "f64_fortran",
        "float64",
        Array2::from_shape_vec((2, 3).f(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).expect("f"),
    );
    cases.both(
        "f64_strided",
        "float64",
        f64_2d.slice(s![..;2, ..;-1]).to_owned(),
    );
    cases.both("f64_transposed", "float64", f64_2d.t().to_owned());
    cases.both(
        "f32_1d",
        "float32",
        array![
            0.0f32,
            1.0 / 3.0,
            -2.5,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::NAN
        ],
    );
    cases.both("f32_2d", "float32", array![[0.1f32, 0.2], [0.3, 0.4]]);
    cases.both("f32_0d", "float32", arr0(0.1f32));
    cases.both(
        "i64_2d",
        "int64",
        array![[0i64, -1, 1 << 62], [i64::MIN, i64::MAX, 7]],
    );
    cases.both("i64_0d", "int64", arr0(42i64));
    cases.both("i32_1d", "int32", array![i32::MIN, 0, i32::MAX]);
    cases.both("i16_1d", "int16", array![i16::MIN, -1, i16::MAX]);
    cases.both("i8_2d", "int8", array![[i8::MIN, 0], [1, i8::MAX]]);
    cases.both(
        "u64_1d",
        "uint64",
        array![0u64, 1 << 40, (1 << 53) + 1, (1 << 63) - 1],
    );
    cases.both("u32_1d", "uint32", array![0u32, u32::MAX]);
    cases.both("u16_1d", "uint16", array![0u16, u16::MAX]);
    cases.both(
        "u8_3d",
        "uint8",
        Array3::from_shape_fn((2, 2, 3), |(i, j, k)| (i * 100 + j * 50 + k) as u8),
    );
    cases.both("u8_0d", "uint8", arr0(255u8));
    cases.both("bool_1d", "bool", array![true, false, true]);
    cases.both("bool_2d", "bool", array![[true], [false]]);
    cases.both("bool_0d", "bool", arr0(true));
    cases.both(
        "bool_empty",
        "bool",
        Array2::<bool>::from_elem((3, 0), false),
    );
    // Complex: .npy only (Python dman cannot write it inline).
    cases.npy(
        "c128_2d",
        "complex128",
        array![[Complex::new(1.0, -2.0), Complex::new(0.1, f64::INFINITY)]],
    );
    cases.npy(
        "c64_1d",
        "complex64",
        array![Complex::new(1.5f32, 0.25), Complex::new(-0.0, 3.0)],
    );
    cases.npy("c128_0d", "complex128", arr0(Complex::new(0.5, 0.5)));
    // u64 above i64::MAX: numpy reads it; inline Python would write it as a
    // bare int too, covered by the Rust round trip below.
    cases.npy("u64_max", "uint64", array![u64::MAX, 1 << 63]);

    let count = cases.entries.len();
    let manifest = json::to_string_pretty(&Value::Array(cases.entries));
    std::fs::write(tmp.path().join("manifest.json"), manifest).expect("manifest");
    let out = run_python("interop.py", &["check-rust", &tmp.path().to_string_lossy()]);
    println!("{out}");
    assert!(out.contains(&format!("checked {count} cases")), "{out}");
}

/// A record graph saved from Rust (a `Record<Array2<f64>>` among others)
/// loads in Python dman with `dman.load`.
#[tokio::test]
async fn records_of_arrays_load_in_python_dman() {
    let backend = MemoryBackend::new();
    let repo = Repo::new(Arc::new(backend.clone())).with_generator("numeric");
    let a = Array2::from_shape_fn((20, 30), |(i, j)| (i as f64).sin() * (j as f64 + 0.5));
    let b = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i + j + k) as i32 - 3);
    let value: Vec<Record<Array2<f64>>> = vec![Record::new(a.clone()), Record::new(a.mapv(|x| -x))];
    repo.save("arrays", &value).await.expect("save");
    repo.save("ints", &vec![Record::new(b.clone())])
        .await
        .expect("save ints");

    // Back in Rust.
    let loaded: Vec<Record<Array2<f64>>> = repo.load("arrays").await.expect("load");
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].sto_type(), "_num__barray");
    assert_exact(loaded[0].get().await.expect("get"), &a);

    // On disk for Python.
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join(".dman");
    for path in backend.paths() {
        let file = base.join(path.as_str());
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, backend.read(&path).await.expect("read")).expect("write");
    }
    assert!(
        backend.paths().iter().any(|p| p.as_str().ends_with(".npy")),
        "records wrote .npy files: {:?}",
        backend.paths()
    );
    std::fs::write(tmp.path().join("a.npy"), encode_npy(&a).expect("npy")).expect("a.npy");
    std::fs::write(tmp.path().join("b.npy"), encode_npy(&b).expect("npy")).expect("b.npy");
    let script = String::from(
        r#"
import numpy as np, dman, sys
base, tmp = sys.argv[1], sys.argv[2]
arrays = dman.load("arrays", generator="numeric", base=base)
a = np.load(tmp + "/a.npy")
assert len(arrays) == 2, arrays
assert arrays[0].content.dtype == np.float64 and np.array_equal(arrays[0].content, a), arrays[0].content
assert np.array_equal(arrays[1].content, -a)
ints = dman.load("ints", generator="numeric", base=base)
assert ints[0].content.dtype == np.int32 and np.array_equal(ints[0].content, np.load(tmp + "/b.npy"))
print("python dman loaded", len(arrays) + len(ints), "records")
"#,
    );
    let out = python::command()
        .args([
            "-c",
            &script,
            &base.to_string_lossy(),
            &tmp.path().to_string_lossy(),
        ])
        .current_dir(tmp.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("loaded 3 records"));
}

// ---- inline arrays written by Python dman, read in Rust ------------------------

fn check_python_case<A: InlineElement + Debug, D: Dimension>(dir: &Path, case: &Value) {
    let name = at(case, "name").as_str().expect("name");
    let npy = fixture_at(dir, at(case, "npy").as_str().expect("npy"));
    let want: Array<A, D> =
        decode_npy(&npy).unwrap_or_else(|e| panic!("{name}: numpy's .npy: {e}"));
    let s: SArray<A, D> =
        deserialize(at(case, "sarray")).unwrap_or_else(|e| panic!("{name} sarray: {e}"));
    let c: CArray<A, D> =
        deserialize(at(case, "carray")).unwrap_or_else(|e| panic!("{name} carray: {e}"));
    let n: Array<A, D> =
        deserialize(at(case, "ndarray")).unwrap_or_else(|e| panic!("{name} ndarray: {e}"));
    assert_exact(&s.0, &want);
    assert_exact(&c.0, &want);
    assert_exact(&n, &want);
    // And Rust writes back exactly what Python wrote.
    assert_eq!(&serialize(&s), at(case, "sarray"), "{name}");
    assert_eq!(&serialize(&c), at(case, "carray"), "{name}");
    assert_eq!(&serialize(&n), at(case, "ndarray"), "{name}");
    // Also as an array of any dimension.
    let dynamic: ArrayD<A> = deserialize(at(case, "ndarray")).expect("dyn");
    assert_eq!(dynamic.shape(), want.shape());
}

fn fixture_at(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("python's npy")
}

#[test]
fn python_inline_arrays_decode_in_rust() {
    let tmp = tempfile::tempdir().expect("tempdir");
    run_python(
        "interop.py",
        &["python-cases", &tmp.path().to_string_lossy()],
    );
    let text = std::fs::read_to_string(tmp.path().join("python.json")).expect("python.json");
    let cases = json::from_str(&text).expect("python.json");
    let cases = cases.as_array().expect("cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let ndim = at(case, "shape").as_array().expect("shape").len();
        let dir = tmp.path();
        macro_rules! by_ndim {
            ($t:ty) => {
                match ndim {
                    0 => check_python_case::<$t, Ix0>(dir, case),
                    1 => check_python_case::<$t, Ix1>(dir, case),
                    2 => check_python_case::<$t, Ix2>(dir, case),
                    3 => check_python_case::<$t, Ix3>(dir, case),
                    _ => check_python_case::<$t, IxDyn>(dir, case),
                }
            };
        }
        match at(case, "dtype").as_str().expect("dtype") {
            "float64" => by_ndim!(f64),
            "float32" => by_ndim!(f32),
            "int64" => by_ndim!(i64),
            "int32" => by_ndim!(i32),
            "uint8" => by_ndim!(u8),
            "bool" => by_ndim!(bool),
            other => panic!("no Rust type for {other}"),
        }
    }
}

// ---- inline forms ----------------------------------------------------------------

fn inline_text<A: InlineElement, D: Dimension>(a: &Array<A, D>) -> String {
    encode_inline(a).to_string()
}

#[test]
fn inline_forms_are_pythons() {
    // What Python dman 1.0.1 writes for these (see interop.py for the live check).
    assert_eq!(inline_text(&array![0.0, 1.0, 2.0]), r#""[0.0, 1.0, 2.0]""#);
    assert_eq!(
        inline_text(&array![
            1e-5,
            1e16,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1
        ]),
        r#""[1e-05, 1e+16, NaN, Infinity, -Infinity, 0.1]""#
    );
    assert_eq!(
        inline_text(&array![[0i64, 1, 2], [3, 4, 5]]),
        r#"["[0, 1, 2]", "[3, 4, 5]"]"#
    );
    assert_eq!(
        inline_text(&Array2::<f64>::zeros((0, 3))),
        r#"{"shape": "[0, 3]"}"#
    );
    assert_eq!(inline_text(&Array1::<i64>::zeros(0)), r#"{"shape": "[0]"}"#);
    assert_eq!(inline_text(&arr0(3.5)), r#""3.5""#);
    assert_eq!(inline_text(&arr0(3i64)), r#""3.0""#);
    assert_eq!(inline_text(&arr0(true)), r#""1.0""#);
    assert_eq!(inline_text(&arr0(f64::NAN)), r#""NaN""#);
    assert_eq!(inline_text(&array![true, false]), r#""[true, false]""#);
    assert_eq!(
        inline_text(&array![0.0f32, 1.0 / 3.0, 2.0 / 3.0]),
        r#""[0.0, 0.3333333432674408, 0.6666666865348816]""#
    );
    assert_eq!(
        inline_text(&array![u64::MAX]),
        r#""[18446744073709551615]""#
    );
    assert_eq!(
        inline_text(&Array3::from_shape_fn((2, 1, 2), |(i, _, k)| (i * 2 + k) as u8)),
        r#"[["[0, 1]"], ["[2, 3]"]]"#
    );
    // Envelopes.
    assert_eq!(
        serialize(&array![1.5]).to_string(),
        r#"{"_ser__type": "_num__ndarray", "_ser__content": "[1.5]"}"#
    );
    assert_eq!(
        serialize(&SArray::from(array![1.5])).to_string(),
        r#"{"_ser__type": "_num__sarray", "_ser__content": "[1.5]"}"#
    );
    assert_eq!(
        serialize(&CArray::from(array![1.5])).to_string(),
        r#"{"_ser__type": "_num__carray", "_ser__content": "[1.5]"}"#
    );
}

fn inline<A: InlineElement, D: Dimension>(text: &str) -> dman_core::Result<Array<A, D>> {
    decode_inline(&json::from_str(text).expect("test JSON"))
}

#[test]
fn inline_decoding_accepts_what_python_reads() {
    // Zero-dimensional: Python writes a string; numbers are read too.
    assert_exact(&inline::<f64, Ix0>(r#""3.5""#).expect("string"), &arr0(3.5));
    assert_exact(&inline::<f64, Ix0>("3.5").expect("number"), &arr0(3.5));
    assert_exact(
        &inline::<i64, Ix0>(r#""42.0""#).expect("int from float"),
        &arr0(42),
    );
    assert_exact(&inline::<i64, Ix0>("42").expect("int"), &arr0(42));
    assert_exact(
        &inline::<bool, Ix0>(r#""1.0""#).expect("bool from float"),
        &arr0(true),
    );
    assert!(inline::<f64, Ix0>(r#""NaN""#).expect("nan")[()].is_nan());
    // Integers in a float array, specials inside strings.
    assert_exact(
        &inline::<f64, Ix1>(r#""[1, 2.5, -Infinity]""#).expect("mixed"),
        &array![1.0, 2.5, f64::NEG_INFINITY],
    );
    // Nested JSON lists instead of strings, and a string holding a 2-d list.
    assert_exact(
        &inline::<i32, Ix2>("[[1, 2], [3, 4]]").expect("nested lists"),
        &array![[1, 2], [3, 4]],
    );
    assert_exact(
        &inline::<i32, Ix2>(r#""[[1, 2], [3, 4]]""#).expect("2-d string"),
        &array![[1, 2], [3, 4]],
    );
    assert_exact(
        &inline::<i32, Ix2>(r#"["[1, 2]", [3, 4]]"#).expect("mixed rows"),
        &array![[1, 2], [3, 4]],
    );
    // Empty arrays: the shape as a string (Python) or as a list.
    assert_eq!(
        inline::<f64, Ix2>(r#"{"shape": "[0, 3]"}"#)
            .expect("empty")
            .shape(),
        &[0, 3]
    );
    assert_eq!(
        inline::<u8, Ix3>(r#"{"shape": [2, 0, 1]}"#)
            .expect("empty list")
            .shape(),
        &[2, 0, 1]
    );
    // Python reads {"shape": ...} as zeros of that shape, whatever the size.
    assert_exact(
        &inline::<f64, Ix1>(r#"{"shape": "[2]"}"#).expect("zeros"),
        &array![0.0, 0.0],
    );
    // Any dimension.
    assert_eq!(
        inline::<f64, IxDyn>(r#"[["[1.0]"], ["[2.0]"]]"#)
            .expect("dyn")
            .shape(),
        &[2, 1, 1]
    );
}

#[test]
fn inline_decoding_errors_say_what_is_wrong() {
    let err = |r: dman_core::Result<Array<f64, Ix2>>| r.expect_err("should fail").to_string();
    assert_contains(
        &err(inline(r#"["[1.0, 2.0]", "[3.0]"]"#)),
        &["ragged", "item 1", "(1,)", "(2,)"],
    );
    assert_contains(
        &err(inline(r#""[1.0, 2.0]""#)),
        &["1-d", "shape (2,)", "2-d"],
    );
    assert_contains(
        &err(inline(r#"["[1.0, \"a\"]"]"#)),
        &["[0]", "expected an inline array of f64", "str"],
    );
    assert_contains(&err(inline(r#"["[1.0, 2.0"]"#)), &["not JSON"]);
    assert_contains(&err(inline("null")), &["expected an inline array of f64"]);
    let e = inline::<i64, Ix1>(r#""[1, 2.5]""#)
        .expect_err("fraction")
        .to_string();
    assert_contains(&e, &["2.5 is not an integer", "i64"]);
    let e = inline::<u8, Ix1>(r#""[1, 256]""#)
        .expect_err("range")
        .to_string();
    assert_contains(&e, &["256 does not fit in u8"]);
    let e = inline::<f64, Ix1>(r#"{"shape": "[-1]"}"#)
        .expect_err("shape")
        .to_string();
    assert_contains(&e, &["invalid inline array shape"]);
    let e = inline::<f64, Ix1>(r#"{"shape": "[100000000000000000000]"}"#)
        .expect_err("huge")
        .to_string();
    assert_contains(&e, &["invalid inline array shape"]);
    let e = inline::<f64, Ix2>(r#"{"shape": "[4294967296, 4294967296]"}"#)
        .expect_err("huge")
        .to_string();
    assert_contains(&e, &["too large"]);
    // The envelope name is checked.
    let sarray = json::from_str(r#"{"_ser__type": "_num__sarray", "_ser__content": "[1.0]"}"#)
        .expect("json");
    assert!(deserialize::<CArray<f64, Ix1>>(&sarray).is_err());
    assert_exact(
        &deserialize::<SArray<f64, Ix1>>(&sarray).expect("sarray").0,
        &array![1.0],
    );
}

// ---- .npy: what we write ----------------------------------------------------------

#[test]
fn npy_written_as_numpy_writes_it() {
    let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let bytes = encode_npy(&a).expect("encode");
    let header = NpyHeader::parse(&bytes).expect("header");
    assert_eq!(header.version, (1, 0));
    assert_eq!(
        header.data_offset % 64,
        0,
        "header padded to 64 bytes as numpy pads it"
    );
    assert_eq!(header.descr, "<f8");
    assert!(!header.fortran_order);
    assert_eq!(header.shape, [2, 3]);
    assert_eq!(bytes.len(), header.data_offset + 6 * 8);
    // numpy's own file for a 3x4 float64 array has the same layout.
    let numpy = NpyHeader::parse(&fixture("f64_3x4.npy")).expect("numpy header");
    assert_eq!((numpy.version, numpy.data_offset), ((1, 0), 128));

    assert_eq!(<Array2<f64> as Storable>::STO_TYPE, "_num__barray");
    assert_eq!(<Array2<f64> as Storable>::EXTENSION, ".npy");
    const { assert!(!<Array2<f64> as Storable>::JSON) };
    let stored = with_encode(|ctx| a.to_stored(ctx))
        .expect("stored")
        .into_bytes();
    assert_eq!(stored.as_ref(), bytes.as_slice());
}

#[test]
fn npy_bytes_are_numpys() {
    fn same_as_numpy<A: Element + Debug, D: Dimension>(name: &str) {
        let numpy = fixture(name);
        let a: Array<A, D> = decode_npy(&numpy).expect(name);
        let ours = encode_npy(&a).expect("encode");
        assert!(
            ours == numpy,
            "{name}: ours {:?}\nnumpy {:?}",
            String::from_utf8_lossy(&ours[..ours.len().min(200)]),
            String::from_utf8_lossy(&numpy[..numpy.len().min(200)])
        );
    }
    same_as_numpy::<f64, Ix2>("f64_3x4.npy");
    same_as_numpy::<f64, Ix2>("fortran_f64_3x4.npy");
    same_as_numpy::<i64, Ix2>("i64_2x3.npy");
    same_as_numpy::<f64, Ix3>("f64_2x3x4.npy");
    same_as_numpy::<i32, Ix3>("fortran_i32_2x3x4.npy");
}

#[test]
fn npy_round_trips_every_element_type() {
    fn round<A: Element + Debug, D: Dimension>(a: Array<A, D>) {
        let back: Array<A, D> = decode_npy(&encode_npy(&a).expect("encode")).expect("decode");
        assert_exact(&back, &a);
        let any: ArrayD<A> = decode_npy(&encode_npy(&a).expect("encode")).expect("decode dyn");
        assert_eq!(any.shape(), a.shape());
    }
    round(array![[1.0f64, f64::NAN], [-0.0, 2.0]]);
    round(array![1.0f32, f32::INFINITY]);
    round(array![i64::MIN, i64::MAX]);
    round(array![[i32::MIN], [i32::MAX]]);
    round(array![i16::MIN, i16::MAX]);
    round(array![i8::MIN, i8::MAX]);
    round(array![u64::MAX, 0]);
    round(array![u32::MAX, 0]);
    round(array![u16::MAX, 0]);
    round(arr0(200u8));
    round(array![[[true, false]]]);
    round(array![Complex::new(1.0, 2.0)]);
    round(array![Complex::new(1.0f32, -2.0)]);
    round(Array2::<f64>::zeros((0, 5)));
}

// ---- .npy: errors and numpy's other layouts ---------------------------------------

#[test]
fn npy_fortran_order_and_big_endian_read_correctly() {
    let want = Array2::from_shape_fn((3, 4), |(i, j)| 10.0 * i as f64 + j as f64 + 0.5);
    assert_exact(
        &decode_npy::<f64, Ix2>(&fixture("f64_3x4.npy")).expect("C order"),
        &want,
    );
    let fortran_bytes = fixture("fortran_f64_3x4.npy");
    assert!(
        NpyHeader::parse(&fortran_bytes)
            .expect("header")
            .fortran_order
    );
    let fortran: Array2<f64> = decode_npy(&fortran_bytes).expect("Fortran order");
    assert_exact(&fortran, &want);
    assert_eq!(fortran[[1, 2]], 12.5);
    let big = fixture("bigendian_f64_3x4.npy");
    assert_eq!(
        NpyHeader::parse(&big)
            .expect("header")
            .dtype_name()
            .as_deref(),
        Some("float64, big-endian")
    );
    assert_exact(&decode_npy::<f64, Ix2>(&big).expect("big-endian"), &want);
}

#[test]
fn npy_fortran_3d_and_unaligned_bytes() {
    let want = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as i32);
    let bytes = fixture("fortran_i32_2x3x4.npy");
    let got: Array3<i32> = decode_npy(&bytes).expect("Fortran 3-d");
    assert_exact(&got, &want);
    // Kept in column-major memory, as numpy keeps it.
    assert!(!got.is_standard_layout() && got.t().is_standard_layout());
    // Written back, numpy's header says Fortran order again.
    assert!(
        NpyHeader::parse(&encode_npy(&got).expect("encode"))
            .expect("header")
            .fortran_order
    );
    // Bytes at an odd address cannot be viewed in place: the converting
    // reader gives the same values.
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&fixture("f64_3x4.npy"));
    let want = Array2::from_shape_fn((3, 4), |(i, j)| 10.0 * i as f64 + j as f64 + 0.5);
    assert_exact(
        &decode_npy::<f64, Ix2>(&shifted[1..]).expect("unaligned"),
        &want,
    );
}

#[test]
fn npy_large_arrays_round_trip() {
    // Above the huge-page hint (4 MiB) and the background release (32 MiB).
    let a = Array2::from_shape_fn((4_500, 1_000), |(i, j)| (i * 1_000 + j) as f64 * 0.5);
    let bytes = with_encode(|ctx| a.to_stored(ctx))
        .expect("to_stored")
        .into_bytes();
    assert_eq!(bytes.len(), 128 + 4_500 * 1_000 * 8);
    let back = <Array2<f64> as Storable>::from_stored(Stored::Bytes(bytes), &decode_ctx())
        .expect("from_stored");
    assert!(back.is_standard_layout());
    assert_eq!(back, a);
}

#[test]
fn npy_dtype_mismatch_names_both_types() {
    let e = decode_err::<f64, Ix2>(&fixture("i64_2x3.npy"));
    assert_contains(&e, &["`<i8` (int64)", "asked for f64"]);
    assert_exact(
        &decode_npy::<i64, Ix2>(&fixture("i64_2x3.npy")).expect("as i64"),
        &array![[0, 1, 2], [3, 4, 5]],
    );
    assert_contains(
        &decode_err::<f32, Ix2>(&fixture("f64_3x4.npy")),
        &["`<f8` (float64)", "asked for f32"],
    );
    assert_contains(
        &decode_err::<i32, Ix2>(&fixture("f64_3x4.npy")),
        &["`<f8` (float64)", "asked for i32"],
    );
    assert_contains(
        &decode_err::<f64, Ix1>(&fixture("object.npy")),
        &["`|O` (object)", "asked for f64"],
    );
    assert_contains(
        &decode_err::<f64, Ix1>(&fixture("unicode.npy")),
        &["(str)", "asked for f64"],
    );
    assert_contains(
        &decode_err::<f64, Ix1>(&fixture("structured.npy")),
        &["structured dtype", "'x'", "asked for f64"],
    );
    let bytes = encode_npy(&array![true]).expect("bool");
    assert_contains(
        &decode_err::<u8, Ix1>(&bytes),
        &["`|b1` (bool)", "asked for u8"],
    );
    let bytes = encode_npy(&array![Complex::new(1.0, 0.0)]).expect("complex");
    assert_contains(
        &decode_err::<f64, Ix1>(&bytes),
        &["`<c16` (complex128)", "asked for f64"],
    );
    assert_contains(
        &decode_err::<Complex<f32>, Ix1>(&bytes),
        &["asked for Complex<f32>"],
    );
}

#[test]
fn npy_dimension_mismatch() {
    let e = decode_err::<f64, Ix2>(&fixture("f64_2x3x4.npy"));
    assert_contains(
        &e,
        &["3-d array of shape (2, 3, 4)", "asked for a 2-d array"],
    );
    assert_eq!(
        decode_npy::<f64, IxDyn>(&fixture("f64_2x3x4.npy"))
            .expect("dyn")
            .shape(),
        &[2, 3, 4]
    );
    assert_eq!(
        decode_npy::<f64, Ix3>(&fixture("f64_2x3x4.npy")).expect("3-d")[[1, 2, 3]],
        23.0
    );
}

#[test]
fn npy_truncated_and_oversized_headers() {
    let e = decode_err::<f64, Ix2>(&fixture("truncated_header.npy"));
    assert_contains(&e, &["truncated .npy file", "40 bytes"]);
    let e = decode_err::<f64, Ix2>(&fixture("truncated_data.npy"));
    assert_contains(
        &e,
        &[
            "truncated .npy file",
            "shape (3, 4)",
            "96 bytes of data",
            "holds 76",
        ],
    );
    // Declares 2.4 TB: refused from the header, nothing allocated.
    let e = decode_err::<f64, Ix2>(&fixture("shape_too_big.npy"));
    assert_contains(
        &e,
        &[
            "truncated .npy file",
            "shape (300000000000, 4)",
            "9600000000000 bytes",
            "holds 96",
        ],
    );
    let mut extra = fixture("f64_3x4.npy");
    extra.extend_from_slice(&[0; 8]);
    // numpy.load ignores bytes after the data, and so do we.
    assert_exact(
        &decode_npy::<f64, Ix2>(&extra).expect("trailing bytes"),
        &decode_npy::<f64, Ix2>(&fixture("f64_3x4.npy")).expect("good"),
    );
    assert_contains(
        &decode_err::<f64, Ix2>(&fixture("not_npy.npy")),
        &["not a .npy file"],
    );
    assert_contains(
        &decode_err::<f64, Ix2>(b""),
        &["truncated .npy file (0 bytes)"],
    );
    assert_contains(
        &decode_err::<f64, Ix2>(b"\x93NUM"),
        &["truncated .npy file (4 bytes)"],
    );
    // Every prefix of a good file fails cleanly.
    let good = fixture("f64_3x4.npy");
    for n in 0..good.len() {
        assert!(
            decode_npy::<f64, Ix2>(&good[..n]).is_err(),
            "prefix of {n} bytes"
        );
    }
    // A header whose length field points past the end.
    let mut long = good[..10].to_vec();
    long[8] = 0xff;
    long[9] = 0xff;
    assert_contains(
        &decode_err::<f64, Ix2>(&long),
        &["truncated .npy file", "65545"],
    );
    // Unknown versions and garbage headers.
    let mut v9 = good.clone();
    v9[6] = 9;
    assert_contains(
        &decode_err::<f64, Ix2>(&v9),
        &["unsupported .npy format version 9.0"],
    );
    let mut garbage = good.clone();
    garbage[10] = b'#';
    assert_contains(&decode_err::<f64, Ix2>(&garbage), &["invalid .npy header"]);
    // An invalid bool byte is refused, not turned into undefined behaviour.
    let mut bools = encode_npy(&array![true, false]).expect("bools");
    let last = bools.len() - 1;
    bools[last] = 7;
    assert_contains(&decode_err::<bool, Ix1>(&bools), &["invalid .npy file"]);
}

#[test]
fn npy_errors_through_the_storable_name_nothing_else() {
    // from_stored gives the same decode error (the record layer adds the file).
    let e = <Array2<f64> as Storable>::from_stored(
        Stored::Bytes(fixture("i64_2x3.npy").into()),
        &decode_ctx(),
    )
    .expect_err("mismatch")
    .to_string();
    assert_contains(&e, &["`<i8` (int64)", "asked for f64"]);
}

/// A `.npy` file whose header is `text` (format 1.0, padded as numpy pads).
fn npy_with_header(text: &str) -> Vec<u8> {
    let mut header = text.as_bytes().to_vec();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(
        &u16::try_from(header.len())
            .expect("small header")
            .to_le_bytes(),
    );
    out.extend_from_slice(&header);
    out
}

/// Nested brackets in a header are read in linear time and refused past a
/// bound. Found by the `npy` fuzz target (fuzz/regressions/npy/): py_literal,
/// which read headers, takes twice as long for every level of nesting, so
/// a 283-byte file with ninety open brackets never finished decoding (18
/// levels took 69 s), and ndarray-npy reads the header with it again.
#[test]
fn npy_headers_nested_deep_are_refused_not_parsed_for_ever() {
    let open = format!("{}{{'descr': '<f8'}}", "[".repeat(90));
    assert_contains(
        &decode_err::<f64, Ix1>(&npy_with_header(&open)),
        &["invalid .npy header", "nested deeper than 32 levels"],
    );
    let closed = format!(
        "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': (1,), }}",
        "[".repeat(40),
        "]".repeat(40)
    );
    assert_contains(
        &decode_err::<f64, Ix1>(&npy_with_header(&closed)),
        &["invalid .npy header", "nested deeper than 32 levels"],
    );
    // Within the bound, but in a key numpy does not write: refused before
    // ndarray-npy would read it.
    let extra = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': {}0{}}}",
        "[".repeat(30),
        "]".repeat(30)
    );
    let mut bytes = npy_with_header(&extra);
    bytes.extend_from_slice(&1.5f64.to_le_bytes());
    assert_contains(
        &decode_err::<f64, Ix1>(&bytes),
        &["invalid .npy header", "unexpected key 'x'"],
    );
    let twice = "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
    assert_contains(
        &decode_err::<f64, Ix1>(&npy_with_header(twice)),
        &["unexpected key 'descr'"],
    );
}

/// The header reader gives what py_literal gives for the headers numpy
/// writes (simple, structured, nested structured, subarrays, titles), and
/// refuses what py_literal refuses.
#[test]
fn npy_header_reader_agrees_with_py_literal() {
    let descrs = [
        "'<f8'",
        "'|b1'",
        "'<U5'",
        "[('x', '<f8'), ('y', '<i4')]",
        "[('a', [('b', '<f8', (2, 3)), ('c', '|u1')]), ('d', '<c16', (4,))]",
        "[(('title', 'x'), '<f8'), ('', '|V4')]",
        "[('s', 'S3'), ('u', '<U2'), ('o', '|O')]",
        "\"<f8\"",
        "'\\x3cf8'",
    ];
    for descr in descrs {
        let text = format!("{{'descr': {descr}, 'fortran_order': True, 'shape': (2, 0, 3), }}");
        let header =
            NpyHeader::parse(&npy_with_header(&text)).unwrap_or_else(|e| panic!("{text}: {e}"));
        let reference: py_literal::Value = descr.parse().expect("py_literal reads it");
        let expected = match reference {
            py_literal::Value::String(s) => (s, true),
            other => (other.to_string(), false),
        };
        assert_eq!((header.descr, header.simple), expected, "{text}");
        assert!(header.fortran_order);
        assert_eq!(header.shape, [2, 0, 3]);
    }
    for shape in ["()", "(7,)", "[1, 2]", "(1, 2,)"] {
        let text = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}}}");
        let header =
            NpyHeader::parse(&npy_with_header(&text)).unwrap_or_else(|e| panic!("{text}: {e}"));
        let reference: py_literal::Value = shape.parse().expect("py_literal reads it");
        let (py_literal::Value::Tuple(items) | py_literal::Value::List(items)) = reference else {
            panic!("{shape} is a tuple or a list");
        };
        assert_eq!(header.shape.len(), items.len(), "{text}");
    }
    for bad in [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1)}",
        "{'descr': '<f8' 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f8', , 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)",
        "{'descr': '<f8, 'fortran_order': False, 'shape': (1,)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x",
        "{'descr', '<f8'}",
    ] {
        assert!(
            bad.parse::<py_literal::Value>().is_err()
                || !matches!(
                    bad.parse::<py_literal::Value>(),
                    Ok(py_literal::Value::Dict(_))
                ),
            "py_literal reads {bad}"
        );
        assert_contains(
            &decode_err::<f64, Ix1>(&npy_with_header(bad)),
            &["invalid .npy header"],
        );
    }
}
