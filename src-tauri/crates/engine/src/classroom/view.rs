//! The live class view: per learner, the mission they are on, where its pods are stuck, for how
//! long, hints used and missions solved; per mission, a summary. Read with the teacher's
//! credentials ([`read_class`]) and rendered for a terminal ([`render_table`]) or exported with
//! the class report's CSV and Markdown ([`export_csv`], [`export_markdown`], the same columns
//! as `kq progress report`).
//!
//! The stage and reason come from the cluster, not from the learner's report: the learner's
//! namespace is read and judged the way their own session judges it
//! ([`crate::session::read::read_namespace`]), so the teacher sees what the learner's pipeline
//! shows. Learners' namespaces are read concurrently, a few at a time. A learner whose report
//! is missing or unreadable is still a row, with what went wrong in [`ClassView::problems`];
//! the others are unaffected.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde::Serialize;
use ts_rs::TS;

use super::report::{CURRENT_KEY, CURRENT_SINCE_KEY, PROGRESS_KEY, UPDATED_AT_KEY};
use super::{CLASS_CONFIGMAP, CLASS_NAMESPACE, ClassError, cluster_error, learner_namespace};
use crate::mission::Catalog;
use crate::pipeline::StageState;
use crate::progress::{
    EXPORT_FORMAT, EXPORT_VERSION, Learner, MissionStatus, ProgressExport, report_from_exports,
};
use crate::session::read::{NamespaceRead, read_namespace};

/// How many learners' namespaces are read at once.
const READS_IN_FLIGHT: usize = 8;

/// The class as the teacher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClassView {
    pub class: String,
    /// When the class ends (RFC 3339), as prepare wrote it.
    pub ends_at: Option<String>,
    /// When this view was read (RFC 3339).
    pub read_at: String,
    /// One row per learner, in roster order (learners reporting without being on the roster
    /// last).
    pub learners: Vec<ClassLearnerRow>,
    /// One summary per class mission, in curriculum order.
    pub missions: Vec<ClassMissionSummary>,
    /// What could not be read, one line each (`progress-ada: …`).
    pub problems: Vec<String>,
}

/// One learner in the class view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClassLearnerRow {
    pub learner: String,
    /// The mission they are on (from their report), if any.
    pub mission: Option<String>,
    pub mission_title: Option<String>,
    /// The stage their mission's pods are at (`schedule`, `pull`, `run`, …, as lessons name
    /// stages): the first stuck one, else the first not yet done, else `ready`.
    pub stage: Option<String>,
    /// Why it is stuck there (`CrashLoopBackOff`), read from the cluster.
    pub reason: Option<String>,
    /// Seconds since they started the current mission.
    pub seconds_on_mission: Option<u64>,
    /// Hints revealed on the current mission.
    pub hints: u32,
    /// Class missions solved.
    pub solved: u32,
    /// When they last reported (RFC 3339).
    pub reported_at: Option<String>,
    /// Whether the current mission is solved.
    pub solved_current: bool,
    /// Their whole report (for the exports), if one could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub export: Option<ProgressExport>,
}

/// One mission across the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClassMissionSummary {
    pub mission: String,
    pub title: String,
    /// Learners who started it (solved or not).
    pub started: u32,
    pub solved: u32,
    /// The median of the learners' best times to fix, in seconds.
    pub median_seconds_to_fix: Option<u64>,
    /// Hints revealed on it, summed over learners.
    pub hints: u32,
}

fn lines(text: Option<&String>) -> Vec<String> {
    text.map(|t| {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// The stage and reason a namespace shows: the first pod stuck (or failed), else a workload
/// stuck at apply (a refused pod: quota, Pod Security), else the first pod not yet through,
/// else `ready`.
pub fn stage_and_reason(read: &NamespaceRead) -> Option<(String, Option<String>)> {
    let mut pods: Vec<_> = read
        .pods()
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .filter_map(|name| read.pipeline(&name).cloned())
        .filter(|p| !p.terminating)
        .collect();
    pods.sort_by(|a, b| a.pod.cmp(&b.pod));
    if let Some(s) = pods.iter().find_map(|p| p.stuck_stage()) {
        return Some((s.kind.lesson_name().to_owned(), s.reason.clone()));
    }
    for w in read.workload_views() {
        if matches!(w.applied.state, StageState::Stuck | StageState::Failed) {
            return Some(("apply".to_owned(), w.applied.reason.clone()));
        }
    }
    if let Some(s) = pods
        .iter()
        .find_map(|p| p.stages.iter().find(|s| s.state != StageState::Done))
    {
        return Some((s.kind.lesson_name().to_owned(), s.reason.clone()));
    }
    (!pods.is_empty()).then(|| ("ready".to_owned(), None))
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

/// One learner's report as read from their ConfigMap.
struct Reported {
    export: Option<ProgressExport>,
    current: Option<String>,
    since: Option<Timestamp>,
    updated_at: Option<String>,
}

fn read_report(cm: Option<&ConfigMap>, learner: &str, problems: &mut Vec<String>) -> Reported {
    let name = super::progress_configmap(learner);
    let Some(cm) = cm else {
        problems.push(format!(
            "{name}: missing from {CLASS_NAMESPACE}, so {learner} cannot report; prepare the \
             class again to make it"
        ));
        return Reported {
            export: None,
            current: None,
            since: None,
            updated_at: None,
        };
    };
    let empty = BTreeMap::new();
    let data = cm.data.as_ref().unwrap_or(&empty);
    let export = data
        .get(PROGRESS_KEY)
        .filter(|t| !t.trim().is_empty())
        .and_then(|text| match ProgressExport::parse(&name, text) {
            Ok(e) => Some(e),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        });
    let current = data
        .get(CURRENT_KEY)
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let since = data
        .get(CURRENT_SINCE_KEY)
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| match s.trim().parse::<Timestamp>() {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(format!(
                    "{name}: {CURRENT_SINCE_KEY} \"{s}\" is not a time: {e}"
                ));
                None
            }
        });
    Reported {
        export,
        current,
        since,
        updated_at: data.get(UPDATED_AT_KEY).cloned().filter(|s| !s.is_empty()),
    }
}

/// Reads the class: the `class` ConfigMap, every learner's report, and the namespace of each
/// learner's current mission. `now` is the cluster's clock.
pub async fn read_class(
    client: &kube::Client,
    catalog: &Catalog,
    now: Timestamp,
) -> Result<ClassView, ClassError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), CLASS_NAMESPACE);
    let listed = api
        .list(&ListParams::default())
        .await
        .map_err(|e| cluster_error(format!("reading the class in {CLASS_NAMESPACE}"), &e))?;
    let mut by_name: BTreeMap<String, ConfigMap> =
        listed.into_iter().map(|cm| (cm.name_any(), cm)).collect();
    let class_cm = by_name
        .remove(CLASS_CONFIGMAP)
        .ok_or_else(|| ClassError::NoClass {
            detail: format!("{CLASS_NAMESPACE} has no `{CLASS_CONFIGMAP}` ConfigMap"),
        })?;
    let data = class_cm.data.unwrap_or_default();
    let class = data.get("class").cloned().unwrap_or_default();
    let missions = lines(data.get("missions"));
    let mut learners = lines(data.get("learners"));
    for name in by_name.keys() {
        if let Some(l) = name.strip_prefix("progress-")
            && !learners.iter().any(|x| x == l)
        {
            learners.push(l.to_owned());
        }
    }
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut reads = Vec::new();
    for (i, learner) in learners.iter().enumerate() {
        let r = read_report(
            by_name.get(&super::progress_configmap(learner)),
            learner,
            &mut problems,
        );
        let current = r.current.clone();
        if let Some(m) = &current {
            if missions.iter().any(|x| x == m) {
                reads.push((i, learner_namespace(learner, m)));
            } else {
                problems.push(format!(
                    "{}: {learner} reports mission {m}, which is not in this class",
                    super::progress_configmap(learner)
                ));
            }
        }
        let entry = current
            .as_ref()
            .and_then(|m| r.export.as_ref().and_then(|e| e.missions.get(m)));
        let solved = r.export.as_ref().map_or(0, |e| {
            e.missions
                .iter()
                .filter(|(id, m)| m.status == MissionStatus::Solved && missions.contains(id))
                .count()
        });
        rows.push(ClassLearnerRow {
            learner: learner.clone(),
            mission_title: current
                .as_ref()
                .and_then(|m| catalog.get(m))
                .map(|m| m.summary.title.clone()),
            seconds_on_mission: current
                .as_ref()
                .and(r.since)
                .map(|s| u64::try_from(now.duration_since(s).as_secs()).unwrap_or(0)),
            hints: entry.map_or(0, |e| e.hints_used),
            solved: u32::try_from(solved).unwrap_or(u32::MAX),
            reported_at: r.updated_at,
            solved_current: entry.is_some_and(|e| e.status == MissionStatus::Solved),
            mission: current,
            stage: None,
            reason: None,
            export: r.export,
        });
    }
    let results: Vec<_> = futures::stream::iter(reads)
        .map(|(i, ns)| async move {
            let read = read_namespace(client, &ns, &[], now).await;
            (i, ns, read.map(|r| stage_and_reason(&r)))
        })
        .buffer_unordered(READS_IN_FLIGHT)
        .collect()
        .await;
    for (i, ns, result) in results {
        match result {
            Ok(Some((stage, reason))) => {
                rows[i].stage = Some(stage);
                rows[i].reason = reason;
            }
            Ok(None) => {}
            Err(e) => problems.push(format!(
                "{ns}: cannot be read: {}",
                crate::connect::classify_kube_error(&e)
            )),
        }
    }
    let summaries = missions
        .iter()
        .map(|m| {
            let records: Vec<_> = rows
                .iter()
                .filter_map(|r| r.export.as_ref()?.missions.get(m))
                .collect();
            let count = |f: &dyn Fn(&&crate::progress::MissionProgress) -> bool| {
                u32::try_from(records.iter().filter(|r| f(r)).count()).unwrap_or(u32::MAX)
            };
            ClassMissionSummary {
                mission: m.clone(),
                title: catalog
                    .get(m)
                    .map_or_else(|| m.clone(), |x| x.summary.title.clone()),
                // A learner whose report names the mission as current has started it, even
                // when their saved progress has not caught up yet.
                started: u32::try_from(
                    rows.iter()
                        .filter(|r| {
                            r.mission.as_deref() == Some(m.as_str())
                                || r.export
                                    .as_ref()
                                    .and_then(|e| e.missions.get(m))
                                    .is_some_and(|p| p.status != MissionStatus::NotStarted)
                        })
                        .count(),
                )
                .unwrap_or(u32::MAX),
                solved: count(&|r| r.status == MissionStatus::Solved),
                median_seconds_to_fix: median(
                    records
                        .iter()
                        .filter(|r| r.status == MissionStatus::Solved)
                        .filter_map(|r| r.time_to_fix_seconds)
                        .collect(),
                ),
                hints: records.iter().map(|r| r.hints_used).sum(),
            }
        })
        .collect();
    Ok(ClassView {
        class,
        ends_at: data.get("endsAt").cloned().filter(|s| !s.is_empty()),
        read_at: now.to_string(),
        learners: rows,
        missions: summaries,
        problems,
    })
}

/// Whether a row has been on its unsolved mission longer than `stuck_after`.
pub fn is_stuck(row: &ClassLearnerRow, stuck_after: Duration) -> bool {
    row.mission.is_some()
        && !row.solved_current
        && row
            .seconds_on_mission
            .is_some_and(|s| s > stuck_after.as_secs())
}

/// The table `kq classroom status` prints: kubectl-style columns (`LEARNER MISSION STAGE
/// REASON TIME HINTS SOLVED`, padded, three spaces apart, `<none>` for nothing), rows stuck
/// longer than `stuck_after` marked with a trailing ` (stuck)`, then the problems, if any, each
/// on its own line after a blank one. No colour: it must read the same in any terminal.
pub fn render_table(view: &ClassView, stuck_after: Duration) -> String {
    const NONE: &str = "<none>";
    let mut rows: Vec<(Vec<String>, bool)> = vec![(
        [
            "LEARNER", "MISSION", "STAGE", "REASON", "TIME", "HINTS", "SOLVED",
        ]
        .map(str::to_owned)
        .to_vec(),
        false,
    )];
    for r in &view.learners {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| NONE.to_owned());
        rows.push((
            vec![
                r.learner.clone(),
                or_none(&r.mission),
                or_none(&r.stage),
                or_none(&r.reason),
                r.seconds_on_mission
                    .map(|s| {
                        kq_kube::duration::human_duration(i64::try_from(s).unwrap_or(i64::MAX))
                    })
                    .unwrap_or_else(|| NONE.to_owned()),
                r.hints.to_string(),
                format!("{}/{}", r.solved, view.missions.len()),
            ],
            is_stuck(r, stuck_after),
        ));
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| {
            rows.iter()
                .map(|(r, _)| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (cells, stuck) in &rows {
        let mut line = String::new();
        for (c, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < cells.len() {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
            }
        }
        if *stuck {
            line.push_str(" (stuck)");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if !view.problems.is_empty() {
        out.push('\n');
        for p in &view.problems {
            out.push_str(p);
            out.push('\n');
        }
    }
    out
}

/// The view's reports as the class report of `kq progress report`: one learner per seat (the
/// seat name is the learner id, the name they chose is shown), the class's missions in
/// curriculum order, learners who have not reported yet with nothing started.
fn class_report(view: &ClassView) -> crate::progress::ClassReport {
    let read_at = view.read_at.parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let exports = view
        .learners
        .iter()
        .map(|r| {
            let mut e = r.export.clone().unwrap_or_else(|| ProgressExport {
                format: EXPORT_FORMAT.into(),
                version: EXPORT_VERSION,
                learner: Learner {
                    id: r.learner.clone(),
                    name: r.learner.clone(),
                },
                exported_at: read_at,
                missions: BTreeMap::new(),
            });
            // The seat is the identity the class server authenticated; the id the export
            // carries is the learner's own claim.
            e.learner.id = r.learner.clone();
            if e.learner.name.trim().is_empty() {
                e.learner.name = r.learner.clone();
            }
            e.version = EXPORT_VERSION;
            (super::progress_configmap(&r.learner), e)
        })
        .collect();
    let mut report = report_from_exports(exports);
    let mut missions: Vec<String> = view.missions.iter().map(|m| m.mission.clone()).collect();
    for m in &report.missions {
        if !missions.contains(m) {
            missions.push(m.clone());
        }
    }
    report.missions = missions;
    report
}

/// The class as CSV: `kq progress report`'s columns, one row per learner and mission.
pub fn export_csv(view: &ClassView) -> String {
    class_report(view).to_csv()
}

/// The class as Markdown: `kq progress report`'s learner × mission table.
pub fn export_markdown(view: &ClassView) -> String {
    class_report(view).to_markdown()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::MissionProgress;

    fn export(name: &str, missions: &[(&str, MissionStatus, u32, Option<u64>)]) -> ProgressExport {
        ProgressExport {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            learner: Learner {
                id: "5f0c-uuid".into(),
                name: name.into(),
            },
            exported_at: "2026-03-02T09:00:00Z".parse().unwrap(),
            missions: missions
                .iter()
                .map(|(id, status, hints, ttf)| {
                    (
                        (*id).to_owned(),
                        MissionProgress {
                            status: *status,
                            attempts: 1,
                            hints_used: *hints,
                            time_to_fix_seconds: *ttf,
                            ..MissionProgress::default()
                        },
                    )
                })
                .collect(),
        }
    }

    fn view() -> ClassView {
        ClassView {
            class: "monday".into(),
            ends_at: Some("2026-03-02T16:00:00Z".into()),
            read_at: "2026-03-02T09:30:00Z".into(),
            learners: vec![
                ClassLearnerRow {
                    learner: "ada".into(),
                    mission: Some("crash-loop-backoff".into()),
                    mission_title: Some("The pod that keeps restarting".into()),
                    stage: Some("run".into()),
                    reason: Some("CrashLoopBackOff".into()),
                    seconds_on_mission: Some(720),
                    hints: 1,
                    solved: 0,
                    reported_at: Some("2026-03-02T09:29:50Z".into()),
                    solved_current: false,
                    export: Some(export(
                        "Ada L.",
                        &[("crash-loop-backoff", MissionStatus::InProgress, 1, None)],
                    )),
                },
                ClassLearnerRow {
                    learner: "bob".into(),
                    mission: Some("image-pull-backoff".into()),
                    mission_title: None,
                    stage: Some("ready".into()),
                    reason: None,
                    seconds_on_mission: Some(1500),
                    hints: 0,
                    solved: 1,
                    reported_at: None,
                    solved_current: true,
                    export: Some(export(
                        "=cmd()",
                        &[("image-pull-backoff", MissionStatus::Solved, 0, Some(95))],
                    )),
                },
                ClassLearnerRow {
                    learner: "charlie-longname".into(),
                    mission: None,
                    mission_title: None,
                    stage: None,
                    reason: None,
                    seconds_on_mission: None,
                    hints: 0,
                    solved: 0,
                    reported_at: None,
                    solved_current: false,
                    export: None,
                },
            ],
            missions: vec![
                ClassMissionSummary {
                    mission: "crash-loop-backoff".into(),
                    title: "t".into(),
                    started: 1,
                    solved: 0,
                    median_seconds_to_fix: None,
                    hints: 1,
                },
                ClassMissionSummary {
                    mission: "image-pull-backoff".into(),
                    title: "t".into(),
                    started: 1,
                    solved: 1,
                    median_seconds_to_fix: Some(95),
                    hints: 0,
                },
            ],
            problems: vec!["progress-dan: not a KubeQuest progress export: x".into()],
        }
    }

    #[test]
    fn the_table_pads_columns_and_marks_stuck_rows() {
        let text = render_table(&view(), Duration::from_secs(600));
        let expected = "\
LEARNER            MISSION              STAGE    REASON             TIME     HINTS   SOLVED
ada                crash-loop-backoff   run      CrashLoopBackOff   12m      1       0/2 (stuck)
bob                image-pull-backoff   ready    <none>             25m      0       1/2
charlie-longname   <none>               <none>   <none>             <none>   0       0/2

progress-dan: not a KubeQuest progress export: x
";
        assert_eq!(text, expected, "got:\n{text}");
        let relaxed = render_table(&view(), Duration::from_secs(900));
        assert!(
            !relaxed.contains("(stuck)"),
            "12 minutes is not stuck after 15: {relaxed}"
        );
    }

    #[test]
    fn csv_uses_the_progress_report_columns_with_seats_as_ids() {
        let csv = export_csv(&view());
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "learner_id,learner_name,mission_id,status,attempts,hints_used,time_to_fix_seconds,solved_at"
        );
        assert_eq!(lines[1], "ada,Ada L.,crash-loop-backoff,in-progress,1,1,,");
        assert_eq!(lines[2], "ada,Ada L.,image-pull-backoff,not-started,0,0,,");
        assert_eq!(
            lines[4], "bob,'=cmd(),image-pull-backoff,solved,1,0,95,",
            "formula guarded"
        );
        assert_eq!(
            lines[5], "charlie-longname,charlie-longname,crash-loop-backoff,not-started,0,0,,",
            "a learner who never reported is still a row"
        );
        assert_eq!(
            lines.len(),
            8,
            "3 learners × 2 missions + header + final CRLF: {csv}"
        );
    }

    #[test]
    fn markdown_has_a_column_per_class_mission_in_curriculum_order() {
        let md = export_markdown(&view());
        let mut lines = md.lines();
        assert_eq!(
            lines.next(),
            Some("| Learner | crash-loop-backoff | image-pull-backoff |")
        );
        assert!(
            md.contains("| Ada L. (ada) | in progress (1 attempts) | – |"),
            "{md}"
        );
        assert!(
            md.contains("| =cmd() (bob) | – | solved in 1m35s |"),
            "{md}"
        );
        assert!(md.contains("| **Solved** | 0/3 | 1/3 |"), "{md}");
    }

    fn progress_cm(data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ConfigMap::default()
        }
    }

    #[test]
    fn a_corrupt_or_missing_report_is_a_problem_of_that_learner_only() {
        let mut problems = Vec::new();
        let corrupt = progress_cm(&[
            (PROGRESS_KEY, "{not json"),
            (CURRENT_KEY, "crash-loop-backoff"),
            (CURRENT_SINCE_KEY, "yesterday"),
        ]);
        let r = read_report(Some(&corrupt), "ada", &mut problems);
        assert!(r.export.is_none());
        assert_eq!(
            r.current.as_deref(),
            Some("crash-loop-backoff"),
            "what could be read is kept"
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("progress-ada: not a KubeQuest progress export: "),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("progress-ada: currentSince \"yesterday\" is not a time"),
            "{problems:?}"
        );

        let mut problems = Vec::new();
        let good = export("Bob", &[]).to_json().unwrap();
        let fine = progress_cm(&[
            (PROGRESS_KEY, &good),
            (CURRENT_KEY, ""),
            (UPDATED_AT_KEY, "2026-03-02T09:00:00Z"),
        ]);
        let r = read_report(Some(&fine), "bob", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            (r.export.map(|e| e.learner.name), r.current),
            (Some("Bob".to_owned()), None)
        );
        let empty = progress_cm(&[]);
        let r = read_report(Some(&empty), "cy", &mut problems);
        assert!(
            problems.is_empty() && r.export.is_none(),
            "not reported yet is no problem"
        );
        read_report(None, "dan", &mut problems);
        assert_eq!(
            problems,
            [
                "progress-dan: missing from kq-classroom, so dan cannot report; prepare the class again to make it"
            ]
        );
    }

    /// The app's commands run these on Tauri's thread pool: their futures must be `Send`
    /// (a compile-time check).
    #[allow(dead_code)]
    fn futures_are_send(client: &kube::Client, catalog: &Catalog, plan: &super::super::ClassPlan) {
        fn send<T: Send>(_: T) {}
        send(read_class(client, catalog, Timestamp::UNIX_EPOCH));
        send(super::super::prepare(
            client,
            plan,
            "",
            "",
            std::path::Path::new(""),
            &mut |_| {},
        ));
        send(super::super::clean(client, None));
        send(super::super::join_with_code("", ""));
        let e = export("x", &[]);
        send(super::super::report_progress(
            client,
            "x",
            &e,
            None,
            None,
            Timestamp::UNIX_EPOCH,
        ));
    }

    #[test]
    fn the_median_of_an_even_count_is_between_the_middle_two() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![300, 100, 200]), Some(200));
        assert_eq!(median(vec![100, 400, 200, 300]), Some(250));
    }
}
