//! Reacting hints: what the app says between the hint ladder's rungs, from what the learner has
//! and has not looked at yet.
//!
//! A mission's `reactions:` (in `mission.md`) are rules in a small typed vocabulary of
//! investigations ([`InvestigationKind`]): listed the pods, described the pod, read its events,
//! read its logs, read the previous container's logs, fetched its YAML, looked at the nodes,
//! changed the pod. Each may name a pod. A rule says what to tell the learner when everything
//! in its `done` list has been done, nothing in its `not_done` list has, and the number of
//! revealed hints is within its bounds:
//!
//! ```yaml
//! reactions:
//!   - id: events-next
//!     done: [get-pods]
//!     not_done: [{ events: web }]
//!     say: "You have looked at the pod but not at its events: `kubectl describe pod web` lists
//!       them at the bottom."
//!   - id: previous-logs
//!     done: [{ events: web }]
//!     not_done: [{ previous-logs: web }]
//!     max_hints: 1
//!     say: "The previous container's logs would tell you why it stopped."
//! ```
//!
//! What the learner did is read from the cluster's audit log ([`kq_kube::audit`]): each entry in
//! the mission namespace (or cluster-wide, for nodes and `-A` lists) is matched against the
//! vocabulary by [`Investigated::record`]. Reads count when a client of the learner's made them
//! (kubectl, the app's terminal, any other tool), not KubeQuest's own watches (their user agent
//! is [`crate::activity::app_user_agent`]); changes count from anywhere, the app's editor
//! included.
//! Only successful requests count (a `kubectl logs` that answered 404 showed nothing), and a
//! logs request answered 400: that is the server saying the container is waiting to start,
//! which the learner did read.
//!
//! Parsing reports every problem at its line, as the objectives' checks do: an unknown
//! investigation (with the closest known one), an empty text, a duplicate id, a pod named where
//! none can be, a rule that can never apply. Whether a named pod is one the manifests create is
//! checked by `kq lessons check` ([`super::check`]).

use std::collections::{BTreeMap, BTreeSet};

use kq_kube::audit::AuditEntry;
use serde::Serialize;
use serde_yaml_ng::Value;
use ts_rs::TS;

use super::format::{YamlProblem, line_of_key};

/// One thing a learner can do to investigate (or to fix), as a rule names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum InvestigationKind {
    /// Listed the pods, or fetched one (`kubectl get pods`, `kubectl get pod web`).
    GetPods,
    /// `kubectl describe pod` (the pod, its containers' states and its events).
    DescribePod,
    /// Read the pod's events: `kubectl describe pod`, `kubectl get events`, `kubectl events`.
    Events,
    /// Read the current container's logs (`kubectl logs web`).
    Logs,
    /// Read the previous container's logs (`kubectl logs web --previous`).
    PreviousLogs,
    /// Fetched the pod by name with `kubectl get` or `kubectl edit` (`-o yaml`, `-o jsonpath`;
    /// kubectl sends the same request for the table, so `kubectl get pod web` counts too).
    PodYaml,
    /// Looked at the nodes (`kubectl get nodes`, `kubectl describe nodes`).
    GetNodes,
    /// Changed, created or deleted the pod (the app's editor, `kubectl set image`, `apply`,
    /// `delete`, `edit`); a dry run or a refused change does not count.
    ChangedPod,
}

impl InvestigationKind {
    /// Every investigation, in the order the docs list them.
    pub const ALL: [InvestigationKind; 8] = [
        InvestigationKind::GetPods,
        InvestigationKind::DescribePod,
        InvestigationKind::Events,
        InvestigationKind::Logs,
        InvestigationKind::PreviousLogs,
        InvestigationKind::PodYaml,
        InvestigationKind::GetNodes,
        InvestigationKind::ChangedPod,
    ];

    /// The lesson spelling (`previous-logs`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvestigationKind::GetPods => "get-pods",
            InvestigationKind::DescribePod => "describe-pod",
            InvestigationKind::Events => "events",
            InvestigationKind::Logs => "logs",
            InvestigationKind::PreviousLogs => "previous-logs",
            InvestigationKind::PodYaml => "pod-yaml",
            InvestigationKind::GetNodes => "get-nodes",
            InvestigationKind::ChangedPod => "changed-pod",
        }
    }

    /// The investigation a lesson names, if it is one.
    pub fn parse(name: &str) -> Option<InvestigationKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether a rule may name a pod with it (nodes belong to no namespace).
    pub fn takes_pod(self) -> bool {
        self != InvestigationKind::GetNodes
    }

    /// The kubectl command that does it for `pod` in `namespace` (for the UI's "Investigate:
    /// run …" line).
    pub fn command(self, pod: &str, namespace: &str) -> String {
        match self {
            InvestigationKind::GetPods => format!("kubectl get pods -n {namespace}"),
            InvestigationKind::DescribePod | InvestigationKind::Events => {
                format!("kubectl describe pod {pod} -n {namespace}")
            }
            InvestigationKind::Logs => format!("kubectl logs {pod} -n {namespace}"),
            InvestigationKind::PreviousLogs => {
                format!("kubectl logs {pod} -n {namespace} --previous")
            }
            InvestigationKind::PodYaml => format!("kubectl get pod {pod} -n {namespace} -o yaml"),
            InvestigationKind::GetNodes => "kubectl describe nodes".to_owned(),
            InvestigationKind::ChangedPod => format!("kubectl edit pod {pod} -n {namespace}"),
        }
    }
}

/// One investigation as a rule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Investigation {
    pub kind: InvestigationKind,
    /// The pod it is about; `None`: any pod.
    pub pod: Option<String>,
    /// Its line in the front matter (line 1 = the YAML's first line, the file's second).
    pub line: usize,
}

/// One rule of a mission's `reactions:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// Unique within the mission.
    pub id: String,
    /// Every one of these must have been done.
    pub done: Vec<Investigation>,
    /// None of these may have been done.
    pub not_done: Vec<Investigation>,
    /// At least this many hints revealed.
    pub min_hints: Option<u32>,
    /// At most this many hints revealed.
    pub max_hints: Option<u32>,
    /// What the app says (Markdown), never empty.
    pub say: String,
    /// The line of the rule's first key in the front matter.
    pub line: usize,
}

impl Reaction {
    /// Whether the rule applies to a learner who did `done` and revealed `hints` hints.
    pub fn applies(&self, done: &Investigated, hints: u32) -> bool {
        self.min_hints.is_none_or(|m| hints >= m)
            && self.max_hints.is_none_or(|m| hints <= m)
            && self.done.iter().all(|i| done.has(i.kind, i.pod.as_deref()))
            && !self
                .not_done
                .iter()
                .any(|i| done.has(i.kind, i.pod.as_deref()))
    }
}

/// A reaction that applies now, as the hint ladder shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Nudge {
    /// The rule's id.
    pub id: String,
    /// The text rendered to safe HTML.
    pub html: String,
    /// The text without Markdown marks, for screen readers and terminals.
    pub text: String,
}

/// The reactions that apply now, in the lesson's order.
pub fn nudges(reactions: &[Reaction], done: &Investigated, hints: u32) -> Vec<Nudge> {
    reactions
        .iter()
        .filter(|r| r.applies(done, hints))
        .map(|r| Nudge {
            id: r.id.clone(),
            html: super::render_markdown(&r.say),
            text: r.say.replace('`', ""),
        })
        .collect()
}

/// What the learner has done so far in the mission, read from the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Investigated {
    /// `(kind, Some(pod))` for an investigation of one pod, `(kind, None)` for one that covered
    /// every pod (a list, a namespace's events).
    seen: BTreeSet<(InvestigationKind, Option<String>)>,
}

impl Investigated {
    /// Whether `kind` was done about `pod` (`None`: about any pod).
    pub fn has(&self, kind: InvestigationKind, pod: Option<&str>) -> bool {
        match pod {
            None => self.seen.iter().any(|(k, _)| *k == kind),
            Some(p) => {
                self.seen.contains(&(kind, None)) || self.seen.contains(&(kind, Some(p.to_owned())))
            }
        }
    }

    /// Records what `entry` did in `namespace`; answers whether anything new was learnt.
    pub fn record(&mut self, entry: &AuditEntry, namespace: &str) -> bool {
        let mut changed = false;
        for found in classify(entry, namespace) {
            changed |= self.seen.insert(found);
        }
        changed
    }

    /// Records every entry of a slice of the log.
    pub fn record_all<'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a AuditEntry>,
        namespace: &str,
    ) -> bool {
        let mut changed = false;
        for e in entries {
            changed |= self.record(e, namespace);
        }
        changed
    }
}

/// Whether a read came from a learner's client: kubectl (the app's terminal runs it too) or any
/// other tool, not KubeQuest's own watches and reads (sent as
/// [`crate::activity::app_user_agent`]).
fn from_learner(e: &AuditEntry) -> bool {
    !e.user_agent
        .starts_with(crate::activity::APP_USER_AGENT_PREFIX)
}

/// The object a list's field selector narrows events to (`involvedObject.name=web` for core
/// events, `regarding.name=web` for events.k8s.io), `None` when it does not narrow by name.
fn selected_name(e: &AuditEntry) -> Option<String> {
    let selector = e.query_param("fieldSelector")?;
    selector.split(',').find_map(|term| {
        let (key, value) = term.split_once('=')?;
        let value = value.trim_start_matches('=');
        matches!(key, "involvedObject.name" | "regarding.name").then(|| value.to_owned())
    })
}

/// The investigations one audit entry stands for.
fn classify(e: &AuditEntry, namespace: &str) -> Vec<(InvestigationKind, Option<String>)> {
    use InvestigationKind as K;
    let waiting_logs = e.code == 400 && e.subresource.as_deref() == Some("log");
    if !(200..300).contains(&e.code) && !waiting_logs {
        return Vec::new();
    }
    // Cluster-wide lists (`-A`) see the mission namespace too.
    let here = e.namespace.as_deref().is_none_or(|n| n == namespace);
    let name = e.name.clone();
    let core = e.group.is_empty();
    if e.is_write() {
        let pod_change = here
            && core
            && e.resource == "pods"
            && matches!(e.subresource.as_deref(), None | Some("ephemeralcontainers"));
        return if pod_change {
            vec![(K::ChangedPod, name)]
        } else {
            Vec::new()
        };
    }
    if !matches!(e.verb.as_str(), "get" | "list" | "watch") || !from_learner(e) {
        return Vec::new();
    }
    let command = e.command.as_deref().unwrap_or_default();
    let describing = command.starts_with("kubectl describe");
    let mut out = Vec::new();
    match (core, e.resource.as_str(), e.subresource.as_deref()) {
        (true, "nodes", None) => out.push((K::GetNodes, None)),
        (true, "pods", None) if here => {
            // A get names the pod; a list covers every pod.
            let pod = if e.verb == "get" { name } else { None };
            out.push((K::GetPods, pod.clone()));
            if describing {
                out.push((K::DescribePod, pod));
            } else if e.verb == "get"
                && pod.is_some()
                && (command.is_empty() || command == "kubectl get" || command == "kubectl edit")
            {
                out.push((K::PodYaml, pod));
            }
        }
        (true, "pods", Some("log")) if here && e.verb == "get" => {
            let kind = if e.query_param("previous").as_deref() == Some("true") {
                K::PreviousLogs
            } else {
                K::Logs
            };
            out.push((kind, name));
        }
        (_, "events", None) if here && (core || e.group == "events.k8s.io") && e.verb != "get" => {
            out.push((K::Events, selected_name(e)));
        }
        _ => {}
    }
    out
}

/// The keys a rule may have.
const RULE_KEYS: &[&str] = &["id", "done", "not_done", "min_hints", "max_hints", "say"];

/// The line (in the front matter) of `key:` inside an item whose text starts at `line`.
fn key_line(text: &str, line: usize, key: &str) -> usize {
    line_of_key(text, key).map_or(line, |l| line + l - 1)
}

/// The first line at or after `from` (front-matter lines) whose text mentions `token`.
fn token_line(text: &str, line: usize, from: usize, token: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(line))
        .find(|(_, l)| l.contains(token))
        .map_or(from, |(i, _)| line + i)
}

fn known_investigations() -> String {
    InvestigationKind::ALL
        .iter()
        .map(|k| format!("`{}`", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Types one `done:` / `not_done:` list.
#[allow(clippy::too_many_arguments)]
fn investigations(
    value: &Value,
    field: &str,
    text: &str,
    line: usize,
    problems: &mut Vec<YamlProblem>,
) -> Option<Vec<Investigation>> {
    let at = key_line(text, line, field.rsplit('.').next().unwrap_or(field));
    let Some(items) = value.as_sequence() else {
        problems.push(YamlProblem {
            line: at,
            field: Some(field.to_owned()),
            message: "must be a list of investigations, such as `[get-pods, { events: web }]`"
                .into(),
        });
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (j, item) in items.iter().enumerate() {
        let path = format!("{field}[{j}]");
        let written = match item {
            Value::String(s) => Some((s.clone(), None)),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().expect("one entry");
                k.as_str()
                    .zip(v.as_str())
                    .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
            }
            _ => None,
        };
        let Some((name, pod)) = written else {
            problems.push(YamlProblem {
                line: at,
                field: Some(path),
                message: "write an investigation as `kind` or `{ kind: pod }`".into(),
            });
            ok = false;
            continue;
        };
        let item_line = token_line(text, line, at, &name);
        let Some(kind) = InvestigationKind::parse(&name) else {
            let meant = InvestigationKind::ALL
                .iter()
                .map(|k| k.as_str())
                .min_by_key(|k| strsim::levenshtein(k, &name))
                .filter(|k| strsim::levenshtein(k, &name) <= 3)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            problems.push(YamlProblem {
                line: item_line,
                field: Some(path),
                message: format!(
                    "unknown investigation `{name}`{meant}; the investigations are {}",
                    known_investigations()
                ),
            });
            ok = false;
            continue;
        };
        if pod.is_some() && !kind.takes_pod() {
            problems.push(YamlProblem {
                line: item_line,
                field: Some(path),
                message: format!(
                    "`{name}` names no pod (nodes belong to no namespace): write `{name}`"
                ),
            });
            ok = false;
            continue;
        }
        if pod.as_deref().is_some_and(|p| p.trim().is_empty()) {
            problems.push(YamlProblem {
                line: item_line,
                field: Some(path),
                message: format!("empty pod name: write `{name}` for any pod"),
            });
            ok = false;
            continue;
        }
        out.push(Investigation {
            kind,
            pod,
            line: item_line,
        });
    }
    ok.then_some(out)
}

/// Types the `reactions:` items (each a YAML value, its first line in the front matter and its
/// text; flow-style lists come with an empty text), reporting every problem at its line.
pub(crate) fn typed_reactions(
    items: Vec<(Value, usize, String)>,
    problems: &mut Vec<YamlProblem>,
) -> Option<Vec<Reaction>> {
    let mut out = Vec::new();
    let mut ok = true;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (value, line, text)) in items.into_iter().enumerate() {
        let prefix = format!("reactions[{i}]");
        let mut problem = |line: usize, field: String, message: String| {
            problems.push(YamlProblem {
                line,
                field: Some(field),
                message,
            });
        };
        let Some(map) = value.as_mapping() else {
            problem(
                line,
                prefix,
                "a reaction is a mapping with `id`, `say` and `done` / `not_done` lists".into(),
            );
            ok = false;
            continue;
        };
        let mut item_ok = true;
        for key in map.keys() {
            let key = key.as_str().unwrap_or_default();
            if !RULE_KEYS.contains(&key) {
                let meant = RULE_KEYS
                    .iter()
                    .find(|k| strsim::levenshtein(k, key) <= 2)
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            ", expected one of {}",
                            RULE_KEYS
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                problem(
                    key_line(&text, line, key),
                    format!("{prefix}.{key}"),
                    format!("unknown field `{key}`{meant}"),
                );
                item_ok = false;
            }
        }
        let text_of = |key: &str| map.get(key).map(|v| v.as_str().map(str::to_owned));
        let id = match text_of("id") {
            None => {
                problem(line, format!("{prefix}.id"), "missing field `id`".into());
                None
            }
            Some(None) => {
                problem(
                    key_line(&text, line, "id"),
                    format!("{prefix}.id"),
                    "the id must be text".into(),
                );
                None
            }
            Some(Some(id)) if id.trim().is_empty() => {
                problem(
                    key_line(&text, line, "id"),
                    format!("{prefix}.id"),
                    "empty id".into(),
                );
                None
            }
            Some(Some(id)) => {
                if let Some(first) = ids.get(&id) {
                    problem(
                        key_line(&text, line, "id"),
                        format!("{prefix}.id"),
                        format!(
                            "duplicate reaction id `{id}` (also reactions[{first}]); each rule \
                             needs its own"
                        ),
                    );
                    item_ok = false;
                } else {
                    ids.insert(id.clone(), i);
                }
                Some(id)
            }
        };
        let say = match text_of("say") {
            None => {
                problem(line, format!("{prefix}.say"), "missing field `say`".into());
                None
            }
            Some(Some(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(_) => {
                problem(
                    key_line(&text, line, "say"),
                    format!("{prefix}.say"),
                    "empty text: say what the learner should look at next".into(),
                );
                None
            }
        };
        let mut list = |key: &str| match map.get(key) {
            None => Some(Vec::new()),
            Some(v) => investigations(v, &format!("{prefix}.{key}"), &text, line, problems),
        };
        let done = list("done");
        let not_done = list("not_done");
        let mut bound = |key: &str| match map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => {
                    problems.push(YamlProblem {
                        line: key_line(&text, line, key),
                        field: Some(format!("{prefix}.{key}")),
                        message: "must be a whole number of hints (0 or more)".into(),
                    });
                    Err(())
                }
            },
        };
        let min_hints = bound("min_hints");
        let max_hints = bound("max_hints");
        let (Some(id), Some(say), Some(done), Some(not_done), Ok(min_hints), Ok(max_hints), true) =
            (id, say, done, not_done, min_hints, max_hints, item_ok)
        else {
            ok = false;
            continue;
        };
        if let (Some(lo), Some(hi)) = (min_hints, max_hints)
            && lo > hi
        {
            problems.push(YamlProblem {
                line: key_line(&text, line, "max_hints"),
                field: Some(format!("{prefix}.max_hints")),
                message: format!("min_hints {lo} is more than max_hints {hi}: it can never apply"),
            });
            ok = false;
            continue;
        }
        // A rule that needs an investigation done and not done at once never speaks.
        if let Some(both) = not_done.iter().find(|n| {
            done.iter()
                .any(|d| d.kind == n.kind && (n.pod.is_none() || n.pod == d.pod))
        }) {
            problems.push(YamlProblem {
                line: both.line,
                field: Some(format!("{prefix}.not_done")),
                message: format!(
                    "`{}` is in both `done` and `not_done`: the rule can never apply",
                    both.kind.as_str()
                ),
            });
            ok = false;
            continue;
        }
        out.push(Reaction {
            id,
            done,
            not_done,
            min_hints,
            max_hints,
            say,
            line,
        });
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "kq-crash-loop-backoff";

    fn kubectl(command: &str, verb: &str, resource: &str, name: Option<&str>) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at_ms: 0,
            user: "kubernetes-admin".into(),
            user_agent: "kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd".into(),
            command: Some(command.into()),
            session: Some("s1".into()),
            verb: verb.into(),
            group: String::new(),
            resource: resource.into(),
            subresource: None,
            namespace: Some(NS.into()),
            name: name.map(Into::into),
            path: String::new(),
            query: String::new(),
            code: 200,
            dry_run: false,
        }
    }

    fn logs(previous: bool) -> AuditEntry {
        let mut e = kubectl("kubectl logs", "get", "pods", Some("greeter"));
        e.subresource = Some("log".into());
        e.query = if previous {
            "container=greeter&previous=true".into()
        } else {
            "container=greeter".into()
        };
        e
    }

    fn describe_events() -> AuditEntry {
        let mut e = kubectl("kubectl describe", "list", "events", None);
        e.query = "fieldSelector=involvedObject.name%3Dgreeter%2CinvolvedObject.namespace%3D\
                   kq-crash-loop-backoff%2CinvolvedObject.kind%3DPod"
            .into();
        e
    }

    fn parse(yaml: &str) -> (Option<Vec<Reaction>>, Vec<YamlProblem>) {
        let front = super::super::format::parse_front_matter(yaml);
        let problems = front
            .problems
            .iter()
            .filter(|p| {
                p.field
                    .as_deref()
                    .is_some_and(|f| f.starts_with("reactions"))
            })
            .cloned()
            .collect();
        (front.reactions, problems)
    }

    const RULES: &str = "format: 1
reactions:
  - id: events-next
    done: [get-pods]
    not_done: [{ events: greeter }]
    say: \"You have looked at the pod but not at its events.\"
  - id: previous-logs
    done: [{ events: greeter }]
    not_done:
      - { previous-logs: greeter }
    max_hints: 1
    say: \"The previous container's logs would tell you why it stopped.\"
";

    #[test]
    fn kubectl_requests_become_investigations_of_the_pod_they_name() {
        let mut done = Investigated::default();
        assert!(done.record(&kubectl("kubectl get", "list", "pods", None), NS));
        assert!(
            done.has(InvestigationKind::GetPods, Some("greeter")),
            "a list shows every pod"
        );
        assert!(!done.has(InvestigationKind::Events, None));

        assert!(done.record(&describe_events(), NS));
        assert!(done.has(InvestigationKind::Events, Some("greeter")));
        assert!(
            !done.has(InvestigationKind::Events, Some("other")),
            "describe's events are about the pod it names"
        );

        done.record(&logs(false), NS);
        assert!(done.has(InvestigationKind::Logs, Some("greeter")));
        assert!(!done.has(InvestigationKind::PreviousLogs, Some("greeter")));
        done.record(&logs(true), NS);
        assert!(done.has(InvestigationKind::PreviousLogs, Some("greeter")));

        let get = kubectl("kubectl get", "get", "pods", Some("greeter"));
        done.record(&get, NS);
        assert!(done.has(InvestigationKind::PodYaml, Some("greeter")));
        assert!(!done.has(InvestigationKind::DescribePod, None));
        let describe = kubectl("kubectl describe", "get", "pods", Some("greeter"));
        done.record(&describe, NS);
        assert!(done.has(InvestigationKind::DescribePod, Some("greeter")));

        let mut nodes = kubectl("kubectl describe", "list", "nodes", None);
        nodes.namespace = None;
        done.record(&nodes, NS);
        assert!(done.has(InvestigationKind::GetNodes, None));
    }

    #[test]
    fn what_does_not_count() {
        let mut done = Investigated::default();
        // Another namespace.
        let mut other = logs(true);
        other.namespace = Some("default".into());
        assert!(!done.record(&other, NS));
        // A 404: the learner saw nothing.
        let mut missing = logs(true);
        missing.code = 404;
        assert!(!done.record(&missing, NS));
        let mut refused = kubectl("kubectl get", "list", "pods", None);
        refused.code = 403;
        assert!(!done.record(&refused, NS));
        // KubeQuest's own watches.
        let mut app = kubectl("", "watch", "events", None);
        app.user_agent = crate::activity::app_user_agent();
        app.command = None;
        assert!(!done.record(&app, NS));
        let mut app_get = kubectl("", "get", "pods", Some("greeter"));
        app_get.user_agent = crate::activity::app_user_agent();
        assert!(!done.record(&app_get, NS));
        // A dry run changes nothing, an exec is no change to the pod object.
        let mut dry = kubectl("kubectl set image", "patch", "pods", Some("greeter"));
        dry.dry_run = true;
        assert!(!done.record(&dry, NS));
        let mut exec = kubectl("kubectl exec", "create", "pods", Some("greeter"));
        exec.subresource = Some("exec".into());
        assert!(!done.record(&exec, NS));
        assert_eq!(done, Investigated::default());

        // "container is waiting to start" (400) is an answer the learner read.
        let mut waiting = logs(false);
        waiting.code = 400;
        assert!(done.record(&waiting, NS));
        assert!(done.has(InvestigationKind::Logs, Some("greeter")));

        // The app's editor changing the pod does count.
        let mut apply = kubectl("", "patch", "pods", Some("greeter"));
        apply.user_agent = crate::activity::EDITOR_USER_AGENT.into();
        assert!(done.record(&apply, NS));
        assert!(done.has(InvestigationKind::ChangedPod, Some("greeter")));
    }

    #[test]
    fn rules_speak_when_their_conditions_hold_and_stop_when_the_learner_moves_on() {
        let (rules, problems) = parse(RULES);
        assert_eq!(problems, []);
        let rules = rules.expect("the rules parse");
        let ids = |done: &Investigated, hints| -> Vec<String> {
            nudges(&rules, done, hints)
                .into_iter()
                .map(|n| n.id)
                .collect()
        };
        let mut done = Investigated::default();
        assert!(
            ids(&done, 0).is_empty(),
            "nothing done yet: no rule's `done` holds"
        );
        done.record(&kubectl("kubectl get", "list", "pods", None), NS);
        assert_eq!(ids(&done, 0), ["events-next"]);
        done.record(&describe_events(), NS);
        assert_eq!(ids(&done, 0), ["previous-logs"]);
        assert!(
            ids(&done, 2).is_empty(),
            "past max_hints the ladder itself has said it"
        );
        done.record(&logs(true), NS);
        assert!(ids(&done, 0).is_empty());

        let n = &nudges(&rules, &Investigated::default(), 0);
        assert!(n.is_empty());
        let mut pods = Investigated::default();
        pods.record(&kubectl("kubectl get", "list", "pods", None), NS);
        let n = &nudges(&rules, &pods, 0)[0];
        assert_eq!(n.text, "You have looked at the pod but not at its events.");
        assert!(n.html.contains("<p>"), "rendered as HTML: {}", n.html);
    }

    #[test]
    fn every_problem_is_reported_at_its_line() {
        let yaml = "format: 1
reactions:
  - id: a
    done: [get-pods]
    say: \"One.\"
  - id: a
    done:
      - describe-pods
    say: \"Two.\"
  - id: b
    done: [{ get-nodes: node-1 }]
    say: \"  \"
  - id: c
    done: [logs]
    not_done: [logs]
    sya: \"x\"
";
        let (rules, problems) = parse(yaml);
        assert!(rules.is_none(), "a lesson with bad rules does not load");
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        let at = |line: usize, needle: &str| {
            assert!(
                found.iter().any(|(l, m)| *l == line && m.contains(needle)),
                "expected `{needle}` at line {line}, got {found:#?}"
            );
        };
        at(6, "duplicate reaction id `a`");
        at(
            8,
            "unknown investigation `describe-pods` (did you mean `describe-pod`?)",
        );
        at(11, "`get-nodes` names no pod");
        at(12, "empty text");
        at(16, "unknown field `sya`; did you mean `say`?");
        at(13, "missing field `say`");
    }

    #[test]
    fn a_rule_that_can_never_apply_is_refused() {
        let yaml = "format: 1
reactions:
  - id: never
    done: [{ logs: web }]
    not_done: [logs]
    say: \"x\"
";
        let (_, problems) = parse(yaml);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 5);
        assert!(problems[0].message.contains("can never apply"));
    }

    #[test]
    fn an_investigation_written_in_another_shape_is_refused_at_its_list() {
        // A map of two entries, a nested list, a number: none is `kind` or `{ kind: pod }`.
        let yaml = "format: 1
reactions:
  - id: a
    done: [{ logs: web, describe-pod: web }, [logs], 3]
    say: \"x\"
";
        let (rules, problems) = parse(yaml);
        assert!(rules.is_none(), "a lesson with bad rules does not load");
        let fields: Vec<(usize, Option<&str>)> = problems
            .iter()
            .filter(|p| p.message == "write an investigation as `kind` or `{ kind: pod }`")
            .map(|p| (p.line, p.field.as_deref()))
            .collect();
        assert_eq!(
            fields,
            [
                (4, Some("reactions[0].done[0]")),
                (4, Some("reactions[0].done[1]")),
                (4, Some("reactions[0].done[2]")),
            ],
            "{problems:#?}"
        );
    }
}
