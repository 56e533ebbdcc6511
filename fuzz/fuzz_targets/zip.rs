#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    dman_fuzz::zip(data);
});
