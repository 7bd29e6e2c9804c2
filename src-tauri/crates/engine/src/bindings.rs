//! TypeScript bindings for the IPC payloads in [`crate::ipc`].
//!
//! The files are generated rather than hand-written so the UI cannot drift from what Rust sends.
//! `cargo xtask bindings` writes them; the test below fails when the committed copies are stale.

use std::path::Path;

use ts_rs::{Config, TS};

use crate::activity::{CommandGroup, LearnerCommand};
use crate::classroom::{ClassLearnerRow, ClassMissionSummary, ClassView};
use crate::connect::{ConnectErrorKind, ConnectFailure, ContextInfo, Locality};
use crate::debrief::{
    BrokenFinding, ChangeOutcome, CommandCount, LessonCommand, ObjectChange, PersonalDebrief,
};
use crate::diagnose::{Diagnosis, DiagnosisGate, FitError, FitReason, ReasonKind, Termination};
use crate::graph::{
    FilterVerdict, GraphCommand, GraphCondition, GraphEdge, GraphKind, GraphNode, Health,
    NodeVerdict, RailStep, Relation, SchedulingSource, SchedulingView, WorkloadGraph,
};
use crate::inspect::{ContainerOutput, ExitStatus};
use crate::ipc::{
    ActionResult, AppInfo, ClusterClock, ClusterStatus, ConnectionState, DebriefView, ErrorKind,
    EventRow, HintReveal, ImmutableChange, ManifestFile, MissionDetail, MissionList,
    MissionSession, MissionSummary, ObjectiveInfo, ProgressLoad, ProgressRecovery, SessionUpdate,
    Settings, Theme, UiError, YamlDiagnostic,
};
use crate::mission::{Chapter, ObjectiveResult, ObjectiveStatus};
use crate::pipeline::{
    ContainerView, EventFact, Evidence, FieldFact, PipelineChange, PodOwner, PodPipeline, Retry,
    RetryKind, RevisionRole, Stage, StageKind, StageState, WorkloadKind, WorkloadView,
};
use crate::progress::{Learner, MissionProgress, MissionStatus, Progress, ProgressExport};

/// Where the generated files live, relative to the workspace root.
pub const BINDINGS_DIR: &str = "ui/src/lib/bindings";

fn config() -> Config {
    // u64 counters (seconds, restart counts) stay well below 2^53; plain numbers are what the UI
    // does arithmetic on.
    Config::new().with_large_int("number")
}

fn render<T: TS + 'static>(cfg: &Config) -> (String, String) {
    let name = format!("{}.ts", T::ident(cfg));
    let body = T::export_to_string(cfg).unwrap_or_else(|e| panic!("cannot render {name}: {e}"));
    (name, body)
}

/// Every generated file as `(file name, contents)`, sorted by name.
pub fn render_all() -> Vec<(String, String)> {
    let cfg = config();
    let mut files = vec![
        render::<AppInfo>(&cfg),
        render::<ClusterStatus>(&cfg),
        render::<ErrorKind>(&cfg),
        render::<MissionList>(&cfg),
        render::<MissionSummary>(&cfg),
        render::<Chapter>(&cfg),
        render::<UiError>(&cfg),
        render::<MissionDetail>(&cfg),
        render::<ObjectiveInfo>(&cfg),
        render::<ObjectiveResult>(&cfg),
        render::<ObjectiveStatus>(&cfg),
        render::<PodPipeline>(&cfg),
        render::<PodOwner>(&cfg),
        render::<RevisionRole>(&cfg),
        render::<WorkloadKind>(&cfg),
        render::<WorkloadView>(&cfg),
        render::<PipelineChange>(&cfg),
        render::<Stage>(&cfg),
        render::<StageKind>(&cfg),
        render::<StageState>(&cfg),
        render::<Evidence>(&cfg),
        render::<FieldFact>(&cfg),
        render::<EventFact>(&cfg),
        render::<ContainerView>(&cfg),
        render::<Retry>(&cfg),
        render::<RetryKind>(&cfg),
        render::<Diagnosis>(&cfg),
        render::<DiagnosisGate>(&cfg),
        render::<crate::mission::reactions::Nudge>(&cfg),
        render::<ReasonKind>(&cfg),
        render::<Termination>(&cfg),
        render::<FitError>(&cfg),
        render::<FitReason>(&cfg),
        render::<ContextInfo>(&cfg),
        render::<Locality>(&cfg),
        render::<ConnectErrorKind>(&cfg),
        render::<ConnectFailure>(&cfg),
        render::<Progress>(&cfg),
        render::<MissionProgress>(&cfg),
        render::<MissionStatus>(&cfg),
        render::<Learner>(&cfg),
        render::<ProgressExport>(&cfg),
        render::<ProgressLoad>(&cfg),
        render::<ProgressRecovery>(&cfg),
        render::<EventRow>(&cfg),
        render::<ManifestFile>(&cfg),
        render::<ConnectionState>(&cfg),
        render::<ClusterClock>(&cfg),
        render::<MissionSession>(&cfg),
        render::<SessionUpdate>(&cfg),
        render::<YamlDiagnostic>(&cfg),
        render::<ActionResult>(&cfg),
        render::<ImmutableChange>(&cfg),
        render::<HintReveal>(&cfg),
        render::<DebriefView>(&cfg),
        render::<PersonalDebrief>(&cfg),
        render::<BrokenFinding>(&cfg),
        render::<ObjectChange>(&cfg),
        render::<ChangeOutcome>(&cfg),
        render::<CommandCount>(&cfg),
        render::<CommandGroup>(&cfg),
        render::<LessonCommand>(&cfg),
        render::<LearnerCommand>(&cfg),
        render::<Theme>(&cfg),
        render::<Settings>(&cfg),
        render::<ContainerOutput>(&cfg),
        render::<ExitStatus>(&cfg),
        render::<WorkloadGraph>(&cfg),
        render::<GraphNode>(&cfg),
        render::<GraphCondition>(&cfg),
        render::<GraphEdge>(&cfg),
        render::<GraphKind>(&cfg),
        render::<GraphCommand>(&cfg),
        render::<Health>(&cfg),
        render::<Relation>(&cfg),
        render::<RailStep>(&cfg),
        render::<SchedulingView>(&cfg),
        render::<SchedulingSource>(&cfg),
        render::<NodeVerdict>(&cfg),
        render::<FilterVerdict>(&cfg),
        render::<ClassView>(&cfg),
        render::<ClassLearnerRow>(&cfg),
        render::<ClassMissionSummary>(&cfg),
    ];
    files.sort();
    files
}

/// Writes every binding into `workspace_root/ui/src/lib/bindings`, removing files that no longer
/// correspond to a type.
pub fn write_all(workspace_root: &Path) -> std::io::Result<()> {
    let dir = workspace_root.join(BINDINGS_DIR);
    std::fs::create_dir_all(&dir)?;
    let files = render_all();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".ts") && !files.iter().any(|(f, _)| *f == name) {
            std::fs::remove_file(&path)?;
        }
    }
    for (name, body) in files {
        std::fs::write(dir.join(name), body)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_bindings_match_the_rust_types() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let dir = root.join(BINDINGS_DIR);
        let mut stale = Vec::new();
        for (name, body) in render_all() {
            match std::fs::read_to_string(dir.join(&name)) {
                Ok(committed) if committed == body => {}
                Ok(_) => stale.push(format!("{name} differs")),
                Err(_) => stale.push(format!("{name} is missing")),
            }
        }
        assert!(
            stale.is_empty(),
            "the UI's TypeScript bindings are stale ({}); run `cargo xtask bindings` and commit",
            stale.join(", ")
        );
    }
}
