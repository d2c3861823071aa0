//! `nodectl man`: the manual pages, generated from the clap definitions by clap_mangen.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::printer::Printer;

/// Writes `nodectl.1` and a `nodectl-<command>.1` per command into `out_dir` (printing each
/// path), or `nodectl.1` to stdout.
///
/// Errors: the directory or a page cannot be written.
pub(super) fn run(printer: &Printer, out_dir: Option<&Path>) -> Result<()> {
    let command = Cli::command();
    let Some(dir) = out_dir else {
        let mut page = Vec::new();
        render(command, &mut page, out_dir)?;
        printer.data(&String::from_utf8_lossy(&page));
        return Ok(());
    };
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut pages = vec![command.clone()];
    pages.extend(
        command
            .get_subcommands()
            .filter(|sub| sub.get_name() != "help")
            .map(|sub| {
                sub.clone()
                    .name(format!("nodectl-{}", sub.get_name()))
                    .version(command.get_version().unwrap_or_default().to_string())
            }),
    );
    for page in pages {
        let path = dir.join(format!("{}.1", page.get_name()));
        let mut text = Vec::new();
        render(page, &mut text, out_dir)?;
        std::fs::write(&path, text).map_err(|source| Error::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
        printer.data(&path.display().to_string());
    }
    Ok(())
}

fn render(command: clap::Command, out: &mut Vec<u8>, dir: Option<&Path>) -> Result<()> {
    clap_mangen::Man::new(command)
        .render(out)
        .map_err(|source| Error::Io {
            action: "render the manual page into",
            path: dir
                .map(Path::to_path_buf)
                .unwrap_or_else(|| "stdout".into()),
            source,
        })
}
