//! `nodectl init`: writes a blueprint's documented sample `.env` file.

use std::io::Write;

use crate::blueprint::{self, BLUEPRINTS};
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::printer::Printer;

/// Writes the sample of `name` to `--env-file` (created 0600, never replacing a file unless
/// `force`); without a name, lists the blueprints on stdout.
///
/// Errors: the file exists (without `force`), or it cannot be written.
pub(super) fn run(
    global: &GlobalArgs,
    printer: &Printer,
    name: Option<&str>,
    force: bool,
) -> Result<()> {
    let Some(name) = name else {
        for blueprint in BLUEPRINTS {
            printer.data(blueprint.name());
        }
        printer.info(&format!(
            "start from a blueprint's sample .env with {}",
            blueprint::init_commands()
        ));
        return Ok(());
    };
    let blueprint = blueprint::find(name).expect("clap allows only known names");
    let path = &global.env_file;
    if path.exists() && !force {
        return Err(Error::usage(
            format!(
                "{} exists already; nodectl init does not replace it",
                path.display()
            ),
            format!(
                "pass --env-file NEW_PATH to write the sample elsewhere, or --force to replace {}",
                path.display()
            ),
        ));
    }
    let io = |source| Error::Io {
        action: "write",
        path: path.clone(),
        source,
    };
    // Through a temporary file in the same directory, renamed into place: an interrupted init
    // leaves no half-written .env.
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".nodectl-init")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(&dir)
        .map_err(io)?;
    file.write_all(blueprint.sample().as_bytes()).map_err(io)?;
    file.persist(path).map_err(|err| io(err.error))?;
    printer.info(&format!(
        "wrote {} (the {} blueprint's sample, mode 0600): set AWS_ACCOUNT_ID and AWS_REGION, \
         read the comments, then run `nodectl check` and `nodectl deploy all`",
        path.display(),
        blueprint.name()
    ));
    Ok(())
}
