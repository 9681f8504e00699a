//! Periodic jobs: a cron expression (parsed by croner) and the job to add at each occurrence.
//! Every worker may run the same periodic job; each occurrence is added once, through a unique
//! key naming the occurrence that covers every state, so a completed occurrence is not added
//! again either.

use croner::Cron;

use super::{JobState, NewJob};
use crate::{Error, Result, Timestamp};

/// A job added at every occurrence of a cron expression.
#[derive(Debug, Clone)]
pub struct Periodic {
    name: String,
    cron: Cron,
    job: NewJob,
    /// The next occurrence not yet added.
    next: Option<Timestamp>,
}

fn to_chrono(t: Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(t.as_micros())
}

impl Periodic {
    /// Parse `expression` (5 fields, or 6 with seconds first) and check `job`; the first
    /// occurrence is the one after `now`.
    ///
    /// # Errors
    /// `invalid_input` naming `cron` (with croner's reason), `name`, or the job's fields.
    pub fn new(name: &str, expression: &str, job: NewJob, now: Timestamp) -> Result<Self> {
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(expression)
            .map_err(|e| {
                Error::invalid_field(
                    "cron",
                    expression,
                    format!("must be a cron expression: {e}"),
                )
            })?;
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(Error::invalid_field(
                "name",
                name,
                "must be 1 to 100 characters without control characters",
            ));
        }
        job.validate()?;
        let mut p = Self {
            name: name.to_owned(),
            cron,
            job,
            next: None,
        };
        p.advance(now);
        Ok(p)
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Move to the first occurrence after `now`. Occurrences fall on whole seconds, so every
    /// worker computes the same ones (and the same unique keys) whatever its clock's fraction.
    pub(crate) fn advance(&mut self, now: Timestamp) {
        let second = Timestamp::from_micros(now.as_micros().div_euclid(1_000_000) * 1_000_000);
        self.next = to_chrono(second)
            .and_then(|t| self.cron.find_next_occurrence(&t, false).ok())
            .map(|t| Timestamp::from_micros(t.timestamp_micros()));
    }

    /// The job for the occurrence that has come, if one has.
    pub(crate) fn due(&self, now: Timestamp) -> Option<NewJob> {
        let at = self.next.filter(|t| *t <= now)?;
        let mut job = self.job.clone();
        job.run_at = Some(at);
        job.unique_key = Some(format!("cron:{}:{}", self.name, at.as_micros()));
        job.unique_states = Some(JobState::ALL.to_vec());
        Some(job)
    }
}
