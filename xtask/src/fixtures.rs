//! `cargo xtask fixtures`: writes the ingest fixture trees (tiny datasets in each official layout,
//! with the traps the adapter tests check; [`grefel_ingest::fixtures`]) and prints the `prepare`
//! command that reads each one, then the `landmarks` and `train` commands that follow it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use grefel_ingest::fixtures::{self, Fixture};

/// Arguments of `fixtures`.
#[derive(Debug, Args)]
pub struct FixturesArgs {
    /// Folder to write into: each tree goes to <out>/<fixture>/ (rafdb/, affectnet-csv/, …).
    #[arg(long)]
    out: PathBuf,
    /// Write only this fixture (rafdb, jaffe, fer2013, ferplus, affectnet-csv, affectnet-npy,
    /// affectnet-folders, affwild2), or every fixture of an adapter (affectnet).
    #[arg(long)]
    dataset: Option<String>,
    /// The --out of the printed `prepare` commands [default: <out>/prepared].
    #[arg(long)]
    prepare_out: Option<PathBuf>,
    /// Write into fixture folders that are not empty (files of the same name are replaced, others
    /// are left alone).
    #[arg(long)]
    force: bool,
}

/// Runs `fixtures`.
pub fn run(args: FixturesArgs) -> Result<()> {
    let chosen = select(args.dataset.as_deref())?;
    // Check every target before writing anything, so a refusal leaves the folder untouched.
    if !args.force {
        let busy: Vec<String> = chosen
            .iter()
            .map(|f| args.out.join(f.name))
            .filter_map(|dir| match non_empty(&dir) {
                Ok(false) => None,
                Ok(true) => Some(Ok(dir.display().to_string())),
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_>>()?;
        if !busy.is_empty() {
            bail!(
                "refusing to write into non-empty folder(s): {} (choose another --out, or pass --force to write over them)",
                busy.join(", ")
            );
        }
    }
    let prepare_out = args.prepare_out.clone().unwrap_or_else(|| args.out.join("prepared"));
    for f in &chosen {
        let root = root_of(&args.out, f);
        (f.build)(&root)
            .with_context(|| format!("writing the {} fixture into {}", f.name, root.display()))?;
        println!("{}: wrote {}", f.name, args.out.join(f.name).display());
        for command in commands(f, &root, &prepare_out) {
            println!("  {command}");
        }
        let data = shell_quote(&prepare_out.display().to_string());
        println!("  cargo xtask landmarks --dataset {} --data {data}", f.name);
        println!("  cargo xtask train --dataset {} --data {data} --preset tiny --epochs 1", f.name);
    }
    println!(
        "fixtures: wrote {} tree(s) under {}; the traps of each are listed in the docs of grefel_ingest::fixtures",
        chosen.len(),
        args.out.display()
    );
    Ok(())
}

/// The fixtures `dataset` names: one by its name, every fixture of an adapter by the adapter's
/// name, all of them when `None`.
fn select(dataset: Option<&str>) -> Result<Vec<&'static Fixture>> {
    let Some(name) = dataset else {
        return Ok(fixtures::ALL.iter().collect());
    };
    if let Some(f) = fixtures::by_name(name) {
        return Ok(vec![f]);
    }
    let of_adapter: Vec<&Fixture> = fixtures::ALL.iter().filter(|f| f.adapter == name).collect();
    if of_adapter.is_empty() {
        let known: Vec<&str> = fixtures::ALL.iter().map(|f| f.name).collect();
        bail!("no fixture `{name}`; known: {}", known.join(", "));
    }
    Ok(of_adapter)
}

/// The dataset root of fixture `f` written under `out`.
fn root_of(out: &Path, f: &Fixture) -> PathBuf {
    let dir = out.join(f.name);
    if f.root.is_empty() { dir } else { dir.join(f.root) }
}

/// Whether `dir` exists and has entries (a path that exists but is not a folder is an error).
fn non_empty(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("checking the target folder {}", dir.display())),
    }
}

/// The `cargo xtask prepare` command lines that read fixture `f` at `root`: its default (or
/// detected) layout, then each extra variant. The output dataset is named after the fixture, so
/// the commands of all fixtures can share one --out.
fn commands(f: &Fixture, root: &Path, out: &Path) -> Vec<String> {
    let base = format!(
        "cargo xtask prepare --dataset {} --root {} --out {}",
        f.adapter,
        shell_quote(&root.display().to_string()),
        shell_quote(&out.display().to_string())
    );
    let mut lines =
        vec![if f.name == f.adapter { base.clone() } else { format!("{base} --name {}", f.name) }];
    for v in f.extra_variants {
        lines.push(format!("{base} --variant {v} --name {}-{v}", f.name));
    }
    lines
}

/// `s` as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_and_commands() {
        assert_eq!(select(None).expect("all").len(), fixtures::ALL.len());
        let affectnet: Vec<&str> =
            select(Some("affectnet")).expect("adapter").iter().map(|f| f.name).collect();
        assert_eq!(affectnet, ["affectnet-csv", "affectnet-npy", "affectnet-folders"]);
        assert!(select(Some("nope")).expect_err("unknown").to_string().contains("affwild2"));

        let csv = fixtures::by_name("affectnet-csv").expect("csv");
        let root = root_of(Path::new("/tmp/fx"), csv);
        assert_eq!(
            commands(csv, &root, Path::new("/tmp/o")),
            [
                "cargo xtask prepare --dataset affectnet --root /tmp/fx/affectnet-csv/AffectNet --out /tmp/o --name affectnet-csv"
            ]
        );
        let raf = fixtures::by_name("rafdb").expect("rafdb");
        let lines = commands(raf, &root_of(Path::new("a b"), raf), Path::new("o"));
        assert_eq!(lines[0], "cargo xtask prepare --dataset rafdb --root 'a b/rafdb' --out o");
        assert!(lines[1].ends_with("--variant original --name rafdb-original"), "{}", lines[1]);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn refuses_non_empty_folders() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().to_path_buf();
        std::fs::create_dir_all(out.join("jaffe")).expect("mkdir");
        assert!(!non_empty(&out.join("jaffe")).expect("empty"));
        std::fs::write(out.join("jaffe/keep.txt"), "mine").expect("write");
        let args = |force| FixturesArgs {
            out: out.clone(),
            dataset: Some("jaffe".into()),
            prepare_out: None,
            force,
        };
        let err = run(args(false)).expect_err("non-empty");
        assert!(err.to_string().contains("--force"), "{err}");
        assert!(!out.join("jaffe/README_FIRST.txt").exists(), "nothing written");
        run(args(true)).expect("forced");
        assert!(out.join("jaffe/README_FIRST.txt").is_file());
        assert_eq!(std::fs::read_to_string(out.join("jaffe/keep.txt")).expect("kept"), "mine");
    }
}
