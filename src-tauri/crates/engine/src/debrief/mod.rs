//! The personal debrief: what this learner's fix was, next to the lesson's own debrief.
//!
//! Built once, when the session sees every objective met ([`PersonalDebrief::build`]), from
//! what the session watched and what the audit log holds:
//!
//! - **what was broken**: each pod's stuck stage and reason as the session first diagnosed it;
//! - **what the learner changed**: for each object the mission's manifests created that still
//!   exists (or was replaced under the same name), a unified diff of the object as the session
//!   first saw it and as it is at the solve. Fields the server fills in (status, uid,
//!   resourceVersion, managedFields, timestamps, the node, the service account token volume)
//!   are left out, and so are fields the lesson did not write that are the same on both sides
//!   (the defaults), so the diff shows only what changed;
//! - **the learner's commands**, from the audit log ([`crate::activity`]), grouped looked /
//!   changed / verified, each once with a count;
//! - the time to fix (session start to solve, on the cluster's clock) and the hints used;
//! - then the lesson's debrief, whose `## Commands you mastered` section is replaced by the
//!   learner's own commands, with the lesson's commands the learner did not use kept below as
//!   "Worth knowing next time"; and, when the learner's objects differ from the reference fix,
//!   why both work (the objectives check outcomes: they are listed).
//!
//! [`PersonalDebrief::to_markdown`] renders it all for a terminal (`kq play`) and, through the
//! safe renderer, for the app ([`PersonalDebrief::to_html`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::activity::{AuditEntry, CommandGroup, LearnerCommand, learner_commands};
use crate::mission::{Mission, render_markdown};

/// The heading of the lesson section replaced by the learner's own commands.
pub const COMMANDS_HEADING: &str = "## Commands you mastered";

/// What the session first saw stuck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BrokenFinding {
    pub pod: String,
    /// The stage's label as the rail shows it (`pull`).
    pub stage: String,
    /// Kubernetes' reason (`ImagePullBackOff`).
    pub reason: String,
    /// The diagnosis in one line.
    pub title: String,
}

/// What became of one object the mission created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeOutcome {
    /// Changed in place.
    Changed,
    /// Deleted and created again under the same name.
    Replaced,
    /// As the mission created it.
    Unchanged,
}

/// One object's change, as a unified diff (empty when unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    pub kind: String,
    pub name: String,
    pub outcome: ChangeOutcome,
    /// `--- broken` / `+++ yours` unified diff of the two YAML texts.
    pub diff: String,
}

/// One of the learner's commands, once, with how often they ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CommandCount {
    pub text: String,
    pub group: CommandGroup,
    pub count: u32,
    /// How many of those runs the server refused.
    pub failed: u32,
}

/// One command the lesson lists, with its comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LessonCommand {
    pub comment: String,
    pub command: String,
}

/// This learner's debrief of one mission. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PersonalDebrief {
    pub mission_id: String,
    pub title: String,
    pub broken: Vec<BrokenFinding>,
    pub changes: Vec<ObjectChange>,
    pub commands: Vec<CommandCount>,
    /// Session start to solve, on the cluster's clock.
    pub time_to_fix_seconds: u64,
    pub hints_used: u32,
    pub hints_total: u32,
    /// Whether the learner's objects hold everything the reference fix writes.
    pub matches_reference: bool,
    /// The objectives, by title: what was checked (outcomes, not a particular fix).
    pub objectives: Vec<String>,
    /// The lesson's commands the learner did not use.
    pub worth_knowing: Vec<LessonCommand>,
    /// The lesson's debrief (Markdown) with its commands section replaced by the learner's.
    pub lesson_markdown: String,
}

/// What [`PersonalDebrief::build`] reads.
#[derive(Debug, Clone, Copy)]
pub struct DebriefInput<'a> {
    pub mission: &'a Mission,
    /// What the session first saw stuck, one per pod.
    pub broken: &'a [BrokenFinding],
    /// Each object as the session first saw it, by (kind, name).
    pub first_seen: &'a BTreeMap<(String, String), Value>,
    /// Each object at the solve, by (kind, name).
    pub at_solve: &'a BTreeMap<(String, String), Value>,
    /// The audit log's entries (any namespace: the mission's are picked).
    pub entries: &'a [AuditEntry],
    pub started_ms: i64,
    pub solved_ms: i64,
    pub hints_used: u32,
}

/// Metadata fields the server writes.
const SERVER_METADATA: [&str; 9] = [
    "uid",
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
];

/// The annotation client-side apply writes.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `obj` without what the server fills in (see the module docs).
fn without_server_fields(obj: &Value) -> Value {
    let mut v = obj.clone();
    let Some(map) = v.as_object_mut() else {
        return v;
    };
    map.remove("status");
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in SERVER_METADATA {
            meta.remove(f);
        }
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove(LAST_APPLIED);
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("nodeName");
        // The ServiceAccount admission's token volume (`kube-api-access-xxxxx`), random per pod.
        let token = |v: &Value| {
            v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("kube-api-access-"))
        };
        if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
            vols.retain(|v| !token(v));
            if vols.is_empty() {
                spec.remove("volumes");
            }
        }
        for list in ["containers", "initContainers"] {
            for c in spec
                .get_mut(list)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = c.as_object_mut()
                    && let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_array_mut)
                {
                    mounts.retain(|m| !token(m));
                    if mounts.is_empty() {
                        c.remove("volumeMounts");
                    }
                }
            }
        }
    }
    v
}

/// Keeps of `before` and `after` what the lesson wrote (`written`) or what differs between
/// them; a field the lesson did not write and that is the same on both sides (a default) goes.
fn prune(before: &Value, after: &Value, written: Option<&Value>) -> (Option<Value>, Option<Value>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut kb = serde_json::Map::new();
            let mut ka = serde_json::Map::new();
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                let w = written.and_then(|w| w.get(k));
                match (b.get(k), a.get(k)) {
                    (Some(bv), Some(av)) => {
                        if w.is_none() && bv == av {
                            continue;
                        }
                        let (pb, pa) = prune(bv, av, w);
                        if let Some(pb) = pb {
                            kb.insert(k.clone(), pb);
                        }
                        if let Some(pa) = pa {
                            ka.insert(k.clone(), pa);
                        }
                    }
                    (Some(bv), None) => {
                        kb.insert(k.clone(), bv.clone());
                    }
                    (None, Some(av)) => {
                        ka.insert(k.clone(), av.clone());
                    }
                    (None, None) => {}
                }
            }
            (Some(Value::Object(kb)), Some(Value::Object(ka)))
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
            let w = written.and_then(Value::as_array);
            let (pb, pa) = b
                .iter()
                .zip(a)
                .enumerate()
                .map(|(i, (bv, av))| {
                    let (pb, pa) = prune(bv, av, w.and_then(|w| w.get(i)));
                    (pb.unwrap_or(Value::Null), pa.unwrap_or(Value::Null))
                })
                .unzip();
            (Some(Value::Array(pb)), Some(Value::Array(pa)))
        }
        _ => (Some(before.clone()), Some(after.clone())),
    }
}

fn yaml(v: &Value) -> String {
    serde_yaml_ng::to_string(v).unwrap_or_default()
}

/// The change of one object between `before` and `after`, in what the lesson wrote and what
/// differs.
pub fn object_change(
    kind: &str,
    name: &str,
    written: &Value,
    before: &Value,
    after: &Value,
) -> ObjectChange {
    let uid = |v: &Value| v.pointer("/metadata/uid").cloned();
    let replaced = uid(before).is_some() && uid(after).is_some() && uid(before) != uid(after);
    let b = without_server_fields(before);
    let a = without_server_fields(after);
    let (pb, pa) = prune(&b, &a, Some(written));
    let (tb, ta) = (
        yaml(&pb.unwrap_or(Value::Null)),
        yaml(&pa.unwrap_or(Value::Null)),
    );
    let diff = if tb == ta {
        String::new()
    } else {
        similar::TextDiff::from_lines(&tb, &ta)
            .unified_diff()
            .context_radius(3)
            .header("broken", "yours")
            .to_string()
    };
    let outcome = if replaced {
        ChangeOutcome::Replaced
    } else if diff.is_empty() {
        ChangeOutcome::Unchanged
    } else {
        ChangeOutcome::Changed
    };
    ObjectChange {
        kind: kind.to_string(),
        name: name.to_string(),
        outcome,
        diff,
    }
}

/// Whether `have` holds every field `want` sets, with the same value (lists item by item).
fn holds(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| holds(wv, hv))),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(wv, hv)| holds(wv, hv))
        }
        _ => want == have,
    }
}

/// The lesson's commands section: its code blocks' commands, each with the comment lines above
/// it.
pub fn lesson_commands(debrief: &str) -> Vec<LessonCommand> {
    let Some((_, section, _)) = split_commands_section(debrief) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut comment = Vec::new();
    let mut in_code = false;
    for line in section.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_code = !in_code;
            comment.clear();
            continue;
        }
        if !in_code || t.is_empty() {
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            comment.push(c.trim().to_string());
        } else {
            out.push(LessonCommand {
                comment: comment.join(" "),
                command: t.to_string(),
            });
            comment.clear();
        }
    }
    out
}

/// `(before, the section with its heading, after)`, when the debrief has the section.
fn split_commands_section(debrief: &str) -> Option<(&str, &str, &str)> {
    let start = debrief
        .match_indices(COMMANDS_HEADING)
        .find(|(i, _)| *i == 0 || debrief[..*i].ends_with('\n'))
        .map(|(i, _)| i)?;
    let body_from = start + COMMANDS_HEADING.len();
    let end = debrief[body_from..]
        .match_indices("\n## ")
        .next()
        .map_or(debrief.len(), |(i, _)| body_from + i + 1);
    Some((&debrief[..start], &debrief[start..end], &debrief[end..]))
}

/// Subcommands kubectl spells in two words.
const TWO_WORD: [&str; 6] = ["set", "rollout", "create", "config", "auth", "top"];

/// Flags whose value is the next word.
const VALUE_FLAGS: [&str; 10] = [
    "-n",
    "--namespace",
    "-o",
    "--output",
    "-f",
    "--filename",
    "-c",
    "--container",
    "-l",
    "--selector",
];

/// What a command does, for matching the lesson's list with the learner's commands:
/// `kubectl describe pod web -n kq-x` → `describe pod web`; `kubectl logs web --previous` →
/// `logs web --previous`; `kubectl set image pod/web web=nginx:1.27` → `set image`;
/// `kubectl apply -f web.yaml` and the editor's Apply → `apply`.
fn command_key(text: &str) -> String {
    if text.starts_with("Apply in the editor") || text.starts_with("Delete and re-apply") {
        return "apply".into();
    }
    if text.starts_with("Delete in the editor") {
        return "delete".into();
    }
    if text.starts_with(crate::activity::RUN_IN_CONTAINER) {
        return "exec".into();
    }
    let mut words = text.split_whitespace();
    if words.next() != Some("kubectl") {
        return text.to_string();
    }
    let mut out: Vec<String> = Vec::new();
    let mut skip = false;
    let mut targets = true;
    for w in words {
        if skip {
            skip = false;
            continue;
        }
        if w == "--" {
            break;
        }
        if w.starts_with('-') {
            if w == "--previous" || w == "-p" {
                out.push("--previous".into());
            } else if VALUE_FLAGS.contains(&w) {
                skip = true;
            }
            continue;
        }
        if w.contains('=') {
            continue;
        }
        if out.is_empty() {
            targets = matches!(w, "get" | "describe" | "logs" | "delete" | "exec" | "top");
            out.push(w.into());
            continue;
        }
        if out.len() == 1 && TWO_WORD.contains(&out[0].as_str()) {
            out.push(w.into());
            continue;
        }
        if targets {
            // `pod/web` and `pod web` are the same target; `pods` and `pod` the same kind.
            for part in w.split('/') {
                let p = if part == "pods" { "pod" } else { part };
                out.push(p.to_string());
            }
        }
    }
    out.join(" ")
}

fn group_title(g: CommandGroup) -> &'static str {
    match g {
        CommandGroup::Looked => "Looked",
        CommandGroup::Changed => "Changed",
        CommandGroup::Verified => "Verified",
    }
}

fn count_commands(commands: &[LearnerCommand]) -> Vec<CommandCount> {
    let mut out: Vec<CommandCount> = Vec::new();
    for c in commands {
        match out
            .iter_mut()
            .find(|o| o.text == c.text && o.group == c.group)
        {
            Some(o) => {
                o.count += 1;
                o.failed += u32::from(!c.ok);
            }
            None => out.push(CommandCount {
                text: c.text.clone(),
                group: c.group,
                count: 1,
                failed: u32::from(!c.ok),
            }),
        }
    }
    out
}

fn commands_markdown(commands: &[CommandCount], worth: &[LessonCommand]) -> String {
    let mut s = format!("{COMMANDS_HEADING}\n\n");
    if commands.is_empty() {
        s.push_str(
            "No kubectl command of yours reached the cluster in this attempt (the app's own \
             views do not count).\n\n",
        );
    } else {
        s.push_str("The commands you ran in this mission, in the order of the fix:\n\n```bash\n");
        for g in [
            CommandGroup::Looked,
            CommandGroup::Changed,
            CommandGroup::Verified,
        ] {
            let of: Vec<&CommandCount> = commands.iter().filter(|c| c.group == g).collect();
            if of.is_empty() {
                continue;
            }
            s.push_str(&format!("# {}\n", group_title(g)));
            for c in of {
                s.push_str(&c.text);
                if c.count > 1 {
                    s.push_str(&format!("   # ×{}", c.count));
                }
                if c.failed > 0 {
                    s.push_str(&format!("   # refused {}×", c.failed));
                }
                s.push('\n');
            }
        }
        s.push_str("```\n\n");
    }
    if !worth.is_empty() {
        s.push_str("### Worth knowing next time\n\n```bash\n");
        for w in worth {
            if !w.comment.is_empty() {
                s.push_str(&format!("# {}\n", w.comment));
            }
            s.push_str(&w.command);
            s.push('\n');
        }
        s.push_str("```\n\n");
    }
    s
}

impl PersonalDebrief {
    /// The debrief of a solve. See the module docs.
    pub fn build(input: DebriefInput<'_>) -> PersonalDebrief {
        let mission = input.mission;
        let namespace = mission.namespace();
        let commands = learner_commands(input.entries, &namespace);
        let counted = count_commands(&commands);

        let mut changes = Vec::new();
        for m in mission.manifests.iter().filter(|m| !m.is_cluster_scoped()) {
            let key = (m.kind.clone(), m.name.clone());
            let Some(after) = input.at_solve.get(&key) else {
                continue;
            };
            let before = input.first_seen.get(&key).unwrap_or(&m.object);
            changes.push(object_change(&m.kind, &m.name, &m.object, before, after));
        }
        let matches_reference = !mission.solution.is_empty()
            && mission.solution.iter().all(|s| {
                input
                    .at_solve
                    .get(&(s.kind.clone(), s.name.clone()))
                    .is_some_and(|have| {
                        // Only what a learner writes: not the name's metadata the server adds.
                        let want = serde_json::json!({"spec": s.object.get("spec")});
                        holds(&want, have)
                    })
            });

        let used: std::collections::BTreeSet<String> =
            commands.iter().map(|c| command_key(&c.text)).collect();
        let listed = lesson_commands(&mission.debrief);
        let worth: Vec<LessonCommand> = listed
            .into_iter()
            .filter(|l| !used.contains(&command_key(&l.command)))
            .collect();
        let section = commands_markdown(&counted, &worth);
        let lesson_markdown = match split_commands_section(&mission.debrief) {
            Some((before, _, after)) => format!("{before}{section}{after}"),
            None => format!("{}\n\n{section}", mission.debrief.trim_end()),
        };
        let elapsed = input.solved_ms.saturating_sub(input.started_ms).max(0) / 1000;
        PersonalDebrief {
            mission_id: mission.summary.id.clone(),
            title: mission.summary.title.clone(),
            broken: input.broken.to_vec(),
            changes,
            commands: counted,
            time_to_fix_seconds: u64::try_from(elapsed).unwrap_or(0),
            hints_used: input.hints_used,
            hints_total: u32::try_from(mission.hints.len()).unwrap_or(u32::MAX),
            matches_reference,
            objectives: mission.objectives.iter().map(|o| o.title.clone()).collect(),
            worth_knowing: worth,
            lesson_markdown,
        }
    }

    /// The time to fix as people say it (`2 min 5 s`, `40 s`).
    pub fn time_to_fix(&self) -> String {
        let s = self.time_to_fix_seconds;
        match (s / 3600, (s % 3600) / 60, s % 60) {
            (0, 0, s) => format!("{s} s"),
            (0, m, 0) => format!("{m} min"),
            (0, m, s) => format!("{m} min {s} s"),
            (h, m, _) => format!("{h} h {m} min"),
        }
    }

    /// The sentence on why the learner's fix and the reference one both work, when they
    /// differ.
    pub fn why_both_work(&self) -> Option<String> {
        if self.matches_reference {
            return None;
        }
        Some(format!(
            "Your objects differ from the reference fix below, and both work: the mission checks \
             outcomes, not one particular fix. What was checked: {}.",
            self.objectives.join("; ")
        ))
    }

    /// The personal part alone, as Markdown.
    pub fn personal_markdown(&self) -> String {
        let mut s = format!("# Your debrief: {}\n\n", self.title);
        s.push_str("## What was broken\n\n");
        if self.broken.is_empty() {
            s.push_str("The session did not see a pod stuck before the fix.\n\n");
        }
        for b in &self.broken {
            let title = b.title.trim_end();
            let stop = if title.ends_with(['.', '!', '?']) {
                ""
            } else {
                "."
            };
            s.push_str(&format!(
                "- `{}` was stuck at the *{}* stage: `{}`. {title}{stop}\n",
                b.pod, b.stage, b.reason
            ));
        }
        s.push_str("\n## What you changed\n\n");
        let changed: Vec<&ObjectChange> = self
            .changes
            .iter()
            .filter(|c| c.outcome != ChangeOutcome::Unchanged)
            .collect();
        if changed.is_empty() {
            s.push_str("The mission's objects are as they were created.\n\n");
        }
        for c in changed {
            let how = match c.outcome {
                ChangeOutcome::Replaced => "replaced (deleted and created again)",
                _ => "changed in place",
            };
            s.push_str(&format!("{} `{}`, {how}:\n\n", c.kind, c.name));
            s.push_str(&format!("```diff\n{}```\n\n", c.diff));
        }
        s.push_str("## Your commands\n\n");
        if self.commands.is_empty() {
            s.push_str("None reached the cluster.\n\n");
        }
        for g in [
            CommandGroup::Looked,
            CommandGroup::Changed,
            CommandGroup::Verified,
        ] {
            let of: Vec<&CommandCount> = self.commands.iter().filter(|c| c.group == g).collect();
            if of.is_empty() {
                continue;
            }
            s.push_str(&format!("**{}**\n\n", group_title(g)));
            for c in of {
                let times = if c.count > 1 {
                    format!(" ×{}", c.count)
                } else {
                    String::new()
                };
                let refused = match c.failed {
                    0 => String::new(),
                    n if n == c.count => " (refused)".to_string(),
                    n => format!(" ({n} refused)"),
                };
                s.push_str(&format!("- `{}`{times}{refused}\n", c.text));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "Time to fix: {}. Hints used: {} of {}.\n\n",
            self.time_to_fix(),
            self.hints_used,
            self.hints_total
        ));
        if let Some(why) = self.why_both_work() {
            s.push_str(&why);
            s.push_str("\n\n");
        }
        s
    }

    /// The whole debrief, personal part first, then the lesson's, as Markdown (for a terminal).
    pub fn to_markdown(&self) -> String {
        format!(
            "{}---\n\n{}",
            self.personal_markdown(),
            self.lesson_markdown.trim_start()
        )
    }

    /// The personal part as safe HTML.
    pub fn personal_html(&self) -> String {
        render_markdown(&self.personal_markdown())
    }

    /// The lesson's part (its commands section replaced) as safe HTML.
    pub fn lesson_html(&self) -> String {
        render_markdown(&self.lesson_markdown)
    }

    /// The whole debrief as safe HTML.
    pub fn to_html(&self) -> String {
        render_markdown(&self.to_markdown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_shows_what_changed_and_not_what_the_server_filled_in() {
        let written = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "web", "image": "nginx:bad"}]}});
        let live = |image: &str, uid: &str, rv: &str| {
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web", "uid": uid, "resourceVersion": rv,
                    "creationTimestamp": "2026-01-01T00:00:00Z"},
                "spec": {"nodeName": "node-1", "restartPolicy": "Always",
                    "volumes": [{"name": "kube-api-access-abcde", "projected": {}}],
                    "containers": [{"name": "web", "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": "/x"}]}]},
                "status": {"phase": "Pending"}})
        };
        let c = object_change(
            "Pod",
            "web",
            &written,
            &live("nginx:bad", "u1", "1"),
            &live("nginx:1.27", "u1", "9"),
        );
        assert_eq!(c.outcome, ChangeOutcome::Changed);
        let minus: Vec<&str> = c.diff.lines().filter(|l| l.starts_with('-')).collect();
        let plus: Vec<&str> = c.diff.lines().filter(|l| l.starts_with('+')).collect();
        assert_eq!(minus, ["--- broken", "-  - image: nginx:bad"], "{}", c.diff);
        assert_eq!(plus, ["+++ yours", "+  - image: nginx:1.27"], "{}", c.diff);
        for hidden in [
            "uid",
            "resourceVersion",
            "nodeName",
            "kube-api-access",
            "Pending",
            "restartPolicy",
        ] {
            assert!(!c.diff.contains(hidden), "{hidden} in {}", c.diff);
        }

        let replaced = object_change(
            "Pod",
            "web",
            &written,
            &live("nginx:bad", "u1", "1"),
            &live("nginx:bad", "u2", "5"),
        );
        assert_eq!(replaced.outcome, ChangeOutcome::Replaced);
        assert_eq!(replaced.diff, "");
    }

    #[test]
    fn commands_match_the_lesson_s_whatever_the_flags() {
        for (a, b) in [
            (
                "kubectl describe pod web -n kq-x",
                "kubectl describe pod web",
            ),
            ("kubectl get pods -n kq-x", "kubectl get pods"),
            (
                "kubectl logs greeter -n kq-x --previous",
                "kubectl logs greeter --previous",
            ),
            (
                "kubectl set image pod/web web=nginx:1.27 -n kq-x",
                "kubectl set image pod/web",
            ),
            (
                "kubectl apply -f greeter.yaml -n kq-x",
                "Apply in the editor (pod/greeter)",
            ),
            (
                "kubectl delete pod greeter -n kq-x",
                "kubectl delete pod greeter",
            ),
        ] {
            assert_eq!(command_key(a), command_key(b), "{a} / {b}");
        }
        assert_ne!(
            command_key("kubectl logs greeter --previous"),
            command_key("kubectl logs greeter")
        );
        assert_ne!(
            command_key("kubectl get pods"),
            command_key("kubectl get pod web -o yaml")
        );
    }

    #[test]
    fn the_lesson_s_commands_section_is_read_and_replaced() {
        let debrief = "# D\n\n## What happened\n\nx\n\n## Commands you mastered\n\n```bash\n# See it\n# twice\nkubectl get pods -n ns\n\nkubectl describe pod web -n ns\n```\n\n## Prevention\n\ny\n";
        let listed = lesson_commands(debrief);
        assert_eq!(
            listed,
            [
                LessonCommand {
                    comment: "See it twice".into(),
                    command: "kubectl get pods -n ns".into()
                },
                LessonCommand {
                    comment: String::new(),
                    command: "kubectl describe pod web -n ns".into()
                }
            ]
        );
        let (before, section, after) = split_commands_section(debrief).expect("found");
        assert!(before.ends_with("x\n\n"));
        assert!(section.starts_with(COMMANDS_HEADING) && !section.contains("Prevention"));
        assert_eq!(after, "## Prevention\n\ny\n");
    }
}
