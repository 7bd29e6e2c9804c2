//! A mission played from a learner's seat in a class: what the class offers, and the learner's
//! reports to the teacher.
//!
//! [`class_missions`] reads the class's `class` ConfigMap (the one object of `kq-classroom`
//! besides their own progress that a learner's account may read): the missions of the class,
//! which [`crate::mission::Catalog::seated`] keeps.
//!
//! [`ClassReporter`] is the session's hook for reporting ([`super::SessionConfig::class`]):
//! [`super::run_session`] reports the learner's progress with
//! [`crate::classroom::report_progress`] when the session starts, when a hint is revealed, when
//! the mission is solved, and every [`REPORT_EVERY`] in between, so the teacher's view keeps
//! the learner's time on the mission current. Reports run beside the session and never hold it
//! up: the progress is always saved on the learner's machine first (the caller saves a start
//! and a hint before the session hears of it; the session's recorder saves a solve before it
//! is reported), and each report carries the whole saved progress, so a report that fails is
//! made good by the next one. A failure is told once per outage through
//! [`ClassReporter::warn`], and once more when reports get through again.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use crate::classroom::{CLASS_CONFIGMAP, CLASS_NAMESPACE, ClassError, report_progress};
use crate::connect::classify_kube_error;
use crate::progress::{Learner, Progress, ProgressExport};

/// How often a session reports while the learner plays.
pub const REPORT_EVERY: Duration = Duration::from_secs(30);

/// How long the report of a solve may take when the session ends right after it.
pub const LAST_REPORT_WAIT: Duration = Duration::from_secs(10);

/// The learner's progress as saved on their machine, read for each report.
pub type ReadProgress = Arc<dyn Fn() -> Result<Progress, String> + Send + Sync>;

/// Where a live session reports the learner's progress: their class.
#[derive(Clone)]
pub struct ClassReporter {
    /// The learner's client on the class's cluster (their kubeconfig's credentials).
    pub client: kube::Client,
    /// The class's name (from the seat).
    pub class: String,
    /// The learner's name in the class (from the seat).
    pub learner: String,
    /// Reads the learner's saved progress (a store's read, which changes no file).
    pub progress: ReadProgress,
    /// How often to report while the mission is played ([`REPORT_EVERY`]).
    pub every: Duration,
    /// Tells the learner (a log line, a warning) that reports fail, once per outage, and that
    /// they get through again.
    pub warn: Arc<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for ClassReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassReporter")
            .field("class", &self.class)
            .field("learner", &self.learner)
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl ClassReporter {
    /// The export the teacher receives: the saved progress under the learner's stored id (a
    /// stable one, so merging it with files they exported keeps one row) and their class name,
    /// which is how the teacher knows them.
    pub fn export(&self, progress: &Progress, now: Timestamp) -> ProgressExport {
        let learner = Learner {
            id: progress.named_learner().map_or_else(
                || format!("class:{}:{}", self.class, self.learner),
                |l| l.id.clone(),
            ),
            name: self.learner.clone(),
        };
        progress.export(learner, now)
    }

    /// Reports the saved progress, with `current` as the mission the learner is on (`None`:
    /// they left it) and since when they are on it (its last start, from the progress).
    pub async fn report(&self, current: Option<&str>) -> Result<(), String> {
        let progress = (self.progress)()?;
        let now = Timestamp::now();
        let since = current.and_then(|id| progress.mission(id).started_at);
        report_progress(
            &self.client,
            &self.learner,
            &self.export(&progress, now),
            current,
            since,
            now,
        )
        .await
        .map_err(|e| e.to_string())
    }
}

/// Reports on `mission`: at once, then whenever `wake` changes and every `reporter.every`,
/// until `wake`'s sender is dropped or the task is aborted.
pub(crate) async fn keep_reporting(
    reporter: ClassReporter,
    mission: String,
    mut wake: tokio::sync::watch::Receiver<u64>,
) {
    let mut outage = Outage::default();
    loop {
        outage.note(&reporter, reporter.report(Some(&mission)).await);
        tokio::select! {
            () = tokio::time::sleep(reporter.every) => {}
            changed = wake.changed() => if changed.is_err() {
                return;
            },
        }
    }
}

/// Whether reports are failing, so each outage is told once.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    failing: bool,
}

impl Outage {
    pub(crate) fn note(&mut self, reporter: &ClassReporter, result: Result<(), String>) {
        match result {
            Ok(()) if self.failing => {
                self.failing = false;
                (reporter.warn)(&format!(
                    "your progress reaches class {} again",
                    reporter.class
                ));
            }
            Ok(()) => {}
            Err(e) if !self.failing => {
                self.failing = true;
                (reporter.warn)(&format!(
                    "your progress could not be reported to class {} ({e}); it is saved on this \
                     machine, and KubeQuest keeps trying",
                    reporter.class
                ));
            }
            Err(_) => {}
        }
    }
}

/// The missions of the class, in curriculum order, from its `class` ConfigMap.
pub async fn class_missions(client: &kube::Client) -> Result<Vec<String>, ClassError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), CLASS_NAMESPACE);
    let no_class = |detail: String| ClassError::NoClass { detail };
    let cm = match api.get_opt(CLASS_CONFIGMAP).await {
        Ok(Some(cm)) => cm,
        Ok(None) => {
            return Err(no_class(format!(
                "no ConfigMap {CLASS_CONFIGMAP} in {CLASS_NAMESPACE}"
            )));
        }
        Err(e) => {
            return Err(ClassError::Cluster {
                doing: format!(
                    "reading the class (ConfigMap {CLASS_CONFIGMAP} in {CLASS_NAMESPACE})"
                ),
                source: classify_kube_error(&e),
            });
        }
    };
    let missions: Vec<String> = cm
        .data
        .unwrap_or_default()
        .get("missions")
        .map(|m| {
            m.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if missions.is_empty() {
        return Err(no_class(format!(
            "the ConfigMap {CLASS_CONFIGMAP} in {CLASS_NAMESPACE} lists no missions"
        )));
    }
    Ok(missions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter(warned: Arc<std::sync::Mutex<Vec<String>>>) -> ClassReporter {
        // A client that is never used: only the export and the outage logic are tested here.
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("uri"));
        ClassReporter {
            client: kube::Client::try_from(config).expect("client"),
            class: "monday".into(),
            learner: "ada".into(),
            progress: Arc::new(|| Ok(Progress::default())),
            every: REPORT_EVERY,
            warn: Arc::new(move |m| warned.lock().expect("lock").push(m.to_owned())),
        }
    }

    #[tokio::test]
    async fn an_outage_is_told_once_and_its_end_once() {
        let warned = Arc::new(std::sync::Mutex::new(Vec::new()));
        let r = reporter(warned.clone());
        let mut outage = Outage::default();
        outage.note(&r, Ok(()));
        outage.note(&r, Err("connection refused".into()));
        outage.note(&r, Err("connection refused".into()));
        outage.note(&r, Err("timed out".into()));
        outage.note(&r, Ok(()));
        outage.note(&r, Ok(()));
        outage.note(&r, Err("connection refused".into()));
        let warned = warned.lock().expect("lock").clone();
        assert_eq!(
            warned.len(),
            3,
            "one line per outage and one per recovery: {warned:?}"
        );
        assert!(
            warned[0].contains("could not be reported to class monday (connection refused)")
                && warned[0].contains("saved on this machine"),
            "says what failed and that nothing is lost: {}",
            warned[0]
        );
        assert_eq!(warned[1], "your progress reaches class monday again");
    }

    #[tokio::test]
    async fn the_export_names_the_learner_as_the_class_knows_them_under_a_stable_id() {
        let r = reporter(Default::default());
        let now = Timestamp::from_second(1_740_000_000).expect("valid");
        let mut p = Progress::default();
        p.start("crash-loop-backoff", now);
        let anonymous = r.export(&p, now);
        assert_eq!(anonymous.learner.name, "ada");
        assert_eq!(
            anonymous.learner.id, "class:monday:ada",
            "without a stored learner the id is still the same at every report"
        );
        assert!(anonymous.has_stable_id());
        assert!(anonymous.missions.contains_key("crash-loop-backoff"));
        let stored = p.set_learner_name("Ada Lovelace").expect("valid name");
        let named = r.export(&p, now);
        assert_eq!(
            (named.learner.id.as_str(), named.learner.name.as_str()),
            (stored.id.as_str(), "ada"),
            "the stored id, so the teacher's merged report keeps one row; the class's name"
        );
    }
}
