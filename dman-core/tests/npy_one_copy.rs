//! Arrays in one copy.
//!
//! Loading: `NpyDecoder`, which loads a `.npy` file from its pieces as they
//! are read (so that a load never holds the file beside the array), decodes
//! exactly what `decode_npy` decodes from the whole file, and fails where it
//! fails with the same message, whatever the size of the pieces: every file
//! of `tests/npy` (numpy's own, hostile ones among them) and arrays of every
//! element type in C, Fortran and strided layouts.
//!
//! Saving: `Storable::to_payload` gives numpy's header and then the array's
//! own memory, byte for byte what `encode_npy` (and so `numpy.save`)
//! writes, and a record's content shared with a plan cannot be changed
//! under it.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use dman_core::graph;
use dman_core::numeric::ndarray::{
    array, s, Array, Array2, Array3, ArrayD, Dimension, Ix2, IxDyn, ShapeBuilder,
};
use dman_core::numeric::num_complex::Complex;
use dman_core::numeric::{decode_npy, encode_npy, Element, NpyDecoder};
use dman_core::{
    Decoder, EncodeOptions, Error, Record, Repo, Storable, StorageBackend, StoragePath,
};
use proptest::prelude::*;

/// Calls the generic `$check` with a maker of values of every element type.
macro_rules! every_element_type {
    ($check:ident) => {
        $check(|i| i as f64 / 3.0);
        $check(|i| i as f32 / 3.0);
        $check(|i| i as i64 - 30);
        $check(|i| i as i32 - 30);
        $check(|i| i as i16 - 30);
        $check(|i| i as i8 - 30);
        $check(|i| i as u64);
        $check(|i| i as u32);
        $check(|i| i as u16);
        $check(|i| i as u8);
        $check(|i| i % 3 == 0);
        $check(|i| Complex::new(i as f64, -(i as f64)));
        $check(|i| Complex::new(i as f32, 0.5));
    };
}

/// Piece sizes that split the header, elements and the data's end.
const PIECES: [usize; 8] = [1, 2, 3, 7, 10, 64, 4093, usize::MAX];

fn npy_files() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/npy");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/npy")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "npy"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 12,
        "tests/npy holds the fixture files: {files:?}"
    );
    files
}

/// `bytes` decoded by an `NpyDecoder` fed pieces of `piece` bytes.
fn in_pieces<A: Element, D: Dimension>(
    bytes: &[u8],
    piece: usize,
) -> dman_core::Result<Array<A, D>> {
    let mut decoder = NpyDecoder::<A, D>::new();
    for part in bytes.chunks(piece.min(bytes.len().max(1))) {
        decoder.push(part)?;
    }
    decoder.finish()
}

/// Whole, in pieces and read from a whole-file reader (the local folder's
/// `open_read`) agree: the same array (same values, same layout), or the
/// same error message.
fn agree<A: Element + PartialEq + Debug, D: Dimension + 'static>(name: &str, bytes: &[u8]) -> bool {
    let whole = decode_npy::<A, D>(bytes);
    let what = |how: &str| format!("{name} as {}: {how}", A::RUST_NAME);
    for piece in PIECES {
        same(
            &what(&format!("pieces of {piece}")),
            &whole,
            &in_pieces::<A, D>(bytes, piece),
        );
    }
    let decoder: Box<dyn Decoder<Array<A, D>>> = Box::new(NpyDecoder::<A, D>::new());
    let read = decoder.read_from(&mut &bytes[..], bytes.len() as u64);
    same(&what("read whole"), &whole, &read);
    whole.is_ok()
}

/// The same array in the same layout, or the same error message.
fn same<A: PartialEq + Debug, D: Dimension>(
    what: &str,
    whole: &dman_core::Result<Array<A, D>>,
    other: &dman_core::Result<Array<A, D>>,
) {
    match (whole, other) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{what}");
            assert_eq!(a.strides(), b.strides(), "{what}: the layout");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
        (a, b) => panic!(
            "{what}: whole {:?}, other {:?}",
            a.as_ref().map(|_| "an array").map_err(ToString::to_string),
            b.as_ref().map(|_| "an array").map_err(ToString::to_string)
        ),
    }
}

#[test]
fn every_fixture_decodes_in_pieces_as_whole() {
    let mut decoded = 0;
    for (name, bytes) in npy_files() {
        let mut any = false;
        any |= agree::<f64, IxDyn>(&name, &bytes);
        any |= agree::<f64, Ix2>(&name, &bytes);
        any |= agree::<i64, IxDyn>(&name, &bytes);
        any |= agree::<i32, IxDyn>(&name, &bytes);
        any |= agree::<f32, IxDyn>(&name, &bytes);
        any |= agree::<u8, IxDyn>(&name, &bytes);
        any |= agree::<bool, IxDyn>(&name, &bytes);
        any |= agree::<Complex<f64>, IxDyn>(&name, &bytes);
        decoded += usize::from(any);
    }
    // f64 in C and Fortran order, 2-d and 3-d, big-endian; i32 in Fortran
    // order; i64.
    assert_eq!(decoded, 6, "fixture files decoded as some type");
}

#[test]
fn a_header_that_declares_more_than_the_file_holds_costs_no_memory() {
    // 2^40 doubles declared (8 TiB), 16 bytes held: the decoder reserves
    // address space it never touches or is refused it, and says truncated
    // or too large, as `decode_npy` does for the whole file.
    let mut bytes = encode_npy(&Array2::<f64>::zeros((1, 2))).expect("encode");
    let header = String::from_utf8_lossy(&bytes[10..]).replace("(1, 2)", "(1048576, 1048576)");
    let mut forged = bytes[..8].to_vec();
    let text = &header[..header.find('\n').expect("newline") + 1];
    forged.extend_from_slice(&u16::try_from(text.len()).expect("short").to_le_bytes());
    forged.extend_from_slice(text.as_bytes());
    forged.extend_from_slice(&[0; 16]);
    bytes = forged;
    let message = in_pieces::<f64, Ix2>(&bytes, 4096)
        .expect_err("must fail")
        .to_string();
    assert!(
        message.contains("truncated .npy file") || message.contains("too large for memory"),
        "{message}"
    );
}

/// A `.npy` file (version 1.0) with `header` padded as numpy pads it, and
/// `data` after it.
fn npy_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut text = format!("{header}{}", " ".repeat(117 - header.len()));
    text.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(text.len()).expect("short").to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn an_empty_shape_too_large_to_address_is_refused_not_a_panic() {
    // Found by the `npy` fuzz target: `(18446744073709551615, 0)` declares
    // no data, but ndarray cannot address the shape, and ndarray-npy's view
    // panicked on it.
    let shape = "'shape': (18446744073709551615, 0), }";
    let bytes = npy_file(
        &format!("{{'descr': '<c16', 'fortran_order': False, {shape}"),
        &[0; 16],
    );
    assert_eq!(bytes.len(), 128 + 16, "numpy's 64-byte alignment");
    let whole = decode_npy::<Complex<f64>, IxDyn>(&bytes)
        .expect_err("refused")
        .to_string();
    assert!(whole.contains("too large for memory"), "{whole}");
    for piece in PIECES {
        let pieces = in_pieces::<Complex<f64>, IxDyn>(&bytes, piece)
            .expect_err("refused")
            .to_string();
        assert!(pieces.contains("too large for memory"), "{pieces}");
    }
    let bytes = npy_file(
        &format!("{{'descr': '<f8', 'fortran_order': False, {shape}"),
        &[],
    );
    let f64s = decode_npy::<f64, Ix2>(&bytes)
        .expect_err("refused")
        .to_string();
    assert!(f64s.contains("too large for memory"), "{f64s}");
}

#[test]
fn bools_other_than_0_and_1_are_refused_in_pieces() {
    let mut bytes = encode_npy(&array![true, false, true]).expect("encode");
    let last = bytes.len() - 1;
    bytes[last] = 7;
    let whole = decode_npy::<bool, IxDyn>(&bytes)
        .expect_err("whole refuses")
        .to_string();
    for piece in PIECES {
        let pieces = in_pieces::<bool, IxDyn>(&bytes, piece)
            .expect_err("refused")
            .to_string();
        assert_eq!(pieces, whole, "pieces of {piece}");
    }
    let decoder: Box<dyn Decoder<ArrayD<bool>>> = Box::new(NpyDecoder::<bool, IxDyn>::new());
    let read = decoder.read_from(&mut &bytes[..], bytes.len() as u64);
    assert!(read.is_err(), "a bool of 7 read whole must be refused");
}

fn arrays_of<A: Element + PartialEq + Debug>(make: impl Fn(usize) -> A) {
    let c = Array3::from_shape_fn((3, 4, 5), |(i, j, k)| make(i * 20 + j * 5 + k));
    let f = Array3::from_shape_fn((3, 4, 5).f(), |(i, j, k)| make(i * 20 + j * 5 + k));
    assert!(!f.is_standard_layout());
    let strided = c.slice(s![.., 1.., ..;2]).to_owned();
    for (what, bytes) in [
        ("C order", encode_npy(&c).expect("encode")),
        ("Fortran order", encode_npy(&f).expect("encode")),
        (
            "strided",
            encode_npy(&c.slice(s![.., 1.., ..;2])).expect("encode"),
        ),
    ] {
        assert!(agree::<A, IxDyn>(what, &bytes), "{what} decodes");
    }
    let back = in_pieces::<A, IxDyn>(&encode_npy(&strided).expect("encode"), 5).expect("decode");
    assert_eq!(back, strided.into_dyn());
}

#[test]
fn every_element_type_in_every_layout() {
    every_element_type!(arrays_of);
}

proptest! {
    #[test]
    fn any_array_in_any_pieces(
        values in proptest::collection::vec(any::<f64>(), 0..300),
        piece in 1usize..200,
    ) {
        let array = ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).expect("shape");
        let bytes = encode_npy(&array).expect("encode");
        let back = in_pieces::<f64, IxDyn>(&bytes, piece).expect("decode");
        // Bit for bit, NaNs included.
        let bits = |a: &ArrayD<f64>| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&back), bits(&array));
    }
}

/// A record of an array loads through the decoder, in pieces of the
/// backend's stream, with the file's name in its errors.
#[tokio::test]
async fn records_load_arrays_in_pieces() {
    let store: Arc<dyn StorageBackend> = Arc::new(dman_memory::MemoryBackend::new());
    let repo = Repo::new(store.clone()).with_generator("g");
    let array = Array2::from_shape_fn((300, 7), |(i, j)| (i * 7 + j) as f64);
    let record = Record::new(array.clone());
    repo.save("k", &record).await.expect("save");
    let loaded: Record<Array2<f64>> = repo.load("k").await.expect("load");
    assert_eq!(loaded.get().await.expect("array"), &array);

    // The same file cut short: the error names the file and what is missing.
    let path = loaded.path().expect("path");
    let bytes = store.read(&path).await.expect("read");
    store
        .write(&path, bytes.slice(..bytes.len() - 8))
        .await
        .expect("cut");
    let again: Record<Array2<f64>> = repo.load("k").await.expect("load");
    let message = again.get().await.expect_err("truncated").to_string();
    assert!(message.contains("truncated .npy file"), "{message}");
    assert!(message.contains(path.as_str()), "{message}");
}

fn payload_is_encode_npy<A: Element>(make: impl Fn(usize) -> A) {
    let c = Array3::from_shape_fn((3, 4, 5), |(i, j, k)| make(i * 20 + j * 5 + k));
    let f = Array3::from_shape_fn((3, 4, 5).f(), |(i, j, k)| make(i * 20 + j * 5 + k));
    let strided = c.slice(s![.., 1.., ..;2]).to_owned();
    let empty = Array3::from_shape_fn((0, 4, 5), |(i, j, k)| make(i + j + k));
    for (what, array) in [
        ("C order", c),
        ("Fortran order", f),
        ("copied slice", strided),
        ("empty", empty),
    ] {
        let shared = Arc::new(array);
        let payload = Array3::<A>::to_payload(&shared)
            .expect("a contiguous array is written from its memory")
            .expect("payload");
        let whole = encode_npy(&*shared).expect("encode");
        assert_eq!(
            payload.len(),
            whole.len() as u64,
            "{what} of {}",
            A::RUST_NAME
        );
        assert_eq!(
            &payload.into_bytes()[..],
            &whole[..],
            "{what} of {}",
            A::RUST_NAME
        );
    }
    // Not contiguous: no payload of its own (the engine writes `to_stored`).
    let c = Array2::from_shape_fn((4, 6), |(i, j)| make(i * 6 + j));
    let view = Arc::new(c.slice(s![.., ..;2]).to_owned());
    assert!(
        view.is_standard_layout(),
        "an owned slice is contiguous again"
    );
}

#[test]
fn payloads_are_numpys_bytes_for_every_element_type() {
    every_element_type!(payload_is_encode_npy);
}

/// The plan of a save shares the array (its data part is the array's own
/// memory); while the plan lives the content cannot be changed or taken,
/// and once it has run it can.
#[tokio::test]
async fn a_plan_shares_the_array_until_it_runs() {
    let store: Arc<dyn StorageBackend> = Arc::new(dman_memory::MemoryBackend::new());
    let array = Array2::from_shape_fn((64, 64), |(i, j)| (i * 64 + j) as f64);
    let mut record = Record::new(array.clone());
    let root = StoragePath::parse("k/k.json").expect("path");
    let (doc, plan) =
        graph::encode(&record, &store, &root, EncodeOptions::default()).expect("encode");
    let (_, payload) = &plan.writes()[0];
    assert_eq!(
        payload.parts().len(),
        2,
        "the header, then the array's memory"
    );
    let data = &payload.parts()[1];
    assert_eq!(
        data.as_ptr(),
        record.get().await.expect("content").as_ptr().cast::<u8>(),
        "the data part is the array's own memory, not a copy"
    );
    match record.get_mut().await {
        Err(Error::ContentShared) => {}
        other => panic!(
            "changing shared content must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    let bytes = dman_core::json::to_string_pretty(&doc).into_bytes();
    graph::execute(plan, &root, bytes.into(), 4)
        .await
        .expect("run the plan");
    record
        .get_mut()
        .await
        .expect("the plan ran: the content is the record's alone")[[0, 0]] = -1.0;
    assert_eq!(record.get().await.expect("content")[[0, 0]], -1.0);
    let _: Vec<_> = store.list(&StoragePath::root()).await.expect("list");
}

/// A backend that says which write it got.
#[derive(Debug, Default)]
struct Says(std::sync::Mutex<Vec<&'static str>>);

#[async_trait::async_trait]
impl StorageBackend for Says {
    fn location(&self) -> String {
        "says://".into()
    }
    async fn read(&self, path: &StoragePath) -> dman_core::StorageResult<bytes::Bytes> {
        Err(dman_core::StorageError::not_found("says://", path))
    }
    async fn write(&self, _: &StoragePath, _: bytes::Bytes) -> dman_core::StorageResult<()> {
        self.0.lock().expect("log").push("write");
        Ok(())
    }
    async fn write_payload(
        &self,
        _: &StoragePath,
        _: dman_core::Payload,
    ) -> dman_core::StorageResult<()> {
        self.0.lock().expect("log").push("write_payload");
        Ok(())
    }
    async fn delete(&self, _: &StoragePath) -> dman_core::StorageResult<()> {
        Ok(())
    }
    async fn exists(&self, _: &StoragePath) -> dman_core::StorageResult<bool> {
        Ok(false)
    }
    async fn list(&self, _: &StoragePath) -> dman_core::StorageResult<Vec<dman_core::ObjectMeta>> {
        Ok(Vec::new())
    }
}

/// A payload reaches the backend's own `write_payload` through the `Arc`s
/// the engine holds backends in (a forwarding impl that missed the method
/// would join the parts in its default, copying an array whole).
#[tokio::test]
async fn payloads_reach_the_backend_through_arcs() {
    let says = Arc::new(Says::default());
    let one: Arc<dyn StorageBackend> = says.clone();
    let two: Arc<dyn StorageBackend> = Arc::new(one.clone());
    let path = StoragePath::parse("a.npy").expect("path");
    for store in [&one, &two] {
        store
            .write_payload(
                &path,
                dman_core::Payload::from(vec![bytes::Bytes::from_static(b"x")]),
            )
            .await
            .expect("write");
    }
    assert_eq!(
        *says.0.lock().expect("log"),
        ["write_payload", "write_payload"]
    );
}

/// What a save writes for an array is byte for byte what `numpy.save`
/// wrote for it: every array numpy wrote in `tests/npy` (C and Fortran
/// order, 2-d and 3-d, f64, i64, i32), loaded, then given as a payload.
#[test]
fn payloads_are_what_numpy_save_wrote() {
    fn same<A: Element>(name: &str, bytes: &[u8]) {
        let array = Arc::new(decode_npy::<A, IxDyn>(bytes).expect(name));
        let payload = ArrayD::<A>::to_payload(&array)
            .expect("numpy's arrays are contiguous")
            .expect("payload");
        assert_eq!(payload.parts().len(), 2, "{name}: header and memory");
        assert!(payload.into_bytes() == bytes, "{name}: not numpy's bytes");
    }
    let files: std::collections::BTreeMap<String, Vec<u8>> = npy_files().into_iter().collect();
    same::<f64>("f64_3x4.npy", &files["f64_3x4.npy"]);
    same::<f64>("f64_2x3x4.npy", &files["f64_2x3x4.npy"]);
    same::<f64>("fortran_f64_3x4.npy", &files["fortran_f64_3x4.npy"]);
    same::<i32>("fortran_i32_2x3x4.npy", &files["fortran_i32_2x3x4.npy"]);
    same::<i64>("i64_2x3.npy", &files["i64_2x3.npy"]);
}
