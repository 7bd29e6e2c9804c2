//! One mission played on a fresh embedded cluster with a paused clock, and what the controls
//! need to stand in for its pods and workloads.

use super::*;

/// A mission started through the engine on its own paused embedded cluster (the shared
/// harness), with what mission CI adds: symptoms, the learner's edits and the controls.
pub(super) struct Play(PlayedLesson);

impl std::ops::Deref for Play {
    type Target = PlayedLesson;
    fn deref(&self) -> &PlayedLesson {
        &self.0
    }
}

impl Play {
    pub(super) fn start(dir: &Path) -> Play {
        Play(PlayedLesson::start(dir))
    }

    pub(super) fn pipeline(&self, pod: &str) -> Option<PodPipeline> {
        self.read(&[]).pipeline(pod).cloned()
    }

    /// Every expected symptom the namespace does not show now, explained.
    pub(super) fn symptom_misses(&self) -> Vec<String> {
        let read = self.read(&[]);
        self.mission
            .expected_symptoms
            .iter()
            .filter_map(|s| read.symptom_shown(s).err())
            .collect()
    }

    /// Advances in steps until every expected symptom shows (no earlier than `min_secs`),
    /// failing if that takes more than five minutes or if the objectives pass on the way.
    /// Returns the virtual second it showed.
    pub(super) fn develop_broken_state(&self, min_secs: u64) -> u64 {
        assert!(
            !self.mission.expected_symptoms.is_empty(),
            "mission.md lists no expected_symptoms: nothing to check the broken state against"
        );
        let mut t = 0;
        loop {
            let results = self.objectives();
            assert!(
                !all_met(&results),
                "the broken state meets every objective by itself after {t} s:\n{}",
                results_text(&results)
            );
            let misses = self.symptom_misses();
            if misses.is_empty() && t >= min_secs {
                return t;
            }
            assert!(
                t < BROKEN_WATCH_SECS,
                "after {t} s of virtual time the broken state does not show its expected \
                 symptoms:\n{}",
                misses.join("\n")
            );
            self.advance(STEP_SECS);
            t += STEP_SECS;
        }
    }

    /// `kubectl apply -f FILE` through the editor's Apply.
    pub(super) fn apply(&self, file_name: &str, yaml: &str) -> ActionResult {
        self.tc
            .block_on(apply_yaml(&self.client, &self.ns, file_name, yaml))
    }

    /// `kubectl delete -f FILE` through the editor's Delete.
    pub(super) fn delete(&self, file_name: &str, yaml: &str) -> ActionResult {
        self.tc
            .block_on(delete_yaml(&self.client, &self.ns, file_name, yaml))
    }

    /// Advances second by second until none of `names` exists; returns how long it took.
    pub(super) fn wait_pods_gone(&self, names: &[String]) -> u64 {
        self.tc.cluster().settle();
        let mut t = 0;
        loop {
            let pods = self.read(&[]).pods();
            let left: Vec<&str> = pods
                .iter()
                .filter_map(|p| p.metadata.name.as_deref())
                .filter(|n| names.iter().any(|m| m == n))
                .collect();
            if left.is_empty() {
                return t;
            }
            assert!(
                t < GONE_LIMIT_SECS,
                "{left:?} still there {t} s after the delete"
            );
            self.advance(1);
            t += 1;
        }
    }

    /// The nodes the `node-drained` objectives name.
    pub(super) fn drained_nodes(&self) -> Vec<String> {
        self.mission
            .objectives
            .iter()
            .filter_map(|o| match &o.check {
                Check::NodeDrained { node } => Some(node.clone()),
                _ => None,
            })
            .collect()
    }

    /// Real `kubectl drain` of `node` with the newest kubectl (see [`PlayedLesson::drain`]).
    pub(super) fn drain_node(&self, node: &str, timeout_secs: u64) -> Run {
        self.drain(&self.newest_kubectl(), node, timeout_secs)
    }

    /// Drains every node a `node-drained` objective names, whatever the outcome; returns what
    /// each drain ended with.
    pub(super) fn drain_all(&self, timeout_secs: u64) -> Vec<Run> {
        self.drained_nodes()
            .iter()
            .map(|n| self.drain_node(n, timeout_secs))
            .collect()
    }

    /// The longest `no-restarts-for` window, so holds cover every timed objective.
    pub(super) fn longest_timed_objective(&self) -> u64 {
        self.mission
            .objectives
            .iter()
            .filter_map(|o| match &o.check {
                Check::NoRestartsFor { seconds, .. } => Some(*seconds),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// How long a negative control waits before judging: long enough for any timed objective.
    pub(super) fn hold_secs(&self) -> u64 {
        self.longest_timed_objective() + 60
    }

    /// The pods and workloads the objectives are about, as (kind, name).
    pub(super) fn objective_objects(&self) -> Vec<(String, String)> {
        let set: BTreeSet<(String, String)> = self
            .mission
            .objectives
            .iter()
            .filter_map(|o| objective_object(&o.check))
            .collect();
        set.into_iter().collect()
    }

    /// The pods the objectives are about.
    pub(super) fn objective_pods(&self) -> Vec<String> {
        self.objective_objects()
            .into_iter()
            .filter(|(k, _)| k == "Pod")
            .map(|(_, n)| n)
            .collect()
    }

    /// The pods and workloads `manifests/` creates (the broken ones), as (kind, name).
    pub(super) fn broken_objects(&self) -> Vec<(String, String)> {
        self.mission
            .manifests
            .iter()
            .filter(|m| m.kind == "Pod" || workload_kind(&m.kind).is_some())
            .map(|m| (m.kind.clone(), m.name.clone()))
            .collect()
    }

    /// The manifest (solution first, then the broken state) that defines `kind`/`name`.
    pub(super) fn manifest_of(&self, kind: &str, name: &str) -> Option<&Value> {
        self.mission
            .solution
            .iter()
            .chain(&self.mission.manifests)
            .find(|m| m.kind == kind && m.name == name)
            .map(|m| &m.object)
    }

    /// Deletes pods and workloads (as `kubectl delete KIND NAME` would) and waits until they
    /// and the pods they owned are gone; returns how long that took.
    pub(super) fn delete_objects_and_wait(&self, objects: &[(String, String)]) -> u64 {
        let read = self.read(&[]);
        let mut pods: Vec<String> = Vec::new();
        for (kind, name) in objects {
            if kind == "Pod" {
                pods.push(name.clone());
            } else if let Some(k) = workload_kind(kind)
                && let Some(v) = read.workload_view(&WorkloadRef {
                    kind: k,
                    name: name.clone(),
                })
            {
                pods.extend(v.pods);
            }
            let api_version = self
                .manifest_of(kind, name)
                .and_then(|m| m["apiVersion"].as_str())
                .unwrap_or("v1")
                .to_owned();
            let stub =
                format!("apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n");
            let r = self.delete(&format!("{name}.yaml"), &stub);
            assert!(
                r.ok || r.output.contains("NotFound") || r.output.contains("not found"),
                "`{}` fails: {}",
                r.command,
                r.output
            );
        }
        self.wait_pods_gone(&pods)
    }

    /// The kind (lowercase, as kubectl takes it) and name of the object an event with this
    /// reason and message is about.
    pub(super) fn event_subject(&self, reason: &str, message: &str) -> Option<(String, String)> {
        let api: kube::Api<k8s_openapi::api::core::v1::Event> =
            kube::Api::namespaced(self.client.clone(), &self.ns);
        let events = self
            .tc
            .block_on(api.list(&Default::default()))
            .unwrap_or_else(|e| panic!("listing events in {} fails: {e}", self.ns));
        events
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(reason) && e.message.as_deref() == Some(message))
            .and_then(|e| {
                Some((
                    e.involved_object.kind?.to_lowercase(),
                    e.involved_object.name?,
                ))
            })
    }

    /// Fails unless every pod and workload of `objects` is itself healthy: a negative control
    /// whose stand-in is broken proves nothing.
    pub(super) fn assert_healthy(&self, objects: &[(String, String)], what: &str) {
        let pods: Vec<String> = objects
            .iter()
            .filter(|(k, _)| k == "Pod")
            .map(|(_, n)| n.clone())
            .collect();
        if !pods.is_empty() {
            let sanity = self.evaluate(&ready_objectives(&pods));
            assert!(
                all_met(&sanity),
                "{what} is not itself healthy, so this control proves nothing:\n{}",
                results_text(&sanity)
            );
        }
        let read = self.read(&[]);
        for (kind, name) in objects.iter().filter(|(k, _)| k != "Pod") {
            if let Err(why) = workload_healthy(&read, kind, name) {
                panic!(
                    "{what} ({kind} {name}) is not itself healthy, so this control proves nothing:\n{why}"
                );
            }
        }
    }

    /// Applies `solution/` file by file as a learner would (see [`Play::apply_or_recreate`]).
    /// Returns what happened.
    pub(super) fn apply_reference_fix(&self) -> String {
        let mut files: Vec<PathBuf> = Vec::new();
        for m in &self.mission.solution {
            if !files.contains(&m.file) {
                files.push(m.file.clone());
            }
        }
        let mut how = Vec::new();
        for file in files {
            let name = folder_name(&file);
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            how.push(format!(
                "solution/{name} {}",
                self.apply_or_recreate(&name, &text)
            ));
        }
        how.join("; ")
    }

    /// `kubectl apply -f` of one file, and when the cluster refuses the change because a field
    /// cannot change in place (a pod's command, a Job's template, a claim's class), delete what
    /// the file names and apply again once it is gone (finalizers may hold it a moment), as a
    /// learner would. Returns what happened.
    pub(super) fn apply_or_recreate(&self, name: &str, text: &str) -> String {
        let first = self.apply(name, text);
        if first.ok {
            return format!("applied in place ({})", first.output);
        }
        assert!(
            first.immutable.is_some() || first.output.contains("Forbidden"),
            "`{}` fails for another reason than an immutable field:\n{}",
            first.command,
            first.output
        );
        let deleted = self.delete(name, text);
        assert!(
            deleted.ok,
            "`{}` fails: {}",
            deleted.command, deleted.output
        );
        self.tc.cluster().settle();
        let mut waited = 0;
        loop {
            let again = self.apply(name, text);
            if again.ok {
                return format!(
                    "refused in place, deleted and re-applied after {waited} s ({})",
                    again.output
                );
            }
            assert!(
                waited < GONE_LIMIT_SECS,
                "`{}` still fails {waited} s after the delete: {}",
                again.command,
                again.output
            );
            self.advance(1);
            waited += 1;
        }
    }
}

/// The workload kind of a manifest kind (`Deployment`), if it is one.
pub(super) fn workload_kind(kind: &str) -> Option<WorkloadKind> {
    WorkloadKind::ALL.into_iter().find(|k| k.as_str() == kind)
}

/// The pod or workload a check is about, as (kind, name); `None` for a Service, a quota's own
/// name or a ServiceAccount (their workloads are named where the check has one).
pub(super) fn objective_object(check: &Check) -> Option<(String, String)> {
    let (kind, name) = match check {
        Check::QuotaRespected { workload, .. }
        | Check::PodSecurityEnforced { workload, .. }
        | Check::BudgetProtects { workload, .. } => {
            (workload.kind.as_str(), workload.name.as_str())
        }
        Check::ClaimBound { pod, .. } => ("Pod", pod.as_deref()?),
        other => other.subject(),
    };
    (kind == "Pod" || workload_kind(kind).is_some()).then(|| (kind.to_owned(), name.to_owned()))
}

/// Whether a control's workload is itself healthy: it has pods, none stuck, and the workload
/// object is not stuck either (so only its identity can make the objectives fail).
pub(super) fn workload_healthy(read: &NamespaceRead, kind: &str, name: &str) -> Result<(), String> {
    let k = workload_kind(kind).ok_or_else(|| format!("{kind} is not a workload kind"))?;
    let view = read
        .workload_view(&WorkloadRef {
            kind: k,
            name: name.to_owned(),
        })
        .ok_or_else(|| format!("{kind}/{name} does not exist"))?;
    if matches!(view.applied.state, StageState::Stuck | StageState::Failed) {
        return Err(view.render_text());
    }
    if view.pods.is_empty() {
        return Err(format!(
            "{kind}/{name} has no pods:\n{}",
            view.render_text()
        ));
    }
    for pod in &view.pods {
        if let Some(p) = read.pipeline(pod)
            && !p.terminating
            && p.stuck_stage().is_some()
        {
            return Err(p.render_text());
        }
    }
    Ok(())
}

/// `docker.io/library/nginx` for `nginx:1.27`.
pub(super) fn repository(image: &str) -> String {
    let full = normalize_image(image);
    let name = full.split('@').next().unwrap_or_default();
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => name[..slash + i].to_owned(),
        None => name.to_owned(),
    }
}

/// `pod-ready` for each pod: proof that a negative control's workload is itself healthy, so
/// only its identity can make the mission's objectives fail.
pub(super) fn ready_objectives(pods: &[String]) -> Vec<Objective> {
    pods.iter()
        .map(|p| Objective {
            id: format!("{p}-ready"),
            title: format!("{p} is Running and Ready"),
            check: Check::PodReady { pod: p.clone() },
        })
        .collect()
}
