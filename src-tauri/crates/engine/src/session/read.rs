//! One read of a mission namespace: everything its objectives and expected symptoms look at,
//! gathered once and judged the way a running session judges it.
//!
//! A session keeps this state up to date from watches and periodic probes; mission CI and other
//! one-shot callers (a paused clock, a step at a time) need the same judgement at a moment of
//! their choosing. [`read_namespace`] lists the pods, events, workloads, Services and
//! EndpointSlices into the session's own [`PipelineTracker`], makes each `service-http` request
//! once and reads the quotas, claims, namespace, nodes and access reviews the objectives name,
//! and the PodDisruptionBudgets (a symptom may name one), so an objective or a symptom means the
//! same here as on the learner's screen.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::api::ListParams;

use crate::mission::objectives::security;
use crate::mission::{
    Check, ExpectedSymptom, LessonStage, Objective, ObjectiveResult, Snapshot, WorkloadRef,
    evaluate_session,
};
use crate::pipeline::security_facts::{SecurityFacts, read_security_facts};
use crate::pipeline::service_http::{self, HttpResults};
use crate::pipeline::{
    PipelineTracker, PodPipeline, ServiceInput, TrackerInput, WorkloadKind, WorkloadObject,
    WorkloadView,
};

/// The mission namespace at one moment, as a session would see it.
pub struct NamespaceRead {
    tracker: PipelineTracker,
    http: HttpResults,
    security: SecurityFacts,
    now: Timestamp,
}

async fn list<K>(client: &kube::Client, namespace: &str) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api.list(&ListParams::default()).await?.items)
}

/// One workload kind listed, as the tracker takes a watch's (re)list.
async fn workloads_listed<K>(
    client: &kube::Client,
    namespace: &str,
    kind: WorkloadKind,
    wrap: fn(K) -> WorkloadObject,
) -> Result<TrackerInput, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let objects = list::<K>(client, namespace).await?;
    Ok(TrackerInput::WorkloadsListed(
        kind,
        objects.into_iter().map(wrap).collect(),
    ))
}

/// Reads `namespace` once for `objectives`; `now` is the cluster's clock (ages, timed checks).
pub async fn read_namespace(
    client: &kube::Client,
    namespace: &str,
    objectives: &[Objective],
    now: Timestamp,
) -> Result<NamespaceRead, kube::Error> {
    let mut tracker = PipelineTracker::new();
    let mut feed = |input| {
        tracker.apply(input, now);
    };
    feed(
        workloads_listed(
            client,
            namespace,
            WorkloadKind::Deployment,
            WorkloadObject::Deployment,
        )
        .await?,
    );
    feed(
        workloads_listed(
            client,
            namespace,
            WorkloadKind::ReplicaSet,
            WorkloadObject::ReplicaSet,
        )
        .await?,
    );
    feed(
        workloads_listed(
            client,
            namespace,
            WorkloadKind::StatefulSet,
            WorkloadObject::StatefulSet,
        )
        .await?,
    );
    feed(
        workloads_listed(
            client,
            namespace,
            WorkloadKind::DaemonSet,
            WorkloadObject::DaemonSet,
        )
        .await?,
    );
    feed(workloads_listed(client, namespace, WorkloadKind::Job, WorkloadObject::Job).await?);
    feed(TrackerInput::Services(ServiceInput::ServicesListed(
        list::<Service>(client, namespace).await?,
    )));
    feed(TrackerInput::Services(ServiceInput::SlicesListed(
        list::<EndpointSlice>(client, namespace).await?,
    )));
    for event in list::<Event>(client, namespace).await? {
        feed(TrackerInput::EventApplied(event));
    }
    feed(TrackerInput::PodsListed(
        list::<Pod>(client, namespace).await?,
    ));
    feed(TrackerInput::Tick);

    let mut http = HttpResults::default();
    for o in objectives {
        if let Check::ServiceHttp {
            service,
            port,
            path,
            ..
        } = &o.check
        {
            let outcome =
                service_http::probe(client, namespace, service, port.as_deref(), path).await;
            http.set(
                service_http::probe_key(service, port.as_deref(), path),
                outcome,
            );
        }
    }
    let mut wanted = security::facts_wanted(objectives.iter().map(|o| &o.check));
    // A `budget:` symptom reads the budgets whatever the objectives name.
    wanted.budgets = true;
    let security = read_security_facts(client, namespace, &wanted).await;
    Ok(NamespaceRead {
        tracker,
        http,
        security,
        now,
    })
}

/// The two spellings of one image-pull failure match each other: the status alternates.
fn same_reason(a: &str, b: &str) -> bool {
    fn family(r: &str) -> &str {
        match r {
            "ErrImagePull" | "ImagePullBackOff" => "image-pull",
            other => other,
        }
    }
    family(a) == family(b)
}

impl NamespaceRead {
    /// The objectives' results, as the session would report them now.
    pub fn evaluate(&self, objectives: &[Objective]) -> Vec<ObjectiveResult> {
        let pods = self.tracker.pod_list();
        let events = self.tracker.events();
        evaluate_session(
            objectives,
            &Snapshot {
                pods: &pods,
                events: &events,
                now: self.now,
            },
            self.tracker.workloads(),
            self.tracker.services(),
            &self.http,
            &self.security,
        )
    }

    /// The PodDisruptionBudget named `name`, as read.
    pub fn budget(&self, name: &str) -> Option<&k8s_openapi::api::policy::v1::PodDisruptionBudget> {
        self.security
            .budgets
            .as_deref()?
            .iter()
            .find(|b| b.metadata.name.as_deref() == Some(name))
    }

    /// The pods, as listed.
    pub fn pods(&self) -> Vec<Pod> {
        self.tracker.pod_list().to_vec()
    }

    /// The pipeline of the pod named `pod`.
    pub fn pipeline(&self, pod: &str) -> Option<&PodPipeline> {
        self.tracker.pipeline_for(pod)
    }

    /// Every top-level workload as the mission screen shows it.
    pub fn workload_views(&self) -> Vec<WorkloadView> {
        self.tracker.workload_views(self.now)
    }

    /// The view of one workload, if it exists.
    pub fn workload_view(&self, workload: &WorkloadRef) -> Option<WorkloadView> {
        self.workload_views()
            .into_iter()
            .find(|v| v.kind == workload.kind && v.name == workload.name)
    }

    /// Whether the namespace shows `symptom` now: `Ok` with the object that shows it (a pod's
    /// name, or the workload's), `Err` with what shows instead.
    pub fn symptom_shown(&self, symptom: &ExpectedSymptom) -> Result<String, String> {
        let want = format!("{} at {}", symptom.reason, symptom.stage.as_str());
        if let Some(name) = &symptom.budget {
            let Some(b) = self.budget(name) else {
                return Err(format!(
                    "{name}: expected {want}, but there is no such PodDisruptionBudget"
                ));
            };
            // The disruption controller's condition (`pkg/controller/disruption`):
            // SufficientPods, InsufficientPods or SyncFailed.
            let condition = b
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "DisruptionAllowed"));
            return match condition {
                Some(c) if c.reason == symptom.reason => Ok(name.clone()),
                Some(c) => Err(format!(
                    "{name}: expected {want}, its DisruptionAllowed condition is {} {}",
                    c.status, c.reason
                )),
                None => Err(format!(
                    "{name}: expected {want}, it has no DisruptionAllowed condition yet"
                )),
            };
        }
        let Some(text) = &symptom.workload else {
            let Some(p) = self.pipeline(&symptom.pod) else {
                return Err(format!(
                    "{}: expected {want}, but there is no such pod",
                    symptom.pod
                ));
            };
            return if crate::mission::symptom_matches(symptom, p) {
                Ok(symptom.pod.clone())
            } else {
                Err(format!(
                    "{}: expected {want}, the pipeline shows {}\n{}",
                    symptom.pod,
                    shown(p),
                    p.render_text()
                ))
            };
        };
        let workload: WorkloadRef = text.parse().map_err(|e| format!("{text}: {e}"))?;
        let Some(view) = self.workload_view(&workload) else {
            return Err(format!(
                "{text}: expected {want}, but there is no such workload"
            ));
        };
        if symptom.stage == LessonStage::Apply {
            let stage = &view.applied;
            let stuck = matches!(
                stage.state,
                crate::pipeline::StageState::Stuck | crate::pipeline::StageState::Failed
            );
            return if stuck
                && stage
                    .reason
                    .as_deref()
                    .is_some_and(|r| same_reason(r, &symptom.reason))
            {
                Ok(text.clone())
            } else {
                Err(format!(
                    "{text}: expected {want}, the workload shows apply {}{}\n{}",
                    stage.state.as_str(),
                    stage
                        .reason
                        .as_deref()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default(),
                    view.render_text()
                ))
            };
        }
        let mut seen = Vec::new();
        for pod in &view.pods {
            let Some(p) = self.pipeline(pod) else {
                continue;
            };
            if p.terminating {
                continue;
            }
            let stuck = p.stuck_stage();
            if stuck.is_some_and(|s| {
                s.kind == symptom.stage.stage_kind()
                    && s.reason
                        .as_deref()
                        .is_some_and(|r| same_reason(r, &symptom.reason))
            }) {
                return Ok(pod.clone());
            }
            seen.push(format!("{pod}: {}", shown(p)));
        }
        Err(format!(
            "{text}: expected a pod {want}, its pods show {}\n{}",
            if seen.is_empty() {
                "nothing (it has no pods)".to_owned()
            } else {
                seen.join("; ")
            },
            view.render_text()
        ))
    }
}

fn shown(p: &PodPipeline) -> String {
    p.stuck_stage().map_or_else(
        || "nothing stuck".to_owned(),
        |st| {
            format!(
                "{} at {}",
                st.reason.as_deref().unwrap_or("no reason"),
                st.kind.lesson_name()
            )
        },
    )
}
