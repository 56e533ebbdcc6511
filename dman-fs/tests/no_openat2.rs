//! Where `openat2` is refused (a kernel before 5.6 answers `ENOSYS`, a
//! seccomp filter `EPERM` or `ENOSYS`), the backend finds out when it is
//! made and falls back to checking paths before opening them, instead of
//! failing.
//!
//! The refusal is real: each test runs itself again in a child process
//! (this test binary, the same test, with the errno in an environment
//! variable), which installs a seccomp filter that makes `openat2` fail,
//! then uses a backend ([`child_without_openat2`]). A process of its own,
//! because the backend finds out whether `openat2` works once per process.
#![cfg(target_os = "linux")]

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Command;

use bytes::Bytes;
use dman_core::{StorageBackend, StoragePath};
use dman_fs::FsBackend;

/// The environment variable that gives the child the errno to answer.
const ERRNO_VAR: &str = "DMAN_FS_TEST_OPENAT2_ERRNO";

fn p(input: &str) -> StoragePath {
    StoragePath::parse(input).unwrap()
}

/// In the child: the check itself. In the test: runs `test` again in a
/// child whose `openat2` fails with `errno`, and checks what it printed.
fn run_child(test: &str, errno: i32) {
    if let Ok(errno) = std::env::var(ERRNO_VAR) {
        child_without_openat2(errno.parse().unwrap());
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env(ERRNO_VAR, errno.to_string())
        .env_remove("DMAN_FS_NO_OPENAT2")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("child: openat2 refused, backend worked"),
        "{stdout}"
    );
}

#[test]
fn an_old_kernel_without_openat2() {
    run_child("an_old_kernel_without_openat2", libc::ENOSYS);
}

#[test]
fn a_seccomp_filter_refusing_openat2() {
    run_child("a_seccomp_filter_refusing_openat2", libc::EPERM);
}

/// Makes `openat2` fail with `errno` in this thread and the threads it
/// starts from now on.
fn refuse_openat2(errno: i32) {
    // struct seccomp_data starts with the system call number (u32).
    const BPF_LD_W_ABS: u16 = 0x20;
    const BPF_JMP_JEQ_K: u16 = 0x15;
    const BPF_RET_K: u16 = 0x06;
    let errno = u32::try_from(errno).unwrap();
    let openat2 = u32::try_from(libc::SYS_openat2).unwrap();
    let mut filter = [
        libc::sock_filter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: BPF_JMP_JEQ_K,
            jt: 0,
            jf: 1,
            k: openat2,
        },
        libc::sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | errno,
        },
        libc::sock_filter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: plain prctl calls; `program` and the filter it points to
    // outlive the call, which copies them.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &program as *const libc::sock_fprog,
            ),
            0,
            "seccomp: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The child's side: with `openat2` refused, a backend still works.
fn child_without_openat2(errno: i32) {
    refuse_openat2(errno);
    let folder = tempfile::tempdir().unwrap();
    let root = folder.path().join("root");
    let outside = folder.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret.txt"), b"secret").unwrap();

    // The filter works: openat2 itself fails as asked.
    let refused = rustix::fs::openat2(
        rustix::fs::CWD,
        ".",
        rustix::fs::OFlags::PATH,
        rustix::fs::Mode::empty(),
        rustix::fs::ResolveFlags::BENEATH,
    )
    .unwrap_err();
    assert_eq!(refused.raw_os_error(), errno);

    // Built on this thread, so that its blocking threads inherit the
    // filter.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let backend = FsBackend::new(&root).unwrap();
    symlink(&outside, root.join("escape")).unwrap();
    runtime.block_on(async {
        let path = p("a/b/file.txt");
        backend
            .write(&path, Bytes::from_static(b"data"))
            .await
            .unwrap();
        assert_eq!(
            backend.read(&path).await.unwrap(),
            Bytes::from_static(b"data")
        );
        assert!(backend.exists(&path).await.unwrap());
        let listed = backend.list(&StoragePath::root()).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        // The walk still refuses links that are there.
        let err = backend
            .read(&p("escape/secret.txt"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside the root"), "{err}");
        backend.delete(&path).await.unwrap();
        assert!(!root.join("a").exists());
    });
    println!("child: openat2 refused, backend worked");
}
