//! `cargo xtask units`: checks everything in `systemd/` without installing it.
//!
//! - `systemd-analyze verify` of every unit, in a temporary unit directory
//!   where a drop-in points each `ExecStart=` at the built binary (or at a
//!   stand-in script when that daemon is not built yet), so the check does not
//!   need the binaries under `/usr/bin`. Any message fails the check.
//! - `systemd-analyze security --offline=yes` of every service: prints a table
//!   of the overall exposure scores and fails when one is above
//!   [`MAX_EXPOSURE_TENTHS`].
//! - `systemd-sysusers` and `systemd-tmpfiles --create` into a temporary root:
//!   the files parse and give each daemon its user and groups.
//! - The D-Bus policy: a `dbus-daemon` whose configuration includes it must
//!   start (it is stopped right after); and the policy must say who owns and
//!   who may call each `org.signpad.*` name, exactly as [`BUS_NAMES`] says.
//!   Bus activation files must name their service and its unit.
//! - The udev rules: every line is a list of `KEY op "value"` pairs.

use crate::{apt, run};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The unit directory, relative to the workspace root.
pub const SYSTEMD_DIR: &str = "systemd";

/// Highest allowed overall exposure, in tenths (2.0).
pub const MAX_EXPOSURE_TENTHS: u32 = 20;

/// Debian packages the check runs: `systemd-analyze`, `systemd-sysusers`,
/// `systemd-tmpfiles` (systemd) and `dbus-daemon` (dbus).
pub const PACKAGES: &[&str] = &["systemd", "dbus"];

/// Each daemon's supplementary groups, as sysusers.d must create them.
const GROUPS: &[(&str, &[&str])] = &[
    ("signpad-keyd", &["signpad", "tss"]),
    ("signpad-inputd", &["signpad", "signpad-input"]),
    ("signpadd", &["signpad"]),
    ("signpad-ui", &["signpad", "video", "render", "input"]),
    ("signpad-netd", &["signpad"]),
];

/// A D-Bus name of the pad: the user that owns it and the users that may
/// call its interface.
#[derive(Debug)]
pub struct BusName {
    pub name: &'static str,
    pub owner: &'static str,
    pub callers: &'static [&'static str],
}

/// Who owns and who calls each name (`docs/architecture.md`). Root may also
/// read properties of Input1 and Pad1 for diagnostics; nobody else may call.
pub const BUS_NAMES: &[BusName] = &[
    BusName {
        name: "org.signpad.Keys1",
        owner: "signpad-keyd",
        callers: &["signpadd", "signpad-netd"],
    },
    BusName {
        name: "org.signpad.Input1",
        owner: "signpad-inputd",
        callers: &["signpadd", "root"],
    },
    BusName {
        name: "org.signpad.Pad1",
        owner: "signpadd",
        callers: &["signpad-ui", "signpad-netd", "root"],
    },
];

/// Files the Yocto recipe installs from `systemd/`; all must exist.
const INSTALLED_FILES: &[&str] = &[
    "signpad.target",
    "signpad-keyd.service",
    "signpad-inputd.service",
    "signpadd.service",
    "signpad-ui.service",
    "signpad-netd.service",
    "sysusers.d/signpad.conf",
    "tmpfiles.d/signpad.conf",
    "dbus-1/system.d/org.signpad.conf",
    "udev/rules.d/70-signpad.rules",
];

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    apt::ensure(PACKAGES)?;
    let dir = root.join(SYSTEMD_DIR);
    for file in INSTALLED_FILES {
        if !dir.join(file).is_file() {
            bail!("{SYSTEMD_DIR}/{file} is missing (the Yocto recipe installs it)");
        }
    }
    let scratch = Scratch::new()?;
    verify(root, &dir, &scratch.path.join("units"))?;
    eprintln!("units: systemd-analyze verify found nothing");
    let scores = security(&dir)?;
    print!("{}", score_table(&scores));
    let over: Vec<&Score> = scores.iter().filter(|s| !s.passes()).collect();
    if !over.is_empty() {
        let names: Vec<&str> = over.iter().map(|s| s.unit.as_str()).collect();
        bail!(
            "exposure above {}.{} for {}; see docs/systemd.md",
            MAX_EXPOSURE_TENTHS / 10,
            MAX_EXPOSURE_TENTHS % 10,
            names.join(", ")
        );
    }
    users_and_dirs(&dir, &scratch.path.join("root"))?;
    eprintln!("units: sysusers.d and tmpfiles.d apply to an empty root");
    let policy_path = dir.join("dbus-1/system.d/org.signpad.conf");
    let policy = std::fs::read_to_string(&policy_path)
        .with_context(|| format!("reading {}", policy_path.display()))?;
    check_policy(&policy).with_context(|| format!("{}", policy_path.display()))?;
    check_activation_files(&dir)?;
    dbus_daemon_accepts(&dir, &scratch.path)?;
    eprintln!("units: D-Bus policy and activation files are consistent and load");
    let rules_path = dir.join("udev/rules.d/70-signpad.rules");
    let rules = std::fs::read_to_string(&rules_path)
        .with_context(|| format!("reading {}", rules_path.display()))?;
    check_udev_rules(&rules).with_context(|| format!("{}", rules_path.display()))?;
    eprintln!(
        "units: all checks passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A temporary directory removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("signpad-units-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing the stale {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The unit files of `dir` (services and targets), sorted.
fn unit_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut units = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let is_unit = path
            .extension()
            .is_some_and(|e| e == "service" || e == "target");
        if is_unit && path.is_file() {
            units.push(path);
        }
    }
    units.sort();
    Ok(units)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The arguments after the program of the unit's `ExecStart=` line.
fn exec_start_args(unit: &str) -> Option<&str> {
    unit.lines().find_map(|line| {
        let command = line.trim().strip_prefix("ExecStart=")?;
        Some(command.split_once(' ').map_or("", |(_, args)| args))
    })
}

/// `systemd-analyze verify` of copies of the units, with `ExecStart=`
/// pointed at the built binaries (or stand-ins) by drop-ins.
fn verify(root: &Path, dir: &Path, work: &Path) -> Result<()> {
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let built = root.join("target/debug");
    let units = unit_files(dir)?;
    let mut args = Vec::new();
    for unit in &units {
        let name = file_name(unit);
        let text =
            std::fs::read_to_string(unit).with_context(|| format!("reading {}", unit.display()))?;
        let copy = work.join(&name);
        write(&copy, &text)?;
        args.push(copy);
        let Some(daemon) = name.strip_suffix(".service") else {
            continue;
        };
        let Some(exec_args) = exec_start_args(&text) else {
            bail!("{}: no ExecStart=", unit.display());
        };
        let program = if built.join(daemon).is_file() {
            built.join(daemon)
        } else {
            let stand_in = bin.join(daemon);
            write(&stand_in, "#!/bin/sh\nexit 0\n")?;
            make_executable(&stand_in)?;
            eprintln!("units: {daemon} is not built; verifying its unit with a stand-in binary");
            stand_in
        };
        let dropin = work.join(format!("{name}.d"));
        std::fs::create_dir_all(&dropin)
            .with_context(|| format!("creating {}", dropin.display()))?;
        write(
            &dropin.join("exec.conf"),
            &format!(
                "[Service]\nExecStart=\nExecStart={} {exec_args}\n",
                program.display()
            ),
        )?;
    }
    // A trailing ':' keeps the default unit path after ours (for the
    // targets and sockets the units refer to).
    let out = run::output(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no", "--no-pager"])
            .args(&args)
            .env("SYSTEMD_UNIT_PATH", format!("{}:", work.display())),
    )?;
    // Name the repository's files, not our copies.
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace(&work.display().to_string(), SYSTEMD_DIR);
    if !out.status.success() || !messages.trim().is_empty() {
        bail!(
            "systemd-analyze verify ({}):\n{messages}",
            if out.status.success() {
                "warnings".to_owned()
            } else {
                out.status.to_string()
            }
        );
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod 755 {}", path.display()))
}

/// A unit's overall exposure as `systemd-analyze security` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub unit: String,
    /// Exposure in tenths: 0 (safe) ..= 100 (unsafe).
    pub tenths: u32,
    /// systemd's word for it: SAFE, OK, MEDIUM, EXPOSED, UNSAFE.
    pub verdict: String,
}

impl Score {
    pub fn passes(&self) -> bool {
        self.tenths <= MAX_EXPOSURE_TENTHS
    }
}

/// Parses the line `→ Overall exposure level for <unit>: <x.y> <VERDICT> <emoji>`
/// of `systemd-analyze security` output.
pub fn parse_overall(output: &str) -> Option<Score> {
    output.lines().find_map(|line| {
        let (_, rest) = line.split_once("Overall exposure level for ")?;
        let (unit, rest) = rest.split_once(": ")?;
        let mut words = rest.split_whitespace();
        let tenths = parse_tenths(words.next()?)?;
        let verdict = words.next().unwrap_or_default().to_owned();
        Some(Score {
            unit: unit.trim().to_owned(),
            tenths,
            verdict,
        })
    })
}

/// `"1.3"` → 13; one decimal, as systemd prints it.
fn parse_tenths(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.')?;
    if fraction.len() != 1 || whole.is_empty() {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = fraction.parse().ok()?;
    whole.checked_mul(10)?.checked_add(fraction)
}

fn security(dir: &Path) -> Result<Vec<Score>> {
    let mut scores = Vec::new();
    for unit in unit_files(dir)? {
        if unit.extension().is_some_and(|e| e != "service") {
            continue;
        }
        let out = run::output(
            Command::new("systemd-analyze")
                .args(["security", "--offline=yes", "--no-pager"])
                .arg(&unit),
        )?;
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(score) = parse_overall(&text) else {
            bail!(
                "systemd-analyze security --offline=yes {} printed no overall exposure ({}):\n{text}{}",
                unit.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        scores.push(score);
    }
    Ok(scores)
}

/// The score table printed by the check.
pub fn score_table(scores: &[Score]) -> String {
    let mut table = format!(
        "{:<24} {:>8}  {:<8} {}\n",
        "unit", "exposure", "", "max 2.0"
    );
    for s in scores {
        let _ = writeln!(
            table,
            "{:<24} {:>6}.{}  {:<8} {}",
            s.unit,
            s.tenths / 10,
            s.tenths % 10,
            s.verdict,
            if s.passes() { "ok" } else { "TOO HIGH" }
        );
    }
    table
}

/// Applies sysusers.d and tmpfiles.d to an empty root and checks that each
/// daemon got its user and groups.
fn users_and_dirs(dir: &Path, target: &Path) -> Result<()> {
    std::fs::create_dir_all(target.join("etc"))
        .with_context(|| format!("creating {}", target.display()))?;
    run::checked(
        Command::new("systemd-sysusers")
            .arg(format!("--root={}", target.display()))
            .arg(dir.join("sysusers.d/signpad.conf")),
    )?;
    let passwd = std::fs::read_to_string(target.join("etc/passwd"))
        .context("systemd-sysusers wrote no /etc/passwd")?;
    let group = std::fs::read_to_string(target.join("etc/group"))
        .context("systemd-sysusers wrote no /etc/group")?;
    check_accounts(&passwd, &group)?;
    run::checked(
        Command::new("systemd-tmpfiles")
            .arg("--create")
            .arg(format!("--root={}", target.display()))
            .arg(dir.join("tmpfiles.d/signpad.conf")),
    )?;
    for made in ["etc/signpad", "var/lib/signpad", "run/signpad"] {
        if !target.join(made).is_dir() {
            bail!("tmpfiles.d/signpad.conf did not create /{made}");
        }
    }
    Ok(())
}

/// Every daemon has a user, and is a member of exactly its groups.
pub fn check_accounts(passwd: &str, group: &str) -> Result<()> {
    let users: BTreeSet<&str> = passwd.lines().filter_map(|l| l.split(':').next()).collect();
    for (daemon, wanted) in GROUPS {
        if !users.contains(daemon) {
            bail!("sysusers.d/signpad.conf creates no user {daemon}");
        }
        let member_of: BTreeSet<&str> = group
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                let members = fields.get(3)?;
                members
                    .split(',')
                    .any(|m| m == *daemon)
                    .then_some(*fields.first()?)
            })
            .collect();
        let wanted: BTreeSet<&str> = wanted.iter().copied().collect();
        if member_of != wanted {
            bail!(
                "sysusers.d/signpad.conf puts {daemon} in {:?}, expected {:?}",
                member_of,
                wanted
            );
        }
    }
    Ok(())
}

/// One `<allow …/>` or `<deny …/>` of a bus policy, with the `user=` of its
/// `<policy>` (or `*default` for `context="default"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub policy: String,
    pub allow: bool,
    pub attributes: Vec<(String, String)>,
}

impl Rule {
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The attributes of the tag starting at `tag` (after its name, up to `>`).
fn attributes(tag: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = tag.trim().trim_end_matches('/').trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            bail!("attribute without a value in <{tag}>");
        };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('"') else {
            bail!("unquoted attribute value in <{tag}>");
        };
        let Some((value, after)) = after.split_once('"') else {
            bail!("unterminated attribute value in <{tag}>");
        };
        out.push((key.trim().to_owned(), value.to_owned()));
        rest = after.trim_start();
    }
    Ok(out)
}

/// The allow/deny rules of a D-Bus policy file. A deliberately small reader:
/// comments, the XML and DOCTYPE declarations, `<busconfig>`, `<policy>` and
/// self-closed `<allow/>`/`<deny/>` only; anything else is an error.
pub fn parse_policy(xml: &str) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    let mut policy: Option<String> = None;
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        if !rest[..start].trim().is_empty() {
            bail!("text outside tags: {:?}", rest[..start].trim());
        }
        rest = &rest[start..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let Some(end) = after.find("-->") else {
                bail!("unterminated comment");
            };
            rest = &after[end + 3..];
            continue;
        }
        let Some(end) = rest.find('>') else {
            bail!("unterminated tag");
        };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with("!DOCTYPE") {
            continue;
        }
        let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        match name {
            "busconfig" | "/busconfig" => {}
            "policy" => {
                if policy.is_some() {
                    bail!("<policy> inside <policy>");
                }
                let attrs = attributes(attrs)?;
                policy = Some(match attrs.as_slice() {
                    [(k, v)] if k == "user" => v.clone(),
                    [(k, v)] if k == "context" && v == "default" => "*default".to_owned(),
                    _ => bail!("<policy {attrs:?}>: expected user=\"…\" or context=\"default\""),
                });
            }
            "/policy" => {
                if policy.take().is_none() {
                    bail!("</policy> without <policy>");
                }
            }
            "allow" | "deny" => {
                let Some(current) = &policy else {
                    bail!("<{name}> outside <policy>");
                };
                if !tag.ends_with('/') {
                    bail!("<{tag}> must be self-closed");
                }
                rules.push(Rule {
                    policy: current.clone(),
                    allow: name == "allow",
                    attributes: attributes(attrs)?,
                });
            }
            other => bail!("unexpected element <{other}>"),
        }
    }
    if !rest.trim().is_empty() {
        bail!("text after the last tag");
    }
    if policy.is_some() {
        bail!("<policy> not closed");
    }
    Ok(rules)
}

/// The policy lets exactly [`BUS_NAMES`]' owners own and callers call, and
/// denies both to everyone else by default.
pub fn check_policy(xml: &str) -> Result<()> {
    let rules = parse_policy(xml)?;
    for rule in &rules {
        if rule.allow && rule.policy == "*default" {
            bail!("the default context allows {:?}", rule.attributes);
        }
        if rule.allow && rule.get("send_destination").is_none() && rule.get("own").is_none() {
            bail!(
                "<allow {:?}> for {} names no destination",
                rule.attributes,
                rule.policy
            );
        }
    }
    let names: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| r.get("own").or(r.get("send_destination")))
        .collect();
    for name in &names {
        if !BUS_NAMES.iter().any(|b| b.name == *name) {
            bail!("{name} is not one of the pad's bus names");
        }
    }
    for bus in BUS_NAMES {
        let owners: BTreeSet<&str> = rules
            .iter()
            .filter(|r| r.allow && r.get("own") == Some(bus.name))
            .map(|r| r.policy.as_str())
            .collect();
        if owners != BTreeSet::from([bus.owner]) {
            bail!(
                "{} may be owned by {owners:?}, expected only {}",
                bus.name,
                bus.owner
            );
        }
        let callers: BTreeSet<&str> = rules
            .iter()
            .filter(|r| r.allow && r.get("send_destination") == Some(bus.name))
            .map(|r| r.policy.as_str())
            .collect();
        let expected: BTreeSet<&str> = bus.callers.iter().copied().collect();
        if callers != expected {
            bail!(
                "{} may be called by {callers:?}, expected {expected:?}",
                bus.name
            );
        }
        for default in ["own", "send_destination"] {
            let denied = rules
                .iter()
                .any(|r| !r.allow && r.policy == "*default" && r.get(default) == Some(bus.name));
            if !denied {
                bail!(
                    "the default context does not deny {default}=\"{}\"",
                    bus.name
                );
            }
        }
    }
    Ok(())
}

/// Each `dbus-1/system-services/<name>.service` names `<name>`, one of the
/// pad's bus names, and a `SystemdService=` unit that exists and declares
/// `BusName=<name>`.
fn check_activation_files(dir: &Path) -> Result<()> {
    let services = dir.join("dbus-1/system-services");
    let Ok(entries) = std::fs::read_dir(&services) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        check_activation_file(&file_name(&path), &text, |unit| {
            std::fs::read_to_string(dir.join(unit)).ok()
        })
        .with_context(|| format!("{}", path.display()))?;
    }
    Ok(())
}

/// Checks one activation file; `unit` reads a unit of `systemd/` by name.
pub fn check_activation_file(
    file: &str,
    text: &str,
    unit: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    if !text.lines().any(|l| l.trim() == "[D-BUS Service]") {
        bail!("no [D-BUS Service] section");
    }
    let Some(name) = value("Name") else {
        bail!("no Name=");
    };
    if file != format!("{name}.service") {
        bail!("Name={name} but the file is {file}");
    }
    if !BUS_NAMES.iter().any(|b| b.name == name) {
        bail!("{name} is not one of the pad's bus names");
    }
    for key in ["Exec", "User"] {
        if value(key).is_none() {
            bail!("no {key}= (the system bus requires it)");
        }
    }
    let Some(systemd_service) = value("SystemdService") else {
        bail!("no SystemdService=: the bus would start the daemon outside its sandbox");
    };
    let Some(unit_text) = unit(systemd_service) else {
        bail!("SystemdService={systemd_service} is not in {SYSTEMD_DIR}/");
    };
    if !unit_text
        .lines()
        .any(|l| l.trim() == format!("BusName={name}"))
    {
        bail!("{systemd_service} does not declare BusName={name}");
    }
    Ok(())
}

/// Starts a `dbus-daemon` whose configuration includes the pad's policy and
/// service directory; it must come up (print its address), then it is
/// stopped. Unknown users in the policy are fine here (the pad's users do not
/// exist on a build machine); a parse error stops the daemon before it
/// prints an address.
fn dbus_daemon_accepts(dir: &Path, work: &Path) -> Result<()> {
    let config = work.join("bus.conf");
    write(
        &config,
        &format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/></policy>
  <include>{}</include>
  <servicedir>{}</servicedir>
</busconfig>
"#,
            work.join("bus.sock").display(),
            dir.join("dbus-1/system.d/org.signpad.conf").display(),
            dir.join("dbus-1/system-services").display()
        ),
    )?;
    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile", "--print-address=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start dbus-daemon: is the dbus package installed?")?;
    let stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        if let Some(out) = stdout {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let _ = tx.send(line);
    });
    let address = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    // Stop our dbus-daemon (by its PID: it is our child) and collect it.
    let _ = child.kill();
    let out = child
        .wait_with_output()
        .context("waiting for dbus-daemon")?;
    if !address.starts_with("unix:") {
        bail!(
            "dbus-daemon refused a configuration including the pad's policy:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Checks the shape of udev rules: each rule (continuation lines joined) is
/// a comma-separated list of `KEY op "value"` with a known operator, at
/// least one match and one assignment.
pub fn check_udev_rules(text: &str) -> Result<()> {
    let mut rule = String::new();
    let mut first_line = 0;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if rule.is_empty() {
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            first_line = index + 1;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            rule.push_str(head);
            rule.push(' ');
            continue;
        }
        rule.push_str(trimmed);
        check_udev_rule(&rule).with_context(|| format!("rule at line {first_line}"))?;
        rule.clear();
    }
    if !rule.is_empty() {
        bail!("rule at line {first_line} ends with a continuation");
    }
    Ok(())
}

fn check_udev_rule(rule: &str) -> Result<()> {
    const OPERATORS: &[&str] = &["==", "!=", "+=", "-=", ":=", "="];
    let (mut matches, mut assignments) = (0, 0);
    for pair in split_pairs(rule)? {
        let pair = pair.trim();
        let Some((at, op)) = OPERATORS
            .iter()
            .filter_map(|op| pair.find(op).map(|at| (at, *op)))
            .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
        else {
            bail!("{pair:?} has no operator");
        };
        let key = &pair[..at];
        let value = &pair[at + op.len()..];
        let key_ok = udev_key_ok(key);
        if !key_ok {
            bail!("{pair:?}: bad key {key:?}");
        }
        if value.len() < 2 || !value.starts_with('"') || !value.ends_with('"') {
            bail!("{pair:?}: the value must be quoted");
        }
        if op == "==" || op == "!=" {
            matches += 1;
        } else {
            assignments += 1;
        }
    }
    if matches == 0 || assignments == 0 {
        bail!("a rule needs at least one match and one assignment: {rule:?}");
    }
    Ok(())
}

/// `KEY` or `KEY{attribute}`, KEY in capitals.
fn udev_key_ok(key: &str) -> bool {
    let name = match key.split_once('{') {
        Some((name, rest)) => match rest.strip_suffix('}') {
            Some(attribute) if !attribute.is_empty() && !attribute.contains('}') => name,
            _ => return false,
        },
        None => key,
    };
    !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// Splits at the commas between `KEY op "value"` pairs (not inside quotes).
fn split_pairs(rule: &str) -> Result<Vec<&str>> {
    let mut pairs = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in rule.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pairs.push(&rule[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        bail!("unbalanced quotes");
    }
    pairs.push(&rule[start..]);
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYD_OUTPUT: &str = "  NAME                                                        DESCRIPTION                                                                      EXPOSURE\n\
✗ PrivateUsers=                                               Service has access to other users                                                   0.2\n\
✓ UMask=                                                      Files created by service are accessible only by service's own user by default\n\
\n\
→ Overall exposure level for signpad-keyd.service: 0.4 SAFE 😀\n";

    #[test]
    fn overall_score_is_read_from_real_output() {
        assert_eq!(
            parse_overall(KEYD_OUTPUT),
            Some(Score {
                unit: "signpad-keyd.service".into(),
                tenths: 4,
                verdict: "SAFE".into()
            })
        );
    }

    #[test]
    fn unsafe_default_unit_scores_above_threshold() {
        let s = parse_overall("→ Overall exposure level for foo.service: 9.6 UNSAFE 😨").unwrap();
        assert_eq!(s.tenths, 96);
        assert!(!s.passes());
        let s = parse_overall("→ Overall exposure level for a.service: 10.0 UNSAFE 😨").unwrap();
        assert_eq!(s.tenths, 100);
    }

    #[test]
    fn threshold_is_inclusive() {
        let at = parse_overall("→ Overall exposure level for n.service: 2.0 OK 🙂").unwrap();
        assert!(at.passes());
        let above = parse_overall("→ Overall exposure level for n.service: 2.1 OK 🙂").unwrap();
        assert!(!above.passes());
    }

    #[test]
    fn output_without_overall_line_or_with_a_bad_number_gives_nothing() {
        assert_eq!(parse_overall("Failed to load unit"), None);
        assert_eq!(parse_overall(""), None);
        for bad in ["2", "2.", ".5", "2.05", "x.y", "-1.0"] {
            let line = format!("→ Overall exposure level for n.service: {bad} OK");
            assert_eq!(parse_overall(&line), None, "{bad}");
        }
    }

    #[test]
    fn table_marks_units_over_the_threshold() {
        let table = score_table(&[
            Score {
                unit: "a.service".into(),
                tenths: 4,
                verdict: "SAFE".into(),
            },
            Score {
                unit: "b.service".into(),
                tenths: 23,
                verdict: "OK".into(),
            },
        ]);
        assert!(table.contains("a.service                     0.4  SAFE     ok"));
        assert!(table.contains("b.service                     2.3  OK       TOO HIGH"));
    }

    #[test]
    fn exec_start_arguments_are_kept() {
        let unit = "[Service]\nType=notify\nExecStart=/usr/bin/x --config /etc/signpad/x.toml\n";
        assert_eq!(exec_start_args(unit), Some("--config /etc/signpad/x.toml"));
        assert_eq!(exec_start_args("ExecStart=/usr/bin/x\n"), Some(""));
        assert_eq!(exec_start_args("[Service]\n"), None);
    }

    fn repo_file(path: &str) -> String {
        let root = crate::run::workspace_root().unwrap();
        std::fs::read_to_string(root.join(SYSTEMD_DIR).join(path)).unwrap()
    }

    #[test]
    fn repository_policy_passes() {
        check_policy(&repo_file("dbus-1/system.d/org.signpad.conf")).unwrap();
    }

    #[test]
    fn repository_udev_rules_pass() {
        check_udev_rules(&repo_file("udev/rules.d/70-signpad.rules")).unwrap();
    }

    const POLICY: &str = r#"<?xml version="1.0"?>
<!DOCTYPE busconfig PUBLIC "x" "y">
<busconfig>
  <!-- comment with <tags> -->
  <policy context="default">
    <deny own="org.signpad.Keys1"/>
    <deny send_destination="org.signpad.Keys1"/>
  </policy>
  <policy user="signpad-keyd"><allow own="org.signpad.Keys1"/></policy>
  <policy user="signpadd">
    <allow send_destination="org.signpad.Keys1" send_interface="org.signpad.Keys1"/>
  </policy>
</busconfig>
"#;

    #[test]
    fn policy_reader_sees_users_and_rules() {
        let rules = parse_policy(POLICY).unwrap();
        assert_eq!(rules.len(), 4);
        assert_eq!(rules[2].policy, "signpad-keyd");
        assert!(rules[2].allow);
        assert_eq!(rules[2].get("own"), Some("org.signpad.Keys1"));
        assert_eq!(rules[3].get("send_interface"), Some("org.signpad.Keys1"));
        assert_eq!(rules[0].policy, "*default");
        assert!(!rules[0].allow);
    }

    #[test]
    fn policy_reader_rejects_malformed_xml() {
        for bad in [
            "<busconfig><policy user=\"a\"><allow own=\"x\"></policy></busconfig>",
            "<busconfig><allow own=\"x\"/></busconfig>",
            "<busconfig><policy user=\"a\"></busconfig>",
            "<busconfig><policy user=a></policy></busconfig>",
            "<busconfig><policy user=\"a\"><allow own=\"x/></policy></busconfig>",
            "<busconfig><!-- open",
            "<busconfig><include>x</include></busconfig>",
        ] {
            assert!(parse_policy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_letting_another_user_call_keyd_is_rejected() {
        let repo = repo_file("dbus-1/system.d/org.signpad.conf");
        let widened = repo.replacen(
            "<policy user=\"signpad-ui\">",
            "<policy user=\"signpad-ui\">\n    <allow send_destination=\"org.signpad.Keys1\"/>",
            1,
        );
        let e = check_policy(&widened).unwrap_err().to_string();
        assert!(e.contains("org.signpad.Keys1 may be called by"), "{e}");
    }

    #[test]
    fn policy_letting_anyone_own_a_name_is_rejected() {
        let repo = repo_file("dbus-1/system.d/org.signpad.conf");
        let widened = repo.replacen(
            "<policy context=\"default\">",
            "<policy context=\"default\">\n    <allow own=\"org.signpad.Pad1\"/>",
            1,
        );
        assert!(check_policy(&widened).is_err());
        let second_owner = repo.replacen(
            "<policy user=\"signpad-netd\">",
            "<policy user=\"signpad-netd\">\n    <allow own=\"org.signpad.Pad1\"/>",
            1,
        );
        let e = check_policy(&second_owner).unwrap_err().to_string();
        assert!(e.contains("org.signpad.Pad1 may be owned by"), "{e}");
    }

    #[test]
    fn activation_file_must_match_its_unit() {
        let file = "[D-BUS Service]\nName=org.signpad.Pad1\nExec=/bin/false\nUser=signpadd\nSystemdService=signpadd.service\n";
        let unit = |_: &str| Some("[Service]\nBusName=org.signpad.Pad1\n".to_owned());
        check_activation_file("org.signpad.Pad1.service", file, unit).unwrap();
        assert!(check_activation_file("org.signpad.Keys1.service", file, unit).is_err());
        assert!(check_activation_file("org.signpad.Pad1.service", file, |_| None).is_err());
        let no_bus_name = |_: &str| Some("[Service]\n".to_owned());
        assert!(check_activation_file("org.signpad.Pad1.service", file, no_bus_name).is_err());
        let no_systemd = file.replace("SystemdService=signpadd.service\n", "");
        assert!(check_activation_file("org.signpad.Pad1.service", &no_systemd, unit).is_err());
    }

    #[test]
    fn udev_rules_need_quoted_values_and_known_operators() {
        check_udev_rules(
            "# c\nSUBSYSTEM==\"input\", ENV{ID_INPUT_TABLET}==\"1\", \\\n  GROUP=\"g\", MODE=\"0640\"\n",
        )
        .unwrap();
        for bad in [
            "SUBSYSTEM==input, GROUP=\"g\"\n",
            "SUBSYSTEM==\"input\" GROUP=\"g\"\n",
            "SUBSYSTEM==\"input\"\n",
            "GROUP=\"g\"\n",
            "SUBSYSTEM==\"input\", GROUP=\"g\" \\\n",
            "subsystem==\"input\", GROUP=\"g\"\n",
        ] {
            assert!(check_udev_rules(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn accounts_need_exactly_their_groups() {
        let passwd = "signpad-keyd:x:1::/:/x\nsignpad-inputd:x:2::/:/x\nsignpadd:x:3::/:/x\nsignpad-ui:x:4::/:/x\nsignpad-netd:x:5::/:/x\n";
        let group = "signpad:x:9:signpad-keyd,signpad-inputd,signpadd,signpad-ui,signpad-netd\ntss:x:8:signpad-keyd\nsignpad-input:x:7:signpad-inputd\nvideo:x:6:signpad-ui\nrender:x:5:signpad-ui\ninput:x:4:signpad-ui\n";
        check_accounts(passwd, group).unwrap();
        let ui_reads_pens = group.replace(
            "signpad-input:x:7:signpad-inputd",
            "signpad-input:x:7:signpad-inputd,signpad-ui",
        );
        assert!(check_accounts(passwd, &ui_reads_pens).is_err());
        assert!(check_accounts("signpad-keyd:x:1::/:/x\n", group).is_err());
    }
}
