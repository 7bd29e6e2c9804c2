//! What the learner did, read from the cluster's audit log ([`kq_kube::audit`]).
//!
//! The embedded API server records every request it answers; the engine turns the learner's
//! entries into [`LearnerCommand`]s, one per kubectl invocation: kubectl sends the same
//! `Kubectl-Session` header with every request of one run (a `describe` is a get and an events
//! list, a `get -w` a list and a watch), so the entries of one run become one command, named
//! from its `Kubectl-Command` header and the request that mattered (`kubectl logs web
//! --previous`, `kubectl describe pod web`, `kubectl set image pod/web`).
//!
//! The app's own traffic (its watches, reads and probes, sent with [`app_user_agent`]) is left
//! out. What the app did for the learner is kept: the editor's Apply and Delete and "Run in
//! container" are recorded by the engine itself ([`apply_in_editor`], [`record_run_in_container`])
//! with the user agent [`EDITOR_USER_AGENT`], so on a real cluster, where no server log can be
//! read, the log still holds the learner's actions in the app.
//!
//! Each command is grouped: **changed** when it changed something (a successful, non-dry-run
//! write), **verified** when it only read after the learner's last successful change, and
//! **looked** otherwise.

use std::collections::BTreeMap;

pub use kq_kube::audit::{AuditEntry, AuditLog};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ipc::ActionResult;

/// The user agent of the app's own kube client (`kubequest/0.1.0`): its requests are not the
/// learner's.
pub fn app_user_agent() -> String {
    format!("{APP_USER_AGENT_PREFIX}{}", env!("CARGO_PKG_VERSION"))
}

/// What [`app_user_agent`] starts with.
pub const APP_USER_AGENT_PREFIX: &str = "kubequest/";

/// The user agent of the entries the engine records for the editor's actions.
pub const EDITOR_USER_AGENT: &str = "kubequest-editor";

/// How a command counts in the debrief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum CommandGroup {
    /// A read before the learner's last successful change (or with no change at all).
    Looked,
    /// Changed something in the cluster.
    Changed,
    /// A read after the learner's last successful change.
    Verified,
}

/// One thing the learner did: a kubectl invocation or an action in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LearnerCommand {
    /// `kubectl logs greeter --previous`, `kubectl describe pod greeter`,
    /// `kubectl set image pod/web`, `Apply in the editor (pod/web)`.
    pub text: String,
    pub group: CommandGroup,
    /// When it was answered (its first request), on the cluster's clock, in ms since the epoch.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// Whether the server accepted it.
    pub ok: bool,
}

/// An action the app performs for the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorAction {
    Apply,
    Delete,
    /// "Delete and re-apply".
    Reapply,
}

impl EditorAction {
    fn text(self) -> &'static str {
        match self {
            EditorAction::Apply => "Apply in the editor",
            EditorAction::Delete => "Delete in the editor",
            EditorAction::Reapply => "Delete and re-apply in the editor",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            // The editor's Apply is a server-side apply: a patch.
            EditorAction::Apply | EditorAction::Reapply => "patch",
            EditorAction::Delete => "delete",
        }
    }
}

/// The command text of "Run in container".
pub const RUN_IN_CONTAINER: &str = "Run in container";

/// The plural resource of a kind, as the API names it (`Pod` → `pods`, `Ingress` →
/// `ingresses`, `NetworkPolicy` → `networkpolicies`, `Endpoints` → `endpoints`).
pub fn resource_of_kind(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if k.ends_with("endpoints") {
        k
    } else if let Some(stem) = k.strip_suffix('y')
        && !k.ends_with("ay")
    {
        format!("{stem}ies")
    } else if k.ends_with('s') || k.ends_with('x') {
        format!("{k}es")
    } else {
        format!("{k}s")
    }
}

/// The singular kubectl uses in `kubectl describe pod web` (`pods` → `pod`).
fn singular(resource: &str) -> String {
    if resource == "endpoints" {
        return resource.to_string();
    }
    if let Some(stem) = resource.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes"] {
        if resource.ends_with(suffix) {
            return resource[..resource.len() - 2].to_string();
        }
    }
    if resource.ends_with("ingresses") {
        return resource[..resource.len() - 2].to_string();
    }
    resource.strip_suffix('s').unwrap_or(resource).to_string()
}

/// Records one editor action on `namespace` in `log`, one entry per object of the edited text
/// (or one for the file when nothing in it could be read), all under one session.
pub fn record_editor_action(
    log: &AuditLog,
    at_ms: i64,
    action: EditorAction,
    namespace: &str,
    file_name: &str,
    yaml: &str,
    result: &ActionResult,
) {
    let session = uuid::Uuid::new_v4().to_string();
    let objects: Vec<(String, String)> = crate::session::apply::parse_edited_yaml(namespace, yaml)
        .map(|objs| {
            objs.into_iter()
                .map(|o| (resource_of_kind(&o.kind), o.name))
                .collect()
        })
        .unwrap_or_default();
    let code = if result.ok { 200 } else { 422 };
    let entry = |resource: String, name: String| AuditEntry {
        seq: 0,
        at_ms,
        user: String::new(),
        user_agent: EDITOR_USER_AGENT.into(),
        command: Some(action.text().into()),
        session: Some(session.clone()),
        verb: action.verb().into(),
        group: String::new(),
        resource,
        subresource: None,
        namespace: Some(namespace.to_string()),
        name: Some(name),
        path: String::new(),
        query: format!("fieldManager={EDITOR_USER_AGENT}"),
        code,
        dry_run: false,
    };
    if objects.is_empty() {
        log.record(entry(String::new(), file_name.to_string()));
    }
    for (resource, name) in objects {
        log.record(entry(resource, name));
    }
}

/// Answers editor action `run` and records it in `log` at `now_ms()` once answered.
async fn run_in_editor(
    log: &AuditLog,
    now_ms: impl Fn() -> i64,
    action: EditorAction,
    namespace: &str,
    file_name: &str,
    yaml: &str,
    run: impl std::future::Future<Output = ActionResult>,
) -> ActionResult {
    let r = run.await;
    record_editor_action(log, now_ms(), action, namespace, file_name, yaml, &r);
    r
}

/// The editor's Apply ([`crate::session::apply_yaml`]), recorded in `log` at `now_ms()` once
/// answered.
pub async fn apply_in_editor(
    client: &kube::Client,
    log: &AuditLog,
    now_ms: impl Fn() -> i64,
    namespace: &str,
    file_name: &str,
    yaml: &str,
) -> ActionResult {
    let run = crate::session::apply_yaml(client, namespace, file_name, yaml);
    run_in_editor(
        log,
        now_ms,
        EditorAction::Apply,
        namespace,
        file_name,
        yaml,
        run,
    )
    .await
}

/// The editor's Delete ([`crate::session::delete_yaml`]), recorded in `log`.
pub async fn delete_in_editor(
    client: &kube::Client,
    log: &AuditLog,
    now_ms: impl Fn() -> i64,
    namespace: &str,
    file_name: &str,
    yaml: &str,
) -> ActionResult {
    let run = crate::session::delete_yaml(client, namespace, file_name, yaml);
    run_in_editor(
        log,
        now_ms,
        EditorAction::Delete,
        namespace,
        file_name,
        yaml,
        run,
    )
    .await
}

/// The editor's "Delete and re-apply" ([`crate::session::apply::reapply_yaml`]), recorded in
/// `log`.
pub async fn reapply_in_editor(
    client: &kube::Client,
    log: &AuditLog,
    now_ms: impl Fn() -> i64,
    namespace: &str,
    file_name: &str,
    yaml: &str,
    wait: std::time::Duration,
) -> ActionResult {
    let run = crate::session::apply::reapply_yaml(client, namespace, file_name, yaml, wait);
    run_in_editor(
        log,
        now_ms,
        EditorAction::Reapply,
        namespace,
        file_name,
        yaml,
        run,
    )
    .await
}

/// Records "Run in container" (`argv` in `pod`), answered `ok` or not.
pub fn record_run_in_container(
    log: &AuditLog,
    at_ms: i64,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    argv: &[String],
    ok: bool,
) {
    let mut query: Vec<String> = container
        .map(|c| format!("container={c}"))
        .into_iter()
        .collect();
    query.extend(argv.iter().map(|a| format!("command={a}")));
    log.record(AuditEntry {
        seq: 0,
        at_ms,
        user: String::new(),
        user_agent: EDITOR_USER_AGENT.into(),
        command: Some(RUN_IN_CONTAINER.into()),
        session: Some(uuid::Uuid::new_v4().to_string()),
        verb: "create".into(),
        group: String::new(),
        resource: "pods".into(),
        subresource: Some("exec".into()),
        namespace: Some(namespace.to_string()),
        name: Some(pod.to_string()),
        path: String::new(),
        query: query.join("&"),
        code: if ok { 200 } else { 400 },
        dry_run: false,
    });
}

/// Subresources that read or talk to a container: using them changes no object.
const READ_SUBRESOURCES: [&str; 5] = ["log", "exec", "attach", "portforward", "proxy"];

/// Whether `e` changed an object (a write that succeeded, not a dry run, not an exec).
fn is_change(e: &AuditEntry) -> bool {
    e.is_write()
        && !e
            .subresource
            .as_deref()
            .is_some_and(|s| READ_SUBRESOURCES.contains(&s))
}

fn is_app_traffic(e: &AuditEntry) -> bool {
    e.user_agent.starts_with(APP_USER_AGENT_PREFIX)
}

/// Whether `e` concerns the mission: a request in `namespace`, or a read of something that
/// belongs to no namespace (nodes) or of every namespace.
fn concerns(e: &AuditEntry, namespace: &str) -> bool {
    match e.namespace.as_deref() {
        Some(ns) => ns == namespace,
        None => !e.resource.is_empty() && matches!(e.verb.as_str(), "get" | "list" | "watch"),
    }
}

/// The request of a run that names it: its last change, else its last request to a
/// subresource (`log`, `exec`), else its first request for a resource other than events,
/// else its first request for anything.
fn main_entry(entries: &[&AuditEntry]) -> usize {
    if let Some(i) = entries.iter().rposition(|e| is_change(e)) {
        return i;
    }
    if let Some(i) = entries.iter().rposition(|e| e.subresource.is_some()) {
        return i;
    }
    entries
        .iter()
        .position(|e| !e.resource.is_empty() && e.resource != "events")
        .or_else(|| entries.iter().position(|e| !e.resource.is_empty()))
        .unwrap_or(0)
}

/// The text of one run: the command header, then what it was about as the learner typed it.
fn command_text(command: &str, entries: &[&AuditEntry], main: &AuditEntry) -> String {
    if main.user_agent == EDITOR_USER_AGENT {
        if main.subresource.as_deref() == Some("exec") {
            let argv: Vec<String> = main.query_values("command").collect();
            let pod = main.name.as_deref().unwrap_or_default();
            return format!("{command}: {pod}: {}", argv.join(" "));
        }
        let objects: Vec<String> = entries
            .iter()
            .filter(|e| !e.resource.is_empty())
            .filter_map(|e| Some(format!("{}/{}", singular(&e.resource), e.name.as_deref()?)))
            .collect();
        return if objects.is_empty() {
            command.to_string()
        } else {
            format!("{command} ({})", objects.join(", "))
        };
    }
    let name = main.name.as_deref();
    let kind = singular(&main.resource);
    let watched = entries.iter().any(|e| e.verb == "watch");
    let verb = command.strip_prefix("kubectl ").unwrap_or(command);
    let mut text = command.to_string();
    match (verb, name) {
        ("logs", Some(pod)) => {
            // kubectl always names the container (the default one when the learner did not),
            // so `container=` cannot tell what was typed: it is left out.
            text.push_str(&format!(" {pod}"));
            if main.query_param("previous").as_deref() == Some("true") {
                text.push_str(" --previous");
            }
            if main.query_param("follow").as_deref() == Some("true") {
                text.push_str(" -f");
            }
        }
        ("exec", Some(pod)) => {
            let argv: Vec<String> = main.query_values("command").collect();
            text.push_str(&format!(" {pod}"));
            if !argv.is_empty() {
                text.push_str(&format!(" -- {}", argv.join(" ")));
            }
        }
        ("get" | "describe" | "delete" | "edit", Some(name)) => {
            text.push_str(&format!(" {kind} {name}"));
        }
        ("get" | "describe" | "delete", None) if !main.resource.is_empty() => {
            text.push_str(&format!(" {}", main.resource));
        }
        (_, Some(name)) => text.push_str(&format!(" {kind}/{name}")),
        (_, None) if !main.resource.is_empty() => {
            text.push_str(&format!(" {}", main.resource));
        }
        _ => {}
    }
    if verb == "get" && watched {
        text.push_str(" -w");
    }
    text
}

/// The learner's commands about `namespace`, oldest first: one per kubectl run (or action in
/// the app), the app's own traffic left out. See the module docs.
pub fn learner_commands(entries: &[AuditEntry], namespace: &str) -> Vec<LearnerCommand> {
    // Runs in order of their first request; a request without kubectl's session header is a
    // run of its own.
    let mut runs: Vec<Vec<&AuditEntry>> = Vec::new();
    let mut by_session: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for e in entries.iter().filter(|e| !is_app_traffic(e)) {
        match (e.session.as_deref(), e.command.as_deref()) {
            (Some(session), Some(command)) => {
                let key = (session, command);
                match by_session.get(&key) {
                    Some(&i) => runs[i].push(e),
                    None => {
                        by_session.insert(key, runs.len());
                        runs.push(vec![e]);
                    }
                }
            }
            _ => runs.push(vec![e]),
        }
    }
    let mut commands: Vec<(LearnerCommand, bool)> = runs
        .into_iter()
        .filter(|run| {
            run.iter()
                .any(|e| concerns(e, namespace) && !e.resource.is_empty())
        })
        .map(|run| {
            let relevant: Vec<&AuditEntry> = run
                .iter()
                .copied()
                .filter(|e| concerns(e, namespace) && !e.resource.is_empty())
                .collect();
            let main = relevant[main_entry(&relevant)];
            let text = match main.command.as_deref() {
                Some(command) => command_text(command, &relevant, main),
                // Another client (curl, a script): the request itself.
                None => format!(
                    "{} {}{}",
                    main.verb,
                    main.resource,
                    main.name
                        .as_deref()
                        .map(|n| format!("/{n}"))
                        .unwrap_or_default()
                ),
            };
            let changed = relevant.iter().any(|e| is_change(e));
            let command = LearnerCommand {
                text,
                group: if changed {
                    CommandGroup::Changed
                } else {
                    CommandGroup::Looked
                },
                at_ms: run[0].at_ms,
                ok: (200..300).contains(&main.code),
            };
            (command, changed)
        })
        .collect();
    commands.sort_by_key(|(c, _)| c.at_ms);
    if let Some(last_change) = commands.iter().rposition(|(_, changed)| *changed) {
        for (c, _) in &mut commands[last_change + 1..] {
            c.group = CommandGroup::Verified;
        }
    }
    commands.into_iter().map(|(c, _)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubectl(
        session: &str,
        command: &str,
        verb: &str,
        resource: &str,
        name: Option<&str>,
        at_ms: i64,
    ) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at_ms,
            user: "kubernetes-admin".into(),
            user_agent: "kubectl/v1.33.0 (linux/amd64) kubernetes/abc".into(),
            command: Some(command.into()),
            session: Some(session.into()),
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: None,
            namespace: Some("kq-m".into()),
            name: name.map(Into::into),
            path: String::new(),
            query: String::new(),
            code: 200,
            dry_run: false,
        }
    }

    #[test]
    fn one_command_per_kubectl_run_named_as_the_learner_typed_it_and_grouped() {
        let mut logs = kubectl("s2", "kubectl logs", "get", "pods", Some("web"), 20);
        logs.subresource = Some("log".into());
        logs.query = "container=web&previous=true".into();
        let mut app = kubectl("x", "x", "watch", "pods", None, 21);
        app.user_agent = app_user_agent();
        app.command = None;
        app.session = None;
        let mut other_ns = kubectl("s9", "kubectl get", "list", "pods", None, 22);
        other_ns.namespace = Some("default".into());
        let mut nodes = kubectl("s8", "kubectl describe", "get", "nodes", Some("n1"), 23);
        nodes.namespace = None;
        let entries = vec![
            kubectl("s1", "kubectl describe", "get", "pods", Some("web"), 10),
            kubectl("s1", "kubectl describe", "list", "events", None, 11),
            logs,
            app,
            other_ns,
            nodes,
            kubectl("s3", "kubectl set image", "get", "pods", Some("web"), 30),
            kubectl("s3", "kubectl set image", "patch", "pods", Some("web"), 31),
            kubectl("s4", "kubectl get", "list", "pods", None, 40),
            kubectl("s4", "kubectl get", "watch", "pods", None, 41),
        ];
        let got = learner_commands(&entries, "kq-m");
        let texts: Vec<(&str, CommandGroup)> =
            got.iter().map(|c| (c.text.as_str(), c.group)).collect();
        assert_eq!(
            texts,
            [
                ("kubectl describe pod web", CommandGroup::Looked),
                ("kubectl logs web --previous", CommandGroup::Looked),
                ("kubectl describe node n1", CommandGroup::Looked),
                ("kubectl set image pod/web", CommandGroup::Changed),
                ("kubectl get pods -w", CommandGroup::Verified),
            ]
        );
        assert_eq!(got[0].at_ms, 10);
        assert!(got.iter().all(|c| c.ok));
    }

    #[test]
    fn a_refused_or_dry_run_write_changes_nothing_and_is_not_ok() {
        let mut refused = kubectl("s1", "kubectl set image", "patch", "pods", Some("web"), 1);
        refused.code = 422;
        let mut dry = kubectl("s2", "kubectl delete", "delete", "pods", Some("web"), 2);
        dry.dry_run = true;
        let got = learner_commands(&[refused, dry], "kq-m");
        assert_eq!(got[0].group, CommandGroup::Looked);
        assert!(!got[0].ok);
        assert_eq!(got[1].text, "kubectl delete pod web");
        assert_eq!(got[1].group, CommandGroup::Looked);
    }

    #[test]
    fn the_editor_s_actions_are_the_learner_s() {
        let log = AuditLog::default();
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n";
        let ok = ActionResult {
            ok: true,
            command: "kubectl apply -n kq-m -f pod.yaml".into(),
            output: "pod/web configured".into(),
            diagnostics: Vec::new(),
            immutable: None,
        };
        record_editor_action(&log, 5, EditorAction::Apply, "kq-m", "pod.yaml", yaml, &ok);
        record_run_in_container(
            &log,
            6,
            "kq-m",
            "web",
            None,
            &["cat".into(), "/etc/x".into()],
            true,
        );
        let got = learner_commands(&log.since(0).entries, "kq-m");
        assert_eq!(got[0].text, "Apply in the editor (pod/web)");
        assert_eq!(got[0].group, CommandGroup::Changed);
        assert_eq!(got[1].text, "Run in container: web: cat /etc/x");
        assert_eq!(got[1].group, CommandGroup::Verified);
    }

    #[test]
    fn kinds_become_resources_and_back() {
        for (kind, resource) in [
            ("Pod", "pods"),
            ("ConfigMap", "configmaps"),
            ("Ingress", "ingresses"),
            ("NetworkPolicy", "networkpolicies"),
            ("Endpoints", "endpoints"),
        ] {
            assert_eq!(resource_of_kind(kind), resource);
            assert_eq!(singular(resource), kind.to_ascii_lowercase());
        }
    }
}
