//! Printing results and errors, as JSON (`--json`) or for a person.

use serde::Serialize;
use serde_json::Value;
use tagsmith_core::{Error, FieldError, Page};

/// Write one line to stdout; a closed pipe (`tagsmith … | head`) ends the program quietly.
pub fn emit(line: impl std::fmt::Display) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}")
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Where and how results go.
pub struct Printer {
    pub json: bool,
}

impl Printer {
    /// A created or fetched record: its JSON object, or `key: value` lines.
    pub fn record<T: Serialize>(&self, record: &T) -> tagsmith_core::Result<()> {
        let value = to_value(record)?;
        if self.json {
            emit(&value);
        } else if let Value::Object(map) = &value {
            for (k, v) in map {
                emit(format_args!("{k:>24}: {}", plain(v)));
            }
        }
        Ok(())
    }

    /// A page: `{items, total, next_cursor}`, or one line per item and a footer.
    pub fn page<T: Serialize>(&self, page: &Page<T>) -> tagsmith_core::Result<()> {
        let value = to_value(page)?;
        if self.json {
            emit(&value);
            return Ok(());
        }
        let items = value["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            let extra = ["kind", "website_url", "sync_status"]
                .iter()
                .filter_map(|k| item.get(*k).map(plain))
                .collect::<Vec<_>>()
                .join("  ");
            emit(format_args!(
                "{}  {}  {extra}",
                plain(&item["id"]),
                plain(&item["name"])
            ));
        }
        emit(format_args!("-- {} of {} shown", items.len(), page.total));
        if let Some(c) = &page.next_cursor {
            emit(format_args!("-- next page: --cursor {c}"));
        }
        Ok(())
    }

    /// An error: `{code, message, fields}` on stdout under `--json`, else a readable line on
    /// stderr.
    pub fn error(&self, e: &Error) {
        if self.json {
            emit(format_args!("{}", e.to_json()));
        } else {
            eprintln!("error [{}]: {}", e.code(), e.message());
            for FieldError {
                field,
                value,
                reason,
            } in e.fields()
            {
                eprintln!("  {field} = {value:?}: {reason}");
            }
        }
    }
}

fn to_value<T: Serialize>(v: &T) -> tagsmith_core::Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::internal(format!("encoding output: {e}")))
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Turn a command-line parse error into the same typed error every runtime gives
/// (`invalid_input` naming the flag), or print help/version. Returns the exit code.
pub fn usage_error(out: &Printer, e: clap::Error) -> i32 {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            2
        } else {
            0
        };
    }
    let text = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    };
    let subcommand = text(ContextKind::InvalidSubcommand);
    let arg = if subcommand.is_some() {
        None
    } else {
        text(ContextKind::InvalidArg)
    };
    let field = arg
        .as_deref()
        .map(|a| {
            // "--website-url <WEBSITE_URL>" → "website_url"; "<NAME>" → "name"
            let flag = a.split_whitespace().next().unwrap_or(a);
            flag.trim_start_matches('-')
                .trim_matches(|c| c == '<' || c == '>')
                .replace('-', "_")
                .to_lowercase()
        })
        .unwrap_or_else(|| "command".to_owned());
    let value = subcommand
        .or_else(|| text(ContextKind::InvalidValue))
        .unwrap_or_default();
    let reason = if e.kind() == ErrorKind::MissingRequiredArgument {
        "is required".to_owned()
    } else {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("invalid command line")
            .trim_start_matches("error: ")
            .to_owned()
    };
    if out.json {
        emit(format_args!(
            "{}",
            Error::invalid_field(&field, &value, reason).to_json()
        ));
    } else {
        let _ = e.print();
    }
    2
}
