//! The `portcullis` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{Cli, Command, SecretsCommand, UserCommand};
use portcullis::config::Config;
use portcullis::{commands, server};

fn main() -> ExitCode {
    let cli = Cli::parse_from(arguments());
    let filter = match tracing_subscriber::EnvFilter::try_new(&cli.common.log) {
        Ok(f) => f,
        Err(e) => {
            return fail(format!(
                "PORTCULLIS_LOG {:?} is not a valid filter: {e}",
                cli.common.log
            ));
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match &cli.command {
        None => run_serve(&cli, &cli.serve),
        Some(Command::Serve(args)) => run_serve(&cli, args),
        Some(Command::Migrate) => commands::migrate(&cli.common),
        Some(Command::User {
            action:
                UserCommand::Create {
                    name,
                    admin,
                    password_stdin,
                },
        }) => commands::create_user(&cli.common, name, *admin, *password_stdin),
        Some(Command::Secrets {
            action: SecretsCommand::Rekey {
                old_secret_key_file,
            },
        }) => commands::rekey(&cli.common, old_secret_key_file.as_deref()),
        Some(Command::Credentials { tool }) => portcullis::client::run(tool),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("{e:#}")),
    }
}

/// The command line; invoked as `docker-credential-portcullis` (a link to this binary,
/// as Docker runs credential helpers), `portcullis credentials docker …`.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<_> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if invoked_as.as_deref() == Some("docker-credential-portcullis") {
        args.splice(1..1, ["credentials".into(), "docker".into()]);
    }
    args
}

fn run_serve(cli: &Cli, args: &portcullis::cli::ServeArgs) -> anyhow::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    return_large_blocks_to_the_system();
    let config = Config::from_args(&cli.common, args).map_err(anyhow::Error::msg)?;
    actix_web::rt::System::new().block_on(server::serve(config))
}

/// glibc's malloc raises its mmap threshold to the size of the largest block freed —
/// argon2's 19 MiB, at the first password hash — and from then on keeps such blocks in
/// the heap, so every sign-in leaves up to 19 MiB behind (BENCHMARKS.md, "Memory").
/// A fixed threshold (glibc's default, 128 KiB) sends every large block back to the
/// system when it is freed: idle RSS 53 → 33 MiB, 57 → 38 MiB under load. glibc reads
/// its tunables only at start, so the server starts itself again, once, in place (the
/// same process id) with `GLIBC_TUNABLES` set; an operator's own setting wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    use std::os::unix::process::CommandExt;
    const TUNABLE: &str = "glibc.malloc.mmap_threshold";
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains(TUNABLE) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let setting = format!("{TUNABLE}=131072");
    let value = if current.is_empty() {
        setting
    } else {
        format!("{current}:{setting}")
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", value)
        .exec();
    tracing::warn!(error = %err, "could not restart with a fixed malloc mmap threshold");
}

fn fail(message: String) -> ExitCode {
    eprintln!("portcullis: {}", message.replace('\n', " "));
    ExitCode::from(2)
}
