//! A Service's part of the graph: its EndpointSlices, the pods its selector selects, and the
//! broken links a learner meets there (a selector that misses the pods it was meant for, an
//! endpoint that is not ready).

use super::*;

/// `80→8080/TCP`, with the node port as kubectl shows it (`80:30080→8080/TCP`).
fn port_text(p: &k8s_openapi::api::core::v1::ServicePort) -> String {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let mut out = p.port.to_string();
    if let Some(n) = p.node_port {
        out.push_str(&format!(":{n}"));
    }
    match &p.target_port {
        Some(IntOrString::Int(t)) if *t != p.port => out.push_str(&format!("→{t}")),
        Some(IntOrString::String(s)) => out.push_str(&format!("→{s}")),
        _ => {}
    }
    out.push('/');
    out.push_str(p.protocol.as_deref().unwrap_or("TCP"));
    out
}

fn service_summary(s: &Service) -> String {
    let spec = s.spec.clone().unwrap_or_default();
    let type_ = spec.type_.clone().unwrap_or_else(|| "ClusterIP".into());
    if type_ == "ExternalName" {
        return format!(
            "ExternalName {}",
            spec.external_name.as_deref().unwrap_or("<none>")
        );
    }
    let mut line = format!(
        "{type_} {}",
        spec.cluster_ip.as_deref().unwrap_or("<pending>")
    );
    let ports: Vec<String> = spec.ports.iter().flatten().map(port_text).collect();
    if !ports.is_empty() {
        line.push(' ');
        line.push_str(&ports.join(","));
    }
    line
}

/// Why a pod a Service was meant for is not selected: `selector app=web, pod has app=webapp`.
fn miss_why(selector: &BTreeMap<String, String>, pod: &Pod) -> String {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let mut has: Vec<String> = Vec::new();
    for (k, v) in selector {
        match labels.get(k) {
            Some(actual) if actual == v => {}
            Some(actual) => has.push(format!("pod has {k}={actual}")),
            None => has.push(format!("pod has no label {k}")),
        }
    }
    let mut why = format!("selector {}", selector_text(selector));
    if !has.is_empty() {
        why.push_str(", ");
        why.push_str(&has.join(", "));
    }
    if selector.keys().all(|k| !labels.contains_key(k)) && !labels.is_empty() {
        why.push_str(&format!(" (its labels: {})", selector_text(&labels)));
    }
    why
}

/// Why an endpoint is not ready, in the pod's own words: the failing readiness probe, the
/// stuck stage, or the `Ready` condition's message.
fn not_ready_why(pod: Option<&Pod>, pipeline: Option<&PodPipeline>) -> String {
    if let Some(p) = pipeline {
        if let Some(e) = p
            .stages
            .iter()
            .find(|s| s.kind == StageKind::Ready)
            .and_then(|s| s.evidence.event.as_ref())
            .filter(|e| e.reason == "Unhealthy")
        {
            return format!("not ready: {}", e.message);
        }
        if let Some(s) = p.stuck_stage().filter(|s| s.kind != StageKind::Ready)
            && let Some(r) = &s.reason
        {
            return format!("not ready: {r}");
        }
    }
    let condition = pod
        .and_then(|p| p.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.message.clone().or_else(|| c.reason.clone()));
    match condition {
        Some(m) if !m.is_empty() => format!("not ready: {m}"),
        _ => "not ready".into(),
    }
}

fn slice_endpoints(s: &EndpointSlice) -> (usize, usize) {
    let total = s.endpoints.len();
    let ready = s
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
        .count();
    (total, ready)
}

/// Services, their EndpointSlices, and which pods they select or list.
pub(super) fn services(b: &mut Builder<'_>) {
    let ns = b.ns();
    let src = b.src;
    let slices: Vec<&EndpointSlice> = src.services.slices_iter().collect();
    for svc in src.services.services() {
        let name = name_of(&svc.metadata).to_owned();
        let spec = svc.spec.clone().unwrap_or_default();
        let selector = spec.selector.clone().filter(|s| !s.is_empty());
        let external = spec.type_.as_deref() == Some("ExternalName");
        let id = node_id(GraphKind::Service, &name);
        let own_slices: Vec<&EndpointSlice> = slices
            .iter()
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(SERVICE_NAME_LABEL))
                    == Some(&name)
            })
            .copied()
            .collect();
        let ready_endpoints: usize = own_slices.iter().map(|s| slice_endpoints(s).1).sum();

        let mut evidence = Vec::new();
        let health = match (&selector, external) {
            (_, true) | (None, _) => Health::Ok,
            (Some(sel), false) => {
                let selected: Vec<&Pod> = b
                    .live_pods()
                    .filter(|p| labels_match(sel, p.metadata.labels.as_ref()))
                    .collect();
                for p in &selected {
                    b.edge(
                        id.clone(),
                        node_id(GraphKind::Pod, name_of(&p.metadata)),
                        Relation::Selects,
                        None,
                    );
                }
                if selected.is_empty() {
                    for p in meant_for(b, sel) {
                        b.edge(
                            id.clone(),
                            node_id(GraphKind::Pod, name_of(&p.metadata)),
                            Relation::Selects,
                            Some(miss_why(sel, p)),
                        );
                    }
                    let coming = src.workloads.iter().any(|o| {
                        template_of(o).is_some_and(|t| {
                            labels_match(sel, t.metadata.as_ref().and_then(|m| m.labels.as_ref()))
                        }) && o.desired().is_none_or(|d| d > 0)
                    });
                    if coming {
                        Health::Progressing
                    } else {
                        evidence.push(format!("spec.selector: {}", selector_text(sel)));
                        evidence.push(format!(
                            "no pod in namespace {ns} has the labels {}",
                            selector_text(sel)
                        ));
                        Health::Broken
                    }
                } else if ready_endpoints > 0 {
                    Health::Ok
                } else {
                    evidence.push(format!("spec.selector: {}", selector_text(sel)));
                    evidence.push(format!(
                        "{} pod{} selected, none ready",
                        selected.len(),
                        if selected.len() == 1 { "" } else { "s" }
                    ));
                    let broken = selected.iter().any(|p| {
                        b.pipeline_of(p)
                            .is_some_and(|pl| pod_health(pl) == Health::Broken)
                    });
                    if broken {
                        Health::Broken
                    } else {
                        Health::Progressing
                    }
                }
            }
        };
        let health = if svc.metadata.deletion_timestamp.is_some() {
            Health::Terminating
        } else {
            health
        };
        let node = b.node(
            GraphKind::Service,
            &name,
            svc.metadata.uid.as_deref(),
            health,
        );
        node.summary = service_summary(&svc);
        node.evidence = evidence;
        node.commands = vec![
            command(
                "its selector, ports and endpoints",
                format!("kubectl describe service {name} -n {ns}"),
            ),
            command(
                "the endpoints it routes to",
                format!("kubectl get endpointslices -l {SERVICE_NAME_LABEL}={name} -n {ns}"),
            ),
        ];
        if let Some(sel) = &selector {
            node.commands.push(command(
                "the pods its selector matches",
                format!(
                    "kubectl get pods -l {} -n {ns} --show-labels",
                    selector_text(sel)
                ),
            ));
        }
        let service_health = health;

        for slice in own_slices {
            let slice_name = name_of(&slice.metadata).to_owned();
            let (total, ready) = slice_endpoints(slice);
            let mut any_broken_pod = false;
            let slice_id = node_id(GraphKind::EndpointSlice, &slice_name);
            for ep in &slice.endpoints {
                let Some(target) = ep
                    .target_ref
                    .as_ref()
                    .filter(|r| r.kind.as_deref() == Some("Pod"))
                    .and_then(|r| r.name.as_deref())
                else {
                    continue;
                };
                let pod = src.pods.iter().find(|p| name_of(&p.metadata) == target);
                let pipeline = pod.and_then(|p| b.pipeline_of(p));
                any_broken_pod |= pipeline.is_some_and(|p| pod_health(p) == Health::Broken);
                // A terminating endpoint is drained on purpose (a rollout, a scale-down): not
                // ready, but nothing is broken.
                let conditions = ep.conditions.as_ref();
                let draining = conditions.and_then(|c| c.terminating) == Some(true)
                    || pod.is_some_and(|p| p.metadata.deletion_timestamp.is_some());
                let not_ready = conditions.and_then(|c| c.ready) == Some(false) && !draining;
                let why = not_ready.then(|| not_ready_why(pod, pipeline));
                b.edge(
                    slice_id.clone(),
                    node_id(GraphKind::Pod, target),
                    Relation::Endpoint,
                    why,
                );
            }
            let health = if slice.metadata.deletion_timestamp.is_some() {
                Health::Terminating
            } else if ready > 0 {
                Health::Ok
            } else if total == 0 {
                if service_health == Health::Broken {
                    Health::Broken
                } else if selector.is_none() || external {
                    Health::Ok
                } else {
                    Health::Progressing
                }
            } else if any_broken_pod {
                Health::Broken
            } else {
                Health::Progressing
            };
            let node = b.node(
                GraphKind::EndpointSlice,
                &slice_name,
                slice.metadata.uid.as_deref(),
                health,
            );
            node.summary = match total {
                0 => "no endpoints".into(),
                1 => format!("1 endpoint, {ready} ready"),
                n => format!("{n} endpoints, {ready} ready"),
            };
            if health == Health::Broken {
                node.evidence = vec![if total == 0 {
                    "endpoints: []".to_owned()
                } else {
                    format!("{total} endpoints with conditions.ready: false")
                }];
            }
            node.commands = vec![command(
                "its endpoints and their conditions",
                format!("kubectl get endpointslice {slice_name} -n {ns} -o yaml"),
            )];
            b.edge(id.clone(), slice_id, Relation::Owns, None);
        }
    }
}

fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
}

/// The pods a Service that selects nothing was clearly meant for: those with a label the
/// selector names (with another value), else the pods of the namespace's only workload.
fn meant_for<'a>(b: &Builder<'a>, selector: &BTreeMap<String, String>) -> Vec<&'a Pod> {
    let live: Vec<&'a Pod> = b.live_pods().collect();
    let sharing: Vec<&'a Pod> = live
        .iter()
        .copied()
        .filter(|p| {
            p.metadata
                .labels
                .as_ref()
                .is_some_and(|l| selector.keys().any(|k| l.contains_key(k)))
        })
        .collect();
    if !sharing.is_empty() {
        return sharing;
    }
    let owners: BTreeSet<Option<(WorkloadKind, String)>> = live
        .iter()
        .map(|p| b.src.workloads.owner_of(p).map(|o| (o.kind, o.name)))
        .collect();
    if owners.len() == 1 && owners.iter().next().is_some_and(Option::is_some) {
        live
    } else {
        Vec::new()
    }
}
