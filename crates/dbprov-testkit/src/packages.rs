//! Installing what the tests need from Debian's packages and PyPI, once, when it is missing.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use crate::process::is_root;

static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// Makes sure `probe` exists, installing `packages` with apt-get when it does not. Panics with a clear
/// message when that is impossible (not root, no apt-get, no network).
pub fn ensure_debian_packages(probe: impl Fn() -> bool, packages: &[&str]) {
    if probe() {
        return;
    }
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
    if probe() {
        return;
    }
    let list = packages.join(" ");
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        panic!(
            "the tests need the Debian packages `{list}`, which are not installed, and this process cannot install them \
             (it is not root or has no apt-get); run `sudo apt-get install -y {list}` or run the tests as root"
        );
    }
    eprintln!("dbprov-testkit: installing {list} (apt-get)");
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    if !matches!(update, Ok(status) if status.success()) {
        eprintln!("dbprov-testkit: apt-get update failed; trying to install from the current package lists");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .unwrap_or_else(|error| panic!("failed to run apt-get install {list}: {error}"));
    if !status.success() || !probe() {
        panic!(
            "apt-get install -y {list} failed ({status}); install the packages by hand and re-run the tests"
        );
    }
}

/// Makes sure the Python modules can be imported, installing the pip requirements when they cannot.
pub fn ensure_python_packages(modules: &[&str], requirements: &[&str]) {
    let importable = || {
        Command::new("python3")
            .arg("-c")
            .arg(
                modules
                    .iter()
                    .map(|module| format!("import {module}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
            .output()
            .map(|output| output.status.success())
            .unwrap_or(false)
    };
    if importable() {
        return;
    }
    let _guard = INSTALL_LOCK.lock().unwrap_or_else(|poison| poison.into_inner());
    if importable() {
        return;
    }
    eprintln!("dbprov-testkit: installing {} (pip)", requirements.join(" "));
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(requirements)
        .status()
        .unwrap_or_else(|error| panic!("failed to run python3 -m pip: {error}"));
    if !status.success() || !importable() {
        panic!(
            "python3 -m pip install {} failed; install it by hand and re-run the tests",
            requirements.join(" ")
        );
    }
}
