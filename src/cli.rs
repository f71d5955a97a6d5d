//! The `drover` command line: clap definitions, and dispatch to `app`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::report::Format;

/// Orchestrate fleets of servers with declarative plans.
#[derive(Parser, Debug)]
#[command(name = "drover", version, about)]
pub(crate) struct Cli {
    /// Project root (default: the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Directories of modules searched before the project's module path
    /// (colon-separated, relative to the project).
    #[arg(long, global = true, value_name = "DIRS")]
    pub modulepath: Option<String>,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Subcommand, Debug)]
enum Verb {
    /// Run a shell command on targets, without a plan.
    Command {
        #[command(subcommand)]
        command: CommandCommand,
    },
    /// Show the inventory's targets.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// Run a plan: `drover run NAME key=value ...`.
    Run {
        /// A plan name (`web::reboot`) or a path to a `.plan` file.
        plan: String,
        /// Parameters as `key=value`; a value that parses as JSON is JSON.
        params: Vec<String>,
        /// Parameters as one JSON object.
        #[arg(long = "params", value_name = "JSON")]
        params_json: Option<String>,
        /// Which plan of the file to run (default: the one named like the file).
        #[arg(long = "plan", value_name = "NAME")]
        plan_name: Option<String>,
        /// The inventory file (default: the project's `inventoryfile`, else
        /// inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// At most this many target operations at once, in the whole run
        /// (default: the project's `concurrency`, else 100).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        concurrency: Option<u64>,
        /// Simulate every action on virtual time: nothing is connected or started.
        #[arg(long)]
        dry_run: bool,
        /// Print every target's output lines as they arrive, prefixed with its name.
        #[arg(long)]
        stream: bool,
        /// Show the plan's `out::verbose` lines.
        #[arg(long)]
        verbose: bool,
        /// The state store shared with other runs: `sqlite:PATH` or
        /// `postgres://...` (default: `DROVER_STATE`, the project's `state:`,
        /// else `sqlite:.drover/state.db`).
        #[arg(long, value_name = "URL")]
        state: Option<String>,
        /// Run again on the targets that failed (or succeeded, or all) in the
        /// plan's last recorded run; they become its `targets` parameter.
        #[arg(long, value_name = "WHICH", value_parser = ["failure", "success", "all"])]
        rerun: Option<String>,
        /// Write the run's HTML report (timeline, targets, failures,
        /// output) to FILE at its end; with `--dry-run`, the prediction.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// List the plans, or show one plan's parameters.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Print a shell completion script: `drover completions bash > ...`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Recorded runs (`.drover/runs/`).
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Run or describe tasks.
    Task {
        #[command(subcommand)]
        command: TaskCommand,
    },
    /// Pools in the state store: each pool's size, held targets (run, plan,
    /// host, pid, user, since, lease) and waiting requests, in queue order.
    #[command(args_conflicts_with_subcommands = true)]
    Pools {
        /// Only this pool.
        pool: Option<String>,
        /// The state store (default: as `drover run` finds it).
        #[arg(long, value_name = "URL", global = true)]
        state: Option<String>,
        /// The inventory file (default: the project's `inventoryfile`, else
        /// inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
        #[command(subcommand)]
        command: Option<PoolsCommand>,
    },
    /// Locks (`with lock`) in the state store: holders and waiters.
    Locks {
        /// Only this lock.
        name: Option<String>,
        /// The state store (default: as `drover run` finds it).
        #[arg(long, value_name = "URL")]
        state: Option<String>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Bolt's pkcs7 secrets: make the project's keys, encrypt, decrypt.
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Run the `test` blocks of plan files: every action stubbed, on
    /// virtual time. Exit 0 all passed, 1 some failed, 2 a file does not check.
    Test {
        /// Test files or directories (default: the project's plan directories
        /// and `tests/**/*_test.plan`).
        paths: Vec<PathBuf>,
        /// Only the tests whose description contains TEXT.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// The inventory file (default: the project's `inventoryfile`, else
        /// inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Also write a JUnit XML report to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// End with the statements of the tested plans that no test executed.
        #[arg(long)]
        coverage: bool,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// A read-only web dashboard of the run history, runs in progress
    /// included, and of the state store's pools and locks.
    Serve {
        /// Where to listen; an address that is not loopback needs a token.
        #[arg(long, value_name = "ADDRESS:PORT", default_value = crate::app::serve::DEFAULT_LISTEN)]
        listen: String,
        /// The token every request must carry (default: `DROVER_TOKEN`).
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        /// The inventory of the pools page (default: the project's).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// The state store of the pools page (default: as `drover run` finds it).
        #[arg(long, value_name = "URL")]
        state: Option<String>,
    },
    /// Parse and check plans without running anything.
    Check {
        /// Plan files or directories (default: the project's `plans/` and `modules/*/plans/`).
        paths: Vec<PathBuf>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Subcommand, Debug)]
enum CommandCommand {
    /// `drover command run 'CMD' -t SPEC`, like Bolt's.
    Run {
        /// The shell command line.
        command: String,
        /// The targets (names, groups, globs, comma lists, URIs).
        #[arg(short = 't', long = "targets", value_name = "SPEC")]
        targets: String,
        /// The inventory file (default: the project's `inventoryfile`, else
        /// inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Stop the command after this long (e.g. `30s`).
        #[arg(long, value_name = "DURATION")]
        timeout: Option<String>,
        /// Print every target's output lines as they arrive, prefixed with its name.
        #[arg(long)]
        stream: bool,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Subcommand, Debug)]
enum PlanCommand {
    /// Every plan of the project, its modules and the standard library, or one plan.
    Show {
        /// The plan to describe (default: list them all).
        plan: Option<String>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Subcommand, Debug)]
enum RunsCommand {
    /// Every recorded run, newest first.
    List {
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// One run: how each target fared, and every failure.
    Show {
        /// The run's id (default: the last run).
        #[arg(default_value = "last")]
        id: String,
        /// Write the run's HTML report (timeline, targets, failures, output) to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Follow a run as it goes (from another terminal), until it ends.
    Watch {
        /// The run's id (default: the last run).
        #[arg(default_value = "last")]
        id: String,
        /// Output format: human lines, or the run's events as JSON lines.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Subcommand, Debug)]
enum TaskCommand {
    /// `drover task run NAME -t SPEC key=value ...`, like Bolt's.
    Run {
        /// The task (`module::task`, or `module` for `module::init`).
        task: String,
        /// Parameters as `key=value`; a value that parses as JSON is JSON.
        params: Vec<String>,
        /// The targets (names, groups, globs, comma lists, URIs).
        #[arg(short = 't', long = "targets", value_name = "SPEC")]
        targets: String,
        /// Parameters as one JSON object.
        #[arg(long = "params", value_name = "JSON")]
        params_json: Option<String>,
        /// The inventory file (default: the project's `inventoryfile`, else
        /// inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Ask the task to change nothing (tasks with `supports_noop`).
        #[arg(long)]
        noop: bool,
        /// Print every target's output lines as they arrive, prefixed with its name.
        #[arg(long)]
        stream: bool,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// List the tasks, or show one task's parameters.
    Show {
        /// The task to describe (default: list them all).
        task: Option<String>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Subcommand, Debug)]
enum PoolsCommand {
    /// Break a hold (of a run whose controller is gone): the target goes to
    /// the next waiter, the holding run fails with drover/lease-lost.
    Release {
        /// The pool.
        pool: String,
        /// The held target.
        target: String,
        /// Required: this takes a target from a run that may still use it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
enum SecretCommand {
    /// Make the project's key pair (`keys/` under the project, or where the
    /// project file's `plugins: pkcs7:` says).
    Createkeys {
        /// Replace keys that exist (what they encrypted no longer decrypts).
        #[arg(long)]
        force: bool,
    },
    /// Print `ENC[PKCS7,...]` of TEXT (default: standard input).
    Encrypt {
        /// The text (better read from standard input: a command line is seen
        /// by other users and kept in shell history).
        text: Option<String>,
    },
    /// Print the text of an `ENC[PKCS7,...]` value (default: standard input).
    Decrypt {
        /// The encrypted value.
        value: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum InventoryCommand {
    /// List targets with their transport, URI and groups.
    Show {
        /// Only the targets of this spec (names, groups, globs, comma lists).
        #[arg(short = 't', long = "targets", value_name = "SPEC")]
        targets: Option<String>,
        /// The inventory file (default: the project's `inventoryfile`, else
        /// inventory.yaml in the project).
        #[arg(short = 'i', long = "inventory", value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Output format (default: the project's `format`, else human).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

/// Parse the arguments and run; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.project.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = match crate::project::Project::load(&root, cli.modulepath.as_deref()) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    for warning in &project.warnings {
        eprintln!("warning: {warning}");
    }
    // The project file's defaults for what the command line leaves out.
    let format = match project.format.as_deref() {
        None | Some("human" | "rainbow") => Format::Human,
        Some("json") => Format::Json,
        Some(other) => {
            eprintln!(
                "error: the project file's `format: {other}` is not a format drover has (human, json)"
            );
            return ExitCode::from(2);
        }
    };
    let fmt = |given: Option<Format>| given.unwrap_or(format);
    let inventoryfile = project.inventoryfile.clone();
    let inv = |given: Option<PathBuf>| given.or_else(|| inventoryfile.clone());
    let stream_default = project.stream;
    let concurrency_default = project.concurrency;
    let tasks = std::sync::Arc::new(crate::project::tasks::Catalog::new(project));
    let project = root;
    let result = match cli.command {
        Verb::Pools {
            pool,
            state,
            inventory,
            format,
            command,
        } => match command {
            Some(PoolsCommand::Release {
                pool,
                target,
                force,
            }) => crate::app::pools::release(&tasks, &pool, &target, force, state.as_deref()),
            None => crate::app::pools::show(
                &tasks,
                inv(inventory),
                pool.as_deref(),
                state.as_deref(),
                fmt(format),
                false,
            ),
        },
        Verb::Locks {
            name,
            state,
            format,
        } => crate::app::pools::show(
            &tasks,
            None,
            name.as_deref(),
            state.as_deref(),
            fmt(format),
            true,
        ),
        Verb::Secret { command } => {
            let keys = crate::project::pkcs7::Keys::of(tasks.project());
            match command {
                SecretCommand::Createkeys { force } => crate::app::secret::createkeys(&keys, force),
                SecretCommand::Encrypt { text } => crate::app::secret::encrypt(&keys, text),
                SecretCommand::Decrypt { value } => crate::app::secret::decrypt(&keys, value),
            }
        }
        Verb::Check { paths, format } => crate::app::check::run(&tasks, &paths, fmt(format)),
        Verb::Serve {
            listen,
            token,
            inventory,
            state,
        } => crate::app::serve::run(
            &tasks,
            crate::app::serve::ServeOptions {
                listen,
                token,
                inventory: inv(inventory),
                state,
            },
        ),
        Verb::Test {
            paths,
            filter,
            inventory,
            junit,
            coverage,
            format,
        } => crate::app::test::run(
            &tasks,
            &crate::app::test::TestOptions {
                paths,
                filter,
                inventory: inv(inventory),
                format: fmt(format),
                junit,
                coverage,
            },
        ),
        Verb::Command {
            command:
                CommandCommand::Run {
                    command,
                    targets,
                    inventory,
                    timeout,
                    stream,
                    format,
                },
        } => crate::app::run::command(
            &tasks,
            &command,
            &targets,
            inv(inventory),
            timeout.as_deref(),
            fmt(format),
            stream || stream_default,
        ),
        Verb::Task {
            command:
                TaskCommand::Run {
                    task,
                    params,
                    targets,
                    params_json,
                    inventory,
                    noop,
                    stream,
                    format,
                },
        } => crate::app::run::task(
            &tasks,
            &crate::app::run::TaskRunOptions {
                task,
                targets,
                params,
                params_json,
                inventory: inv(inventory),
                noop,
                stream: stream || stream_default,
                format: fmt(format),
            },
        ),
        Verb::Task {
            command: TaskCommand::Show { task, format },
        } => crate::app::show::show_tasks(&tasks, task.as_deref(), fmt(format)),
        Verb::Plan {
            command: PlanCommand::Show { plan, format },
        } => crate::app::show::show_plans(tasks.project(), plan.as_deref(), fmt(format)),
        Verb::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "drover", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(0)
        }
        Verb::Runs { command } => match command {
            RunsCommand::List { format } => crate::app::show::list_runs(&project, fmt(format)),
            RunsCommand::Show { id, html, format } => {
                crate::app::show::show_run(&project, &id, fmt(format), html.as_deref())
            }
            RunsCommand::Watch { id, format } => {
                crate::app::show::watch_run(&project, &id, fmt(format))
            }
        },
        Verb::Inventory {
            command:
                InventoryCommand::Show {
                    targets,
                    inventory,
                    format,
                },
        } => crate::app::show::show_inventory(
            &tasks,
            inv(inventory),
            targets.as_deref(),
            fmt(format),
        ),
        Verb::Run {
            plan,
            params,
            params_json,
            plan_name,
            inventory,
            concurrency,
            dry_run,
            rerun,
            stream,
            verbose,
            state,
            report,
            format,
        } => crate::app::run::run(&crate::app::run::RunOptions {
            report,
            verbose,
            state,
            rerun,
            stream: stream || stream_default,
            concurrency: concurrency
                .map(|c| c as usize)
                .or(concurrency_default)
                .unwrap_or(crate::eval::DEFAULT_CONCURRENCY),
            dry_run,
            tasks: tasks.clone(),
            plan,
            params,
            params_json,
            plan_name,
            format: fmt(format),
            inventory: inv(inventory),
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
