//! `cargo xtask yocto`: keeps `yocto/meta-signpad` buildable without a Yocto
//! build here.
//!
//! `crates-inc` regenerates `signpad-crates.inc` (the `crate://` sources and
//! checksums BitBake fetches) from `Cargo.lock`, the same content
//! `bitbake -c update_crates signpad` would write. `check` fails when that
//! file has drifted from `Cargo.lock`, runs `oelint-adv` on every recipe and
//! `shellcheck` on every shell script of the layer and of `.ci/`.

use crate::pytool::{self, PyTool};
use crate::{apt, run};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The layer, relative to the workspace root.
pub const LAYER_DIR: &str = "yocto/meta-signpad";
/// The generated crates file, relative to the workspace root.
pub const CRATES_INC: &str = "yocto/meta-signpad/recipes-signpad/signpad/signpad-crates.inc";
/// oelint-adv and its rule data, pinned so that CI results only change when
/// we change this line.
const OELINT_VERSION: &str = "9.11.2";
const OELINT_COMPANIONS: &[&str] = &["oelint-parser==8.13.2", "oelint-data==1.5.26"];
/// The release oelint-adv checks the recipes against: the oldest one in
/// `LAYERSERIES_COMPAT_signpad`.
const OELINT_RELEASE: &str = "scarthgap";

const CRATES_IO_SOURCES: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// The `cargo xtask yocto` tasks.
#[derive(clap::Subcommand, Debug)]
pub enum YoctoTask {
    /// Regenerate signpad-crates.inc from Cargo.lock.
    CratesInc,
    /// Check the layer: crates.inc matches Cargo.lock, oelint-adv and
    /// shellcheck find nothing.
    Check,
}

pub fn run(root: &Path, task: &YoctoTask) -> Result<()> {
    match task {
        YoctoTask::CratesInc => write_crates_inc(&root.join("Cargo.lock"), &root.join(CRATES_INC)),
        YoctoTask::Check => {
            check_crates_inc(&root.join("Cargo.lock"), &root.join(CRATES_INC))?;
            eprintln!("yocto: {CRATES_INC} matches Cargo.lock");
            oelint(root)?;
            shellcheck(root)?;
            eprintln!("yocto: layer checks passed");
            Ok(())
        }
    }
}

/// A crates.io package of the lock file: what BitBake fetches as
/// `crate://crates.io/<name>/<version>` and checks against `checksum`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RegistryCrate {
    pub name: String,
    pub version: String,
    /// SHA-256 of the `.crate` file, lowercase hex.
    pub checksum: String,
}

impl RegistryCrate {
    /// The crate fetcher's default `name=` for the SRC_URI entry.
    fn key(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

/// The crates.io packages of a `Cargo.lock`, sorted by name and version.
/// Workspace members (no source) are skipped; a git or other registry source
/// is an error, since the recipe would need a hand-written SRC_URI for it.
pub fn registry_crates(lock_text: &str) -> Result<Vec<RegistryCrate>> {
    let lock: LockFile = toml::from_str(lock_text).context("Cargo.lock is not valid TOML")?;
    let mut crates = Vec::new();
    for package in lock.package {
        let Some(source) = package.source else {
            continue;
        };
        if !CRATES_IO_SOURCES.contains(&source.as_str()) {
            bail!(
                "Cargo.lock: {} {} comes from {source}; signpad-crates.inc only covers \
                 crates.io, so add that source to signpad_git.bb's SRC_URI by hand \
                 (or depend on a crates.io release)",
                package.name,
                package.version
            );
        }
        let Some(checksum) = package.checksum else {
            bail!(
                "Cargo.lock: {} {} has no checksum; run `cargo generate-lockfile` or \
                 `cargo update -p {}`",
                package.name,
                package.version,
                package.name
            );
        };
        crates.push(RegistryCrate {
            name: package.name,
            version: package.version,
            checksum,
        });
    }
    crates.sort();
    crates.dedup();
    Ok(crates)
}

/// The text of `signpad-crates.inc` for `crates`, in the layout
/// `cargo-update-recipe-crates` writes.
pub fn render_crates_inc(crates: &[RegistryCrate]) -> String {
    let mut text = String::from(
        "# Generated from Cargo.lock by `cargo xtask yocto crates-inc` (the same\n\
         # content as `bitbake -c update_crates signpad`). Do not edit:\n\
         # `cargo xtask yocto check` fails when this file and Cargo.lock differ.\n\
         \n\
         # from Cargo.lock\n\
         SRC_URI += \" \\\n",
    );
    for c in crates {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "    crate://crates.io/{}/{} \\", c.name, c.version);
    }
    text.push_str("\"\n\n");
    for c in crates {
        let _ = writeln!(text, "SRC_URI[{}.sha256sum] = \"{}\"", c.key(), c.checksum);
    }
    text
}

/// Reads the crates back from a `*-crates.inc`. Every `crate://crates.io/`
/// entry must have its checksum line and every checksum line its entry.
pub fn parse_crates_inc(text: &str) -> Result<Vec<RegistryCrate>> {
    let mut entries: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
    let mut checksums: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("crate://crates.io/") {
            let spec = rest.trim_end_matches('\\').trim();
            let Some((name, version)) = spec.split_once('/') else {
                bail!("line {line_no}: `{line}` is not crate://crates.io/<name>/<version>");
            };
            if name.is_empty() || version.is_empty() || version.contains(['/', ';', ' ']) {
                bail!("line {line_no}: `{line}` is not crate://crates.io/<name>/<version>");
            }
            let key = format!("{name}-{version}");
            if entries
                .insert(key.clone(), (name.to_owned(), version.to_owned(), line_no))
                .is_some()
            {
                bail!("line {line_no}: crate {name} {version} is listed twice");
            }
        } else if let Some(rest) = line.strip_prefix("SRC_URI[") {
            let Some((key, value)) = rest.split_once(".sha256sum]") else {
                continue;
            };
            let value = value.trim();
            let Some(checksum) = value
                .strip_prefix('=')
                .map(str::trim)
                .and_then(|v| v.strip_prefix('"'))
                .and_then(|v| v.strip_suffix('"'))
            else {
                bail!("line {line_no}: `{line}` is not SRC_URI[<name>-<version>.sha256sum] = \"<hex>\"");
            };
            if checksums
                .insert(key.to_owned(), (checksum.to_owned(), line_no))
                .is_some()
            {
                bail!("line {line_no}: checksum of {key} is given twice");
            }
        }
    }
    let mut crates = Vec::new();
    for (key, (name, version, line_no)) in &entries {
        let Some((checksum, _)) = checksums.get(key) else {
            bail!("line {line_no}: crate {name} {version} has no SRC_URI[{key}.sha256sum] line");
        };
        crates.push(RegistryCrate {
            name: name.clone(),
            version: version.clone(),
            checksum: checksum.clone(),
        });
    }
    if let Some((key, (_, line_no))) = checksums
        .iter()
        .find(|(key, _)| !entries.contains_key(*key))
    {
        bail!("line {line_no}: checksum for {key}, which no crate:// line lists");
    }
    crates.sort();
    Ok(crates)
}

type CrateIndex<'a> = BTreeMap<(&'a str, &'a str), &'a str>;

fn index(crates: &[RegistryCrate]) -> CrateIndex<'_> {
    crates
        .iter()
        .map(|c| ((c.name.as_str(), c.version.as_str()), c.checksum.as_str()))
        .collect()
}

fn versions_of<'a>(crates: &CrateIndex<'a>, name: &str) -> Vec<&'a str> {
    crates
        .keys()
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .collect()
}

/// How `inc` differs from `lock`, one sentence per crate: crates of the lock
/// file first (missing, other version, other checksum), then crates only the
/// inc lists.
pub fn differences(lock: &[RegistryCrate], inc: &[RegistryCrate]) -> Vec<String> {
    let (lock, inc) = (index(lock), index(inc));
    let mut found = Vec::new();
    // Names whose version change is already reported from the lock side.
    let mut version_changed = Vec::new();
    for ((name, version), checksum) in &lock {
        match inc.get(&(*name, *version)) {
            None => {
                let others = versions_of(&inc, name);
                if others.is_empty() {
                    found.push(format!(
                        "{name} {version} is in Cargo.lock but not in the inc"
                    ));
                } else {
                    version_changed.push(*name);
                    found.push(format!(
                        "{name} is {version} in Cargo.lock but {} in the inc",
                        others.join(", ")
                    ));
                }
            }
            Some(other) if other != checksum => found.push(format!(
                "{name} {version}: checksum {checksum} in Cargo.lock, {other} in the inc"
            )),
            Some(_) => {}
        }
    }
    for (name, version) in inc.keys() {
        if !lock.contains_key(&(*name, *version)) && !version_changed.contains(name) {
            found.push(format!(
                "{name} {version} is in the inc but not in Cargo.lock"
            ));
        }
    }
    found
}

/// How many differences the error message names.
const SHOWN_DIFFERENCES: usize = 10;

/// Fails when the crates file does not list exactly the crates.io crates,
/// versions and checksums of the lock file.
pub fn check_crates_inc(lock_path: &Path, inc_path: &Path) -> Result<()> {
    let lock_text = std::fs::read_to_string(lock_path)
        .with_context(|| format!("cannot read {}", lock_path.display()))?;
    let lock =
        registry_crates(&lock_text).with_context(|| format!("in {}", lock_path.display()))?;
    let inc_text = std::fs::read_to_string(inc_path).with_context(|| {
        format!(
            "cannot read {}; run `cargo xtask yocto crates-inc` to create it",
            inc_path.display()
        )
    })?;
    let inc = parse_crates_inc(&inc_text).with_context(|| {
        format!(
            "{} is malformed; run `cargo xtask yocto crates-inc` to regenerate it",
            inc_path.display()
        )
    })?;
    let found = differences(&lock, &inc);
    if found.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "{} does not match {} ({} difference{}); run `cargo xtask yocto crates-inc` and commit the result:",
        inc_path.display(),
        lock_path.display(),
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    );
    for line in found.iter().take(SHOWN_DIFFERENCES) {
        message.push_str("\n  ");
        message.push_str(line);
    }
    if found.len() > SHOWN_DIFFERENCES {
        let _ = write!(
            message,
            "\n  ... and {} more",
            found.len() - SHOWN_DIFFERENCES
        );
    }
    bail!(message)
}

/// Regenerates the crates file from the lock file.
pub fn write_crates_inc(lock_path: &Path, inc_path: &Path) -> Result<()> {
    let lock_text = std::fs::read_to_string(lock_path)
        .with_context(|| format!("cannot read {}", lock_path.display()))?;
    let crates =
        registry_crates(&lock_text).with_context(|| format!("in {}", lock_path.display()))?;
    std::fs::write(inc_path, render_crates_inc(&crates))
        .with_context(|| format!("cannot write {}", inc_path.display()))?;
    eprintln!("wrote {} ({} crates)", inc_path.display(), crates.len());
    Ok(())
}

/// Files under `dir` (recursively) for which `keep` is true, sorted.
fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    if !dir.is_dir() {
        return Ok(found);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)
            .with_context(|| format!("cannot list {}", current.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if keep(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Recipes, appends and configuration files (layer.conf, the distro):
/// everything oelint-adv has rules for.
fn is_recipe(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("bb" | "bbappend" | "conf")
    ) && !path.components().any(|c| c.as_os_str() == "files")
}

fn is_shell_script(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let first_line = String::from_utf8_lossy(first_line);
    first_line.starts_with("#!")
        && ["/sh", "bash", "dash", " sh"]
            .iter()
            .any(|shell| first_line.contains(shell))
}

/// oelint-adv, pinned with the parser and rule data it was checked with.
const OELINT: PyTool = PyTool {
    venv: "oelint",
    exe: "oelint-adv",
    package: "oelint-adv",
    version: OELINT_VERSION,
    companions: OELINT_COMPANIONS,
};

/// The oelint-adv executable in a venv under `target/`, installed at the
/// pinned version when missing or different.
fn oelint_adv(root: &Path) -> Result<PathBuf> {
    pytool::ensure(root, &OELINT)
}

/// The oelint-adv rules about the spacing of an assignment's value. The
/// generated crates file opens with `SRC_URI += " \` followed by one
/// `crate://` per line, exactly as `cargo-update-recipe-crates` writes it,
/// and these two rules flag that leading space. Reformatting the file would
/// make it differ from what `bitbake -c update_crates` produces, so their
/// rows, and only theirs, are ignored for that file; every other rule still
/// applies to it, and these two still apply to every hand-written file.
const GENERATED_INC_LAYOUT_RULES: &[&str] =
    &["oelint.vars.inconspaces", "oelint.vars.notneededspace"];

/// oelint-adv rules not run. `homepageping` fetches HOMEPAGE over the
/// network: its result depends on the machine, not on the recipe, and the
/// project's address is a placeholder until it has a public home.
const OELINT_SUPPRESSED: &[&str] = &["oelint.vars.homepageping"];

/// Whether an oelint-adv finding row is about the generated crates file's
/// layout (see [`GENERATED_INC_LAYOUT_RULES`]).
fn is_generated_layout_finding(row: &str) -> bool {
    row.contains("-crates.inc:")
        && GENERATED_INC_LAYOUT_RULES
            .iter()
            .any(|rule| row.contains(rule))
}

fn oelint(root: &Path) -> Result<()> {
    let recipes = files_under(&root.join(LAYER_DIR), &is_recipe)?;
    if recipes.is_empty() {
        bail!("no recipes under {LAYER_DIR}");
    }
    let exe = oelint_adv(root)?;
    let mut cmd = Command::new(&exe);
    cmd.current_dir(root)
        .args(["--release", OELINT_RELEASE, "--quiet", "--relpaths"])
        .args(
            OELINT_SUPPRESSED
                .iter()
                .flat_map(|rule| ["--suppress", rule]),
        )
        .args(
            recipes
                .iter()
                .map(|p| p.strip_prefix(root).unwrap_or(p).to_path_buf()),
        );
    eprintln!(
        "+ oelint-adv --release {OELINT_RELEASE} --quiet --relpaths ({} recipes)",
        recipes.len()
    );
    let out = run::output(&mut cmd)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !is_generated_layout_finding(l))
        .collect();
    if !findings.is_empty() {
        bail!(
            "oelint-adv reports {} finding{}:\n{}",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            findings.join("\n")
        );
    }
    // Exit status 1 with only filtered rows is a pass; anything else must
    // have printed a finding or an error above.
    match out.status.code() {
        Some(0 | 1) => {}
        _ => bail!("oelint-adv failed with {}", out.status),
    }
    eprintln!("yocto: oelint-adv clean on {} recipes", recipes.len());
    Ok(())
}

fn shellcheck(root: &Path) -> Result<()> {
    let mut scripts = files_under(&root.join(LAYER_DIR), &is_shell_script)?;
    scripts.extend(files_under(&root.join(".ci"), &is_shell_script)?);
    if scripts.is_empty() {
        return Ok(());
    }
    apt::ensure(&["shellcheck"])?;
    run::status(
        Command::new("shellcheck")
            .current_dir(root)
            .args(scripts.iter().map(|p| p.strip_prefix(root).unwrap_or(p))),
    )?;
    eprintln!("yocto: shellcheck clean on {} scripts", scripts.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "zeta"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1111111111111111111111111111111111111111111111111111111111111111"

[[package]]
name = "signpad-types"
version = "0.1.0"
dependencies = ["zeta"]

[[package]]
name = "alpha"
version = "0.2.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "2222222222222222222222222222222222222222222222222222222222222222"

[[package]]
name = "alpha"
version = "0.1.9"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "3333333333333333333333333333333333333333333333333333333333333333"
"#;

    fn workspace_lock() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock")
    }

    #[test]
    fn registry_crates_are_sorted_and_skip_workspace_members() {
        let crates = registry_crates(LOCK).unwrap();
        let names: Vec<(&str, &str)> = crates
            .iter()
            .map(|c| (c.name.as_str(), c.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [("alpha", "0.1.9"), ("alpha", "0.2.0"), ("zeta", "1.0.0")]
        );
    }

    #[test]
    fn rendered_inc_has_crate_uris_and_checksums_in_bitbake_form() {
        let text = render_crates_inc(&registry_crates(LOCK).unwrap());
        assert!(text.contains("SRC_URI += \" \\\n    crate://crates.io/alpha/0.1.9 \\\n"));
        assert!(text.contains("    crate://crates.io/zeta/1.0.0 \\\n\"\n"));
        assert!(text.contains(
            "SRC_URI[alpha-0.2.0.sha256sum] = \"2222222222222222222222222222222222222222222222222222222222222222\"\n"
        ));
        assert!(!text.contains("signpad-types"));
    }

    #[test]
    fn rendered_inc_parses_back_to_the_same_crates() {
        let crates = registry_crates(LOCK).unwrap();
        assert_eq!(
            parse_crates_inc(&render_crates_inc(&crates)).unwrap(),
            crates
        );
    }

    #[test]
    fn git_dependency_is_rejected_with_the_crate_named() {
        let lock = r#"
[[package]]
name = "forked"
version = "0.1.0"
source = "git+https://example.invalid/forked.git#0123abcd"
"#;
        let err = registry_crates(lock).unwrap_err().to_string();
        assert!(err.contains("forked 0.1.0"), "{err}");
    }

    #[test]
    fn crate_without_checksum_line_is_malformed() {
        let inc = "SRC_URI += \" \\\n    crate://crates.io/alpha/0.1.9 \\\n\"\n";
        let err = parse_crates_inc(inc).unwrap_err().to_string();
        assert!(err.contains("alpha 0.1.9"), "{err}");
    }

    #[test]
    fn differences_name_version_checksum_and_membership_changes() {
        let lock = registry_crates(LOCK).unwrap();
        let mut inc = lock.clone();
        inc[1].version = "0.2.1".into(); // alpha 0.2.0 -> 0.2.1
        inc[2].checksum = "4".repeat(64); // zeta's checksum
        inc.push(RegistryCrate {
            name: "gone".into(),
            version: "1.0.0".into(),
            checksum: "5".repeat(64),
        });
        let found = differences(&lock, &inc);
        assert_eq!(
            found,
            [
                "alpha is 0.2.0 in Cargo.lock but 0.1.9, 0.2.1 in the inc".to_owned(),
                format!(
                    "zeta 1.0.0: checksum {} in Cargo.lock, {} in the inc",
                    "1".repeat(64),
                    "4".repeat(64)
                ),
                "gone 1.0.0 is in the inc but not in Cargo.lock".to_owned(),
            ]
        );
    }

    #[test]
    fn check_passes_on_the_inc_generated_from_the_same_lock() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("Cargo.lock");
        let inc = dir.path().join("signpad-crates.inc");
        std::fs::copy(workspace_lock(), &lock).unwrap();
        write_crates_inc(&lock, &inc).unwrap();
        check_crates_inc(&lock, &inc).unwrap();
    }

    #[test]
    fn check_fails_on_a_changed_lock_file_naming_the_crate_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("Cargo.lock");
        let inc = dir.path().join("signpad-crates.inc");
        std::fs::copy(workspace_lock(), &lock).unwrap();
        write_crates_inc(&lock, &inc).unwrap();

        // Bump the first registry crate's version in the copy, as a
        // `cargo update` would, without regenerating the inc.
        let text = std::fs::read_to_string(&lock).unwrap();
        let first = registry_crates(&text).unwrap().remove(0);
        let old = format!("name = \"{}\"\nversion = \"{}\"", first.name, first.version);
        let new = format!(
            "name = \"{}\"\nversion = \"{}9\"",
            first.name, first.version
        );
        assert!(text.contains(&old));
        std::fs::write(&lock, text.replacen(&old, &new, 1)).unwrap();

        let err = format!("{:#}", check_crates_inc(&lock, &inc).unwrap_err());
        assert!(
            err.contains(&format!(
                "{} is {}9 in Cargo.lock",
                first.name, first.version
            )),
            "{err}"
        );
        assert!(err.contains("run `cargo xtask yocto crates-inc`"), "{err}");
    }

    #[test]
    fn check_fails_on_a_changed_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("Cargo.lock");
        let inc = dir.path().join("signpad-crates.inc");
        std::fs::copy(workspace_lock(), &lock).unwrap();
        write_crates_inc(&lock, &inc).unwrap();

        let text = std::fs::read_to_string(&lock).unwrap();
        let first = registry_crates(&text).unwrap().remove(0);
        let changed = "0".repeat(64);
        std::fs::write(&lock, text.replacen(&first.checksum, &changed, 1)).unwrap();

        let err = format!("{:#}", check_crates_inc(&lock, &inc).unwrap_err());
        assert!(
            err.contains(&format!(
                "{} {}: checksum {changed}",
                first.name, first.version
            )),
            "{err}"
        );
    }

    #[test]
    fn only_layout_rows_of_the_generated_inc_are_filtered() {
        let inc_row = "yocto/meta-signpad/recipes-signpad/signpad/signpad-crates.inc:6:error:oelint.vars.inconspaces:Assignment should be 'VAR += \"foo\"' not 'VAR += \" foo\"' [branch:true]";
        let recipe_row = "yocto/meta-signpad/recipes-signpad/signpad/signpad_0.1.0.bb:6:error:oelint.vars.inconspaces:Assignment should be 'VAR += \"foo\"' not 'VAR += \" foo\"' [branch:true]";
        let other_inc_row = "yocto/meta-signpad/recipes-signpad/signpad/signpad-crates.inc:1:error:oelint.var.mandatoryvar:x";
        assert!(is_generated_layout_finding(inc_row));
        assert!(!is_generated_layout_finding(recipe_row));
        assert!(!is_generated_layout_finding(other_inc_row));
    }

    #[test]
    fn shell_scripts_are_found_by_their_shebang() {
        let dir = tempfile::tempdir().unwrap();
        let sh = dir.path().join("setup");
        let bash = dir.path().join("run");
        let unit = dir.path().join("x.service");
        std::fs::write(&sh, "#!/bin/sh\ntrue\n").unwrap();
        std::fs::write(&bash, "#!/usr/bin/env bash\ntrue\n").unwrap();
        std::fs::write(&unit, "[Unit]\n").unwrap();
        assert_eq!(
            files_under(dir.path(), &is_shell_script).unwrap(),
            [bash, sh]
        );
    }
}
